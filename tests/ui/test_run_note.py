"""`write_run_note` against a real api-server: off without its Connection, and a refused
login or an unknown run is a RunNoteError that names the cause (the note is written for a
real run in tests/e2e/test_stack.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import free_port

pytestmark = pytest.mark.integration


def api_connection(monkeypatch: pytest.MonkeyPatch, port: int, password: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NICHIRO_AIRFLOW_API", json.dumps({
        "conn_type": "http", "host": "127.0.0.1", "port": port, "login": "admin",
        "password": password}))


def test_without_the_connection_no_note_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    from nichiro_runnote import write_run_note

    monkeypatch.delenv("AIRFLOW_CONN_NICHIRO_AIRFLOW_API", raising=False)
    assert write_run_note("nichiro_ingest", "manual__x", "note") is False


def test_wrong_password_unknown_run_and_dead_server_are_named(
        api_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from nichiro_runnote import RunNoteError, write_run_note

    port = int(api_server.base_url.rsplit(":", 1)[1])
    api_connection(monkeypatch, port, "not-the-password")
    with pytest.raises(RunNoteError, match=r"login as 'admin' at http://127\.0\.0\.1:\d+ "
                                           r"failed: HTTP 401"):
        write_run_note("nichiro_ingest", "manual__2026-11-27T00:00:00+00:00", "note")

    api_connection(monkeypatch, port, api_server.password("admin"))
    with pytest.raises(RunNoteError, match=r"PATCH of run 'manual__none' .* HTTP 404"):
        write_run_note("nichiro_ingest", "manual__none", "note")

    api_connection(monkeypatch, free_port(), "x")
    with pytest.raises(RunNoteError, match="unreachable"):
        write_run_note("nichiro_ingest", "manual__none", "note")
