"""The notifier alerts go out through: Airflow's notifier mechanism (`BaseNotifier`),
posting to the webhook of the Connection `nichiro_alerts`, the one the failure callback
uses (plugins/nichiro_callbacks.py). Off by default: without the Connection nothing is
sent and nothing is marked sent. Used by nichiro_alerts (the news) and by nichiro_ingest's
summary (one alert per run for its failing sources, `alert_run_failures`).

The body is Slack-compatible: `{"text": ..., "alerts": [{kind, key, title, details}]}`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseNotifier

LOGGER = logging.getLogger("nichiro.alerts")


class NewsAlertNotifier(BaseNotifier):
    """Sends a batch of alerts (dicts with kind, key, title, details, and for a digest its
    `markdown`, sent as written) in one message."""

    def __init__(self, alerts: list[dict[str, Any]], conn_id: str | None = None) -> None:
        super().__init__()
        self.alerts = alerts
        self.conn_id = conn_id

    def notify(self, context: Any) -> None:
        """POST the alerts; raises when the webhook refuses them (so they are not marked
        sent and go out with the next check)."""
        import httpx

        from nichiro_callbacks import ALERT_CONN_ID, alert_url, webhook_host

        url = alert_url(self.conn_id or ALERT_CONN_ID)
        if url is None:
            raise LookupError("no alert Connection")
        text = "\n\n".join(
            a.get("markdown") or "\n".join([a["title"], *(f"- {line}" for line in a["details"])])
            for a in self.alerts)
        try:
            httpx.post(url, json={"text": text, "alerts": self.alerts},
                       timeout=10).raise_for_status()
        except httpx.HTTPError as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            # the URL is a credential: name its host only
            raise RuntimeError(f"alert to {webhook_host(url)} failed: "
                               + (f"HTTP {status}" if status else type(exc).__name__)) from None


def send_once(conn: Any, alerts: Sequence[Any], context: Any, now: Any,
              markdown: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Send these alerts (`scrapers.alerts.Alert`, not sent before) in one message, then
    record them as sent and commit; returns what was sent. A message the webhook refuses
    raises, and nothing is recorded: the alerts go out with the next attempt.

    :param markdown: alert key -> text sent as written (a digest edition).
    """
    from scrapers.db.alerts import mark_sent

    payload = [{"kind": a.kind, "key": a.key, "title": a.title, "details": list(a.details),
                **({"markdown": markdown[a.key]} if markdown and a.key in markdown else {})}
               for a in alerts]
    NewsAlertNotifier(payload)(context)
    mark_sent(conn, list(alerts), now)
    conn.commit()
    return payload


def alert_run_failures(rows: list[dict[str, Any]], context: Any) -> None:
    """One alert for the run's failing sources (when the Connection nichiro_alerts is
    defined), sent once even if the summary is retried."""
    from datetime import UTC, datetime

    from nichiro_callbacks import alert_url
    from nichiro_db import news_db
    from scrapers.alerts import Alert
    from scrapers.db import alerts

    failed = [r for r in rows if r.get("error")]
    if not failed or alert_url() is None:
        return
    alert = Alert("failures", context["run_id"],
                  f"Nichiro: {len(failed)} of {len(rows)} sources failed in "
                  f"{context['dag'].dag_id} run {context['run_id']}",
                  tuple(f"{r['source']}: {str(r['error'])[:200]}" for r in failed))
    with news_db() as conn:
        if not alerts.unsent(conn, [alert]):
            return
        try:
            send_once(conn, [alert], context, datetime.now(UTC))
        except RuntimeError as exc:  # the alert is a convenience; the note and log record it
            logging.getLogger("nichiro.alerts").warning("%s", exc)
