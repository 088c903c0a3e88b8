"""The news database as Airflow sees it: the `nichiro_db` Connection.

Why not `PostgresHook.get_conn()`: with SQLAlchemy 2 installed the hook hands out
psycopg 3 connections, while `scrapers` is written and tested against psycopg2. We take
the credentials from the Connection (so secrets stay in Airflow's hands) and open a
psycopg2 connection with them.

Every task's session is bounded: a statement, a lock wait and an idle open transaction
each have a timeout, so a stuck database fails the task (and its retries) instead of
holding a worker slot forever. A connection that drops silently (a network partition, a
host that vanished: no FIN, no RST) is noticed on both ends: TCP keepalives and a TCP
user timeout on the client (libpq) fail the task, and the same settings on the server
(`tcp_keepalives_*`, `tcp_user_timeout`) end the orphaned backend, so the load lock and
the row locks it held are released for the retry. The Connection's own `options` extra
is kept, after ours.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

CONN_ID = "nichiro_db"
#: Session limits (milliseconds, PostgreSQL settings) and their environment overrides. The
#: statement limit is above the longest load measured; raise it for a huge first backfill.
SESSION_LIMITS = {
    "statement_timeout": ("NICHIRO_DB_STATEMENT_TIMEOUT_MS", 15 * 60 * 1000),
    "lock_timeout": ("NICHIRO_DB_LOCK_TIMEOUT_MS", 5 * 60 * 1000),
    "idle_in_transaction_session_timeout": ("NICHIRO_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
                                            10 * 60 * 1000),
    # While a statement runs (a lock wait, say) the server reads nothing from the client:
    # this polls the socket, so a backend whose client is gone stops and lets its locks go.
    "client_connection_check_interval": ("NICHIRO_DB_CLIENT_CHECK_INTERVAL_MS", 10 * 1000),
}
#: TCP keepalives and user timeout, the same on both ends, and their environment overrides:
#: a silently dropped connection is noticed within about idle + interval x count seconds
#: while it waits for the other end, within the user timeout while its data goes unacked.
TCP_LIMITS = {
    "idle": ("NICHIRO_DB_KEEPALIVE_IDLE_S", 30),
    "interval": ("NICHIRO_DB_KEEPALIVE_INTERVAL_S", 10),
    "count": ("NICHIRO_DB_KEEPALIVE_COUNT", 3),
    "user_timeout_ms": ("NICHIRO_DB_TCP_USER_TIMEOUT_MS", 60 * 1000),
}


def tcp_limits() -> dict[str, int]:
    return {name: int(os.environ.get(env, default)) for name, (env, default) in TCP_LIMITS.items()}


#: The Nichiro page's sessions: read-only, and a statement limit a person waits through.
PAGE_STATEMENT_TIMEOUT_MS = 5000


def session_options(read_only: bool = False) -> str:
    """The libpq `options` string that sets the session limits (the page's if `read_only`)."""
    limits = {name: int(os.environ.get(env, default))
              for name, (env, default) in SESSION_LIMITS.items()}
    tcp = tcp_limits()  # the server's side of the connection
    limits.update(tcp_keepalives_idle=tcp["idle"], tcp_keepalives_interval=tcp["interval"],
                  tcp_keepalives_count=tcp["count"], tcp_user_timeout=tcp["user_timeout_ms"])
    if read_only:
        limits["statement_timeout"] = int(os.environ.get("NICHIRO_PAGE_STATEMENT_TIMEOUT_MS",
                                                         PAGE_STATEMENT_TIMEOUT_MS))
    options = " ".join(f"-c {name}={value}" for name, value in limits.items())
    return options + (" -c default_transaction_read_only=on" if read_only else "")


def connection_kwargs(conn_id: str = CONN_ID, read_only: bool = False) -> dict[str, Any]:
    """libpq keyword arguments from an Airflow Connection."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    kwargs: dict[str, Any] = {
        "host": conn.host or "127.0.0.1",
        "port": conn.port or 5432,
        "user": conn.login or None,
        "password": conn.password or None,
        "dbname": conn.schema or "nichiro",
        "application_name": "nichiro-airflow",
        "connect_timeout": 10,
    }
    tcp = tcp_limits()
    kwargs.update(keepalives=1, keepalives_idle=tcp["idle"], keepalives_interval=tcp["interval"],
                  keepalives_count=tcp["count"], tcp_user_timeout=tcp["user_timeout_ms"])
    kwargs["options"] = session_options(read_only)
    extra = conn.extra_dejson or {}
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if key in extra:
            kwargs[key] = extra[key]
    if extra.get("options"):  # later -c settings win: the deployment's own choice
        kwargs["options"] += " " + extra["options"]
    return {k: v for k, v in kwargs.items() if v is not None}


@contextmanager
def news_db(conn_id: str = CONN_ID, read_only: bool = False) -> Iterator[Any]:
    """An open psycopg2 connection to the news database, closed afterwards.

    :param read_only: the Nichiro page's session: its transactions cannot write, and a
        statement stops after a few seconds (PAGE_STATEMENT_TIMEOUT_MS).
    """
    import psycopg2

    conn = psycopg2.connect(**connection_kwargs(conn_id, read_only))
    try:
        yield conn
    finally:
        conn.close()


def with_fetcher(step: Callable[[Any, Any], T]) -> T:
    """Run `step(conn, fetcher)` with a connection and an HTTP client of its own (one
    source's work on one of a shard's threads: psycopg2 connections are not shared)."""
    from scrapers.fetch.http import Fetcher
    from scrapers.fetch.politeness import HostThrottle

    with news_db() as conn, news_db() as slots, Fetcher(throttle=HostThrottle(slots)) as fetcher:
        return step(conn, fetcher)
