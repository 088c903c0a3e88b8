"""`python -m scrapers backfill`: the command line around nichiro_backfill.

- `conf --from D --to D [--languages ja,ru] [--sources "A,B"] [--max-articles N]` checks a
  request and prints it as the DAG run's conf (JSON), for `airflow dags test|trigger -c`;
- `progress [--conf JSON] [--watch PID]` prints each backfill's progress (or the one the
  conf names); with `--watch`, a progress bar of its units until that process ends
  (`make backfill` runs the DAG in the background and watches it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from scrapers.backfill import BackfillRequest
from scrapers.config import db_url
from scrapers.db import backfill as state
from scrapers.report import backfill_line


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch(conn: Any, backfill_id: str, pid: int, interval_s: float = 1.0) -> None:
    """A bar of the backfill's units done, with its pages and new articles, until `pid`
    ends (the backfill's row appears once the run has planned)."""
    from tqdm import tqdm

    with tqdm(desc=f"backfill {backfill_id}", unit="unit", file=sys.stderr,
              disable=not sys.stderr.isatty()) as bar:
        while True:
            running = _alive(pid)
            rows = state.progress(conn, backfill_id)
            conn.rollback()  # a fresh snapshot next time
            if rows:
                row = rows[0]
                bar.total = row["units"]
                bar.n = row["units_done"]
                bar.set_postfix(pages=row["pages"], articles=row["articles"],
                                failed=row["units_failed"], refresh=False)
                bar.refresh()
            if not running:
                return
            time.sleep(interval_s)


def main(argv: list[str] | None = None) -> int:
    import psycopg2

    parser = argparse.ArgumentParser(description="Backfill requests and their progress.")
    commands = parser.add_subparsers(dest="command", required=True)
    conf = commands.add_parser("conf", help="check a request; print it as the run's conf")
    conf.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    conf.add_argument("--to", dest="end", required=True, help="last day (inclusive)")
    conf.add_argument("--languages", default="", help="comma list: en, ja, ru (default all)")
    conf.add_argument("--sources", default="", help="comma list of source names (default all)")
    conf.add_argument("--max-articles", type=int, default=1000, help="pages at most")
    progress = commands.add_parser("progress", help="backfills and their progress")
    progress.add_argument("--conf", help="the run's conf (JSON): only that backfill")
    progress.add_argument("--watch", type=int, help="a bar until this process ends")
    progress.add_argument("--db", default=None, help="libpq URL (default: NICHIRO_DB_URL)")
    args = parser.parse_args(argv)
    try:
        if args.command == "conf":
            request = BackfillRequest.from_params({
                "from": args.start, "to": args.end, "languages": args.languages,
                "sources": args.sources, "max_articles": args.max_articles})
            print(json.dumps(request.as_json(), ensure_ascii=False))
            return 0
        backfill_id = BackfillRequest.from_params(json.loads(args.conf)).id if args.conf \
            else None
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    conn: Any = psycopg2.connect(args.db or db_url())
    try:
        if args.watch is not None and backfill_id is not None:
            watch(conn, backfill_id, args.watch)
        rows = state.progress(conn, backfill_id)
    finally:
        conn.close()
    for row in rows:
        print(backfill_line(row))
    if not rows:
        print("no backfill yet" if backfill_id is None else f"backfill {backfill_id}: not "
              "planned (did the run start? its log says)")
    return 0
