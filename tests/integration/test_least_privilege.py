"""A database owner that is neither superuser nor CREATEROLE nor CREATEDB, as a managed
PostgreSQL or a DBA hands it out: it migrates, runs the pipeline (`make once`'s dag.test()),
and only the documented privileged step (`make reader-role`) needs an administrator.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from psycopg2 import sql

from tests.conftest import REPO, TEST_AIRFLOW_DB_URL, TEST_DB_URL, _recreate_database

pytestmark = pytest.mark.integration

_SUFFIX = os.getpid()
OWNER = f"nichiro_owner_{_SUFFIX}"
READER = f"nichiro_reader_{_SUFFIX}"  # not the shared nichiro_reader: cluster-wide
READER_RO = f"nichiro_reader_ro_{_SUFFIX}"  # a second reader, for the drift test alone
OWNED_DB = f"nichiro_owned_{_SUFFIX}"


def _url(user: str, database: str) -> str:
    parts = urlsplit(TEST_DB_URL)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port or 5432}",
                                     path=f"/{database}"))


ADMIN_URL = _url(urlsplit(TEST_DB_URL).username or "postgres", OWNED_DB)
OWNER_URL = _url(OWNER, OWNED_DB)


def _admin(database: str = "postgres") -> Any:
    conn = psycopg2.connect(_url(urlsplit(TEST_DB_URL).username or "postgres", database))
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def owned_db() -> Iterator[str]:
    """OWNER (LOGIN, nothing else) and a database it owns; both dropped afterwards."""
    admin = _admin()
    with admin.cursor() as cur:
        for role in (READER, READER_RO, OWNER):
            cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        cur.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB")
                    .format(sql.Identifier(OWNER)))
    admin.close()
    _recreate_database(ADMIN_URL)
    admin = _admin()
    with admin.cursor() as cur:
        cur.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            sql.Identifier(OWNED_DB), sql.Identifier(OWNER)))
    admin.close()
    try:
        yield OWNER_URL
    finally:
        _recreate_database(ADMIN_URL, create=False)
        admin = _admin()
        with admin.cursor() as cur:
            for role in (READER, READER_RO, OWNER):
                cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        admin.close()


def _python(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "NICHIRO_READER_ROLE": READER, **env})


def test_owner_migrates_runs_the_pipeline_and_only_the_reader_step_needs_an_admin(
        owned_db: str, airflow_db: None, site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # 1. `make db`'s migration, as the owner: everything applies; the reader step is
    #    skipped with one line that says how to do it.
    migrated = _python("-m", "scrapers", "migrate", "--db", owned_db)
    assert migrated.returncode == 0, migrated.stderr
    assert "V005__analytics.sql" in migrated.stdout
    skipped = [line for line in migrated.stderr.splitlines() if "make reader-role" in line]
    assert len(skipped) == 1 and f"reader role {READER} does not exist" in skipped[0], (
        migrated.stderr)

    # 2. `make once`: the DAG run through dag.test(), its Connection pointing at the owner.
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("AIRFLOW_CONN_NICHIRO_DB", owned_db)
    monkeypatch.setenv("NICHIRO_READER_ROLE", READER)
    dag = DagBag(dag_folder=str(REPO / "dags")).dags["nichiro_ingest"]
    run = dag.test(run_conf={"fetch_all": True})
    conn = psycopg2.connect(owned_db)
    with conn.cursor() as cur:
        cur.execute("SELECT current_user, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
                    "WHERE rolname = current_user")
        assert cur.fetchone() == (OWNER, False, False, False)
        cur.execute("SELECT count(*), count(DISTINCT cluster_id) > 0 FROM articles")
        assert cur.fetchone() == (10, True)
        cur.execute("SELECT count(*) FROM feed_fetches WHERE run_id = %s", (run.run_id,))
        assert cur.fetchone()[0] == 5
    conn.close()

    # 3. The privileged step, tried as the owner: refused, saying who must run it.
    refused = _python("-m", "scrapers", "reader-role", "--db", owned_db)
    assert refused.returncode == 1
    assert f"cannot create the reader role {READER}" in refused.stderr
    assert "make reader-role ADMIN_DB_URL=" in refused.stderr

    # 4. ... and as an administrator: the role is made, the owner grants it the views.
    done = _python("-m", "scrapers", "reader-role", "--admin-db", ADMIN_URL,
                   "--db", owned_db)
    assert done.returncode == 0, done.stderr
    assert f"reader role {READER}: grants applied" in done.stdout
    again = _python("-m", "scrapers", "migrate", "--db", owned_db)
    assert again.returncode == 0 and "make reader-role" not in again.stderr, again.stderr
    # once the role exists, the owner alone may run the step again (grants only)
    regrant = _python("-m", "scrapers", "reader-role", "--db", owned_db)
    assert regrant.returncode == 0 and "grants applied" in regrant.stdout, regrant.stderr

    # 5. The reader reads every analytics view and no raw table.
    admin = psycopg2.connect(ADMIN_URL)
    with admin.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.views "
                    "WHERE table_schema = 'analytics' ORDER BY 1")
        views = [name for (name,) in cur.fetchall()]
        assert "articles" in views
        cur.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(READER)))
        for name in views:
            cur.execute(sql.SQL("SELECT count(*) FROM analytics.{}").format(
                sql.Identifier(name)))
        cur.execute("SELECT count(*) FROM analytics.articles")
        assert cur.fetchone()[0] == 10
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("SELECT count(*) FROM public.articles")
    admin.close()


def test_a_database_another_role_owns_is_refused_by_name(owned_db: str, airflow_db: None
                                                         ) -> None:
    """The Airflow database derived from NICHIRO_DB_URL, owned by someone else: one clear
    error that names the setting, not a permission error deep in Alembic."""
    dbctl = str(REPO / "scripts" / "dbctl.py")
    foreign = _url(OWNER, urlsplit(TEST_AIRFLOW_DB_URL).path.lstrip("/"))
    out = _python(dbctl, "ensure", "--db", owned_db, "--db", foreign,
                  NICHIRO_DB_URL=owned_db, NICHIRO_AIRFLOW_DB_URL=foreign)
    assert out.returncode == 1
    assert "Airflow's metadata database (NICHIRO_AIRFLOW_DB_URL)" in out.stderr, out.stderr
    assert f"is owned by role postgres, not by {OWNER}" in out.stderr, out.stderr
    missing = _url(OWNER, f"{OWNED_DB}_missing")
    out = _python(dbctl, "ensure", "--db", missing, NICHIRO_AIRFLOW_DB_URL=missing)
    assert out.returncode == 1
    assert (f"does not exist and role {OWNER} may not create databases" in out.stderr
            and f"CREATE DATABASE {OWNED_DB}_missing OWNER {OWNER}" in out.stderr), out.stderr


def _read_only_default(role: str) -> bool:
    """Whether the role's sessions start read-only (ALTER ROLE ... SET, any database)."""
    admin = _admin()
    with admin.cursor() as cur:
        cur.execute("SELECT coalesce(rolconfig, '{}') FROM pg_roles WHERE rolname = %s", (role,))
        config = cur.fetchone()[0]
    admin.close()
    return "default_transaction_read_only=on" in config


def _drift(role: str) -> None:
    """What a hand-made change, a restore or an old server leaves behind: the role's
    read-only default gone, and CREATE in `public` open to everyone (PostgreSQL < 15)."""
    admin = _admin()
    with admin.cursor() as cur:
        cur.execute(sql.SQL("ALTER ROLE {} RESET default_transaction_read_only").format(
            sql.Identifier(role)))
    admin.close()
    admin = _admin(OWNED_DB)
    with admin.cursor() as cur:
        cur.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    admin.close()


def _reader_may_create_in_public(role: str) -> bool:
    admin = psycopg2.connect(ADMIN_URL)
    try:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
            cur.execute("CREATE TABLE public.reader_was_here (x int)")
        return True
    except psycopg2.errors.InsufficientPrivilege:
        return False
    finally:
        admin.rollback()
        admin.close()


def test_grants_restore_the_readers_limits_every_time(owned_db: str) -> None:
    env = {"NICHIRO_READER_ROLE": READER_RO}
    assert _python("-m", "scrapers", "migrate", "--db", owned_db, **env).returncode == 0
    made = _python("-m", "scrapers", "reader-role", "--admin-db", ADMIN_URL, "--db", owned_db,
                   **env)
    assert made.returncode == 0, made.stderr
    assert _read_only_default(READER_RO) and not _reader_may_create_in_public(READER_RO)

    # 1. A migration run as the owner closes `public` again; the role's setting is not the
    #    owner's to restore, and the run says who can.
    _drift(READER_RO)
    assert _reader_may_create_in_public(READER_RO)
    owner_run = _python("-m", "scrapers", "migrate", "--db", owned_db, **env)
    assert owner_run.returncode == 0, owner_run.stderr
    assert not _reader_may_create_in_public(READER_RO)
    assert not _read_only_default(READER_RO)
    [warning] = [line for line in owner_run.stderr.splitlines()
                 if "default_transaction_read_only" in line]
    assert READER_RO in warning and "make reader-role ADMIN_DB_URL=" in warning

    # 2. The privileged step restores it although the role exists ...
    again = _python("-m", "scrapers", "reader-role", "--admin-db", ADMIN_URL, "--db", owned_db,
                    **env)
    assert again.returncode == 0, again.stderr
    assert _read_only_default(READER_RO)

    # 3. ... and so does a migration run by a role that may (a development superuser).
    _drift(READER_RO)
    admin_run = _python("-m", "scrapers", "migrate", "--db", ADMIN_URL, **env)
    assert admin_run.returncode == 0, admin_run.stderr
    assert _read_only_default(READER_RO) and not _reader_may_create_in_public(READER_RO)

    # 4. With everything in place, the owner's runs have nothing to say.
    quiet = _python("-m", "scrapers", "migrate", "--db", owned_db, **env)
    assert quiet.returncode == 0 and "default_transaction_read_only" not in quiet.stderr, (
        quiet.stderr)
