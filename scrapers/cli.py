"""The shape shared by the catch-up commands (`python -m scrapers clusters`, `... search-index`):
open the news database, do the pending work in committed batches, say how much was done."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from contextlib import closing
from typing import Any


def catch_up_main(
    argv: Sequence[str] | None, description: str, work: Callable[[Any, int], int],
    default_batch_size: int, done: str,
) -> int:
    """Run `work(conn, batch_size)` (which commits its batches) and print `done: <count>`."""
    import psycopg2

    from scrapers.config import db_url

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--db", default=None, help="libpq URL (default: NICHIRO_DB_URL)")
    parser.add_argument("--batch-size", type=int, default=default_batch_size,
                        help="commit every N rows")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with closing(psycopg2.connect(args.db or db_url())) as conn:
        count = work(conn, args.batch_size)
    print(f"{done}: {count}")
    return 0
