"""The queries behind the Nichiro page in the Airflow UI (plugins/nichiro_ui.py).

DB-API only (a psycopg2 connection is passed in), no Airflow import, no rendering: each
function returns plain dicts, the same ones the page renders and the JSON endpoint returns.
"Now" is passed in where a result depends on it.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from scrapers.db import backfill
from scrapers.db.connection import Connection
from scrapers.db.store import dict_rows

LOGGER = logging.getLogger(__name__)

#: Shortest query the page searches for.
MIN_QUERY_CHARS = 2
#: Languages the search understands on their own (analytics.search); others go to 'simple'.
SEARCH_LANGUAGES = ("en", "ja", "ru")
#: The newest backfills the page shows, with their progress.
BACKFILLS_SHOWN = 5
#: Health statuses listed first: the ones an operator has to look at.
_STATUS_ORDER = {"failing": 0, "disabled": 1, "new": 2, "off (catalog)": 4}

HEALTH_COLUMNS = (
    "name", "language", "status", "last_success_at", "last_fetched_at",
    "consecutive_failures", "next_fetch_at", "articles_24h", "articles_7d",
    "last_error", "last_error_class", "disabled_reason",
)


class SearchError(ValueError):
    """A search request the page cannot run (unknown language, query too long)."""


def source_health(conn: Connection) -> list[dict[str, Any]]:
    """One row per source from the `source_health` view; failing sources first.

    :param conn: an open DB-API connection to the news database
    """
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(HEALTH_COLUMNS)} FROM source_health")
        rows = dict_rows(cur)
    rows.sort(key=lambda r: (_STATUS_ORDER.get(r["status"], 3), r["name"]))
    return rows


def daily_counts(conn: Connection, today: date, days: int = 30) -> dict[str, Any]:
    """Relevant articles per UTC day and language, for the `days` days ending `today`.

    Returns ``{"days": [iso dates, oldest first], "series": {language: [count per day]}}``;
    every series has one value per day (0 where nothing was published). Articles without a
    language count under ``"unknown"``.

    :param conn: an open DB-API connection to the news database
    :param today: the last day shown (UTC)
    :param days: how many days to show
    """
    start = today - timedelta(days=days - 1)
    with conn.cursor() as cur:
        cur.execute(
            """SELECT day, coalesce(language, 'unknown'), sum(articles)::bigint
               FROM daily_article_counts
               WHERE day BETWEEN %s AND %s
               GROUP BY 1, 2""",
            (start, today),
        )
        rows = cur.fetchall()
    return dense_series(rows, start, days)


def dense_series(rows: list[tuple[date, str, int]], start: date, days: int) -> dict[str, Any]:
    """(day, key, n) rows → one list of `days` counts per key, starting at `start`."""
    axis = [start + timedelta(days=i) for i in range(days)]
    index = {d: i for i, d in enumerate(axis)}
    series: dict[str, list[int]] = {}
    for day, key, n in rows:
        if day in index:
            series.setdefault(key, [0] * days)[index[day]] += int(n)
    return {"days": [d.isoformat() for d in axis], "series": dict(sorted(series.items()))}


def latest_articles(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    """The newest relevant articles, newest first (by published time, else first seen).

    ``story_size``: stored copies in its story (``cluster_id``); ``event_size``: reports of
    its event in every language (``event_id``); None when it has none yet.

    :param conn: an open DB-API connection to the news database
    :param limit: at most this many rows
    """
    with conn.cursor() as cur:
        cur.execute(
            """SELECT a.id, a.title, a.url, a.original_url, a.source, a.language,
                      a.published_at, a.first_seen_at,
                      coalesce(a.published_at, a.first_seen_at) AS dated_at,
                      a.relevance_score, a.matched_terms, a.cluster_id, a.event_id,
                      c.article_count AS story_size, e.article_count AS event_size
               FROM articles a
               LEFT JOIN story_clusters c ON c.id = a.cluster_id
               LEFT JOIN event_threads e ON e.id = a.event_id
               WHERE a.relevant
               ORDER BY coalesce(a.published_at, a.first_seen_at) DESC, a.id DESC
               LIMIT %s""",
            (limit,),
        )
        rows = dict_rows(cur)
    for row in rows:
        row["matched_terms"] = terms(row["matched_terms"])
    return rows


EVENT_COLUMNS = """event_id, first_seen_at, last_seen_at, article_count, outlet_count,
    languages, outlets, headline_en, headline_ja, headline_ru, en_articles, ja_articles,
    ru_articles, first_outlet, first_language, first_reported_at, first_article_id,
    en_first_at, ja_first_at, ru_first_at, ru_lag_behind_ja, evidence"""


def latest_events(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The events seen most recently (analytics.events), newest first."""
    with conn.cursor() as cur:
        cur.execute(f"""SELECT {EVENT_COLUMNS} FROM analytics.events
                        ORDER BY last_seen_at DESC, event_id DESC LIMIT %s""", (limit,))
        return dict_rows(cur)


def article_history(conn: Connection, article_id: int) -> dict[str, Any] | None:
    """One article and its earlier versions, oldest first (its current version last);
    None if there is no such article."""
    with conn.cursor() as cur:
        cur.execute("""SELECT id, url, title, body, source, language, updated_count,
                              first_seen_at, fetched_at
                       FROM articles WHERE id = %s""", (article_id,))
        found = dict_rows(cur)
        if not found:
            return None
        cur.execute("""SELECT revision, title, body, seen_from, replaced_at, cause
                       FROM article_revisions WHERE article_id = %s ORDER BY revision""",
                    (article_id,))
        revisions = dict_rows(cur)
    return {"article": found[0], "revisions": revisions}


def recent_edits(conn: Connection, limit: int = 10) -> list[dict[str, Any]]:
    """The articles whose text changed most recently, newest change first."""
    with conn.cursor() as cur:
        cur.execute("""SELECT a.id, a.title, a.source, a.updated_count,
                              max(r.replaced_at) AS edited_at
                       FROM article_revisions r JOIN articles a ON a.id = r.article_id
                       GROUP BY a.id ORDER BY max(r.replaced_at) DESC, a.id DESC LIMIT %s""",
                    (limit,))
        return dict_rows(cur)


def event_detail(conn: Connection, event_id: int) -> dict[str, Any] | None:
    """One event (analytics.events) and its reports in time order; None if there is none."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT {EVENT_COLUMNS} FROM analytics.events WHERE event_id = %s",
                    (event_id,))
        events = dict_rows(cur)
        if not events:
            conn.rollback()
            return None
        cur.execute(
            """SELECT a.id, a.title, a.url, a.original_url, a.source, a.language,
                      coalesce(a.published_at, a.first_seen_at) AS dated_at, a.cluster_id,
                      c.article_count AS story_size, x.score, x.shared
               FROM articles a
               LEFT JOIN story_clusters c ON c.id = a.cluster_id
               LEFT JOIN article_event_evidence x ON x.article_id = a.id
               WHERE a.event_id = %s
               ORDER BY coalesce(a.published_at, a.first_seen_at), a.id""",
            (event_id,),
        )
        articles = dict_rows(cur)
    conn.rollback()  # read-only
    return {"event": events[0], "articles": articles}


def terms(matched: Any) -> list[str]:
    """The distinct relevance terms of a `matched_terms` value, in first-seen order."""
    out: list[str] = []
    for item in matched or []:
        term = item.get("term") if isinstance(item, dict) else item
        if isinstance(term, str) and term not in out:
            out.append(term)
    return out


def search(conn: Connection, query: str, lang: str | None = None, limit: int = 50
           ) -> list[dict[str, Any]]:
    """Ranked full-text search through `analytics.search(query, lang)`.

    An empty query finds nothing (and runs no SQL).

    :param conn: an open DB-API connection to the news database
    :param query: websearch syntax for en/ru, a substring for ja
    :param lang: one of SEARCH_LANGUAGES, or None/"" for every language
    :param limit: at most this many rows
    :raises SearchError: for an unknown language, or a query under MIN_QUERY_CHARS or over
        500 characters
    """
    query = (query or "").strip()
    lang = lang or None
    if lang is not None and lang not in SEARCH_LANGUAGES:
        raise SearchError(f"unknown language {lang!r}: use one of {', '.join(SEARCH_LANGUAGES)}")
    if len(query) > 500:
        raise SearchError("query longer than 500 characters")
    if 0 < len(query) < MIN_QUERY_CHARS:
        # Japanese is matched as a substring: one character matches nearly every article and
        # no trigram index can serve it (the page's statement limit bounds the rest).
        raise SearchError(f"a search needs at least {MIN_QUERY_CHARS} characters")
    if not query:
        return []
    with conn.cursor() as cur:
        cur.execute(
            """SELECT id, url, title, source, language, published_at, first_seen_at, rank
               FROM analytics.search(%s, %s) LIMIT %s""",
            (query, lang, limit),
        )
        return dict_rows(cur)


def summary(conn: Connection, now: datetime, days: int = 30, limit: int = 50) -> dict[str, Any]:
    """Everything the page shows, as one dict (the JSON endpoint's body).

    :param conn: an open DB-API connection to the news database
    :param now: timezone-aware "now"; the chart ends on its UTC date
    """
    out = {
        "generated_at": now,
        "sources": source_health(conn),
        "daily": daily_counts(conn, now.astimezone(UTC).date(), days),
        "events": latest_events(conn),
        "latest": latest_articles(conn, limit),
        "backfills": backfill.progress(conn, limit=BACKFILLS_SHOWN),
        "edits": recent_edits(conn),
    }
    conn.rollback()  # read-only: end the transaction the queries opened
    return out
