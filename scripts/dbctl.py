"""Find or start the PostgreSQL server behind NICHIRO_DB_URL and create the databases.

    python scripts/dbctl.py ensure [--db URL ...]   # server up, each database exists
    python scripts/dbctl.py stop                    # stop the private cluster, if we run one

If nothing answers at the URL's host and port and the host is local, a private cluster
is started under `.local/pgdata` with the machine's PostgreSQL binaries (initdb/pg_ctl),
trust auth, listening on that port on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

REPO = Path(__file__).resolve().parents[1]
# NICHIRO_PGDATA moves the private cluster (the tests start one in a temporary folder).
PGDATA = Path(os.environ.get("NICHIRO_PGDATA") or REPO / ".local" / "pgdata").resolve()
PGLOG = PGDATA.parent / "postgres.log"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


def _maintenance_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


def _answers(url: str) -> bool:
    try:
        psycopg2.connect(_maintenance_url(url), connect_timeout=3).close()
        return True
    except psycopg2.OperationalError:
        return False


def _pg_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if candidates:
        return candidates[-1]
    found = shutil.which(name)
    if not found:
        sys.exit(f"dbctl: no PostgreSQL server binaries ({name}) on this machine; "
                 "install PostgreSQL or point NICHIRO_DB_URL at a running server")
    return found


def _as_postgres_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: drop to the `postgres` account."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def start_private_cluster(port: int) -> None:
    PGDATA.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(PGDATA.parent, pw.pw_uid, pw.pw_gid)
    if not (PGDATA / "PG_VERSION").exists():
        print(f"dbctl: creating a private PostgreSQL cluster in {PGDATA}", flush=True)
        subprocess.run(_as_postgres_user([
            _pg_bin("initdb"), "-D", str(PGDATA), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8",
        ]), check=True, stdout=subprocess.DEVNULL)
    print(f"dbctl: starting the private cluster on 127.0.0.1:{port}", flush=True)
    subprocess.run(_as_postgres_user([
        _pg_bin("pg_ctl"), "-D", str(PGDATA), "-l", str(PGLOG), "-w", "-t", "60",
        "-o", f"-p {port} -c listen_addresses=127.0.0.1 -k {PGDATA.parent}", "start",
    ]), check=True)


def ensure(urls: list[str]) -> None:
    first = urls[0]
    if not _answers(first):
        parts = urlsplit(first)
        if (parts.hostname or "") not in LOCAL_HOSTS:
            sys.exit(f"dbctl: nothing answers at {parts.hostname}:{parts.port or 5432} "
                     "and it is not this machine: start that server or change NICHIRO_DB_URL")
        start_private_cluster(parts.port or 5432)
        for _ in range(30):
            if _answers(first):
                break
            time.sleep(1)
        else:
            sys.exit(f"dbctl: the private cluster did not answer; see {PGLOG}")
    for url in urls:
        if urlsplit(url).path.lstrip("/"):
            _ensure_database(url)


#: Which setting names which database, for the errors below.
SETTINGS = {"NICHIRO_DB_URL": "the news database",
            "NICHIRO_AIRFLOW_DB_URL": "Airflow's metadata database"}


def _setting(url: str) -> tuple[str, str]:
    """What the database is for, and the setting that names it."""
    for name, what in SETTINGS.items():
        if os.environ.get(name, "").replace("postgresql+psycopg2://", "postgresql://") == url:
            return what, name
    return "a database", "its URL"


def _ensure_database(url: str) -> None:
    """Create the database if missing; refuse one that the connecting role does not own.

    Migrations create tables in `public`, which on PostgreSQL 15 only the owner may do: a
    database another role owns would fail deep inside the migrations instead.
    """
    name = urlsplit(url).path.lstrip("/")
    what, setting = _setting(url)
    conn = psycopg2.connect(_maintenance_url(url))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                        (name,))
            row = cur.fetchone()
            cur.execute("SELECT current_user, rolsuper FROM pg_roles "
                        "WHERE rolname = current_user")
            role, superuser = cur.fetchone()
            if row is None:
                try:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                except psycopg2.errors.InsufficientPrivilege:
                    sys.exit(f"dbctl: {what} ({setting}): database {name} does not "
                             f"exist and role {role} may not create databases. Ask an "
                             f"administrator to run CREATE DATABASE {name} OWNER {role}; "
                             f"or point {setting} at a database {role} owns.")
                print(f"dbctl: created database {name}", flush=True)
            elif row[0] != role and not superuser:
                sys.exit(f"dbctl: {what} ({setting}): database {name} is owned by role "
                         f"{row[0]}, not by {role}, which connects to it; migrations need "
                         f"the owner. Set {setting} to a database {role} owns (an "
                         f"administrator can run CREATE DATABASE <name> OWNER {role};), "
                         f"or ALTER DATABASE {name} OWNER TO {role}.")
    finally:
        conn.close()


def stop() -> None:
    if (PGDATA / "postmaster.pid").exists():
        subprocess.run(_as_postgres_user([_pg_bin("pg_ctl"), "-D", str(PGDATA), "stop"]),
                       check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["ensure", "stop"])
    parser.add_argument("--db", action="append", default=[],
                        help="libpq URL of a database that must exist (repeatable)")
    args = parser.parse_args()
    if args.command == "stop":
        stop()
        return 0
    urls = [u.replace("postgresql+psycopg2://", "postgresql://") for u in args.db]
    ensure(urls or [os.environ.get("NICHIRO_DB_URL",
                                   "postgresql://postgres@127.0.0.1:5432/nichiro")])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
