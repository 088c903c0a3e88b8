"""The articles side of the news database: stories, their URLs, tags, raw pages and
revisions, and the run's summary, over a DB-API connection. The fetch side (sources, feed
fetches, entries, staged pages) is :mod:`scrapers.db.staging`.

Functions take an open psycopg2 connection and leave transaction control to the
caller (scrapers.pipeline), except where a docstring says otherwise. Every write is an
upsert keyed by a unique constraint, so re-running a step changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from scrapers.db.connection import Connection, Cursor

Row = dict[str, Any]


def dict_rows(cur: Cursor) -> list[Row]:
    """The cursor's remaining rows as dicts keyed by column name."""
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


ARTICLE_CONTENT_COLUMNS = (
    "url", "original_url", "title", "body", "summary", "authors", "published_at",
    "fetched_at", "language", "source", "source_id", "guid", "tags", "captions",
    "relevance_score", "relevant", "matched_terms", "content_hash", "etag", "last_modified",
    "published_precision", "truncated", "paywalled", "headline_only",
)


def article_ids_by_url(conn: Connection, urls: Iterable[str]) -> dict[str, int]:
    """The article each of these canonical URLs leads to (known aliases, then article URLs)."""
    wanted = sorted(set(urls))
    if not wanted:
        return {}
    with conn.cursor() as cur:
        cur.execute(
            """SELECT url, article_id FROM article_urls WHERE url = ANY(%(urls)s)
               UNION ALL
               SELECT url, id FROM articles WHERE url = ANY(%(urls)s)""",
            {"urls": wanted},
        )
        found: dict[str, int] = {}
        for url, article_id in cur.fetchall():
            found.setdefault(url, int(article_id))  # an alias claim comes first
    return found


def recent_content_twins(
    conn: Connection, keys: Iterable[tuple[str, str]], since: datetime
) -> dict[tuple[str, str], int]:
    """For (outlet, content hash) pairs: the oldest article with that content first seen
    since `since`."""
    pairs = sorted(set(keys))
    if not pairs:
        return {}
    with conn.cursor() as cur:
        cur.execute(
            """SELECT DISTINCT ON (a.source, a.content_hash) a.source, a.content_hash, a.id
               FROM articles a
               JOIN unnest(%s::text[], %s::text[]) AS k(source, content_hash)
                 ON a.source = k.source AND a.content_hash = k.content_hash
               WHERE a.first_seen_at >= %s
               ORDER BY a.source, a.content_hash, a.id""",
            ([p[0] for p in pairs], [p[1] for p in pairs], since),
        )
        return {(source, digest): int(aid) for source, digest, aid in cur.fetchall()}


def lock_articles(conn: Connection, article_ids: Iterable[int]) -> dict[int, Row]:
    """id, url and content hash of stored articles, locked until the transaction ends."""
    ids = sorted(set(article_ids))
    if not ids:
        return {}
    with conn.cursor() as cur:
        cur.execute("SELECT id, url, content_hash FROM articles WHERE id = ANY(%s) "
                    "ORDER BY id FOR UPDATE", (ids,))
        return {row["id"]: row for row in dict_rows(cur)}


def allocate_article_ids(conn: Connection, count: int) -> list[int]:
    """`count` new article ids, ascending, so rows and what points at them go in together."""
    if count <= 0:
        return []
    with conn.cursor() as cur:
        cur.execute("SELECT nextval('articles_id_seq') FROM generate_series(1, %s) "
                    "ORDER BY 1", (count,))
        return [int(row[0]) for row in cur.fetchall()]


_ARTICLE_ROW_COLUMNS = ("id", *ARTICLE_CONTENT_COLUMNS, "first_seen_at", "cluster_id",
                        "discovered_via")
#: A content column a staged record may lack (staged before the column existed): its value.
_RECORD_DEFAULTS = {"headline_only": "false"}


def _from_record(column: str) -> str:
    """The SQL reading `column` from a staged record `r`, with its default if absent."""
    default = _RECORD_DEFAULTS.get(column)
    return f"coalesce(r.{column}, {default})" if default else f"r.{column}"

# The staged record read into an `articles` row on the server: json arrays become text[],
# ISO times timestamptz, exactly as the same values passed as parameters would. How the
# article was found is its feed entry's (set once: a later copy or edit does not change it).
_INSERT_FROM_STAGED = f"""
INSERT INTO articles ({', '.join(_ARTICLE_ROW_COLUMNS)})
SELECT v.article_id, {', '.join(_from_record(c) for c in ARTICLE_CONTENT_COLUMNS)}, r.fetched_at,
       v.cluster_id, coalesce(e.discovered_via, 'feed')
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(staged_id, article_id, cluster_id)
JOIN staged_articles st ON st.id = v.staged_id
LEFT JOIN feed_entries e ON e.id = st.entry_id
CROSS JOIN LATERAL jsonb_populate_record(NULL::articles, st.record) AS r
ORDER BY v.article_id"""


def insert_articles_from_staged(
    conn: Connection, rows: Sequence[tuple[int, int, int | None]],
) -> None:
    """Insert new articles from their staged records: (staged id, article id, cluster id).

    Ids come from `allocate_article_ids`. No ON CONFLICT: the load holds the load lock and
    looked every URL up first, so a conflict is a bug that must stop the load, not a row
    to skip. Raises if a staged row is missing (it would silently lose an article).
    """
    if not rows:
        return
    staged, ids, cluster_ids = (list(c) for c in zip(*rows, strict=True))
    with conn.cursor() as cur:
        cur.execute(_INSERT_FROM_STAGED, (staged, ids, cluster_ids))
        if cur.rowcount != len(rows):
            raise RuntimeError(f"inserted {cur.rowcount} of {len(rows)} staged articles")


def add_urls_many(conn: Connection, claims: Sequence[tuple[str, int, str]]) -> None:
    """(canonical URL, article id, kind) claims in order; the first claim of a URL wins."""
    if not claims:
        return
    urls, ids, kinds = (list(c) for c in zip(*claims, strict=True))
    with conn.cursor() as cur:
        cur.execute("""INSERT INTO article_urls (url, article_id, kind)
                       SELECT url, article_id, kind
                       FROM unnest(%s::text[], %s::bigint[], %s::text[])
                           WITH ORDINALITY AS c(url, article_id, kind, n)
                       ORDER BY n
                       ON CONFLICT (url) DO NOTHING""", (urls, ids, kinds))


def add_tags_from_staged(conn: Connection, rows: Sequence[tuple[int, int]]) -> None:
    """The topic tags of new articles, from their staged records: (staged id, article id)."""
    if not rows:
        return
    staged, ids = (list(c) for c in zip(*rows, strict=True))
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO article_tags (article_id, tag)
               SELECT v.article_id, t.tag
               FROM unnest(%s::bigint[], %s::bigint[]) AS v(staged_id, article_id)
               JOIN staged_articles st ON st.id = v.staged_id
               CROSS JOIN LATERAL jsonb_array_elements_text(
                   coalesce(st.record -> 'topic_tags', '[]')) AS t(tag)
               ON CONFLICT DO NOTHING""", (staged, ids))


def save_raw_pages_from_staged(conn: Connection, rows: Sequence[tuple[int, int]]) -> None:
    """Upsert articles' raw pages from the staged pages: (article id, staged id), one per
    article. Staged rows without a page are skipped."""
    if not rows:
        return
    ids, staged = (list(c) for c in zip(*rows, strict=True))
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO raw_pages (article_id, url, fetched_at, content_type, size_bytes,
                   body_gz)
               SELECT v.article_id, st.raw_url, (st.record ->> 'fetched_at')::timestamptz,
                      st.raw_content_type, length(st.raw_gz), st.raw_gz
               FROM unnest(%s::bigint[], %s::bigint[]) AS v(article_id, staged_id)
               JOIN staged_articles st ON st.id = v.staged_id
               WHERE st.raw_gz IS NOT NULL
               ON CONFLICT (article_id) DO UPDATE SET url = EXCLUDED.url,
                   fetched_at = EXCLUDED.fetched_at, content_type = EXCLUDED.content_type,
                   size_bytes = EXCLUDED.size_bytes, body_gz = EXCLUDED.body_gz""",
            (ids, staged))


def articles_with_raw_page(conn: Connection, article_ids: Iterable[int]) -> set[int]:
    ids = sorted(set(article_ids))
    if not ids:
        return set()
    with conn.cursor() as cur:
        cur.execute("SELECT article_id FROM raw_pages WHERE article_id = ANY(%s)", (ids,))
        return {int(row[0]) for row in cur.fetchall()}


def lock_for_edit(conn: Connection, article_ids: Iterable[int]) -> dict[int, Row]:
    """The stored versions of articles about to be edited, locked until the transaction
    ends: what a revision keeps, what clustering needs, and how many revisions each has."""
    ids = sorted(set(article_ids))
    if not ids:
        return {}
    with conn.cursor() as cur:
        cur.execute(
            """SELECT id, url, title, body, content_hash, fetched_at, first_seen_at, cluster_id,
                      (SELECT count(*) FROM article_revisions r WHERE r.article_id = a.id)
                          AS revisions
               FROM articles a WHERE id = ANY(%s) ORDER BY id FOR UPDATE""",
            (ids,),
        )
        return {row["id"]: row for row in dict_rows(cur)}


def insert_revisions(conn: Connection, rows: Sequence[tuple[Row, str]], *,
                     replaced_at: datetime, cause: str) -> None:
    """Keep the versions being replaced: (stored row from `lock_for_edit`, diff summary)."""
    if not rows:
        return
    columns = list(zip(*[(old["id"], old["revisions"] + 1, old["title"], old["body"],
                          old["content_hash"], old["fetched_at"], summary)
                         for old, summary in rows], strict=True))
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO article_revisions (article_id, revision, title, body, content_hash,
                   seen_from, replaced_at, cause, diff_summary)
               SELECT v.article_id, v.revision, v.title, v.body, v.content_hash, v.seen_from,
                      %s, %s, v.summary
               FROM unnest(%s::bigint[], %s::integer[], %s::text[],
                   %s::text[], %s::text[], %s::timestamptz[], %s::text[])
                   AS v(article_id, revision, title, body, content_hash, seen_from, summary)""",
            (replaced_at, cause, *map(list, columns)),
        )


# The new versions as one JSON array read into `articles` rows on the server, as
# `_INSERT_FROM_STAGED` reads new ones: the same conversions for both. source_id and
# first_seen_at stay those of the first sighting.
_UPDATE_ARTICLES = (
    "UPDATE articles a SET "
    + ", ".join(f"{c} = {_from_record(c)}" for c in ARTICLE_CONTENT_COLUMNS
                if c != "source_id")
    + ", updated_count = a.updated_count + 1 "
    "FROM jsonb_populate_recordset(NULL::articles, %s::jsonb) AS r WHERE a.id = r.id"
)


def update_articles(conn: Connection, records: Sequence[Row]) -> None:
    """Replace stored articles' content columns with new versions (each with its `id`)."""
    if not records:
        return
    with conn.cursor() as cur:
        cur.execute(_UPDATE_ARTICLES, (_json_rows(records),))
        if cur.rowcount != len(records):
            raise RuntimeError(f"updated {cur.rowcount} of {len(records)} articles")


def _json_rows(records: Sequence[Row]) -> str:
    """Records as a JSON array for `jsonb_populate_recordset` (times in ISO 8601)."""
    def encode(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        raise TypeError(f"cannot store {type(value).__name__} as JSON")

    return json.dumps(list(records), ensure_ascii=False, default=encode)


def add_article_urls(conn: Connection, article_id: int, urls: Iterable[tuple[str, str]]) -> None:
    """Remember URLs (canonical form, kind) that lead to this article; first claim wins."""
    add_urls_many(conn, [(url, article_id, kind) for url, kind in urls])


def prune(conn: Connection, raw_before: datetime, staged_before: datetime) -> tuple[int, int]:
    """Retention: drop raw pages and staging rows older than the cut-offs.

    Every staging row goes at its cut-off: loaded ones, the rejected and failed pages (the
    audit trail of why), and the rows of a run whose load never happened, whose entries the
    backlog re-fetched long before (`staging.candidate_entries`).
    """
    with conn.cursor() as cur:
        cur.execute("DELETE FROM raw_pages WHERE fetched_at < %s", (raw_before,))
        raw = cur.rowcount
        cur.execute("DELETE FROM staged_articles WHERE created_at < %s", (staged_before,))
        return raw, cur.rowcount


def prune_feed_log(conn: Connection, before: datetime) -> tuple[int, int]:
    """Retention of the feed log: entries no feed has listed since `before`, then fetch
    records started before it; returns (entries, fetches) deleted.

    A row something still points at stays until that goes (an entry a staging row names,
    a fetch an entry was last seen in). An entry that comes back later is simply new
    again: its story, if stored, is still found by its URL.
    """
    with conn.cursor() as cur:
        cur.execute("""DELETE FROM feed_entries e WHERE e.last_seen_at < %s
                       AND NOT EXISTS (SELECT 1 FROM staged_articles s WHERE s.entry_id = e.id)""",
                    (before,))
        entries = cur.rowcount
        cur.execute("""DELETE FROM feed_fetches f WHERE f.started_at < %s
                       AND NOT EXISTS (SELECT 1 FROM feed_entries e
                                       WHERE e.last_fetch_id = f.id)""", (before,))
        return entries, cur.rowcount


def replace_article_tags(conn: Connection, tags_by_article: Mapping[int, Sequence[str]]) -> None:
    """Make each article's analyst tags exactly the given ones (no writes where already so).

    One round trip: the delete of dropped tags and the insert of new ones together.
    """
    pairs = [(aid, tag) for aid, tags in tags_by_article.items() for tag in dict.fromkeys(tags)]
    with conn.cursor() as cur:
        cur.execute(
            """WITH wanted AS (
                   SELECT * FROM unnest(%(pair_ids)s::bigint[], %(tags)s::text[])
                       AS w(article_id, tag)
               ), dropped AS (
                   DELETE FROM article_tags t WHERE t.article_id = ANY(%(ids)s::bigint[])
                       AND NOT EXISTS (SELECT 1 FROM wanted w
                                       WHERE w.article_id = t.article_id AND w.tag = t.tag)
               )
               INSERT INTO article_tags (article_id, tag)
               SELECT article_id, tag FROM wanted
               ON CONFLICT DO NOTHING""",
            {"ids": sorted(tags_by_article), "pair_ids": [p[0] for p in pairs],
             "tags": [p[1] for p in pairs]},
        )


def mark_loaded(
    conn: Connection, staged_id: int, entry_id: int | None, article_id: int | None, outcome: str,
    now: datetime,
) -> None:
    mark_loaded_many(conn, [(staged_id, entry_id, article_id, outcome)], now)


def mark_load_failed(conn: Connection, rows: Sequence[tuple[int, str, str]],
                     now: datetime) -> None:
    """Staging rows the load set aside (staged id, code, detail): an `error` now, done with
    for this run; the page is fetched again by a later run within the attempt limit."""
    if not rows:
        return
    ids, codes, details = (list(c) for c in zip(*rows, strict=True))
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE staged_articles AS s SET status = 'error', reason_code = v.code,
                   reason = v.detail, loaded_at = %s, raw_gz = NULL
               FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, code, detail)
               WHERE s.id = v.id""",
            (now, ids, codes, details),
        )


def mark_loaded_many(
    conn: Connection, rows: Sequence[tuple[int, int | None, int | None, str]], now: datetime,
) -> None:
    """Record the outcome of loaded staging rows (staged id, entry id, article id, outcome)
    and link their feed entries to the articles, in two statements whatever the count."""
    if not rows:
        return
    links: dict[int, int] = {}  # entry id -> article id; the last staging row wins
    for _, entry_id, article_id, _ in rows:
        if entry_id is not None and article_id is not None:
            links[entry_id] = article_id
    staged_ids, _, article_ids, outcomes = (list(c) for c in zip(*rows, strict=True))
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE staged_articles AS s SET outcome = v.outcome, article_id = v.article_id,
                   loaded_at = %s, raw_gz = NULL
               FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS v(id, article_id, outcome)
               WHERE s.id = v.id""",
            (now, staged_ids, article_ids, outcomes),
        )
        if links:
            cur.execute(
                """UPDATE feed_entries AS e SET article_id = v.article_id
                   FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, article_id)
                   WHERE e.id = v.id AND e.article_id IS DISTINCT FROM v.article_id""",
                (list(links), list(links.values())),
            )


def run_article_ids(conn: Connection, run_id: str) -> list[int]:
    """The articles a run's load stored or changed (from its staging rows, so a retried
    load task still knows them after the load itself committed)."""
    with conn.cursor() as cur:
        cur.execute("SELECT DISTINCT article_id FROM staged_articles WHERE run_id = %s "
                    "AND outcome IN ('new', 'updated') ORDER BY 1", (run_id,))
        return [int(row[0]) for row in cur.fetchall()]


def run_summary(conn: Connection, run_id: str) -> list[Row]:
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
               ), reasons AS (
                   SELECT source_id, jsonb_object_agg(reason_code, n) AS rejected_by
                   FROM (SELECT source_id, reason_code, count(*) AS n
                         FROM staged_articles
                         WHERE run_id = %(run_id)s AND status = 'rejected'
                         GROUP BY 1, 2) r
                   GROUP BY source_id
               )
               SELECT s.name AS source, f.http_status, f.not_modified,
                      coalesce(f.entries, 0) AS entries, coalesce(f.relevant, 0) AS relevant,
                      coalesce(st.fetched, 0) AS fetched, coalesce(st.new, 0) AS new,
                      coalesce(st.updated, 0) AS updated,
                      coalesce(st.duplicates, 0) AS duplicates,
                      coalesce(st.rejected, 0) AS rejected,
                      coalesce(st.page_errors, 0)
                        + CASE WHEN f.error IS NULL THEN 0 ELSE 1 END AS errors,
                      f.error, coalesce(r.rejected_by, '{}') AS rejected_by
               FROM last_fetch f JOIN sources s ON s.id = f.source_id
               LEFT JOIN staged st ON st.source_id = f.source_id
               LEFT JOIN reasons r ON r.source_id = f.source_id
               ORDER BY s.name""",
            {"run_id": run_id},
        )
        return dict_rows(cur)


def raw_pages_batch(
    conn: Connection, since: datetime | None, after_id: int, limit: int
) -> list[Row]:
    """The next `limit` stored articles with a raw page after `after_id` (keyset paging)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT a.id, a.url, a.original_url, a.title, a.summary, a.published_at,
                      a.published_precision, a.language, a.source, a.source_id, a.guid,
                      a.fetched_at,
                      r.url AS raw_url, r.content_type, r.body_gz, s.timezone
               FROM articles a JOIN raw_pages r ON r.article_id = a.id
               LEFT JOIN sources s ON s.id = a.source_id
               WHERE a.id > %s AND (%s::timestamptz IS NULL OR a.first_seen_at >= %s)
               ORDER BY a.id LIMIT %s""",
            (after_id, since, since, limit),
        )
        return dict_rows(cur)


def count_raw_pages(conn: Connection, since: datetime | None) -> int:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM articles a JOIN raw_pages r ON r.article_id = a.id
               WHERE %s::timestamptz IS NULL OR a.first_seen_at >= %s""",
            (since, since),
        )
        return int(cur.fetchone()[0])


def update_derived(conn: Connection, records: Sequence[Row]) -> set[int]:
    """Refresh what rules derive from unchanged text (relevance, markers) of stored articles
    (each record with its `id`); returns the ids whose values changed."""
    if not records:
        return set()
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE articles a SET relevance_score = r.relevance_score,
                   relevant = r.relevant, matched_terms = r.matched_terms,
                   published_precision = r.published_precision,
                   truncated = r.truncated, paywalled = r.paywalled
               FROM jsonb_populate_recordset(NULL::articles, %s::jsonb) AS r
               WHERE a.id = r.id AND (a.relevance_score, a.relevant, a.matched_terms,
                   a.published_precision, a.truncated, a.paywalled)
                   IS DISTINCT FROM (r.relevance_score, r.relevant, r.matched_terms,
                   r.published_precision, r.truncated, r.paywalled)
               RETURNING a.id""",
            (_json_rows(records),),
        )
        return {int(row[0]) for row in cur.fetchall()}
