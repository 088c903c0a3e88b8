"""Print what a run did, from the news database.

    python -m scrapers.report                 # per-source table of the latest run
    python -m scrapers.report --articles 5    # ... and the 5 newest articles
    python -m scrapers.report --run-id RUN    # a given run
"""

from __future__ import annotations

import argparse
from typing import Any

from scrapers.config import db_url
from scrapers.pipeline import format_summary
from scrapers.store import run_summary


def latest_run_id(conn: Any) -> str | None:
    with conn.cursor() as cur:
        cur.execute("SELECT run_id FROM feed_fetches ORDER BY started_at DESC, id DESC LIMIT 1")
        row = cur.fetchone()
    return row[0] if row else None


def newest_articles(conn: Any, limit: int) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT id, source, language, to_char(published_at AT TIME ZONE 'UTC',
                      'YYYY-MM-DD HH24:MI') AS published_utc, left(title, 70) AS title,
                      length(body) AS body_chars
               FROM articles ORDER BY first_seen_at DESC, id DESC LIMIT %s""",
            (limit,),
        )
        return list(cur.fetchall())


def main(argv: list[str] | None = None) -> int:
    import psycopg2

    parser = argparse.ArgumentParser(description="Summarise a nichiro_ingest run.")
    parser.add_argument("--db", default=None, help="libpq URL (default: NICHIRO_DB_URL)")
    parser.add_argument("--run-id", default=None)
    parser.add_argument("--articles", type=int, default=0, help="also list N newest articles")
    args = parser.parse_args(argv)
    conn = psycopg2.connect(args.db or db_url())
    try:
        run_id = args.run_id or latest_run_id(conn)
        if run_id is None:
            print("no runs recorded yet")
            return 1
        print(f"run {run_id}\n")
        print(format_summary(run_summary(conn, run_id)))
        if args.articles:
            print(f"\nnewest {args.articles} rows of articles:")
            header = ("id", "source", "lang", "published (UTC)", "title", "body chars")
            print(" | ".join(header))
            for row in newest_articles(conn, args.articles):
                print(" | ".join("" if v is None else str(v) for v in row))
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
