"""Test-wide set-up: a real PostgreSQL for the news and Airflow databases, loopback HTTP.

The environment is fixed here, at import time, before anything imports Airflow: Airflow
reads its configuration once. The news database under test is `nichiro_test` (dropped and
re-created per session), never the operator's `nichiro`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = REPO.parent / "shared"

_server = os.environ.get("NICHIRO_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
# One pair of databases per test session (pid-suffixed), so concurrent runs on one server
# cannot truncate each other's data; both are dropped when the session ends.
_suffix = os.getpid()
TEST_DB_URL = os.environ.get("NICHIRO_TEST_DB_URL") or f"{_server}/nichiro_test_{_suffix}"
TEST_AIRFLOW_DB_URL = f"{_server}/nichiro_airflow_test_{_suffix}"
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="nichiro-airflow-home-")

os.environ.update({
    "NICHIRO_DB_URL": TEST_DB_URL,
    "AIRFLOW_CONN_NICHIRO_DB": TEST_DB_URL,
    "NICHIRO_ALLOW_PRIVATE_HOSTS": "1",
    "NICHIRO_TASK_RETRIES": "0",
    # dag.test() runs tasks in the test process itself: a task's address-space cap would
    # stay on the whole session and its children (a browser reserves far more). The cap is
    # tested in processes of its own (tests/integration/test_task_limits.py), and the
    # stack tests give their real task processes the deployment's default again.
    "NICHIRO_TASK_MEMORY_MB": "0",
    # One loopback host serves every fixture: politeness delays are tested on their own.
    "NICHIRO_HOST_DELAY_SECONDS": "0",
    # A shard per source, up to the bound: the fixture catalogs are a few sources, and a
    # test reads each source's task state in the grid (shard sizes: tests/unit/test_shards).
    "NICHIRO_SHARD_MIN_SOURCES": "1",
    # A long signing key, as in `make run` (a short one makes the JWT library warn).
    "AIRFLOW__API_AUTH__JWT_SECRET": "nichiro-test-" + "k" * 64,
    "AIRFLOW_HOME": _AIRFLOW_HOME,
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": TEST_AIRFLOW_DB_URL.replace(
        "postgresql://", "postgresql+psycopg2://"
    ),
})
os.environ.pop("NICHIRO_SOURCES", None)


def _recreate_database(url: str, create: bool = True) -> None:
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        if create:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()


@pytest.fixture(scope="session")
def news_db_url() -> str:
    """A freshly created, migrated news database for this session."""
    import psycopg2

    from scrapers.db.migrate import create_reader_role, grant_reader, migrate

    _recreate_database(TEST_DB_URL)
    conn = psycopg2.connect(TEST_DB_URL)
    try:
        migrate(conn)
        # the privileged step, as an administrator runs it (`make reader-role`)
        create_reader_role(conn)
        assert grant_reader(conn)
    finally:
        conn.close()
    return TEST_DB_URL


def empty_news_tables(conn: Any) -> None:
    """Every table of the news database emptied, ids restarting at 1 (the schema kept)."""
    with conn.cursor() as cur:
        cur.execute("SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
                    "WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")
        cur.execute(f"TRUNCATE {cur.fetchone()[0]} RESTART IDENTITY CASCADE")
    conn.commit()


@pytest.fixture
def db(news_db_url: str) -> Iterator[Any]:
    """A connection to an emptied news database (schema kept, data truncated)."""
    import psycopg2

    conn = psycopg2.connect(news_db_url)
    empty_news_tables(conn)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's metadata database, created and migrated once per session."""
    _recreate_database(TEST_AIRFLOW_DB_URL)
    from airflow.utils import db as airflow_db_utils

    airflow_db_utils.initdb()
    from nichiro_pools import ensure_http_pool

    ensure_http_pool()  # as `make db` does: the fetch tasks' pool


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The sample site (a copy tests may edit) served on 127.0.0.1, with its catalog."""
    from tests.support.devserver import FixtureServer

    root = tmp_path / "site"
    shutil.copytree(FIXTURES / "site", root)
    server = FixtureServer(root).start()
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        (root / "catalog.toml").read_text("utf-8").replace("__BASE_URL__", server.base_url),
        "utf-8",
    )
    monkeypatch.setenv("NICHIRO_SOURCES", str(catalog))
    server.catalog = catalog  # type: ignore[attr-defined]
    yield server
    server.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)
    if "NICHIRO_TEST_DB_URL" in os.environ and os.environ["NICHIRO_TEST_DB_URL"] == TEST_DB_URL:
        return  # a database the caller named is the caller's to keep
    import sys

    if "airflow.settings" in sys.modules:  # close Airflow's pool before its database goes
        try:
            sys.modules["airflow.settings"].dispose_orm()
        except Exception:  # noqa: BLE001
            pass
    for url in (TEST_DB_URL, TEST_AIRFLOW_DB_URL):
        try:
            _recreate_database(url, create=False)
        except Exception:  # noqa: BLE001 - clean-up must not mask the test result
            pass
