"""Watchlists (V028): an analyst's saved searches, and their matches.

A watch names a term, a tag or both, optionally a language and outlets. Its matches are
relevant articles that the term finds (`analytics.search`: stemmed for English and
Russian, a substring for Japanese) and that carry the tag, in that language, from those
outlets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from scrapers.db.connection import Connection
from scrapers.db.store import Row, dict_rows


def add(conn: Connection, name: str, *, term: str | None = None, tag: str | None = None,
        language: str | None = None, outlets: Sequence[str] = (),
        now: datetime) -> int:
    """Save a watch; returns its id. Raises ValueError for a watch that names nothing, an
    unknown language or a malformed tag, and when the name is taken."""
    import psycopg2

    if not (term or tag):
        raise ValueError("a watch needs a term, a tag, or both")
    try:
        with conn.cursor() as cur:
            cur.execute(
                """INSERT INTO watchlists (name, term, tag, language, outlets, created_at)
                   VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
                (name, term or None, tag or None, language or None, list(outlets), now))
            return int(cur.fetchone()[0])
    except psycopg2.IntegrityError as exc:
        conn.rollback()
        what = ("the name is taken" if isinstance(exc, psycopg2.errors.UniqueViolation)
                else "the language must be en, ja or ru and a tag kind:name")
        raise ValueError(f"watch {name!r} not saved: {what}") from None


def remove(conn: Connection, name: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("DELETE FROM watchlists WHERE name = %s", (name,))
        return cur.rowcount > 0


def all_watches(conn: Connection) -> list[Row]:
    with conn.cursor() as cur:
        cur.execute("SELECT id, name, term, tag, language, outlets, created_at "
                    "FROM watchlists ORDER BY name")
        return dict_rows(cur)


def matches(conn: Connection, watch: Row, since: datetime, until: datetime,
            limit: int = 50) -> list[Row]:
    """The watch's relevant articles first seen in [since, until), newest first."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT a.id, a.title, a.source, a.language, a.url, a.first_seen_at
               FROM analytics.articles a
               WHERE a.relevant AND a.first_seen_at >= %(since)s AND a.first_seen_at < %(until)s
                 AND (%(language)s::text IS NULL OR a.language = %(language)s)
                 AND (cardinality(%(outlets)s::text[]) = 0 OR a.source = ANY(%(outlets)s))
                 AND (%(tag)s::text IS NULL OR %(tag)s = ANY(a.analyst_tags))
                 AND (%(term)s::text IS NULL OR a.id IN (
                      SELECT s.id FROM analytics.search(%(term)s, %(language)s) s))
               ORDER BY a.first_seen_at DESC, a.id DESC LIMIT %(limit)s""",
            {"since": since, "until": until, "language": watch["language"],
             "outlets": list(watch["outlets"] or []), "tag": watch["tag"],
             "term": watch["term"], "limit": limit})
        return dict_rows(cur)


def describe(watch: Row) -> str:
    """A watch in one line: what it looks for."""
    parts = [f"term {watch['term']!r}" if watch["term"] else "",
             f"tag {watch['tag']}" if watch["tag"] else "",
             f"in {watch['language']}" if watch["language"] else "",
             f"from {', '.join(watch['outlets'])}" if watch["outlets"] else ""]
    return f"{watch['name']}: " + ", ".join(p for p in parts if p)

