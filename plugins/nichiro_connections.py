"""Turn an Airflow Connection into a base URL (and credentials) for the project's HTTP calls.

Both optional integrations are configured the Airflow way, by a Connection, and are off when
it is not defined: `nichiro_alerts` (a webhook for failed tasks) and `nichiro_airflow_api`
(Airflow's own REST API, where the summary task writes the run's note).
"""

from __future__ import annotations

from typing import Any


def get_connection(conn_id: str) -> Any | None:
    """The Connection, or None when it is not defined (the feature is then off)."""
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - no such connection
        return None


def connection_url(conn: Any) -> str | None:
    """`scheme://host[:port][/schema]`; a host that is already a URL is kept as given."""
    host = conn.host or ""
    if host.startswith(("http://", "https://")):
        return host.rstrip("/") + (f"/{conn.schema}" if conn.schema else "")
    if not host:
        return None
    scheme = conn.conn_type if conn.conn_type in ("http", "https") else "https"
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema}" if conn.schema else ""
    return f"{scheme}://{host}{port}{path}"
