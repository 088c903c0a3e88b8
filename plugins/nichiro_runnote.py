"""Write a DAG run's note through Airflow's REST API.

The Task SDK gives a task no call to set its run's note, so the summary task does what an
operator's script would: log in to the api-server as a service user and PATCH the run. The
Connection `nichiro_airflow_api` names the api-server and the user, e.g.

    AIRFLOW_CONN_NICHIRO_AIRFLOW_API='{"conn_type": "http", "host": "127.0.0.1",
        "port": 8080, "login": "nichiro", "password": "..."}'

(`make run` defines it for its own service user). Without it, the note is skipped with a log
line; the per-source table is in the summary task's log either way.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

LOGGER = logging.getLogger("nichiro.runnote")
API_CONN_ID = "nichiro_airflow_api"


class RunNoteError(RuntimeError):
    """The api-server refused or could not be reached; the run itself is unaffected."""


def write_run_note(dag_id: str, run_id: str, note: str, conn_id: str = API_CONN_ID) -> bool:
    """Set the run's note; False when no Connection is configured. Raises RunNoteError."""
    import httpx
    from nichiro_connections import connection_url, get_connection

    conn = get_connection(conn_id)
    base = connection_url(conn) if conn is not None else None
    if conn is None or base is None:
        LOGGER.info("run note not written: Connection %r is not defined", conn_id)
        return False
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            login = client.post("/auth/token",
                                json={"username": conn.login, "password": conn.password})
            if login.status_code not in (200, 201):
                raise RunNoteError(f"login as {conn.login!r} at {base} failed: "
                                   f"HTTP {login.status_code} {login.text[:200]}")
            token = login.json()["access_token"]
            reply = client.patch(
                f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
                params={"update_mask": "note"}, json={"note": note},
                headers={"Authorization": f"Bearer {token}"})
            if reply.status_code != 200:
                raise RunNoteError(f"PATCH of run {run_id!r} at {base} failed: "
                                   f"HTTP {reply.status_code} {reply.text[:200]}")
    except httpx.HTTPError as exc:
        raise RunNoteError(f"api-server {base} unreachable: {exc}") from exc
    return True
