"""plugins/nichiro_db.py: every task's session is bounded (statement, lock wait, idle
transaction) and keeps TCP keepalives, on real PostgreSQL through the `nichiro_db`
Connection the tests define (AIRFLOW_CONN_NICHIRO_DB)."""

from __future__ import annotations

import time
from typing import Any

import psycopg2
import pytest

pytestmark = pytest.mark.integration


def settings(conn: Any) -> dict[str, str]:
    with conn.cursor() as cur:
        cur.execute("""SELECT name, setting FROM pg_settings WHERE name IN
                       ('statement_timeout', 'lock_timeout',
                        'idle_in_transaction_session_timeout')""")
        return dict(cur.fetchall())


def test_sessions_have_timeouts_and_keepalives(news_db_url: str) -> None:
    from nichiro_db import connection_kwargs, news_db

    with news_db() as conn:
        assert settings(conn) == {"statement_timeout": str(15 * 60 * 1000),
                                  "lock_timeout": str(5 * 60 * 1000),
                                  "idle_in_transaction_session_timeout": str(10 * 60 * 1000)}
        assert conn.get_dsn_parameters()["keepalives"] == "1"
    assert connection_kwargs()["keepalives_count"] == 3


def test_a_statement_over_its_limit_is_cancelled(news_db_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from nichiro_db import news_db

    monkeypatch.setenv("NICHIRO_DB_STATEMENT_TIMEOUT_MS", "300")
    with news_db() as conn:
        started = time.monotonic()
        with pytest.raises(psycopg2.errors.QueryCanceled), conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - started < 5
