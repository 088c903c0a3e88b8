"""Flyway-style migrations for the news database.

Versioned files `sql/migrations/V###__name.sql` are applied once, in order, each in its
own transaction together with its record in `schema_migrations`; a changed checksum of
an applied file is an error (edit history by new migrations, never by rewriting old
ones). Repeatable files `sql/views/R__name.sql` are re-applied after the versioned ones
whenever their checksum changes. An advisory lock serialises concurrent callers (every
DAG run starts by migrating).

Migrations need only the ownership of the database. The analysts' read-only role is made
by a separate, privileged step (`create_reader_role`, `make reader-role`: creating a role
needs CREATEROLE); every migration run grants it what it reads once it exists, and checks
its limits: no CREATE in `public`, sessions that start read-only. The owner restores the
first itself; the second is a role setting, which only a role with CREATEROLE may change, so
an owner without it says so and `make reader-role` restores it.

CLI: `python -m scrapers migrate [--db URL]` (migrate; also creates the reader role when the
connected role may), `python -m scrapers reader-role [--admin-db URL] [--db URL]`.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapers.db.connection import Connection

LOGGER = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
VERSIONED_RE = re.compile(r"^V(\d{3,})__([A-Za-z0-9_]+)\.sql$")
REPEATABLE_RE = re.compile(r"^R__([A-Za-z0-9_]+)\.sql$")
LOCK_KEY = 0x6E696368  # "nich": arbitrary, constant advisory lock id
READER_GRANTS = SQL_DIR / "reader_grants.sql"
READER_ROLE_SQL = SQL_DIR / "reader_role.sql"
#: Applied files rewritten on purpose, with the checksums they had before: a database that
#: applied the earlier text gets the new checksum recorded (what Flyway's `repair` does).
#: V005 made the reader role, which needs CREATEROLE; that moved to `create_reader_role`.
REWRITTEN: dict[str, frozenset[str]] = {
    "005": frozenset({"ee220e9a7b5a6cb50b2aecb3270d2351a78320e4cca8d3c214e8e90c4bcc1939"}),
}

CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text PRIMARY KEY,   -- '001' for versioned, 'R:<name>' for repeatable
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """The database and the migration files disagree; nothing was applied."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def discover(sql_dir: Path = SQL_DIR) -> tuple[list[Migration], list[Migration]]:
    """Versioned migrations in order, and repeatable ones by name."""
    versioned: list[Migration] = []
    for path in sorted((sql_dir / "migrations").glob("*.sql")):
        match = VERSIONED_RE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: name must look like V001__description.sql")
        versioned.append(
            Migration(match.group(1), match.group(2), path, path.read_text("utf-8"))
        )
    versions = [m.version for m in versioned]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {sql_dir / 'migrations'}")
    versioned.sort(key=lambda m: int(m.version))
    repeatable: list[Migration] = []
    for path in sorted((sql_dir / "views").glob("*.sql")):
        match = REPEATABLE_RE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: name must look like R__description.sql")
        repeatable.append(
            Migration(f"R:{match.group(1)}", match.group(1), path, path.read_text("utf-8"))
        )
    return versioned, repeatable


def migrate(conn: Connection, sql_dir: Path = SQL_DIR, reader_role: str | None = None) -> list[str]:
    """Apply what is pending on a DB-API (psycopg2) connection, then grant the reader role
    (`reader_role`, default `config.reader_role()`) if it exists; returns what was applied."""
    versioned, repeatable = discover(sql_dir)
    applied_now: list[str] = []
    if conn.autocommit:  # each migration needs its own transaction
        conn.autocommit = False
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    conn.commit()
    try:
        with conn.cursor() as cur:
            cur.execute(CREATE_HISTORY)
            cur.execute("SELECT version, checksum FROM schema_migrations")
            applied = dict(cur.fetchall())
        conn.commit()
        for migration in versioned:
            known = applied.get(migration.version)
            if known is not None:
                if known in REWRITTEN.get(migration.version, ()):
                    _record(conn, migration)
                    conn.commit()
                elif known != migration.checksum:
                    raise MigrationError(
                        f"{migration.path.name} was changed after it was applied "
                        f"(checksum {migration.checksum[:12]} != recorded {known[:12]}); "
                        "add a new migration instead of editing an applied one"
                    )
                continue
            _apply(conn, migration)
            applied_now.append(migration.path.name)
        for migration in repeatable:
            if applied.get(migration.version) == migration.checksum:
                continue
            _apply(conn, migration)
            applied_now.append(migration.path.name)
        # Grants rewrite every analytics view's ACL: only when the schema changed, or the
        # role lacks its grants (an administrator made it since the last run) or its limits.
        if applied_now or not reader_granted(conn, reader_role):
            grant_reader(conn, reader_role)
    finally:
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        conn.commit()
    for name in applied_now:
        LOGGER.info("applied migration %s", name)
    return applied_now


def _record(conn: Connection, migration: Migration) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)
               ON CONFLICT (version) DO UPDATE
               SET checksum = EXCLUDED.checksum, applied_at = now()""",
            (migration.version, migration.name, migration.checksum),
        )


def _apply(conn: Connection, migration: Migration) -> None:
    try:
        with conn.cursor() as cur:
            cur.execute(migration.sql)
        _record(conn, migration)
        conn.commit()
    except Exception as exc:
        conn.rollback()
        raise MigrationError(f"{migration.path.name} failed and was rolled back: {exc}") from exc


def _role_sql(path: Path, role: str) -> Any:
    from psycopg2 import sql

    return sql.SQL(path.read_text("utf-8")).format(role=sql.Identifier(role),
                                                   name=sql.Literal(role))


def role_exists(conn: Connection, role: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", (role,))
        return cur.fetchone() is not None


_READER_STATE = """
SELECT has_schema_privilege(r.oid, 'analytics', 'USAGE'),
       has_schema_privilege(r.oid, 'public', 'CREATE'),
       EXISTS (SELECT FROM unnest(r.rolconfig) AS setting
               WHERE lower(setting) IN ('default_transaction_read_only=on',
                                        'default_transaction_read_only=true'))
FROM pg_catalog.pg_roles r WHERE r.rolname = %s
"""


def _reader_state(cur: Any, role: str) -> tuple[bool, bool, bool] | None:
    """(granted the analytics schema, may CREATE in public, starts read-only), or None when
    the role does not exist."""
    cur.execute(_READER_STATE, (role,))
    row = cur.fetchone()
    return (bool(row[0]), bool(row[1]), bool(row[2])) if row else None


def reader_granted(conn: Connection, role: str | None = None) -> bool:
    """Whether the reader role exists, has been granted the analytics schema, may not create
    in `public`, and starts its sessions read-only."""
    from scrapers.config import reader_role

    with conn.cursor() as cur:
        state = _reader_state(cur, role or reader_role())
    conn.rollback()
    return state == (True, False, True)


def grant_reader(conn: Connection, role: str | None = None) -> bool:
    """Grant the reader role what analysts read and close `public` (sql/reader_grants.sql),
    as the database's owner, and restore the role's read-only default (sql/reader_role.sql)
    when the connected role may. A missing role is skipped, and a limit left open is logged,
    each with one line that says how to fix it; returns whether the grants were applied."""
    import psycopg2

    from scrapers.config import reader_role

    role = role or reader_role()
    if not role_exists(conn, role):
        conn.rollback()
        LOGGER.warning(
            "reader role %s does not exist: analysts' read-only access skipped. An "
            "administrator (CREATEROLE) creates it with `make reader-role` "
            "(python -m scrapers reader-role --admin-db URL)", role)
        return False
    may_alter_role = may_create_roles(conn)
    with conn.cursor() as cur:
        cur.execute(_role_sql(READER_GRANTS, role))
        state = _reader_state(cur, role)
        if may_alter_role and state is not None and not state[2]:
            # a role setting, changed only when missing: the role is shared by every
            # database on the server, and their migration runs may overlap
            cur.execute("SAVEPOINT reader_role")
            try:
                cur.execute(_role_sql(READER_ROLE_SQL, role))
            except psycopg2.errors.InsufficientPrivilege:
                cur.execute("ROLLBACK TO SAVEPOINT reader_role")  # logged below
    conn.commit()
    with conn.cursor() as cur:
        state = _reader_state(cur, role) or (False, False, False)
    conn.rollback()
    if state[1]:
        LOGGER.warning(
            "reader role %s may still CREATE in schema public (granted by a role other than "
            "this one): the schema's owner must revoke it", role)
    if not state[2]:
        LOGGER.warning(
            "reader role %s: sessions do not start read-only (default_transaction_read_only), "
            "and only a role with CREATEROLE may set that. An administrator restores it with "
            "`make reader-role ADMIN_DB_URL=<URL of a role with CREATEROLE>`", role)
    return True


def may_create_roles(conn: Connection) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT rolsuper OR rolcreaterole FROM pg_catalog.pg_roles "
                    "WHERE rolname = current_user")
        row = cur.fetchone()
    conn.rollback()
    return bool(row and row[0])


def create_reader_role(admin_conn: Connection, role: str | None = None) -> None:
    """The privileged step: create the reader role (needs CREATEROLE) if it is missing, and
    (re)set its read-only default. The grants follow from the owner's next migration run, or
    `grant_reader`."""
    from scrapers.config import reader_role

    with admin_conn.cursor() as cur:
        cur.execute(_role_sql(READER_ROLE_SQL, role or reader_role()))
    admin_conn.commit()


def main(argv: list[str] | None = None) -> int:
    import psycopg2

    from scrapers.config import db_url, reader_role

    parser = argparse.ArgumentParser(description="Apply Nichiro's SQL migrations.")
    parser.add_argument("command", nargs="?", choices=["migrate", "reader-role"],
                        default="migrate", help="reader-role: the privileged step")
    parser.add_argument("--db", default=None,
                        help="libpq URL of the news database, as its owner "
                             "(default: NICHIRO_DB_URL)")
    parser.add_argument("--admin-db", default=None,
                        help="reader-role: libpq URL of a role with CREATEROLE "
                             "(default: the --db URL)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    role = reader_role()
    conn = psycopg2.connect(args.db or db_url())
    try:
        # The role is made where it is missing: by the privileged step, or by a plain
        # migration run whose role may create roles (a development superuser). Given an
        # administrator, the privileged step also resets an existing role's settings.
        exists = role_exists(conn, role)
        if (args.command == "reader-role" and (args.admin_db or not exists)) or (
                not exists and may_create_roles(conn)):
            admin = psycopg2.connect(args.admin_db) if args.admin_db else conn
            try:
                create_reader_role(admin, role)
            except psycopg2.errors.InsufficientPrivilege as exc:
                print(f"cannot {'set up' if exists else 'create'} the reader role {role}: "
                      f"{exc.diag.message_primary}. Run this step as an administrator: "
                      "make reader-role ADMIN_DB_URL=<URL of a role with CREATEROLE>",
                      file=sys.stderr)
                return 1
            finally:
                if admin is not conn:
                    admin.close()
            print(f"reader role {role} exists")
        if args.command == "reader-role":
            granted = grant_reader(conn, role)
            print(f"reader role {role}: grants {'applied' if granted else 'NOT applied'}")
            return 0 if granted else 1
        done = migrate(conn, reader_role=role)
    finally:
        conn.close()
    print(f"migrations applied: {', '.join(done) if done else 'none (up to date)'}")
    return 0
