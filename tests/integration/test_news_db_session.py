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
                        'idle_in_transaction_session_timeout', 'tcp_keepalives_idle',
                        'client_connection_check_interval',
                        'tcp_keepalives_interval', 'tcp_keepalives_count',
                        'tcp_user_timeout')""")
        return dict(cur.fetchall())


def test_sessions_have_timeouts_and_keepalives_on_both_ends(news_db_url: str) -> None:
    from nichiro_db import news_db

    with news_db() as conn:
        assert settings(conn) == {"statement_timeout": str(15 * 60 * 1000),
                                  "lock_timeout": str(5 * 60 * 1000),
                                  "idle_in_transaction_session_timeout": str(10 * 60 * 1000),
                                  "client_connection_check_interval": "10000",
                                  "tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10",
                                  "tcp_keepalives_count": "3", "tcp_user_timeout": "60000"}
        client = conn.get_dsn_parameters()
        assert {k: client[k] for k in ("keepalives", "keepalives_idle", "keepalives_interval",
                                       "keepalives_count", "tcp_user_timeout")} == {
            "keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10",
            "keepalives_count": "3", "tcp_user_timeout": "60000"}


def test_a_statement_over_its_limit_is_cancelled(news_db_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from nichiro_db import news_db

    monkeypatch.setenv("NICHIRO_DB_STATEMENT_TIMEOUT_MS", "300")
    with news_db() as conn:
        started = time.monotonic()
        with pytest.raises(psycopg2.errors.QueryCanceled), conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - started < 5
