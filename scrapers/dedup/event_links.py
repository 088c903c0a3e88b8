"""Events, the PostgreSQL part: link stored articles to `event_threads`.

The decision is `scrapers.dedup.events.decide_event`, the one `scrapers.events.link_events`
makes without a database: pending articles are taken in id order (the order they arrived
in), each decided against the reports linked before it within the time window, so a list
of items given to `link_events` in that order ends in the same events.

An article is pending when it is relevant and has no `article_event_evidence` row made
with today's method; `forget` makes edited articles pending again. The SQL runs on a DB-API
(psycopg2) connection; `link_pending` leaves transaction control to the caller, `relink`
commits per batch. Figures: docs/events.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from scrapers.db.connection import Connection, Cursor
from scrapers.dedup.events import METHOD, WINDOW_DAYS, LinkedReports, Member, decide_event
from scrapers.events import report_evidence

LOGGER = logging.getLogger(__name__)

_PENDING_SQL = """
SELECT a.id, a.title, a.body, a.language, coalesce(a.published_at, a.first_seen_at)
FROM articles a
LEFT JOIN article_event_evidence x ON x.article_id = a.id AND x.params = %(params)s
WHERE a.relevant AND x.article_id IS NULL
ORDER BY a.id
LIMIT %(limit)s
"""

_MEMBERS_SQL = """
SELECT x.article_id, a.event_id, x.event_at, x.evidence
FROM article_event_evidence x
JOIN articles a ON a.id = x.article_id
WHERE x.params = %(params)s AND a.event_id IS NOT NULL
  AND x.event_at BETWEEN %(since)s AND %(until)s
  AND x.article_id <> ALL(%(pending)s)
"""

# Per touched event: counts, first/last seen, languages, outlets, the headline of the
# earliest report per language, and the evidence two or more of its reports share.
_REFRESH_SQL = """
WITH members AS (
    SELECT a.event_id, a.id, a.title, a.language, a.source, a.first_seen_at,
           coalesce(a.published_at, a.first_seen_at) AS at
    FROM articles a WHERE a.event_id = ANY(%(ids)s)
), totals AS (
    SELECT event_id, count(*) AS n, min(first_seen_at) AS first_seen,
           max(first_seen_at) AS last_seen,
           coalesce(array_agg(DISTINCT language ORDER BY language)
                    FILTER (WHERE language IS NOT NULL), '{}') AS languages,
           array_agg(DISTINCT source ORDER BY source) AS outlets
    FROM members GROUP BY event_id
), firsts AS (
    SELECT DISTINCT ON (event_id, language) event_id, language, title
    FROM members WHERE language IS NOT NULL
    ORDER BY event_id, language, at, id
), headlines AS (
    SELECT event_id, jsonb_object_agg(language, title) AS headlines FROM firsts GROUP BY 1
), features AS (
    SELECT m.event_id, k.key, count(*) AS n
    FROM members m
    JOIN article_event_evidence x ON x.article_id = m.id
    CROSS JOIN LATERAL jsonb_object_keys(x.evidence) AS k(key)
    GROUP BY 1, 2 HAVING count(*) >= 2
), shared AS (
    SELECT event_id, jsonb_agg(key ORDER BY n DESC, key) AS evidence FROM features GROUP BY 1
)
UPDATE event_threads e
SET article_count = t.n, first_seen_at = t.first_seen, last_seen_at = t.last_seen,
    languages = t.languages, outlets = t.outlets,
    headlines = coalesce(h.headlines, '{}'::jsonb), evidence = coalesce(s.evidence, '[]'::jsonb),
    updated_at = now()
FROM totals t
LEFT JOIN headlines h ON h.event_id = t.event_id
LEFT JOIN shared s ON s.event_id = t.event_id
WHERE e.id = t.event_id
"""


def link_pending(conn: Connection, limit: int = 500,
                 window_days: int = WINDOW_DAYS) -> int:
    """Link up to `limit` pending articles (id order) to events; returns how many.

    Reads their texts and the linked reports within `window_days` of them, decides each in
    turn (a new event gets its row at once, so later articles of the batch can join it),
    then writes their evidence, their `event_id` and the touched events' summaries in a few
    statements. No commit.
    """
    with conn.cursor() as cur:
        cur.execute(_PENDING_SQL, {"params": METHOD, "limit": limit})
        pending = cur.fetchall()
        if not pending:
            return 0
        found = {aid: report_evidence(title or "", body or "", language, at.year)
                 for aid, title, body, language, at in pending}
        ats = [row[4] for row in pending]
        cur.execute(_MEMBERS_SQL, {
            "params": METHOD, "pending": [row[0] for row in pending],
            "since": min(ats) - timedelta(days=window_days),
            "until": max(ats) + timedelta(days=window_days),
        })
        linked = LinkedReports(Member(int(aid), int(eid), at, _weights(ev))
                               for aid, eid, at, ev in cur.fetchall())
        previous = _current_events(cur, [row[0] for row in pending])
        rows: list[tuple[Any, ...]] = []
        for aid, _title, _body, _language, at in pending:
            decision = decide_event(found[aid], at, linked, window_days=window_days)
            event_id = decision.event_id
            if event_id is None:
                cur.execute("""INSERT INTO event_threads (first_seen_at, last_seen_at)
                               VALUES (%s, %s) RETURNING id""", (at, at))
                event_id = int(cur.fetchone()[0])
            linked.add(Member(aid, event_id, at, found[aid]))
            rows.append((aid, event_id, at, json.dumps(found[aid], sort_keys=True),
                         decision.matched_article_id, decision.score, list(decision.shared)))
        _write(cur, rows)
        touched = {r[1] for r in rows} | {e for e in previous.values() if e is not None}
        refresh(cur, touched)
    return len(rows)


def _weights(raw: Any) -> dict[str, float]:
    data = json.loads(raw) if isinstance(raw, str) else raw
    return {str(k): float(v) for k, v in data.items()}


def _current_events(cur: Cursor, article_ids: Sequence[int]) -> dict[int, int | None]:
    cur.execute("SELECT id, event_id FROM articles WHERE id = ANY(%s)", (list(article_ids),))
    return {int(aid): (None if eid is None else int(eid)) for aid, eid in cur.fetchall()}


def _write(cur: Cursor, rows: Sequence[tuple[Any, ...]]) -> None:
    ids = [r[0] for r in rows]
    cur.execute(
        """INSERT INTO article_event_evidence (article_id, event_at, evidence, params,
               matched_article_id, score, shared)
           SELECT x.aid, x.at, x.ev::jsonb, %(params)s, x.matched, x.score,
                  ARRAY(SELECT jsonb_array_elements_text(x.shared::jsonb))
           FROM unnest(%(ids)s::bigint[], %(ats)s::timestamptz[], %(evs)s::text[],
                       %(matched)s::bigint[], %(scores)s::real[], %(shared)s::text[])
                AS x(aid, at, ev, matched, score, shared)
           ON CONFLICT (article_id) DO UPDATE SET
               event_at = EXCLUDED.event_at, evidence = EXCLUDED.evidence,
               params = EXCLUDED.params, matched_article_id = EXCLUDED.matched_article_id,
               score = EXCLUDED.score, shared = EXCLUDED.shared, linked_at = now()""",
        {"params": METHOD, "ids": ids, "ats": [r[2] for r in rows],
         "evs": [r[3] for r in rows], "matched": [r[4] for r in rows],
         "scores": [r[5] for r in rows], "shared": [json.dumps(r[6]) for r in rows]},
    )
    cur.execute(
        """UPDATE articles a SET event_id = x.event_id
           FROM unnest(%s::bigint[], %s::bigint[]) AS x(aid, event_id)
           WHERE a.id = x.aid AND a.event_id IS DISTINCT FROM x.event_id""",
        (ids, [r[1] for r in rows]),
    )


def refresh(cur: Cursor, event_ids: Iterable[int]) -> None:
    """Recompute the summaries of `event_ids` from their members; drop emptied events."""
    ids = sorted(set(event_ids))
    if not ids:
        return
    cur.execute(_REFRESH_SQL, {"ids": ids})
    cur.execute("""DELETE FROM event_threads e WHERE e.id = ANY(%s)
                   AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.event_id = e.id)""",
                (ids,))


def forget(conn: Connection, article_ids: Iterable[int]) -> None:
    """Make articles pending again (their text changed): their evidence goes; they keep
    their event until they are linked anew."""
    ids = list(article_ids)
    if ids:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM article_event_evidence WHERE article_id = ANY(%s)", (ids,))


def relink(conn: Connection, batch_size: int = 500,
           progress: Callable[[int, int], None] | None = None) -> int:
    """Link every relevant article anew (after a change of method): events are emptied,
    then articles are linked in id order, committing per batch. Returns how many."""
    with conn.cursor() as cur:
        cur.execute("UPDATE articles SET event_id = NULL WHERE event_id IS NOT NULL")
        cur.execute("DELETE FROM article_event_evidence")
        cur.execute("DELETE FROM event_threads")
        cur.execute("SELECT count(*) FROM articles WHERE relevant")
        total = int(cur.fetchone()[0])
    conn.commit()
    done = 0
    while True:
        linked = link_pending(conn, batch_size)
        conn.commit()
        if not linked:
            return done
        done += linked
        if progress is not None:
            progress(done, total)
        LOGGER.info("linked %d of %d articles to events", done, total)
