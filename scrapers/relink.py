"""Re-cluster stories and re-link events of every stored article, with the current methods.

    python -m scrapers relink [--batch 500] [--quiet]   (make relink)

After a change of the story method (the `params` of `article_minhash`) or the event method
(`article_event_evidence.params`): stories are re-assigned for the articles sketched with
other parameters (or none), then every event is rebuilt, oldest article first. Commits per
batch; a stopped run continues where it stopped (stories) or starts the events over.
Progress bars go to stderr when it is a terminal. Cost: one pass over the articles; each
decision reads only the articles within its time window (docs/clusters.md, docs/events.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from scrapers.db.connection import Connection
from scrapers.dedup import clusters, event_links


def relink(conn: Connection, batch: int = 500, progress: bool = False) -> dict[str, int]:
    """Stories, then events; returns how many articles each step handled."""
    from tqdm import tqdm

    with tqdm(desc="stories", unit="article", disable=not progress, file=sys.stderr) as bar:
        stories = clusters.backfill(conn, batch, progress=bar.update)
    with tqdm(desc="events", unit="article", disable=not progress, file=sys.stderr) as bar:

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        events = event_links.relink(conn, batch, progress=advance)
    return {"stories": stories, "events": events}


def main(argv: list[str] | None = None) -> int:
    import psycopg2

    from scrapers.config import db_url

    parser = argparse.ArgumentParser(description="Re-cluster stories and re-link events.")
    parser.add_argument("--db", default=None, help="libpq URL (default: NICHIRO_DB_URL)")
    parser.add_argument("--batch", type=int, default=500, help="commit every N articles")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    conn: Any = psycopg2.connect(args.db or db_url())
    try:
        counts = relink(conn, args.batch, progress=not args.quiet and sys.stderr.isatty())
    finally:
        conn.close()
    print(f"relinked: stories {counts['stories']}, events {counts['events']}")
    return 0
