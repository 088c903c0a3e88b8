"""All SQL the pipeline runs against the news database, over a DB-API connection.

Functions take an open psycopg2 connection and leave transaction control to the
caller (scrapers.pipeline), except where a docstring says otherwise. Every write is an
upsert keyed by a unique constraint, so re-running a step changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from scrapers.models import Evidence, Source

Row = dict[str, Any]


def _rows(cur: Any) -> list[Row]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def evidence_json(evidence: Iterable[Evidence]) -> str:
    return json.dumps([asdict(e) for e in evidence], ensure_ascii=False)


def sync_sources(conn: Any, sources: Sequence[Source]) -> list[Row]:
    """Upsert the catalog into `sources`; returns the enabled ones as {id, name}.

    Sources missing from the catalog are disabled, never deleted: their fetch history
    and articles stay.
    """
    with conn.cursor() as cur:
        for s in sources:
            cur.execute(
                """INSERT INTO sources (name, url, language, kind, outlet, enabled)
                   VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (name) DO UPDATE SET
                       url = EXCLUDED.url, language = EXCLUDED.language,
                       kind = EXCLUDED.kind, outlet = EXCLUDED.outlet,
                       enabled = EXCLUDED.enabled,
                       -- a new feed URL must not inherit the old one's validators
                       etag = CASE WHEN sources.url = EXCLUDED.url THEN sources.etag END,
                       last_modified = CASE WHEN sources.url = EXCLUDED.url
                                            THEN sources.last_modified END,
                       updated_at = now()
                   WHERE (sources.url, sources.language, sources.kind, sources.outlet,
                          sources.enabled)
                         IS DISTINCT FROM
                         (EXCLUDED.url, EXCLUDED.language, EXCLUDED.kind, EXCLUDED.outlet,
                          EXCLUDED.enabled)""",
                (s.name, s.url, s.language, s.kind, s.outlet_name, s.enabled),
            )
        cur.execute(
            "UPDATE sources SET enabled = false, updated_at = now() "
            "WHERE enabled AND NOT (name = ANY(%s))",
            ([s.name for s in sources],),
        )
        cur.execute("SELECT id, name FROM sources WHERE enabled ORDER BY kind, id")
        return _rows(cur)


def get_source(conn: Any, source_id: int) -> Row:
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM sources WHERE id = %s", (source_id,))
        rows = _rows(cur)
    if not rows:
        raise LookupError(f"no source with id {source_id}")
    return rows[0]


def start_feed_fetch(conn: Any, source_id: int, run_id: str, url: str, now: datetime) -> int:
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO feed_fetches (source_id, run_id, url, started_at)
               VALUES (%s, %s, %s, %s) RETURNING id""",
            (source_id, run_id, url, now),
        )
        fetch_id: int = cur.fetchone()[0]
    return fetch_id


def finish_feed_fetch(
    conn: Any,
    fetch_id: int,
    *,
    finished_at: datetime,
    http_status: int | None,
    not_modified: bool = False,
    nbytes: int | None = None,
    entries: int | None = None,
    relevant: int | None = None,
    skipped: int | None = None,
    error_class: str | None = None,
    error: str | None = None,
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE feed_fetches SET finished_at = %s, http_status = %s, not_modified = %s,
                   bytes = %s, entries = %s, relevant = %s, skipped = %s,
                   error_class = %s, error = %s
               WHERE id = %s""",
            (finished_at, http_status, not_modified, nbytes, entries, relevant, skipped,
             error_class, error, fetch_id),
        )


def record_source_success(
    conn: Any, source_id: int, now: datetime, etag: str | None, last_modified: str | None
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE sources SET last_fetched_at = %s, last_success_at = %s,
                   consecutive_failures = 0, last_error = NULL,
                   etag = coalesce(%s, etag), last_modified = coalesce(%s, last_modified)
               WHERE id = %s""",
            (now, now, etag, last_modified, source_id),
        )


def record_source_failure(conn: Any, source_id: int, now: datetime, error: str) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE sources SET last_fetched_at = %s,
                   consecutive_failures = consecutive_failures + 1, last_error = %s
               WHERE id = %s""",
            (now, error, source_id),
        )


def upsert_feed_entry(conn: Any, values: Row) -> int:
    """Insert or refresh one feed entry keyed by (source_id, guid); returns its id."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO feed_entries (source_id, guid, link, url, title, summary,
                   published_at, outlet, fingerprint, relevance_score, candidate,
                   matched_terms, first_seen_at, last_seen_at, last_fetch_id)
               VALUES (%(source_id)s, %(guid)s, %(link)s, %(url)s, %(title)s, %(summary)s,
                   %(published_at)s, %(outlet)s, %(fingerprint)s, %(relevance_score)s,
                   %(candidate)s, %(matched_terms)s, %(now)s, %(now)s, %(fetch_id)s)
               ON CONFLICT (source_id, guid) DO UPDATE SET
                   link = EXCLUDED.link, url = EXCLUDED.url, title = EXCLUDED.title,
                   summary = EXCLUDED.summary, published_at = EXCLUDED.published_at,
                   outlet = EXCLUDED.outlet, fingerprint = EXCLUDED.fingerprint,
                   relevance_score = EXCLUDED.relevance_score,
                   candidate = EXCLUDED.candidate, matched_terms = EXCLUDED.matched_terms,
                   last_seen_at = EXCLUDED.last_seen_at, last_fetch_id = EXCLUDED.last_fetch_id
               RETURNING id""",
            values,
        )
        entry_id: int = cur.fetchone()[0]
    return entry_id


def candidate_entries(conn: Any, fetch_id: int) -> list[Row]:
    """Candidate entries of one feed fetch, each with the article it already became."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT e.*, a.id AS known_article_id, a.first_seen_at AS article_first_seen_at,
                      a.etag AS article_etag, a.last_modified AS article_last_modified
               FROM feed_entries e
               LEFT JOIN LATERAL (
                   SELECT a.* FROM articles a
                   WHERE a.id = e.article_id OR a.url = e.url
                      OR a.id = (SELECT o.article_id FROM feed_entries o
                                 WHERE o.url = e.url AND o.article_id IS NOT NULL LIMIT 1)
                   LIMIT 1
               ) a ON true
               WHERE e.last_fetch_id = %s AND e.candidate
               ORDER BY e.published_at DESC NULLS LAST, e.id""",
            (fetch_id,),
        )
        return _rows(cur)


def stage_article(conn: Any, values: Row) -> None:
    """Record what one page fetch produced for this run (idempotent per run/source/url)."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO staged_articles (run_id, source_id, entry_id, url, status, reason,
                   record)
               VALUES (%(run_id)s, %(source_id)s, %(entry_id)s, %(url)s, %(status)s,
                   %(reason)s, %(record)s)
               ON CONFLICT (run_id, source_id, url) DO UPDATE SET
                   entry_id = EXCLUDED.entry_id, status = EXCLUDED.status,
                   reason = EXCLUDED.reason, record = EXCLUDED.record,
                   outcome = NULL, article_id = NULL, loaded_at = NULL""",
            values,
        )


def pending_staged(conn: Any, run_id: str) -> list[Row]:
    """Staged records of a run not loaded yet: direct feeds before search feeds."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT st.*, s.kind FROM staged_articles st JOIN sources s ON s.id = st.source_id
               WHERE st.run_id = %s AND st.loaded_at IS NULL
                 AND st.status IN ('extracted', 'not_modified', 'known')
               ORDER BY (s.kind = 'search'), st.source_id, st.id""",
            (run_id,),
        )
        return _rows(cur)


UPSERT_ARTICLE = """
INSERT INTO articles (url, original_url, title, body, summary, authors, published_at,
    fetched_at, first_seen_at, language, source, source_id, guid, tags, captions,
    relevance_score, relevant, matched_terms, content_hash, etag, last_modified,
    published_precision, truncated, paywalled)
VALUES (%(url)s, %(original_url)s, %(title)s, %(body)s, %(summary)s, %(authors)s,
    %(published_at)s, %(fetched_at)s, %(fetched_at)s, %(language)s, %(source)s,
    %(source_id)s, %(guid)s, %(tags)s, %(captions)s, %(relevance_score)s, %(relevant)s,
    %(matched_terms)s, %(content_hash)s, %(etag)s, %(last_modified)s,
    %(published_precision)s, %(truncated)s, %(paywalled)s)
ON CONFLICT (url) DO UPDATE SET
    title = EXCLUDED.title, body = EXCLUDED.body, summary = EXCLUDED.summary,
    authors = EXCLUDED.authors, published_at = coalesce(EXCLUDED.published_at,
    articles.published_at), fetched_at = EXCLUDED.fetched_at, language = EXCLUDED.language,
    tags = EXCLUDED.tags, captions = EXCLUDED.captions,
    relevance_score = EXCLUDED.relevance_score, relevant = EXCLUDED.relevant,
    matched_terms = EXCLUDED.matched_terms, content_hash = EXCLUDED.content_hash,
    etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified,
    published_precision = EXCLUDED.published_precision, truncated = EXCLUDED.truncated,
    paywalled = EXCLUDED.paywalled, updated_count = articles.updated_count + 1
WHERE articles.content_hash IS DISTINCT FROM EXCLUDED.content_hash
RETURNING id, (xmax = 0) AS inserted
"""


def upsert_article(conn: Any, record: Row) -> tuple[int, str]:
    """Insert or update by canonical URL; returns (article id, 'new'|'updated'|'unchanged')."""
    with conn.cursor() as cur:
        cur.execute(UPSERT_ARTICLE, record)
        row = cur.fetchone()
        if row is not None:
            return int(row[0]), ("new" if row[1] else "updated")
        cur.execute("SELECT id FROM articles WHERE url = %s", (record["url"],))
        return int(cur.fetchone()[0]), "unchanged"


def replace_article_tags(conn: Any, article_id: int, tags: Sequence[str]) -> None:
    """Make the article's analyst tags exactly `tags` (no writes when already so)."""
    with conn.cursor() as cur:
        cur.execute(
            "DELETE FROM article_tags WHERE article_id = %s AND NOT (tag = ANY(%s))",
            (article_id, list(tags)),
        )
        for tag in tags:
            cur.execute(
                "INSERT INTO article_tags (article_id, tag) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                (article_id, tag),
            )


def article_id_by_url(conn: Any, url: str) -> int | None:
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM articles WHERE url = %s", (url,))
        row = cur.fetchone()
    return int(row[0]) if row else None


def mark_loaded(
    conn: Any, staged_id: int, entry_id: int | None, article_id: int | None, outcome: str,
    now: datetime,
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE staged_articles SET outcome = %s, article_id = %s, loaded_at = %s
               WHERE id = %s""",
            (outcome, article_id, now, staged_id),
        )
        if entry_id is not None and article_id is not None:
            cur.execute(
                "UPDATE feed_entries SET article_id = %s WHERE id = %s "
                "AND article_id IS DISTINCT FROM %s",
                (article_id, entry_id, article_id),
            )


def run_summary(conn: Any, run_id: str) -> list[Row]:
    """Per-source counts of one DAG run (latest fetch attempt per source)."""
    with conn.cursor() as cur:
        cur.execute(
            """WITH last_fetch AS (
                   SELECT DISTINCT ON (source_id) * FROM feed_fetches
                   WHERE run_id = %(run_id)s ORDER BY source_id, started_at DESC, id DESC
               ), staged AS (
                   SELECT source_id,
                          count(*) FILTER (WHERE status IN ('extracted', 'not_modified'))
                              AS fetched,
                          count(*) FILTER (WHERE outcome = 'new') AS new,
                          count(*) FILTER (WHERE outcome = 'updated') AS updated,
                          count(*) FILTER (WHERE outcome IN ('unchanged', 'duplicate'))
                              AS duplicates,
                          count(*) FILTER (WHERE status = 'rejected') AS rejected,
                          count(*) FILTER (WHERE status = 'error') AS page_errors
                   FROM staged_articles WHERE run_id = %(run_id)s GROUP BY source_id
               )
               SELECT s.name AS source, f.http_status, f.not_modified,
                      coalesce(f.entries, 0) AS entries, coalesce(f.relevant, 0) AS relevant,
                      coalesce(st.fetched, 0) AS fetched, coalesce(st.new, 0) AS new,
                      coalesce(st.updated, 0) AS updated,
                      coalesce(st.duplicates, 0) AS duplicates,
                      coalesce(st.rejected, 0) AS rejected,
                      coalesce(st.page_errors, 0)
                        + CASE WHEN f.error IS NULL THEN 0 ELSE 1 END AS errors,
                      f.error
               FROM last_fetch f JOIN sources s ON s.id = f.source_id
               LEFT JOIN staged st ON st.source_id = f.source_id
               ORDER BY s.name""",
            {"run_id": run_id},
        )
        return _rows(cur)
