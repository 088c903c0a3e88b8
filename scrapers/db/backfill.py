"""A backfill's rows: the request, its units of work and their progress (V024).

The work itself is `scrapers.backfill`; this module only reads and writes its state, so
that a rerun or a retry sees exactly what the last attempt finished.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from scrapers.db.connection import Connection
from scrapers.db.store import Row, dict_rows

# A unit is identified by its backfill, source, way and window start (the primary key).
_UNIT = ("backfill_id = %(backfill_id)s AND source_id = %(source_id)s AND via = %(via)s "
         "AND window_start = %(window_start)s")
# A new unit; one already there keeps its progress, and takes the catalog's current site
# while it is not discovered yet.
_INSERT_UNIT = """
INSERT INTO backfill_units (backfill_id, source_id, via, window_start, window_end, target,
                            updated_at)
VALUES (%(backfill_id)s, %(source_id)s, %(via)s, %(window_start)s, %(window_end)s,
        %(target)s, %(now)s)
ON CONFLICT (backfill_id, source_id, via, window_start) DO UPDATE
SET target = EXCLUDED.target, updated_at = EXCLUDED.updated_at
WHERE backfill_units.state IN ('pending', 'failed')
  AND backfill_units.target <> EXCLUDED.target"""


def _key(unit: Mapping[str, Any]) -> dict[str, Any]:
    return {k: unit[k] for k in ("backfill_id", "source_id", "via", "window_start")}


def ensure_backfill(conn: Connection, backfill_id: str, request: dict[str, Any],
                    units: Iterable[Row], now: datetime) -> None:
    """Record the request and its units; units already there keep their progress (one
    not yet discovered takes the catalog's current site)."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO backfills (id, request, created_at, updated_at)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (id) DO UPDATE SET updated_at = EXCLUDED.updated_at,
                   request = EXCLUDED.request, finished_at = NULL""",
            (backfill_id, json.dumps(request, sort_keys=True), now, now))
        for unit in units:
            cur.execute(_INSERT_UNIT, {**unit, "backfill_id": backfill_id, "now": now})


def replace_unit(conn: Connection, unit: Mapping[str, Any], parts: Iterable[Mapping[str, Any]],
                 now: datetime) -> None:
    """Put `parts` (pending units of the same backfill, source and way, say a window's
    halves) in the place of `unit`."""
    with conn.cursor() as cur:
        cur.execute(f"DELETE FROM backfill_units WHERE {_UNIT}", _key(unit))
        for part in parts:
            cur.execute(_INSERT_UNIT, {**part, "now": now})


def open_units(conn: Connection, backfill_id: str) -> list[Row]:
    """The units with work left (pending, failed, or discovered with pages to fetch), in
    a stable order."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT u.*, s.name AS source_name, s.language
               FROM backfill_units u JOIN sources s ON s.id = u.source_id
               WHERE u.backfill_id = %s AND u.state <> 'fetched'
               ORDER BY u.source_id, u.via, u.window_start""",
            (backfill_id,))
        return dict_rows(cur)


def mark_discovered(conn: Connection, unit: Mapping[str, Any], fetch_id: int, found: int,
                    candidates: int, now: datetime) -> None:
    _update(conn, unit, now, state="discovered", fetch_id=fetch_id, found=found,
            candidates=candidates, error=None)


def mark_failed(conn: Connection, unit: Mapping[str, Any], error: str, now: datetime) -> None:
    _update(conn, unit, now, state="failed", error=error[:2000])


def mark_pages(conn: Connection, unit: Mapping[str, Any], pages: int, done: bool,
               now: datetime) -> None:
    _update(conn, unit, now, pages=pages, **({"state": "fetched"} if done else {}))


def _update(conn: Connection, unit: Mapping[str, Any], now: datetime, **values: Any) -> None:
    assignments = ", ".join(f"{name} = %({name})s" for name in values)
    with conn.cursor() as cur:
        cur.execute(
            f"UPDATE backfill_units SET {assignments}, updated_at = %(now)s WHERE {_UNIT}",
            {**values, "now": now, **_key(unit)})


def staged_pages(conn: Connection, run_id: str, fetch_id: int | None = None) -> int:
    """Pages a backfill fetched and staged, all or one unit's (not failed fetches, nor
    pages robots.txt kept it from asking for)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM staged_articles st
               LEFT JOIN feed_entries e ON e.id = st.entry_id
               WHERE st.run_id = %(run_id)s AND st.status <> 'error'
                 AND st.reason_code IS DISTINCT FROM 'robots.txt'
                 AND (%(fetch_id)s::bigint IS NULL OR e.last_fetch_id = %(fetch_id)s)""",
            {"run_id": run_id, "fetch_id": fetch_id})
        return int(cur.fetchone()[0])


def unstaged_candidates(conn: Connection, run_id: str, fetch_id: int) -> int:
    """A unit's candidates with no page staged by the backfill yet (errors count as not)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM feed_entries e
               WHERE e.last_fetch_id = %s AND e.candidate
                 AND NOT EXISTS (SELECT 1 FROM staged_articles st
                                 WHERE st.entry_id = e.id AND st.run_id = %s
                                   AND st.status <> 'error')""",
            (fetch_id, run_id))
        return int(cur.fetchone()[0])


def host_pages_since(conn: Connection, host: str, since: datetime) -> int:
    """Pages on `host` (its links' host and port, lower case) that any backfill staged
    since then: what the per-host daily budget counts."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM staged_articles st JOIN feed_entries e ON e.id = st.entry_id
               WHERE st.run_id LIKE 'backfill:%%' AND st.created_at >= %s
                 AND lower(substring(e.link FROM '^[A-Za-z]+://([^/?#]+)')) = %s""",
            (since, host))
        return int(cur.fetchone()[0])


def finish(conn: Connection, backfill_id: str, now: datetime) -> bool:
    """Mark the backfill finished if no unit has work left; returns whether it is."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE backfills b SET finished_at = %(now)s, updated_at = %(now)s
               WHERE b.id = %(id)s AND NOT EXISTS (
                   SELECT 1 FROM backfill_units u
                   WHERE u.backfill_id = b.id AND u.state <> 'fetched')
               RETURNING id""",
            {"now": now, "id": backfill_id})
        return cur.fetchone() is not None


def progress(conn: Connection, backfill_id: str | None = None,
             limit: int | None = None) -> list[Row]:
    """Per backfill (one, or every one, newest first; at most `limit`): its units by
    state, the entries found, the candidates, the pages staged and the articles stored."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT b.id, b.request, b.created_at, b.updated_at, b.finished_at,
                      count(u.backfill_id) AS units,
                      count(u.backfill_id) FILTER (WHERE u.state = 'fetched') AS units_done,
                      count(u.backfill_id) FILTER (WHERE u.state = 'failed') AS units_failed,
                      coalesce(sum(u.found), 0) AS found,
                      coalesce(sum(u.candidates), 0) AS candidates,
                      coalesce(sum(u.pages), 0) AS pages,
                      (SELECT count(*) FROM staged_articles st
                       WHERE st.run_id = 'backfill:' || b.id AND st.outcome = 'new')
                          AS articles
               FROM backfills b LEFT JOIN backfill_units u ON u.backfill_id = b.id
               WHERE %(id)s::text IS NULL OR b.id = %(id)s
               GROUP BY b.id ORDER BY b.created_at DESC, b.id LIMIT %(limit)s""",
            {"id": backfill_id, "limit": limit})
        return dict_rows(cur)
