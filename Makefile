# Nichiro — see README.md. Every target sets up what it needs; all are safe to re-run.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
ENV := source scripts/env.sh &&
STAMP := $(VENV)/.installed

.PHONY: help setup venv db reader-role run once demo backfill watch export reprocess relink sources test lint clean-local bench bench-extraction

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

# The venv is rebuilt only when the lock file or pyproject changes.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --python $(BIN)/python --quiet requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	@touch $@

venv: $(STAMP)

db: $(STAMP) ## make sure PostgreSQL answers and the databases exist and are migrated
	@mkdir -p .local
	@$(ENV) $(BIN)/python scripts/dbctl.py ensure --db "$$NICHIRO_DB_URL" --db "$$NICHIRO_AIRFLOW_DB_URL"
	@$(ENV) $(BIN)/python -m scrapers migrate
	@$(ENV) airflow db migrate > .local/airflow-db-migrate.log 2>&1 || { cat .local/airflow-db-migrate.log; exit 1; }
	@$(ENV) $(BIN)/python plugins/nichiro_pools.py
	@$(ENV) echo "databases ready: $$NICHIRO_DB_URL (news), $$NICHIRO_AIRFLOW_DB_URL (Airflow)"

reader-role: venv ## privileged step: the analysts' read-only role; ADMIN_DB_URL= a role with CREATEROLE
	@$(ENV) $(BIN)/python -m scrapers reader-role $(if $(ADMIN_DB_URL),--admin-db "$(ADMIN_DB_URL)")

setup: venv db ## create .venv from the lock file, start/find PostgreSQL, migrate

run: setup ## start Airflow (UI on http://localhost:8080) with nichiro_ingest unpaused
	@$(ENV) scripts/run.sh

once: setup ## one run of nichiro_ingest now, then the per-source summary
	@$(ENV) scripts/once.sh

demo: venv ## one run against the bundled offline sample, then a few rows of articles
	@scripts/demo.sh

# LANG is also the locale's variable: only a LANG given on the command line is a language.
backfill: $(if $(SAMPLE),venv,setup) ## past articles from publishers' sitemaps: make backfill FROM=2026-09-01 TO=2026-11-30 [LANG=ja] [SOURCE="A,B"] [MAX=1000] [SAMPLE=1]
	@LANG_="$(if $(filter command line,$(origin LANG)),$(LANG))" FROM="$(FROM)" TO="$(TO)" \
	  SOURCE="$(SOURCE)" MAX="$(MAX)" SAMPLE="$(SAMPLE)" scripts/backfill.sh

# TERM and LANG are also the terminal's and the locale's: only the command line's count.
watch: setup ## watchlists: make watch (list) | make watch ADD=NAME TERM="..." [TAG=theme:x] [LANG=ja] [OUTLETS="A,B"] | make watch REMOVE=NAME
	@$(ENV) if [ -n "$(ADD)" ]; then $(BIN)/python -m scrapers watch add "$(ADD)" \
	  $(if $(filter command line,$(origin TERM)),--term "$(TERM)") $(if $(TAG),--tag "$(TAG)") \
	  $(if $(filter command line,$(origin LANG)),--language "$(LANG)") \
	  $(if $(OUTLETS),--outlets "$(OUTLETS)"); \
	elif [ -n "$(REMOVE)" ]; then $(BIN)/python -m scrapers watch remove "$(REMOVE)"; \
	else $(BIN)/python -m scrapers watch list; fi

export: setup ## a date range of articles to CSV or JSON Lines: make export SINCE=2026-11-01 UNTIL=2026-11-30 [FORMAT=jsonl] [OUTPUT=file] [LANG=ja]
	@$(ENV) $(BIN)/python -m scrapers export --since "$(SINCE)" --until "$(UNTIL)" \
	  $(if $(FORMAT),--format "$(FORMAT)") --output "$(or $(OUTPUT),-)" \
	  $(if $(filter command line,$(origin LANG)),--language "$(LANG)")

reprocess: setup ## re-extract stored articles from their kept raw pages (no fetching)
	@$(ENV) $(BIN)/python -m scrapers reprocess

relink: setup ## re-cluster stories and re-link events of stored articles (after a method change)
	@$(ENV) $(BIN)/python -m scrapers relink

sources: setup ## source health; re-enable one with: make sources ENABLE="Name"
	@$(ENV) if [ -n "$(ENABLE)" ]; then $(BIN)/python -m scrapers sources enable "$(ENABLE)"; \
	  else $(BIN)/python -m scrapers sources list; fi

# The date-sensitive tests (marker `clock`) run twice: today, and under libfaketime a year
# ahead, so a test that only passes this week fails now. A selection with no such test is fine.
CLOCK_AHEAD_DAYS ?= 365

test: venv ## set up and run the whole test suite, then its date-sensitive part a year ahead
	@scripts/ensure_package.sh docker-compose docker-compose "validate docker-compose.yml"
	@scripts/ensure_package.sh faketime faketime "run the date-sensitive tests a year ahead"
	@scripts/ensure_package.sh iptables iptables "drop a test's database connection silently"
	@scripts/ensure_chromium.sh >/dev/null
	@$(ENV) $(BIN)/python scripts/dbctl.py ensure --db "$${NICHIRO_DB_URL%/*}/postgres"
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	NICHIRO_CLOCK_AHEAD_DAYS=$(CLOCK_AHEAD_DAYS) faketime -f +$(CLOCK_AHEAD_DAYS)d \
	  $(BIN)/python -m pytest -m clock $(PYTEST_ARGS) || [ $$? -eq 5 ]

bench: setup ## what a deployment pays: nichiro_ingest under the real scheduler, 200 and 2,000 sources (docs/benchmarks.md)
	@$(ENV) $(BIN)/python bench/deployment.py $(BENCH_ARGS)

bench-extraction: venv ## extraction quality and speed vs trafilatura and get_text (docs/extraction.md)
	$(BIN)/python bench/extraction.py --set all

lint: venv ## ruff, and mypy --strict on the three packages
	$(BIN)/ruff check dags plugins scrapers tests scripts bench
	$(BIN)/mypy --strict scrapers dags plugins

clean-local: ## stop the private PostgreSQL (if any) and delete .local/
	-$(BIN)/python scripts/dbctl.py stop
	rm -rf .local
