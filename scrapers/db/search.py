"""Search rows for articles: `article_search` brought in line with `articles`, set-based.

Why a table of its own (V012): the tsvector and the trigram index entries are the costly
part of writing an article, so they are kept off the load's inserts and written after the
articles are committed (history and figures: docs/benchmarks.md, "The load"). The load
task calls `index_pending` right after its commit, so a new or edited article becomes
searchable one statement later. Running it again writes nothing.

CLI, for operators (catch up after a restore or a formula change):
`python -m scrapers search-index [--db URL] [--batch-size N]`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from scrapers.db.connection import Connection

LOGGER = logging.getLogger(__name__)

# Pending: no search row, or one written for other text or another language (the loader
# changes content_hash whenever it changes title or body). The tsvector formula is the SQL
# function article_search_vector (V012), so it has one definition. The DO UPDATE condition
# makes a concurrent second writer of the same article a no-op rather than a rewrite, and
# ORDER BY id makes concurrent callers lock rows in the same order (no deadlock).
_UPSERT = """
INSERT INTO article_search AS s
       (article_id, content_hash, language, title, body, search_vector, indexed_at)
SELECT a.id, a.content_hash, a.language, a.title, a.body,
       article_search_vector(a.language, a.title, a.body), now()
FROM articles a
LEFT JOIN article_search p ON p.article_id = a.id
WHERE (p.article_id IS NULL
       OR (p.content_hash, p.language) IS DISTINCT FROM (a.content_hash, a.language))
  {only}
ORDER BY a.id
LIMIT %(limit)s
ON CONFLICT (article_id) DO UPDATE
SET content_hash = EXCLUDED.content_hash, language = EXCLUDED.language,
    title = EXCLUDED.title, body = EXCLUDED.body,
    search_vector = EXCLUDED.search_vector, indexed_at = EXCLUDED.indexed_at
WHERE (s.content_hash, s.language) IS DISTINCT FROM (EXCLUDED.content_hash, EXCLUDED.language)
"""
_UPSERT_ALL = _UPSERT.format(only="")
_UPSERT_SOME = _UPSERT.format(only="AND a.id = ANY(%(ids)s)")


def index_pending(
    conn: Connection, limit: int | None = None, *, article_ids: Sequence[int] | None = None,
) -> int:
    """Write the search row of every article whose row is missing or stale; returns how many.

    One INSERT ... SELECT ... ON CONFLICT statement; no commit (the caller owns the
    transaction, as with scrapers.db.store). With nothing pending it still compares the two
    tables, O(N): EXPLAIN shows a merge left join of both primary-key index scans reading
    (content_hash, language) from each heap. With `article_ids` the check is index
    lookups, O(len(article_ids)), which is why the load task passes its run's articles
    (timings: docs/benchmarks.md, "Moved from code comments").

    :param limit: write at most this many rows, lowest article id first (None: all).
    :param article_ids: consider only these articles (index lookups instead of the join),
        for a caller that knows what it just changed.
    """
    with conn.cursor() as cur:
        if article_ids is None:
            cur.execute(_UPSERT_ALL, {"limit": limit})
        else:
            cur.execute(_UPSERT_SOME, {"limit": limit, "ids": list(article_ids)})
        return int(cur.rowcount)


def index_all(conn: Connection, batch_size: int = 1000) -> int:
    """Index everything pending, committing after every `batch_size` rows; returns the total.

    For operators: a long catch-up keeps its progress if it stops, and rerunning it
    continues where it stopped.
    """
    done = 0
    while written := index_pending(conn, batch_size):
        conn.commit()
        done += written
        LOGGER.info("indexed %d articles", done)
    conn.commit()
    return done


def main(argv: list[str] | None = None) -> int:
    from scrapers.cli import catch_up_main

    return catch_up_main(argv, "Write the search rows of articles that have none or a stale "
                         "one.", index_all, 1000, "articles indexed for search")
