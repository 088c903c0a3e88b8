#!/usr/bin/env bash
# `make demo`: serve the bundled sample site on 127.0.0.1, run nichiro_ingest once against
# it into the separate database `nichiro_demo`, and show the summary and a few rows.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
base_db="${NICHIRO_DB_URL:-postgresql://postgres@127.0.0.1:5432/nichiro}"
export NICHIRO_DB_URL="${NICHIRO_DEMO_DB_URL:-${base_db%/*}/nichiro_demo}"
# The demo keeps its own Airflow home and metadata database, out of the operator's history.
export AIRFLOW_HOME="$REPO/.local/airflow-demo"
export NICHIRO_AIRFLOW_DB_URL="${NICHIRO_AIRFLOW_DEMO_DB_URL:-${base_db%/*}/nichiro_airflow_demo}"
source scripts/env.sh
# The sample site is one local host: a short politeness delay keeps the demo quick.
export NICHIRO_ALLOW_PRIVATE_HOSTS=1 NICHIRO_TASK_RETRIES=0 NICHIRO_HOST_DELAY_SECONDS=0.1
mkdir -p .local/demo

.venv/bin/python scripts/dbctl.py ensure --db "$NICHIRO_DB_URL" --db "$NICHIRO_AIRFLOW_DB_URL"
airflow db migrate > .local/airflow-db-migrate.log 2>&1 || { cat .local/airflow-db-migrate.log; exit 1; }

.venv/bin/python -m tests.support.devserver tests/fixtures/site > .local/demo/server.out 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do [ -s .local/demo/server.out ] && break; sleep 0.1; done
base="$(head -n1 .local/demo/server.out)"
curl -fsS "$base/catalog.toml" > .local/demo/catalog.toml
export NICHIRO_SOURCES="$REPO/.local/demo/catalog.toml"
echo "sample site at $base; catalog $NICHIRO_SOURCES; news database $NICHIRO_DB_URL"
NICHIRO_REPORT_ARTICLES=8 scripts/once.sh || true
stored="$(.venv/bin/python -c 'import os, psycopg2
cur = psycopg2.connect(os.environ["NICHIRO_DB_URL"]).cursor()
cur.execute("SELECT count(*) FROM articles"); print(cur.fetchone()[0])')"
echo
echo "articles in $NICHIRO_DB_URL: $stored  (the sample's \"Broken Feed\" fails on purpose: HTTP 500)"
[ "$stored" -gt 0 ]
