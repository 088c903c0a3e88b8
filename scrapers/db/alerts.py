"""The counts behind the alerts about the news (scrapers.alerts decides), and the record of
what was sent (V027 `alerts_sent`). "Now" is always a parameter.

An article counts on the day it is dated (`coalesce(published_at, first_seen_at)`), so a
backfill's past articles fill the baseline instead of making a spike today.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from scrapers.alerts import (
    BASELINE_DAYS,
    Alert,
    is_silent,
    spike,
    usual_gap,
)
from scrapers.db.connection import Connection

#: Articles named under a spike.
SPIKE_ARTICLES = 5
#: Reports of both sides within this long of each other make a new event worth an alert;
#: so do `WIDE_OUTLETS` outlets within this long of its first report.
BOTH_SIDES_WITHIN = timedelta(hours=12)
WIDE_OUTLETS = 5


def spike_alerts(conn: Connection, now: datetime) -> list[Alert]:
    """A tag whose relevant articles of the last 24 hours, in one language, are far above
    its daily counts of the `BASELINE_DAYS` days before, with the articles behind it."""
    since = now - timedelta(days=1)
    start = since - timedelta(days=BASELINE_DAYS)
    with conn.cursor() as cur:
        cur.execute(
            """SELECT t.tag, a.language,
                      floor(extract(epoch FROM (%(since)s - coalesce(a.published_at,
                            a.first_seen_at))) / 86400)::int AS days_before,
                      count(*)
               FROM article_tags t JOIN articles a ON a.id = t.article_id
               WHERE a.relevant AND a.language IS NOT NULL
                 AND coalesce(a.published_at, a.first_seen_at) >= %(start)s
                 AND coalesce(a.published_at, a.first_seen_at) < %(now)s
               GROUP BY 1, 2, 3""",
            {"since": since, "start": start, "now": now})
        counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * BASELINE_DAYS)
        today: dict[tuple[str, str], int] = defaultdict(int)
        for tag, language, days_before, n in cur.fetchall():
            if days_before < 0:  # in the last 24 hours
                today[(tag, language)] += int(n)
            elif days_before < BASELINE_DAYS:
                counts[(tag, language)][days_before] += int(n)
    alerts = []
    for (tag, language), n in sorted(today.items()):
        found = spike(n, counts[(tag, language)])
        if found is None:
            continue
        day = now.date().isoformat()
        alerts.append(Alert(
            "spike", f"{tag}|{language}|{day}",
            f"Spike: {tag} in {language}, {n} articles in 24 h (usually "
            f"{found.mean:.1f} a day, z = {found.z:.1f})",
            tuple(_spike_articles(conn, tag, language, since, now))))
    return alerts


def _spike_articles(conn: Connection, tag: str, language: str, since: datetime,
                    now: datetime) -> list[str]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT a.source, a.title, a.url FROM article_tags t
               JOIN articles a ON a.id = t.article_id
               WHERE t.tag = %s AND a.language = %s AND a.relevant
                 AND coalesce(a.published_at, a.first_seen_at) >= %s
                 AND coalesce(a.published_at, a.first_seen_at) < %s
               ORDER BY coalesce(a.published_at, a.first_seen_at) DESC, a.id DESC
               LIMIT %s""",
            (tag, language, since, now, SPIKE_ARTICLES))
        return [f"{source}: {title} <{url}>" for source, title, url in cur.fetchall()]


def both_sides_alerts(conn: Connection, now: datetime,
                      lookback: timedelta = timedelta(days=1)) -> list[Alert]:
    """An event seen in the last `lookback` that Japanese and Russian outlets both reported,
    their first reports at most `BOTH_SIDES_WITHIN` apart."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT e.id, e.headlines, e.outlets, sides.ja, sides.ru
               FROM event_threads e
               CROSS JOIN LATERAL (
                   SELECT min(coalesce(a.published_at, a.first_seen_at))
                              FILTER (WHERE a.language = 'ja') AS ja,
                          min(coalesce(a.published_at, a.first_seen_at))
                              FILTER (WHERE a.language = 'ru') AS ru
                   FROM articles a WHERE a.event_id = e.id) sides
               WHERE e.last_seen_at >= %(since)s AND e.last_seen_at <= %(now)s
                 AND sides.ja IS NOT NULL AND sides.ru IS NOT NULL
                 AND abs(extract(epoch FROM sides.ja - sides.ru)) <= %(within)s
               ORDER BY e.id""",
            {"since": now - lookback, "now": now,
             "within": BOTH_SIDES_WITHIN.total_seconds()})
        rows = cur.fetchall()
    alerts = []
    for event_id, headlines, outlets, ja, ru in rows:
        first = "Japan" if ja <= ru else "Russia"
        lag = abs(ja - ru)
        alerts.append(Alert(
            "both_sides", str(event_id),
            f"Both sides report event {event_id}: {len(outlets)} outlets; {first}'s side "
            f"first, the other {lag.total_seconds() / 3600:.1f} h later",
            tuple(f"{language}: {headline}"
                  for language, headline in sorted((headlines or {}).items()))))
    return alerts


def wide_coverage_alerts(conn: Connection, now: datetime,
                         lookback: timedelta = timedelta(days=1)) -> list[Alert]:
    """An event seen in the last `lookback` that `WIDE_OUTLETS` outlets or more reported
    within `BOTH_SIDES_WITHIN` of its first report."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT e.id, e.headlines, count(DISTINCT a.source) AS outlets
               FROM event_threads e
               JOIN articles a ON a.event_id = e.id
               CROSS JOIN LATERAL (
                   SELECT min(coalesce(b.published_at, b.first_seen_at)) AS first_at
                   FROM articles b WHERE b.event_id = e.id) f
               WHERE e.last_seen_at >= %(since)s AND e.last_seen_at <= %(now)s
                 AND coalesce(a.published_at, a.first_seen_at) <= f.first_at + %(within)s
               GROUP BY e.id HAVING count(DISTINCT a.source) >= %(outlets)s
               ORDER BY e.id""",
            {"since": now - lookback, "now": now, "within": BOTH_SIDES_WITHIN,
             "outlets": WIDE_OUTLETS})
        rows = cur.fetchall()
    return [Alert("wide_coverage", str(event_id),
                  f"Event {event_id} covered by {outlets} outlets within "
                  f"{BOTH_SIDES_WITHIN.total_seconds() / 3600:.0f} h of its first report",
                  tuple(f"{language}: {headline}"
                        for language, headline in sorted((headlines or {}).items())))
            for event_id, headlines, outlets in rows]


def source_alerts(conn: Connection, now: datetime) -> list[Alert]:
    """A feed that still answers but has brought nothing new for four of its usual gaps
    (the median gap between its articles over the baseline days), and a feed that health
    has disabled."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT s.id, s.name, s.last_new_entry_at, s.last_success_at,
                      s.disabled_reason, s.disabled_at,
                      ARRAY(SELECT a.first_seen_at FROM articles a
                            WHERE a.source_id = s.id AND a.first_seen_at >= %(start)s
                              AND a.first_seen_at < %(now)s ORDER BY 1) AS seen
               FROM sources s
               WHERE s.enabled AND s.kind <> 'gdelt'
               ORDER BY s.id""",
            {"start": now - timedelta(days=BASELINE_DAYS), "now": now})
        rows = cur.fetchall()
    alerts = []
    for source_id, name, last_new, last_success, reason, disabled_at, seen in rows:
        if reason is not None:
            alerts.append(Alert("disabled_source", f"{source_id}|{disabled_at.isoformat()}",
                                f"Source disabled by health: {name}", (reason,)))
            continue
        gap = usual_gap(seen)
        answering = last_success is not None and now - last_success <= timedelta(days=1)
        if answering and is_silent(last_new, gap, now):
            assert gap is not None and last_new is not None
            alerts.append(Alert(
                "silent_source", f"{source_id}|{last_new.isoformat()}",
                f"Silent source: {name} answers but has brought nothing new since "
                f"{last_new:%Y-%m-%d %H:%M} UTC (usually every "
                f"{gap.total_seconds() / 3600:.1f} h)"))
    return alerts


def watch_alerts(conn: Connection, now: datetime,
                 lookback: timedelta = timedelta(days=1)) -> list[Alert]:
    """Each article a watchlist matches, first seen in the last `lookback`."""
    from scrapers.db import watchlists

    alerts = []
    for watch in watchlists.all_watches(conn):
        for match in watchlists.matches(conn, watch, now - lookback, now):
            alerts.append(Alert(
                "watch", f"{watch['id']}|{match['id']}",
                f"Watch {watch['name']}: {match['source']}: {match['title']}",
                (f"<{match['url']}>",)))
    return alerts


def unsent(conn: Connection, alerts: list[Alert]) -> list[Alert]:
    """The alerts not sent before."""
    if not alerts:
        return []
    with conn.cursor() as cur:
        cur.execute("SELECT kind, key FROM alerts_sent WHERE (kind, key) IN "
                    "(SELECT * FROM unnest(%s::text[], %s::text[]))",
                    ([a.kind for a in alerts], [a.key for a in alerts]))
        sent = set(cur.fetchall())
    return [a for a in alerts if (a.kind, a.key) not in sent]


def mark_sent(conn: Connection, alerts: list[Alert], now: datetime) -> None:
    """Record the alerts as sent (no commit)."""
    with conn.cursor() as cur:
        for alert in alerts:
            cur.execute("""INSERT INTO alerts_sent (kind, key, title, sent_at)
                           VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING""",
                        (alert.kind, alert.key, alert.title, now))
