"""Flyway-style migrations for the news database.

Versioned files `sql/migrations/V###__name.sql` are applied once, in order, each in its
own transaction together with its record in `schema_migrations`; a changed checksum of
an applied file is an error (edit history by new migrations, never by rewriting old
ones). Repeatable files `sql/views/R__name.sql` are re-applied after the versioned ones
whenever their checksum changes. An advisory lock serialises concurrent callers (every
DAG run starts by migrating).

CLI: `python -m scrapers.migrate [--db URL]`.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
VERSIONED_RE = re.compile(r"^V(\d{3,})__([A-Za-z0-9_]+)\.sql$")
REPEATABLE_RE = re.compile(r"^R__([A-Za-z0-9_]+)\.sql$")
LOCK_KEY = 0x6E696368  # "nich": arbitrary, constant advisory lock id

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


def migrate(conn: Any, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply what is pending on a DB-API (psycopg2) connection; returns what was applied."""
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
                if known != migration.checksum:
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
    finally:
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        conn.commit()
    for name in applied_now:
        LOGGER.info("applied migration %s", name)
    return applied_now


def _apply(conn: Any, migration: Migration) -> None:
    try:
        with conn.cursor() as cur:
            cur.execute(migration.sql)
            cur.execute(
                """INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)
                   ON CONFLICT (version) DO UPDATE
                   SET checksum = EXCLUDED.checksum, applied_at = now()""",
                (migration.version, migration.name, migration.checksum),
            )
        conn.commit()
    except Exception as exc:
        conn.rollback()
        raise MigrationError(f"{migration.path.name} failed and was rolled back: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    import psycopg2

    from scrapers.config import db_url

    parser = argparse.ArgumentParser(description="Apply Nichiro's SQL migrations.")
    parser.add_argument("--db", default=None, help="libpq URL (default: NICHIRO_DB_URL)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    conn = psycopg2.connect(args.db or db_url())
    try:
        done = migrate(conn)
    finally:
        conn.close()
    print(f"migrations applied: {', '.join(done) if done else 'none (up to date)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
