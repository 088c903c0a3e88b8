"""Analysts' watchlists from the command line (`make watch`).

    python -m scrapers watch list
    python -m scrapers watch add NAME [--term TEXT] [--tag kind:name] [--language ja]
                                      [--outlet NAME ...] [--outlets "A,B"]
    python -m scrapers watch remove NAME

New matches of a watch are alerted by nichiro_alerts (README, "Alerts about the news").
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from scrapers.config import db_url
from scrapers.db import watchlists


def main(argv: list[str] | None = None) -> int:
    import psycopg2

    parser = argparse.ArgumentParser(description="Saved searches whose new matches alert.")
    parser.add_argument("--db", default=None, help="libpq URL (default: NICHIRO_DB_URL)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every watch")
    add = sub.add_parser("add", help="save a watch")
    add.add_argument("name")
    add.add_argument("--term", help="text searched as analytics.search does")
    add.add_argument("--tag", help="an analyst tag, e.g. theme:sanctions")
    add.add_argument("--language", choices=("en", "ja", "ru"))
    add.add_argument("--outlet", action="append", default=[], help="repeatable")
    add.add_argument("--outlets", default="", help="a comma list of outlets")
    remove = sub.add_parser("remove", help="delete a watch")
    remove.add_argument("name")
    args = parser.parse_args(argv)
    conn = psycopg2.connect(args.db or db_url())
    try:
        if args.command == "add":
            try:
                watchlists.add(conn, args.name, term=args.term, tag=args.tag,
                               language=args.language,
                               outlets=[*args.outlet, *filter(None, (
                                   o.strip() for o in args.outlets.split(",")))],
                               now=datetime.now(UTC))
            except ValueError as exc:
                print(exc, file=sys.stderr)
                return 2
            conn.commit()
            print(f"watching {args.name!r}")
        elif args.command == "remove":
            if not watchlists.remove(conn, args.name):
                print(f"no watch named {args.name!r}", file=sys.stderr)
                return 1
            conn.commit()
            print(f"removed {args.name!r}")
        else:
            watches = watchlists.all_watches(conn)
            for watch in watches:
                print(watchlists.describe(watch))
            if not watches:
                print("no watch yet: make watch ADD=NAME TERM=... (or TAG=...)")
    finally:
        conn.close()
    return 0
