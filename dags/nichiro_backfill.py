"""
### nichiro_backfill — past articles, on demand

Triggered by hand (the trigger form, or `make backfill FROM=2026-09-01 TO=2026-11-30`):

- **from**, **to**: the publication days to load (inclusive, UTC);
- **languages**, **sources**: which outlets (empty: all); **max_articles**: pages at most.

1. **plan** — applies migrations, syncs the catalog, and records the request and its units
   (one per outlet feed: its site's sitemaps, `site` in the catalog, else the feed's host;
   one per day per GDELT source and per search feed of the catalog). The same request
   made again is the same backfill: it goes on where the last stopped.
2. **fetch** — per shard of units: walks each site's sitemaps (robots.txt `Sitemap:`
   lines, else the usual paths), asks GDELT's DOC API for the day (a day over its
   250-record cap is split) or reads a search feed dated to the day; keeps the entries
   dated in the range, judges their headline or URL slug for relevance, then fetches and
   extracts the candidate pages as the live ingest does. A page is fetched once per
   backfill; robots.txt, the per-host spacing and Retry-After hold, and a site gets at
   most `NICHIRO_BACKFILL_HOST_DAILY_PAGES` (500) backfill pages a day.
3. **load** — stores the pages like an ingest run's load (dedup, stories, events), with
   `articles.discovered_via` 'sitemap', 'gdelt' or 'search'.
4. **progress** — logs the backfill's progress and writes it as the run's note.

It never starves the 30-minute ingest: one task at a time, at the lowest priority, in the
fetch tasks' pool.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task
from nichiro_pools import HTTP_POOL

from nichiro_callbacks import on_task_failure

RETRIES = int(os.environ.get("NICHIRO_TASK_RETRIES", "2"))
# A shard's units run one after another, each bounded by its page budget.
TASK_TIMEOUT = timedelta(hours=4)


def _request() -> Any:
    """The run's request; a bad one fails the task at once (a retry cannot mend it)."""
    from airflow.sdk.exceptions import AirflowFailException

    from scrapers.backfill import BackfillRequest

    try:
        return BackfillRequest.from_params(get_current_context()["params"])
    except ValueError as exc:
        raise AirflowFailException(str(exc)) from exc


@dag(
    dag_id="nichiro_backfill",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    # One task at a time: a backfill holds at most one of the fetch pool's slots.
    max_active_tasks=1,
    doc_md=__doc__,
    is_paused_upon_creation=False,
    tags=["nichiro", "backfill"],
    params={
        "from": Param("2026-01-01", type="string", format="date",
                      description="First publication day to load (YYYY-MM-DD, UTC)."),
        "to": Param("2026-01-01", type="string", format="date",
                    description="Last publication day to load (inclusive)."),
        "languages": Param([], type="array", items={"enum": ["en", "ja", "ru"]},
                           description="Languages of the outlets to backfill (empty: all)."),
        "sources": Param([], type="array", items={"type": "string"},
                         description="Source names from the catalog (empty: all)."),
        "max_articles": Param(1000, type="integer", minimum=1,
                              description="Article pages to fetch at most."),
    },
    default_args={
        "owner": "nichiro",
        "retries": RETRIES,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": TASK_TIMEOUT,
        "on_failure_callback": on_task_failure,
        # Below every ingest task whenever both wait for a slot.
        "priority_weight": 1,
        "weight_rule": "absolute",
    },
)
def nichiro_backfill() -> None:
    @task
    def plan() -> list[dict[str, Any]]:
        """Record the request and its units; returns the shards of units with work left."""
        from nichiro_db import news_db
        from scrapers.backfill import plan_units
        from scrapers.catalog import load_catalog
        from scrapers.db import backfill as state
        from scrapers.db.migrate import migrate
        from scrapers.db.staging import sync_sources
        from scrapers.shards import shard_sources

        request = _request()
        catalog = load_catalog()
        with news_db() as conn:
            migrate(conn)
            ids = {row["name"]: int(row["id"]) for row in sync_sources(conn, catalog)}
            state.ensure_backfill(conn, request.id, request.as_json(),
                                  plan_units(request, catalog, ids), datetime.now(UTC))
            conn.commit()
            units = state.open_units(conn, request.id)
        logging.getLogger("nichiro.backfill").info(
            "backfill %s: %d unit(s) with work left", request.id, len(units))
        by_source = {u["source_id"]: {"id": u["source_id"], "name": u["source_name"]}
                     for u in units}
        return shard_sources(list(by_source.values()))

    @task(map_index_template="{{ shard_label }}", pool=HTTP_POOL, multiple_outputs=False)
    def fetch(shard: dict[str, Any]) -> dict[str, int]:
        """Discover and fetch the shard's units; a failing unit is recorded and retried
        by the next run, the others go on."""
        from nichiro_db import news_db, with_fetcher
        from scrapers.backfill import run_units
        from scrapers.db import backfill as state

        context = get_current_context()
        context["shard_label"] = shard["label"]  # type: ignore[typeddict-unknown-key]
        request = _request()
        wanted = {s["id"] for s in shard["sources"]}
        with news_db() as conn:
            units = [u for u in state.open_units(conn, request.id) if u["source_id"] in wanted]
        return with_fetcher(lambda conn, fetcher: run_units(
            conn, fetcher, units, request, datetime.now(UTC)))

    @task(trigger_rule="all_done", multiple_outputs=False, execution_timeout=TASK_TIMEOUT)
    def load() -> dict[str, int]:
        """Store the backfill's staged pages, as an ingest run's load does."""
        from nichiro_db import news_db
        from scrapers.pipeline import load as run_load

        with news_db() as conn:
            return run_load(conn, _request().run_id)

    @task(trigger_rule="all_done")
    def progress() -> dict[str, Any]:
        """Log the backfill's progress and write it as the run's note."""
        from nichiro_runnote import RunNoteError, write_run_note

        from nichiro_db import news_db
        from scrapers.db import backfill as state
        from scrapers.report import backfill_line

        context = get_current_context()
        request = _request()
        with news_db() as conn:
            state.finish(conn, request.id, datetime.now(UTC))
            conn.commit()
            [row] = state.progress(conn, request.id)
        line = backfill_line(row)
        print(line)
        try:
            write_run_note(context["dag"].dag_id, context["run_id"], line)
        except RunNoteError as exc:
            logging.getLogger("nichiro.backfill").warning("run note not written: %s", exc)
        return {k: v for k, v in row.items() if k in ("units", "units_done", "units_failed",
                                                     "found", "candidates", "pages",
                                                     "articles")}

    shards = plan()
    fetched = fetch.expand(shard=shards)
    stored = load()
    fetched >> stored >> progress()


nichiro_backfill()
