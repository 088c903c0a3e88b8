"""
### nichiro_alerts — what analysts should hear about, every hour

(`NICHIRO_ALERTS_SCHEDULE` changes the schedule; empty means by hand only.)

Checks the news database and sends what is new, once, to the webhook of the Connection
`nichiro_alerts` (off by default: without it the check logs what it found and sends
nothing):

- **spike**: a tag whose relevant articles of the last 24 hours, in one language, are far
  above its own daily counts of the 28 days before (z-score ≥ 3, at least 5 articles),
  with the articles behind it;
- **both sides**: an event Japanese and Russian outlets both reported, their first
  reports at most 12 hours apart; **wide coverage**: one that five outlets or more reported
  within 12 hours of its first report;
- **silent source**: a feed that answers but has brought nothing new for four of its
  usual gaps (and at least a day); **disabled source**: one that health disabled;
- **watch**: an article a watchlist (`make watch`) matches.

Each alert is sent once (`alerts_sent`). The rules: `scrapers/alerts.py`,
`scrapers/db/alerts.py`.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import dag, get_current_context, task

from nichiro_callbacks import on_task_failure

# Empty: no schedule (triggered by hand only).
SCHEDULE = os.environ.get("NICHIRO_ALERTS_SCHEDULE", "15 * * * *") or None


@dag(
    dag_id="nichiro_alerts",
    schedule=SCHEDULE,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    is_paused_upon_creation=False,
    tags=["nichiro", "alerts"],
    default_args={
        "owner": "nichiro",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=10),
        "on_failure_callback": on_task_failure,
    },
)
def nichiro_alerts() -> None:
    @task
    def check() -> list[dict[str, Any]]:
        """Find the alerts not sent yet and send them in one message; returns them."""
        from airflow.sdk.exceptions import AirflowSkipException
        from nichiro_notify import send_once

        from nichiro_callbacks import alert_url
        from nichiro_db import news_db
        from scrapers.db import alerts

        log = logging.getLogger("nichiro.alerts")
        now = datetime.now(UTC)
        with news_db() as conn:
            found = [*alerts.spike_alerts(conn, now), *alerts.both_sides_alerts(conn, now),
                     *alerts.wide_coverage_alerts(conn, now),
                     *alerts.source_alerts(conn, now), *alerts.watch_alerts(conn, now)]
            new = alerts.unsent(conn, found)
            for alert in new:
                log.info("alert: %s", alert.title)
            if not new:
                raise AirflowSkipException("nothing new to tell")
            if alert_url() is None:
                raise AirflowSkipException(f"{len(new)} alert(s), but the Connection "
                                           "nichiro_alerts is not defined: none sent")
            return send_once(conn, new, get_current_context(), now)

    check()


nichiro_alerts()
