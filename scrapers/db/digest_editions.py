"""The daily digest editions (V029): per UTC day and side, gathered, rendered
(scrapers.digest) and stored; rerunning changes nothing.

An article's side is where its outlet is: a catalog outlet's `timezone` says it (Japan,
or a Russian zone), and an article from a search feed or GDELT goes by its language (ja:
Japan, ru: Russia); everything else is international.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from scrapers.alerts import BASELINE_DAYS, spike
from scrapers.db.connection import Connection
from scrapers.db.store import dict_rows
from scrapers.digest import SIDES, html_page, markdown

#: Zones of Russian outlets (a catalog outlet whose `timezone` is one of them is Russian).
RUSSIAN_ZONES = ("Europe/Moscow", "Europe/Kaliningrad", "Europe/Samara", "Asia/Yekaterinburg",
                 "Asia/Omsk", "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk",
                 "Asia/Yakutsk", "Asia/Vladivostok", "Asia/Sakhalin", "Asia/Magadan",
                 "Asia/Srednekolymsk", "Asia/Kamchatka")
SIDE_SQL = """CASE
    WHEN s.kind = 'rss' AND s.timezone = 'Asia/Tokyo' THEN 'japan'
    WHEN s.kind = 'rss' AND s.timezone = ANY(%(russian_zones)s) THEN 'russia'
    WHEN s.kind = 'rss' THEN 'international'
    WHEN a.language = 'ja' THEN 'japan'
    WHEN a.language = 'ru' THEN 'russia'
    ELSE 'international' END"""
#: Events, new tags and spikes an edition names at most.
TOP = 5
#: Tags a digest reports on (actions and organisations are event evidence, not topics).
_TAG_KINDS = ("theme:%", "place:%", "person:%")


def refresh_editions(conn: Connection, now: datetime, days: int = 3) -> int:
    """Write the editions of the last `days` UTC days (today included); returns how many
    changed. No commit."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    tagged = _tag_days(conn, first - timedelta(days=BASELINE_DAYS), today + timedelta(days=1))
    changed = 0
    for offset in range(days):
        day = first + timedelta(days=offset)
        watched = _watch_matches(conn, day)
        for side in SIDES:
            articles = _articles(conn, day, side)
            if not articles:
                continue
            content = {"events": _events(conn, day, side),
                       "new_tags": _new_tags(tagged, day, side),
                       "spikes": _spikes(tagged, day, side),
                       "watches": watched.get(side, [])}
            changed += _store(conn, day, side, articles, content, now)
    return changed


def _window(day: date) -> dict[str, Any]:
    start = datetime.combine(day, time(), UTC)
    return {"start": start, "end": start + timedelta(days=1),
            "russian_zones": list(RUSSIAN_ZONES)}


def _articles(conn: Connection, day: date, side: str) -> int:
    with conn.cursor() as cur:
        cur.execute(f"""SELECT count(*) FROM articles a LEFT JOIN sources s ON s.id = a.source_id
                        WHERE a.relevant AND {SIDE_SQL} = %(side)s
                          AND coalesce(a.published_at, a.first_seen_at) >= %(start)s
                          AND coalesce(a.published_at, a.first_seen_at) < %(end)s""",
                    {**_window(day), "side": side})
        return int(cur.fetchone()[0])


def _events(conn: Connection, day: date, side: str) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(
            f"""SELECT e.id AS event_id, e.headlines, e.article_count, e.languages,
                       count(*) AS articles
                FROM articles a LEFT JOIN sources s ON s.id = a.source_id
                JOIN event_threads e ON e.id = a.event_id
                WHERE a.relevant AND {SIDE_SQL} = %(side)s
                  AND coalesce(a.published_at, a.first_seen_at) >= %(start)s
                  AND coalesce(a.published_at, a.first_seen_at) < %(end)s
                GROUP BY e.id ORDER BY count(*) DESC, e.article_count DESC, e.id LIMIT %(top)s""",
            {**_window(day), "side": side, "top": TOP})
        rows = dict_rows(cur)
    return [{**r, "languages": sorted(r["languages"])} for r in rows]


def _watch_matches(conn: Connection, day: date) -> dict[str, list[dict[str, Any]]]:
    """side -> each watchlist's matches among the articles first seen that day."""
    from scrapers.db import watchlists

    window = _window(day)
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for watch in watchlists.all_watches(conn):
        matches = watchlists.matches(conn, watch, window["start"], window["end"])
        if not matches:
            continue
        with conn.cursor() as cur:
            cur.execute(f"""SELECT a.id, {SIDE_SQL} FROM articles a
                            LEFT JOIN sources s ON s.id = a.source_id
                            WHERE a.id = ANY(%(ids)s)""",
                        {**window, "ids": [m["id"] for m in matches]})
            side_of = dict(cur.fetchall())
        for side in SIDES:
            mine = [m for m in matches if side_of.get(m["id"]) == side]
            if mine:
                found[side].append({"watch": watch["name"], "articles": len(mine),
                                    "titles": [m["title"] for m in mine[:3]]})
    return found


def _tag_days(conn: Connection, start: date, end: date) -> dict[tuple[str, str], dict[date, int]]:
    """(side, tag) -> day -> relevant articles, over [start, end)."""
    with conn.cursor() as cur:
        cur.execute(
            f"""SELECT {SIDE_SQL} AS side, t.tag,
                       (coalesce(a.published_at, a.first_seen_at) AT TIME ZONE 'UTC')::date,
                       count(*)
                FROM articles a LEFT JOIN sources s ON s.id = a.source_id
                JOIN article_tags t ON t.article_id = a.id
                WHERE a.relevant AND t.tag LIKE ANY(%(kinds)s)
                  AND coalesce(a.published_at, a.first_seen_at) >= %(start)s
                  AND coalesce(a.published_at, a.first_seen_at) < %(end)s
                GROUP BY 1, 2, 3""",
            {"start": datetime.combine(start, time(), UTC),
             "end": datetime.combine(end, time(), UTC), "kinds": list(_TAG_KINDS),
             "russian_zones": list(RUSSIAN_ZONES)})
        found: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)
        for side, tag, day, n in cur.fetchall():
            found[(side, tag)][day] = int(n)
    return found


def _new_tags(tagged: dict[tuple[str, str], dict[date, int]], day: date,
              side: str) -> list[dict[str, Any]]:
    """Tags of the side's articles that day that none of its articles had in the
    `BASELINE_DAYS` days before."""
    new: list[dict[str, Any]] = [
        {"tag": tag, "articles": days[day]} for (s, tag), days in tagged.items()
           if s == side and day in days
           and not any(day - timedelta(days=n) in days for n in range(1, BASELINE_DAYS + 1))]
    return sorted(new, key=lambda t: (-t["articles"], t["tag"]))[:TOP]


def _spikes(tagged: dict[tuple[str, str], dict[date, int]], day: date,
            side: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for (s, tag), days in tagged.items():
        if s != side or day not in days:
            continue
        baseline = [days.get(day - timedelta(days=n), 0) for n in range(1, BASELINE_DAYS + 1)]
        hit = spike(days[day], baseline)
        if hit is not None:
            found.append({"tag": tag, "count": hit.count, "mean": round(hit.mean, 2),
                          "z": round(hit.z, 2)})
    return sorted(found, key=lambda f: (-f["z"], f["tag"]))[:TOP]


def _store(conn: Connection, day: date, side: str, articles: int, content: dict[str, Any],
           now: datetime) -> int:
    text, page = markdown(day, side, articles, content), html_page(day, side, articles, content)
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO digest_editions (day, side, articles, content, markdown, html,
                   refreshed_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (day, side) DO UPDATE SET articles = EXCLUDED.articles,
                   content = EXCLUDED.content, markdown = EXCLUDED.markdown,
                   html = EXCLUDED.html, refreshed_at = EXCLUDED.refreshed_at
               WHERE digest_editions.markdown <> EXCLUDED.markdown""",
            (day, side, articles, json.dumps(content, default=str, ensure_ascii=False), text,
             page, now))
        return int(cur.rowcount)


def edition(conn: Connection, day: date, side: str) -> dict[str, Any] | None:
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM digest_editions WHERE day = %s AND side = %s", (day, side))
        rows = dict_rows(cur)
    return rows[0] if rows else None
