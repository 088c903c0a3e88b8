"""
### nichiro_ingest — Japan–Russia news into PostgreSQL

Every 30 minutes (`NICHIRO_SCHEDULE` changes it):

1. **migrate** — applies pending SQL migrations to the news database (`nichiro_db`).
2. **load_sources** — syncs the source catalog (`sources.toml`, or `NICHIRO_SOURCES`)
   into the `sources` table and returns the sources that are due: enabled, not disabled
   by health, next fetch time reached (adaptive cadence, backoff after failures), in
   shards of at least 25 sources (`NICHIRO_SHARD_MIN_SOURCES`), at most 16
   (`NICHIRO_MAX_SHARDS`). Trigger with `{"fetch_all": true}` to fetch every healthy
   source now.
3. **shard.fetch_feed** — one mapped copy per shard, labelled "shard 3/16: TASS, NHK, +10";
   its sources 4 at a time (`NICHIRO_SHARD_THREADS`): conditional GET of each feed, parse,
   score each entry's title/summary for relevance, record the attempt in `feed_fetches`.
   A failing source fails alone: recorded, backed off, named in the log and the run's
   note; the shard fails only when all its sources failed, and is then retried when they
   are due again (their backoff, never before the server's Retry-After), or left to a
   later run when that is more than 30 minutes off. A shard whose feeds have not changed
   (HTTP 304, or the same body) and left no page to retry ends **skipped**, and its
   fetch_articles too.
4. **shard.fetch_articles** — fetches the pages of the shard's relevant entries, extracts
   and cleans them, rescoring relevance with the body; results wait in `staged_articles`.
5. **load** — upserts the run's staged articles into `articles` keyed by canonical URL.
6. **announce** — emits the `nichiro_articles` asset event when the run stored new or
   changed articles (skipped otherwise), which triggers `nichiro_digest`.
7. **summary** — logs one `key=value` line and a table row per source (entries,
   relevant, fetched, new, updated, duplicates, rejected, errors) and writes the run's
   **note** (totals, failing sources with their errors, sources that brought news) through
   the REST API when the Connection `nichiro_airflow_api` is defined (`make run` does).
8. **run_ok** and **sources_ok** decide the run's colour, not summary: the run fails when
   migrate, load_sources or load failed (run_ok is then upstream_failed), or when more than
   `NICHIRO_MAX_FAILED_SOURCE_SHARE` (half) of the sources it fetched failed. One broken
   source alone is named in the note (and its shard is red when it is the shard's only
   source), and the run stays green.

A failed task logs one `NICHIRO_TASK_FAILED {json}` line. If the Connection
`nichiro_alerts` exists, the run's failing sources go to it in one alert from **summary**
(not one per failed shard), and any other failed task posts its own.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task, task_group
from nichiro_assets import ARTICLES
from nichiro_pools import HTTP_POOL
from nichiro_retry import RetryWhenSourceIsDue

from nichiro_callbacks import log_task_failure, on_task_failure

SCHEDULE = os.environ.get("NICHIRO_SCHEDULE", "*/30 * * * *")
RETRIES = int(os.environ.get("NICHIRO_TASK_RETRIES", "2"))
RETRY_DELAY = timedelta(seconds=float(os.environ.get("NICHIRO_RETRY_DELAY_SECONDS", "60")))
MAX_RETRY_DELAY = timedelta(minutes=30)
# Every task and the run itself end: a hung request, lock or worker cannot hold a slot
# (or the next scheduled run) forever. The load may follow a long outage's backlog.
TASK_TIMEOUT = timedelta(minutes=float(os.environ.get("NICHIRO_TASK_TIMEOUT_MINUTES", "30")))
LOAD_TIMEOUT = timedelta(minutes=float(os.environ.get("NICHIRO_LOAD_TIMEOUT_MINUTES", "90")))
RUN_TIMEOUT = timedelta(minutes=float(os.environ.get("NICHIRO_RUN_TIMEOUT_MINUTES", "240")))


def _label(shard: dict[str, Any]) -> None:
    """Name this mapped task instance after its shard in the grid ("shard 3/16: TASS, +10")."""
    get_current_context()["shard_label"] = shard["label"]  # type: ignore[typeddict-unknown-key]


def _log_failures(what: str, outcomes: Any) -> None:
    """Name each failed source in the task's log (its record is in feed_fetches)."""
    for outcome in outcomes:
        if outcome.error is not None:
            logging.getLogger("nichiro.shard").error(
                "%s: %s failed: %s: %s", outcome.source["name"], what,
                type(outcome.error).__name__, outcome.error)


@dag(
    dag_id="nichiro_ingest",
    schedule=SCHEDULE,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=RUN_TIMEOUT,
    doc_md=__doc__,
    # Active from the first parse: a fresh install runs on schedule with no click (the
    # deployment default, DAGS_ARE_PAUSED_AT_CREATION, stays True for other DAGs).
    is_paused_upon_creation=False,
    tags=["nichiro", "ingest"],
    params={
        "fetch_all": Param(
            False, type="boolean",
            description="Fetch every enabled, healthy source now, due or not.",
        ),
    },
    default_args={
        "owner": "nichiro",
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": True,
        "max_retry_delay": MAX_RETRY_DELAY,
        "execution_timeout": TASK_TIMEOUT,
        "on_failure_callback": on_task_failure,
    },
)
def nichiro_ingest() -> None:
    @task
    def migrate() -> list[str]:
        """Apply pending migrations (advisory-locked, so concurrent runs are safe)."""
        from nichiro_db import news_db
        from scrapers.db.migrate import migrate as apply_migrations

        with news_db() as conn:
            return apply_migrations(conn)

    @task
    def load_sources() -> list[dict[str, Any]]:
        """Sync the catalog into `sources`; returns the due sources in shards (at most 16)."""
        from nichiro_db import news_db
        from scrapers.catalog import load_catalog
        from scrapers.pipeline import sync_catalog
        from scrapers.shards import shard_sources

        context = get_current_context()
        conf = getattr(context.get("dag_run"), "conf", None) or {}
        fetch_all = bool(context["params"].get("fetch_all") or conf.get("fetch_all"))
        with news_db() as conn:
            return shard_sources(sync_catalog(conn, load_catalog(), fetch_all=fetch_all))

    @task_group(group_id="shard")
    def per_shard(shard: dict[str, Any]) -> None:
        # Both fetch tasks take a slot of one pool (plugins/nichiro_pools.py): at most its
        # size of them run at once, across runs; inside one, a shard's sources are fetched
        # a few at a time (scrapers.shards), and the per-host delay between requests is
        # kept by HostThrottle in PostgreSQL.
        # multiple_outputs=False wherever a task returns a dict: Airflow would otherwise
        # infer True from the annotation and push one XCom per key as well, a REST call
        # each (docs/benchmarks.md, "The unchanged second run").
        # A failed shard only logs its line: the summary sends the run's failing sources
        # in one alert, not one per shard.
        @task(map_index_template="{{ shard_label }}", pool=HTTP_POOL, multiple_outputs=False,
              retry_policy=RetryWhenSourceIsDue(longest=MAX_RETRY_DELAY),
              on_failure_callback=log_task_failure)
        def fetch_feed(shard: dict[str, Any]) -> dict[str, Any]:
            """Fetch, parse and score the feeds of the shard's sources. A failing source is
            recorded and listed, and the others go on; the task fails only when all of its
            sources failed. It ends skipped when no source left a page to fetch, and so
            does its fetch_articles (a task instance that would do nothing)."""
            from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
            from nichiro_limits import limit_task_memory

            from nichiro_db import with_fetcher
            from scrapers.pipeline import fetch_feed as run_fetch_feed
            from scrapers.shards import run_each, shard_failure

            limit_task_memory()
            _label(shard)
            run_id = get_current_context()["run_id"]
            outcomes = run_each(shard["sources"], lambda source: with_fetcher(
                lambda conn, fetcher: run_fetch_feed(conn, source["id"], run_id, fetcher)))
            _log_failures("feed", outcomes)
            failure = shard_failure(outcomes)
            if failure is not None:
                if getattr(failure, "retryable", True):
                    raise failure
                raise AirflowFailException(f"{shard['label']}: {failure}") from failure
            feeds = [o.result for o in outcomes if o.error is None and o.result["page_work"]]
            if not feeds:
                raise AirflowSkipException(f"{shard['label']}: feeds unchanged or failed, "
                                           "no page to fetch")
            return {"label": shard["label"], "feeds": feeds}

        @task(map_index_template="{{ shard_label }}", pool=HTTP_POOL, multiple_outputs=False,
              on_failure_callback=log_task_failure)
        def fetch_articles(shard: dict[str, Any]) -> list[dict[str, Any]]:
            """Fetch and extract the pages of the relevant entries of the shard's feeds into
            staging; a source whose pages fail is listed, the others go on."""
            from nichiro_limits import limit_task_memory

            from nichiro_db import with_fetcher
            from scrapers.pipeline import fetch_articles as run_fetch_articles
            from scrapers.shards import run_each, shard_failure

            limit_task_memory()
            _label(shard)
            run_id = get_current_context()["run_id"]
            outcomes = run_each(
                [{"name": f["source"], **f} for f in shard["feeds"]],
                lambda feed: with_fetcher(lambda conn, fetcher: run_fetch_articles(
                    conn, feed["source_id"], run_id, feed["fetch_id"], fetcher)))
            _log_failures("pages", outcomes)
            failure = shard_failure(outcomes)
            if failure is not None:
                raise failure
            return [o.result for o in outcomes if o.error is None]

        # At parse time a TaskFlow call returns an XComArg, not its annotated result.
        fetch_articles(fetch_feed(shard))  # type: ignore[arg-type]

    @task(trigger_rule="all_done", multiple_outputs=False, execution_timeout=LOAD_TIMEOUT)
    def load() -> dict[str, int]:
        """Upsert this run's staged articles into `articles` in one transaction, then
        write their search rows. The log gives the seconds of each phase of the load
        (clustering, articles, tags, raw pages, ...)."""
        from nichiro_db import news_db
        from scrapers.pipeline import load as run_load

        with news_db() as conn:
            return run_load(conn, get_current_context()["run_id"])

    @task(outlets=[ARTICLES], multiple_outputs=False)
    def announce(counts: dict[str, int]) -> dict[str, int]:
        """Emit the articles asset event if this run stored new or changed articles."""
        from airflow.sdk.exceptions import AirflowSkipException

        if counts["new"] + counts["updated"] == 0:
            raise AirflowSkipException("no new or changed articles: no asset event")
        get_current_context()["outlet_events"][ARTICLES].extra = dict(counts)
        return counts

    @task(trigger_rule="all_done")
    def summary() -> list[dict[str, Any]]:
        """Log the per-source table of this run and write the run's note."""
        from nichiro_runnote import RunNoteError, write_run_note

        from nichiro_db import news_db
        from scrapers.db.store import run_summary
        from scrapers.report import format_summary, run_note, summary_lines

        context = get_current_context()
        with news_db() as conn:
            rows = run_summary(conn, context["run_id"])
        for line in summary_lines(rows):
            print(line)
        print(format_summary(rows))
        note = run_note(rows)
        try:
            if write_run_note(context["dag"].dag_id, context["run_id"], note):
                print("run note written:\n" + note)
        except RunNoteError as exc:  # the note is a convenience; the table above is the record
            logging.getLogger("nichiro.summary").warning("run note not written: %s", exc)
        from nichiro_notify import alert_run_failures

        alert_run_failures(rows, context)
        return [{k: v for k, v in r.items() if k != "error"} for r in rows]

    @task(trigger_rule="all_success")
    def run_ok() -> None:
        """Runs only when migrate, load_sources and load succeeded: otherwise it ends
        upstream_failed, and the run with it."""

    @task(trigger_rule="all_done")
    def sources_ok() -> None:
        """Fail the run when more than the allowed share of its sources failed."""
        from airflow.sdk.exceptions import AirflowFailException

        from nichiro_db import news_db
        from scrapers.config import max_failed_source_share
        from scrapers.db.store import run_summary
        from scrapers.report import failing_sources_verdict

        with news_db() as conn:
            rows = run_summary(conn, get_current_context()["run_id"])
        verdict = failing_sources_verdict(rows, max_failed_source_share())
        if verdict:
            raise AirflowFailException(verdict)

    migrated = migrate()
    sources = load_sources()
    migrated >> sources
    groups = per_shard.expand(shard=sources)
    loaded = load()
    groups >> loaded
    summarised = summary()
    loaded >> announce(loaded) >> summarised  # type: ignore[arg-type]  # an XComArg, as above
    [migrated, sources, loaded] >> run_ok()
    summarised >> sources_ok()


nichiro_ingest()
