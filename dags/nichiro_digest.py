"""
### nichiro_digest — the daily digest, refreshed when new articles land

Scheduled on the `nichiro_articles` asset: every `nichiro_ingest` run that stores new or
changed articles emits an event, and this DAG recomputes `daily_digest` (per UTC day and
language: articles, outlets, top tags, top stories) for the last three days. A manual run
recomputes further back with the `days` parameter (trigger form, or `{"days": 30}`).

Then **editions** writes, for the same days, the digest you could send, per side (the
Japanese outlets, the Russian outlets, the international ones): top events, tags new that
day, spikes, as Markdown and HTML (`digest_editions`, `scrapers/digest.py`); and
**deliver** sends yesterday's editions, once, to the Connection `nichiro_alerts` when it is
defined (at the first run after midnight UTC that new articles trigger).

Beside it, **search_catch_up** writes the search rows of any article that still lacks an
up-to-date one (`scrapers.db.search.index_all`). The ingest's load task indexes its own run's
articles; this catches what a load task that failed after its commit, or a hand edit, left.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task
from nichiro_assets import ARTICLES

from nichiro_callbacks import on_task_failure


@dag(
    dag_id="nichiro_digest",
    schedule=[ARTICLES],
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    # Active from the first parse: a fresh install runs on schedule with no click (the
    # deployment default, DAGS_ARE_PAUSED_AT_CREATION, stays True for other DAGs).
    is_paused_upon_creation=False,
    tags=["nichiro", "digest"],
    # The task reads `days` from these Params only, so a run's value is the one Airflow
    # validated against this schema when the run was created.
    params={"days": Param(3, type="integer", minimum=1,
                          description="How many recent UTC days to recompute.")},
    default_args={"owner": "nichiro", "retries": 2, "retry_delay": timedelta(minutes=1),
                  "on_failure_callback": on_task_failure},
)
def nichiro_digest() -> None:
    @task
    def refresh() -> int:
        """Upsert `daily_digest` for the last `days` days (default 3); returns rows changed."""
        from nichiro_db import news_db
        from scrapers.db.digest import refresh_digest

        days = get_current_context()["params"]["days"]
        with news_db() as conn:
            return refresh_digest(conn, days=days)

    @task
    def editions() -> int:
        """Write the per-side editions (Markdown and HTML) of the same days."""
        from nichiro_db import news_db
        from scrapers.db.digest_editions import refresh_editions

        days = get_current_context()["params"]["days"]
        with news_db() as conn:
            changed = refresh_editions(conn, datetime.now(UTC), days=days)
            conn.commit()
        return changed

    @task
    def deliver() -> list[str]:
        """Send yesterday's editions (a complete UTC day) once, through the notifier, when
        the Connection nichiro_alerts is defined; returns the sides sent."""
        from airflow.sdk.exceptions import AirflowSkipException
        from nichiro_notify import send_once

        from nichiro_callbacks import alert_url
        from nichiro_db import news_db
        from scrapers.alerts import Alert
        from scrapers.db import alerts
        from scrapers.db.digest_editions import edition
        from scrapers.digest import SIDES

        now = datetime.now(UTC)
        day = (now - timedelta(days=1)).date()
        with news_db() as conn:
            found = [e for e in (edition(conn, day, side) for side in SIDES) if e]
            pending = alerts.unsent(conn, [
                Alert("digest", f"{day.isoformat()}|{e['side']}",
                      e["markdown"].splitlines()[0].lstrip("# ")) for e in found])
            if not pending or alert_url() is None:
                raise AirflowSkipException(f"{len(pending)} edition(s) of {day} to send; "
                                           "sent only when nichiro_alerts is defined")
            send_once(conn, pending, get_current_context(), now,
                      markdown={f"{day.isoformat()}|{e['side']}": e["markdown"] for e in found})
        return [a.key.split("|")[1] for a in pending]

    @task
    def search_catch_up() -> int:
        """Write missing or stale search rows (all articles); returns how many."""
        from nichiro_db import news_db
        from scrapers.db.search import index_all

        with news_db() as conn:
            return index_all(conn)

    refresh() >> editions() >> deliver()
    search_catch_up()


nichiro_digest()
