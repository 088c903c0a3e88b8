"""The fetch side of the news database: sources, feed fetches, feed entries and the staged
page fetches of a run, over a DB-API connection.

As in :mod:`scrapers.db.store` (the articles), functions leave transaction control to the
caller (scrapers.pipeline) and every write is an upsert keyed by a unique constraint.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta

from scrapers.db.connection import Connection
from scrapers.db.store import Row, dict_rows
from scrapers.models import Evidence, Source


def evidence_json(evidence: Iterable[Evidence]) -> str:
    return json.dumps([asdict(e) for e in evidence], ensure_ascii=False)


def sync_sources(conn: Connection, sources: Sequence[Source]) -> list[Row]:
    """Upsert the catalog into `sources`; returns the enabled ones as {id, name}.

    Sources missing from the catalog are disabled, never deleted: their fetch history
    and articles stay. Health state (backoff, disabled_reason) is not touched here.
    """
    with conn.cursor() as cur:
        for s in sources:
            cur.execute(
                """INSERT INTO sources (name, url, language, kind, outlet, enabled, timezone)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (name) DO UPDATE SET
                       url = EXCLUDED.url, language = EXCLUDED.language,
                       kind = EXCLUDED.kind, outlet = EXCLUDED.outlet,
                       enabled = EXCLUDED.enabled, timezone = EXCLUDED.timezone,
                       -- a new feed URL must not inherit the old one's validators
                       etag = CASE WHEN sources.url = EXCLUDED.url THEN sources.etag END,
                       last_modified = CASE WHEN sources.url = EXCLUDED.url
                                            THEN sources.last_modified END,
                       updated_at = now()
                   WHERE (sources.url, sources.language, sources.kind, sources.outlet,
                          sources.enabled, sources.timezone)
                         IS DISTINCT FROM
                         (EXCLUDED.url, EXCLUDED.language, EXCLUDED.kind, EXCLUDED.outlet,
                          EXCLUDED.enabled, EXCLUDED.timezone)""",
                (s.name, s.url, s.language, s.kind, s.outlet_name, s.enabled, s.timezone),
            )
        cur.execute(
            "UPDATE sources SET enabled = false, updated_at = now() "
            "WHERE enabled AND NOT (name = ANY(%s))",
            ([s.name for s in sources],),
        )
        cur.execute("SELECT id, name FROM sources WHERE enabled ORDER BY kind, id")
        return dict_rows(cur)


def due_sources(conn: Connection, now: datetime, fetch_all: bool = False) -> list[Row]:
    """Enabled, healthy feeds whose next fetch time has come (all of them if fetch_all);
    a GDELT source is no feed (backfills read it)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT id, name FROM sources
               WHERE enabled AND disabled_reason IS NULL AND kind <> 'gdelt'
                 AND (%s OR next_fetch_at IS NULL OR next_fetch_at <= %s)
               ORDER BY kind, id""",
            (fetch_all, now),
        )
        return dict_rows(cur)


def enable_source(conn: Connection, name: str) -> bool:
    """Clear a health-disable and the failure streak; the source is due at once."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE sources SET disabled_reason = NULL, disabled_at = NULL,
                   consecutive_failures = 0, next_fetch_at = NULL WHERE name = %s""",
            (name,),
        )
        return bool(cur.rowcount)


def get_source(conn: Connection, source_id: int) -> Row:
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM sources WHERE id = %s", (source_id,))
        rows = dict_rows(cur)
    if not rows:
        raise LookupError(f"no source with id {source_id}")
    return rows[0]


def start_feed_fetch(conn: Connection, source_id: int, run_id: str, url: str, now: datetime) -> int:
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO feed_fetches (source_id, run_id, url, started_at)
               VALUES (%s, %s, %s, %s) RETURNING id""",
            (source_id, run_id, url, now),
        )
        fetch_id: int = cur.fetchone()[0]
    return fetch_id


def finished_feed_fetch(conn: Connection, source_id: int, run_id: str) -> Row | None:
    """This run's last successful fetch of the source, if the task already did it."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT id, http_status, entries, relevant, new_entries FROM feed_fetches
               WHERE source_id = %s AND run_id = %s AND finished_at IS NOT NULL
                 AND error IS NULL
               ORDER BY id DESC LIMIT 1""",
            (source_id, run_id),
        )
        rows = dict_rows(cur)
    return rows[0] if rows else None


def abandoned_feed_fetches(conn: Connection, source_id: int) -> list[int]:
    """The source's feed fetches that started and never finished: their task was killed."""
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM feed_fetches WHERE source_id = %s AND finished_at IS NULL "
                    "ORDER BY id", (source_id,))
        return [int(row[0]) for row in cur.fetchall()]


def finish_feed_fetch(
    conn: Connection,
    fetch_id: int,
    *,
    finished_at: datetime,
    http_status: int | None,
    not_modified: bool = False,
    nbytes: int | None = None,
    entries: int | None = None,
    relevant: int | None = None,
    skipped: int | None = None,
    new_entries: int | None = None,
    body_unchanged: bool = False,
    retry_after_s: int | None = None,
    parse_warning: str | None = None,
    error_class: str | None = None,
    error: str | None = None,
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE feed_fetches SET finished_at = %s, http_status = %s, not_modified = %s,
                   bytes = %s, entries = %s, relevant = %s, skipped = %s, new_entries = %s,
                   body_unchanged = %s, retry_after_s = %s, parse_warning = %s,
                   error_class = %s, error = %s
               WHERE id = %s""",
            (finished_at, http_status, not_modified, nbytes, entries, relevant, skipped,
             new_entries, body_unchanged, retry_after_s, parse_warning, error_class, error,
             fetch_id),
        )


def record_source_success(
    conn: Connection, source_id: int, now: datetime, *, etag: str | None, last_modified: str | None,
    body_hash: str | None, next_fetch_at: datetime, interval_s: int, new_entries: int,
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE sources SET last_fetched_at = %s, last_success_at = %s,
                   consecutive_failures = 0, last_error = NULL, last_error_class = NULL,
                   etag = coalesce(%s, etag), last_modified = coalesce(%s, last_modified),
                   last_body_hash = coalesce(%s, last_body_hash),
                   next_fetch_at = %s, fetch_interval_s = %s,
                   last_new_entry_at = CASE WHEN %s > 0 THEN %s ELSE last_new_entry_at END
               WHERE id = %s""",
            (now, now, etag, last_modified, body_hash, next_fetch_at, interval_s,
             new_entries, now, source_id),
        )


def failed_earlier_in_run(conn: Connection, source_id: int, run_id: str,
                          fetch_id: int) -> bool:
    """Whether an earlier try of this run already failed fetching the source's feed."""
    with conn.cursor() as cur:
        cur.execute("""SELECT EXISTS (SELECT 1 FROM feed_fetches WHERE source_id = %s
                       AND run_id = %s AND id < %s AND error IS NOT NULL)""",
                    (source_id, run_id, fetch_id))
        return bool(cur.fetchone()[0])


def record_source_failure(
    conn: Connection, source_id: int, now: datetime, *, error: str, error_class: str,
    next_fetch_at: datetime, disabled_reason: str | None, counts: bool = True,
) -> None:
    """Record a failed fetch of the source; `counts` False: a retry within the same run,
    which updates the error but is not another failure (one run, one failure)."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE sources SET last_fetched_at = %s,
                   consecutive_failures = consecutive_failures + %s, last_error = %s,
                   last_error_class = %s, next_fetch_at = %s,
                   disabled_reason = coalesce(%s, disabled_reason),
                   disabled_at = CASE WHEN %s IS NOT NULL THEN %s ELSE disabled_at END
               WHERE id = %s""",
            (now, 1 if counts else 0, error, error_class, next_fetch_at, disabled_reason,
             disabled_reason, now, source_id),
        )


def upsert_feed_entry(conn: Connection, values: Row) -> tuple[int, bool]:
    """Insert or refresh one feed entry keyed by (source_id, guid); (id, newly seen).

    `discovered_via` (default "feed") is how an entry was first found; a later sighting
    does not change it."""
    values = {"discovered_via": "feed", **values}
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO feed_entries (source_id, guid, link, url, title, summary,
                   published_at, published_precision, outlet, fingerprint,
                   relevance_score, candidate,
                   matched_terms, first_seen_at, last_seen_at, last_fetch_id, discovered_via)
               VALUES (%(source_id)s, %(guid)s, %(link)s, %(url)s, %(title)s, %(summary)s,
                   %(published_at)s, %(published_precision)s, %(outlet)s, %(fingerprint)s,
                   %(relevance_score)s,
                   %(candidate)s, %(matched_terms)s, %(now)s, %(now)s, %(fetch_id)s,
                   %(discovered_via)s)
               ON CONFLICT (source_id, guid) DO UPDATE SET
                   link = EXCLUDED.link, url = EXCLUDED.url, title = EXCLUDED.title,
                   summary = EXCLUDED.summary, published_at = EXCLUDED.published_at,
                   published_precision = EXCLUDED.published_precision,
                   outlet = EXCLUDED.outlet, fingerprint = EXCLUDED.fingerprint,
                   relevance_score = EXCLUDED.relevance_score,
                   candidate = EXCLUDED.candidate, matched_terms = EXCLUDED.matched_terms,
                   last_seen_at = EXCLUDED.last_seen_at, last_fetch_id = EXCLUDED.last_fetch_id
               RETURNING id, (xmax = 0)""",
            values,
        )
        entry_id, inserted = cur.fetchone()
    return int(entry_id), bool(inserted)


def entries_on_site(conn: Connection, site: str | None, at: datetime | None,
                    apart: timedelta) -> list[Row]:
    """Entries of outlet feeds, sitemaps and GDELT (not search feeds) on `site` (a host
    without "www.", or any when None), seen or published within `apart` of `at`: what a
    search-feed item can be matched to (`scrapers.headlines.match_entry`). At most 500,
    newest first."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT e.link AS url, e.title, e.published_at
               FROM feed_entries e JOIN sources s ON s.id = e.source_id
               WHERE s.kind <> 'search'
                 -- an entry published within `apart` was seen since then (and this bound
                 -- is the indexed one: the table holds every feed's last 90 days)
                 AND (%(at)s::timestamptz IS NULL OR (
                      e.last_seen_at >= %(at)s - %(apart)s
                      AND coalesce(e.published_at, e.first_seen_at)
                          BETWEEN %(at)s - %(apart)s AND %(at)s + %(apart)s))
                 AND (%(site)s::text IS NULL OR
                      regexp_replace(lower(substring(e.url FROM '^[a-z]+://([^/:]+)')),
                                     '^www[.]', '') IN (%(site)s, 'www.' || %(site)s)
                      OR substring(e.url FROM '^[a-z]+://([^/:]+)') LIKE '%%.' || %(site)s)
               ORDER BY e.id DESC LIMIT 500""",
            {"site": site, "at": at, "apart": apart})
        return dict_rows(cur)


def candidate_entries(
    conn: Connection, fetch_id: int, backlog_since: datetime | None = None, max_attempts: int = 3,
    skip_staged_in: str | None = None,
) -> list[Row]:
    """Candidate entries of one feed fetch, each with the article it already became.

    With `skip_staged_in` (a run id), not those whose page that run staged already (but
    again those whose fetch failed).

    With `backlog_since`, also the source's earlier candidates still seen since then that never
    became an article and were never settled: no page staged and loaded or rejected, and fewer
    than `max_attempts` failed page fetches. A run killed between fetching the feed and its
    pages leaves such entries; an unchanged feed (304) would otherwise never offer them again.
    This fetch's own entries come first.
    """
    with conn.cursor() as cur:
        cur.execute(
            """SELECT e.*, a.id AS known_article_id, a.first_seen_at AS article_first_seen_at,
                      a.etag AS article_etag, a.last_modified AS article_last_modified
               FROM feed_entries e
               LEFT JOIN articles a ON a.id = coalesce(
                   e.article_id,
                   (SELECT u.article_id FROM article_urls u WHERE u.url = e.url))
               WHERE e.candidate
                 AND (%(skip_run)s::text IS NULL OR NOT EXISTS (
                     SELECT 1 FROM staged_articles st WHERE st.entry_id = e.id
                       AND st.run_id = %(skip_run)s AND st.status <> 'error'))
                 AND (
                   e.last_fetch_id = %(fetch_id)s
                   OR (%(since)s::timestamptz IS NOT NULL
                       AND e.source_id = (SELECT source_id FROM feed_fetches
                                          WHERE id = %(fetch_id)s)
                       AND e.last_seen_at >= %(since)s AND a.id IS NULL
                       AND NOT EXISTS (
                           SELECT 1 FROM staged_articles st WHERE st.entry_id = e.id
                             AND (st.loaded_at IS NOT NULL OR st.status = 'rejected'))
                       AND (SELECT count(*) FROM staged_articles st
                            WHERE st.entry_id = e.id AND st.status = 'error')
                           < %(max_attempts)s))
               ORDER BY e.last_fetch_id = %(fetch_id)s DESC, e.published_at DESC NULLS LAST,
                        e.id""",
            {"fetch_id": fetch_id, "since": backlog_since, "max_attempts": max_attempts,
             "skip_run": skip_staged_in},
        )
        return dict_rows(cur)


def stage_article(conn: Connection, values: Row) -> None:
    """Record what one page fetch produced for this run (idempotent per run/source/url).

    `values["staged_at"]` is the caller's clock, the one retention (`store.prune`) compares with:
    not the database's, which may disagree with it.
    """
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO staged_articles (run_id, source_id, entry_id, url, status, reason,
                   reason_code, record, raw_gz, raw_url, raw_content_type, created_at)
               VALUES (%(run_id)s, %(source_id)s, %(entry_id)s, %(url)s, %(status)s,
                   %(reason)s, %(reason_code)s, %(record)s, %(raw_gz)s, %(raw_url)s,
                   %(raw_content_type)s, %(staged_at)s)
               ON CONFLICT (run_id, source_id, url) DO UPDATE SET
                   entry_id = EXCLUDED.entry_id, status = EXCLUDED.status,
                   created_at = EXCLUDED.created_at, reason_code = EXCLUDED.reason_code,
                   reason = EXCLUDED.reason, record = EXCLUDED.record,
                   raw_gz = EXCLUDED.raw_gz, raw_url = EXCLUDED.raw_url,
                   raw_content_type = EXCLUDED.raw_content_type,
                   outcome = NULL, article_id = NULL, loaded_at = NULL""",
            values,
        )


_PENDING_STAGED = """
    SELECT {columns}
    FROM staged_articles st JOIN sources s ON s.id = st.source_id
    LEFT JOIN feed_entries e ON e.id = st.entry_id
    WHERE st.run_id = %s AND st.loaded_at IS NULL
      AND st.status IN ('extracted', 'not_modified', 'known') {more}
    ORDER BY (s.kind = 'search'), st.source_id, st.id"""


def pending_staged(conn: Connection, run_id: str) -> list[Row]:
    """Staged records of a run not loaded yet: direct feeds before search feeds."""
    return [row for batch in pending_batches(conn, run_id) for row in batch]


def pending_batches(conn: Connection, run_id: str, batch_size: int = 500) -> Iterator[list[Row]]:
    """A run's staged rows not loaded yet, in load order, `batch_size` rows at a time.

    Rows are slim: the record without its bulky text (body, summary, captions, authors,
    tags, evidence) and `has_raw` instead of the page. The load decides from these and
    writes the bulk from `staged_articles` on the server (`store.insert_articles_from_staged`
    and friends), so page and text never travel to Python and back; `staged_records`
    gives a whole record where one is needed. The ids are read first, in load order;
    rows come in batches by id, each batch locked (FOR UPDATE) until the transaction ends:
    the load writes from these rows on the server after deciding, so a fetch task staging
    the same page again meanwhile (a cleared task re-run) waits for the load's commit, and
    its new version is then pending for the next load. The caller must not load rows in
    between (the load step marks them at its end, in the same transaction).
    """
    with conn.cursor() as cur:
        cur.execute(_PENDING_STAGED.format(columns="st.id", more=""), (run_id,))
        ids = [row[0] for row in cur.fetchall()]
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        with conn.cursor() as cur:
            cur.execute(
                _PENDING_STAGED.format(
                    columns="st.id, st.run_id, st.source_id, st.entry_id, st.url, st.status, "
                            "st.raw_url, st.raw_content_type, st.raw_gz IS NOT NULL AS has_raw, "
                            f"st.record - '{{{','.join(_BULKY_RECORD_KEYS)}}}'::text[] "
                            "AS record, s.kind, e.article_id AS entry_article_id",
                    more="AND st.id = ANY(%s)") + " FOR UPDATE OF st",
                (run_id, chunk),
            )
            yield dict_rows(cur)


#: Record keys `pending_batches` leaves on the server (the load never decides on them).
_BULKY_RECORD_KEYS = ("body", "summary", "captions", "authors", "tags", "matched_terms")


def staged_records(conn: Connection, staged_ids: Iterable[int]) -> dict[int, Row]:
    """Whole staged records by staged id (for edits, which the load writes from Python)."""
    ids = sorted(set(staged_ids))
    if not ids:
        return {}
    with conn.cursor() as cur:
        cur.execute("SELECT id, record FROM staged_articles WHERE id = ANY(%s)", (ids,))
        return {int(sid): record for sid, record in cur.fetchall()}
