"""Re-extract stored articles from their kept raw pages, with the current code.

    python -m scrapers reprocess [--since 2026-11-01] [--batch 200] [--quiet]   (make reprocess)

The way to roll out an extractor, cleaner or rule improvement: nothing is fetched. A
story whose text changes is updated with a revision marked `reprocess`, and its search row
rewritten in the same transaction; one whose text is the same gets only its derived fields
(relevance, tags, markers) refreshed. Running it twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from scrapers.catalog import source_zone
from scrapers.db import search, store
from scrapers.db.connection import Connection
from scrapers.db.edits import Edit, apply_edits
from scrapers.dedup import event_links
from scrapers.extract.body import extract_article
from scrapers.pipeline import build_record
from scrapers.text.urls import canonicalize_url

LOGGER = logging.getLogger(__name__)


def reprocess(
    conn: Connection, *, since: datetime | None = None, batch: int = 200, progress: bool = False,
    now: datetime | None = None,
) -> dict[str, int]:
    """Re-extract every stored article with a raw page; commits every `batch` articles.

    A batch is written together (`_write`); if that fails, its articles are written one by
    one, so one article the database refuses is counted as failed and the rest are kept.
    """
    from tqdm import tqdm

    now = now or datetime.now(UTC)
    counts = {"updated": 0, "refreshed": 0, "unchanged": 0, "failed": 0}
    total = store.count_raw_pages(conn, since)
    after_id = 0
    with tqdm(total=total, disable=not progress, unit="article", file=sys.stderr) as bar:
        while rows := store.raw_pages_batch(conn, since, after_id, batch):
            built: list[tuple[int, dict[str, Any]]] = []
            for row in rows:
                try:
                    built.append((row["id"], _rebuild(row)))
                except Exception:
                    LOGGER.exception("article %s: re-extraction failed", row["id"])
                    counts["failed"] += 1
            try:
                outcomes = _write(conn, built, now)
                conn.commit()
            except Exception:
                conn.rollback()
                LOGGER.exception("articles %s-%s: writing the batch failed; one by one",
                                 rows[0]["id"], rows[-1]["id"])
                outcomes = []
                for item in built:
                    try:
                        outcomes += _write(conn, [item], now)
                        conn.commit()
                    except Exception:
                        conn.rollback()
                        LOGGER.exception("article %s: writing the re-extraction failed",
                                         item[0])
                        counts["failed"] += 1
            for outcome in outcomes:
                counts[outcome] += 1
            bar.update(len(rows))
            after_id = rows[-1]["id"]
    # Edited texts (and articles that became relevant) are linked to events again, in id
    # order, as the load would have linked them.
    while event_links.link_pending(conn, batch):
        conn.commit()
    return counts


def _rebuild(row: dict[str, Any]) -> dict[str, Any]:
    """The stored article's record extracted again from its raw page, at its own URL."""
    html = gzip.decompress(bytes(row["body_gz"]))
    article = extract_article(html, row["raw_url"], row["content_type"],
                              naive_zone=source_zone(row))
    source = {"id": row["source_id"], "language": row["language"], "outlet": row["source"]}
    key = canonicalize_url(row["url"])
    entry = {"url": key, "link": row["original_url"], "title": row["title"],
             "summary": row["summary"], "published_at": row["published_at"],
             "published_precision": row["published_precision"],
             "outlet": row["source"], "guid": row["guid"]}
    built, _rejection = build_record(source, entry, article, None, None, row["fetched_at"])
    # Reprocessing never moves a story to another URL.
    return replace(built, url=row["url"], url_key=key).as_row()


def _write(conn: Connection, built: list[tuple[int, dict[str, Any]]],
           now: datetime) -> list[str]:
    """Write re-extracted records: changed texts through the edit path (with their search
    rows, in the same transaction), unchanged ones get their derived fields and tags
    refreshed. Returns each article's outcome."""
    stored = store.lock_articles(conn, (article_id for article_id, _ in built))
    missing = [article_id for article_id, _ in built if article_id not in stored]
    if missing:
        raise LookupError(f"articles no longer stored: {missing}")
    store.add_urls_many(conn, [(record["url_key"], article_id, "canonical")
                               for article_id, record in built])
    edits = [Edit(article_id, record) for article_id, record in built
             if record["content_hash"] != stored[article_id]["content_hash"]]
    apply_edits(conn, edits, now=now, cause="reprocess")
    search.index_pending(conn, article_ids=[e.article_id for e in edits])
    same = {article_id: record for article_id, record in built
            if record["content_hash"] == stored[article_id]["content_hash"]}
    refreshed = store.update_derived(conn, [{**r, "id": aid} for aid, r in same.items()])
    store.replace_article_tags(conn, {aid: r["topic_tags"] for aid, r in same.items()})
    return ["refreshed" if aid in refreshed else "unchanged" if aid in same else "updated"
            for aid, _ in built]


def main(argv: list[str] | None = None) -> int:
    import psycopg2

    from scrapers.config import db_url

    parser = argparse.ArgumentParser(description="Re-extract stored articles from raw pages.")
    parser.add_argument("--db", default=None, help="libpq URL (default: NICHIRO_DB_URL)")
    parser.add_argument("--since", type=datetime.fromisoformat, default=None,
                        help="only articles first seen at or after this date (ISO 8601)")
    parser.add_argument("--batch", type=int, default=200, help="commit every N articles")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    since = args.since.replace(tzinfo=args.since.tzinfo or UTC) if args.since else None
    conn = psycopg2.connect(args.db or db_url())
    try:
        counts = reprocess(conn, since=since, batch=args.batch,
                           progress=not args.quiet and sys.stderr.isatty())
    finally:
        conn.close()
    print("reprocessed: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 1 if counts["failed"] else 0
