"""The news database as Airflow sees it: the `nichiro_db` Connection.

Why not `PostgresHook.get_conn()`: with SQLAlchemy 2 installed the hook hands out
psycopg 3 connections, while `scrapers` is written and tested against psycopg2. We take
the credentials from the Connection (so secrets stay in Airflow's hands) and open a
psycopg2 connection with them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CONN_ID = "nichiro_db"


def connection_kwargs(conn_id: str = CONN_ID) -> dict[str, Any]:
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
    extra = conn.extra_dejson or {}
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "options"):
        if key in extra:
            kwargs[key] = extra[key]
    return {k: v for k, v in kwargs.items() if v is not None}


@contextmanager
def news_db(conn_id: str = CONN_ID) -> Iterator[Any]:
    """An open psycopg2 connection to the news database, closed afterwards."""
    import psycopg2

    conn = psycopg2.connect(**connection_kwargs(conn_id))
    try:
        yield conn
    finally:
        conn.close()
