"""Failure callback: one structured log line per failed task, and an optional alert.

The alert is off by default. Define an Airflow Connection `nichiro_alerts` (e.g.
`AIRFLOW_CONN_NICHIRO_ALERTS=https://hooks.slack.com/services/...`) and each failed task
POSTs `{"text": ...}` (Slack-compatible) plus the structured fields to that URL; except
nichiro_ingest's fetch shards (`log_task_failure`), whose failing sources its summary task
sends in one alert per run.

A webhook URL is a credential (whoever has Slack's `/services/...` path may post to the
channel), so logs name only its host, and an alert that fails is logged by its host and
HTTP status or error class, never by the URL or an error message that quotes it.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

LOGGER = logging.getLogger("nichiro.alerts")
ALERT_CONN_ID = "nichiro_alerts"


def failure_event(context: Any) -> dict[str, Any]:
    """The fields an operator needs to find a failure: which task, which shard (its label
    names its first sources), why."""
    ti = context.get("ti") or context.get("task_instance")
    exception = context.get("exception")
    return {
        "event": "task_failed",
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "map_index": getattr(ti, "map_index", None),
        "shard": getattr(ti, "rendered_map_index", None),
        "run_id": context.get("run_id"),
        "try_number": getattr(ti, "try_number", None),
        "error": f"{type(exception).__name__}: {exception}" if exception else None,
    }


def alert_url(conn_id: str = ALERT_CONN_ID) -> str | None:
    """The webhook URL from the Connection, or None when alerting is not configured."""
    from nichiro_connections import connection_url, get_connection

    conn = get_connection(conn_id)
    return connection_url(conn) if conn is not None else None


def webhook_host(url: str) -> str:
    """`host[:port]` of a webhook URL: what a log may say about it."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


def _alert_failure(exc: Exception, url: str) -> str:
    """Why an alert failed, without the URL: httpx quotes it in some of its messages."""
    response = getattr(exc, "response", None)
    if response is not None:
        return f"HTTP {response.status_code}"
    secret = urlsplit(url)
    text = str(exc)
    for part in (url, secret.path, secret.query):
        if len(part) > 1:
            text = text.replace(part, "…")
    return f"{type(exc).__name__}: {text}"


def log_task_failure(context: Any) -> dict[str, Any]:
    """The structured line only: for the fetch shards, whose failing sources the run's
    summary task sends in one grouped alert instead of one per failed task."""
    event = failure_event(context)
    LOGGER.error("NICHIRO_TASK_FAILED %s", json.dumps(event, ensure_ascii=False, default=str))
    return event


def on_task_failure(context: Any) -> None:
    event = log_task_failure(context)
    url = alert_url()
    if url is None:
        return
    import httpx

    text = (f"Nichiro: {event['dag_id']}.{event['task_id']}"
            + (f" [{event['shard']}]" if event["shard"] else "")
            + f" failed (try {event['try_number']}): {event['error']}")
    failure = None
    try:
        httpx.post(url, json={"text": text, **event}, timeout=10).raise_for_status()
    except httpx.HTTPError as exc:  # an alerting outage must not hide the task's own error
        failure = _alert_failure(exc, url)
    if failure is not None:  # logged outside the handler: no traceback can carry the URL
        LOGGER.warning("alert to %s failed: %s", webhook_host(url), failure)
