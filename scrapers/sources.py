"""Operators' view of source health, and the way back for a disabled source.

    python -m scrapers sources list            # one line per source: status, streak, next fetch
    python -m scrapers sources enable "NAME"   # clear a health-disable (410, failure streak)
"""

from __future__ import annotations

import argparse

from scrapers.config import db_url
from scrapers.db import staging


def main(argv: list[str] | None = None) -> int:
    import psycopg2

    parser = argparse.ArgumentParser(description="Source health.")
    parser.add_argument("--db", default=None, help="libpq URL (default: NICHIRO_DB_URL)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="status of every source")
    enable = sub.add_parser("enable", help="re-enable a source disabled by health")
    enable.add_argument("name")
    args = parser.parse_args(argv)
    conn = psycopg2.connect(args.db or db_url())
    try:
        if args.command == "enable":
            if not staging.enable_source(conn, args.name):
                print(f"no source named {args.name!r}")
                return 1
            conn.commit()
            print(f"{args.name}: enabled; it is fetched on the next run")
            return 0
        with conn.cursor() as cur:
            cur.execute(
                """SELECT name, status, consecutive_failures,
                          to_char(next_fetch_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                          coalesce(disabled_reason, last_error, '')
                   FROM source_health ORDER BY status <> 'ok', name""")
            rows = cur.fetchall()
        print("status     fails  next fetch (UTC)  source — last problem")
        for name, status, fails, next_at, problem in rows:
            print(f"{status:<10} {fails:>5}  {next_at or 'now':<16}  {name}"
                  + (f" — {problem[:100]}" if problem else ""))
    finally:
        conn.close()
    return 0
