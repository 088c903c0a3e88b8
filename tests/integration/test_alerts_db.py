"""scrapers.db.alerts against a real PostgreSQL: each alert fires on its case, stays quiet
on an ordinary day, and is sent once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scrapers.db import alerts

pytestmark = [pytest.mark.integration]

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
_made = 0


def article(db: Any, at: datetime, language: str = "ja", tags: tuple[str, ...] = (),
            source: str = "NHK", source_id: int | None = None, event_id: int | None = None,
            published: bool = True, now: datetime = NOW) -> int:
    """One relevant article dated `at` (published then and first seen `now`, or first
    seen then)."""
    global _made
    _made += 1
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO articles (url, original_url, title, body, fetched_at, first_seen_at,
                   published_at, language, source, source_id, relevance_score, relevant,
                   content_hash, event_id)
               VALUES (%(url)s, %(url)s, %(title)s, 'body', %(at)s, %(seen)s, %(published)s,
                   %(language)s, %(source)s, %(source_id)s, 1.0, true, %(url)s, %(event)s)
               RETURNING id""",
            {"url": f"https://news.example/{_made}", "title": f"Report {_made}", "at": at,
             "seen": at if not published else now, "published": at if published else None,
             "language": language, "source": source, "source_id": source_id,
             "event": event_id})
        article_id = int(cur.fetchone()[0])
        for tag in tags:
            cur.execute("INSERT INTO article_tags (article_id, tag) VALUES (%s, %s)",
                        (article_id, tag))
    return article_id


def baseline(db: Any, tag: str, per_day: int = 1, language: str = "ja",
             now: datetime = NOW) -> None:
    for day in range(1, 29):
        for n in range(per_day):
            article(db, now - timedelta(days=day, hours=n + 1), language, (tag,), now=now)


def test_a_spike_fires_with_its_articles_and_an_ordinary_day_is_quiet(db: Any) -> None:
    baseline(db, "theme:sanctions")
    baseline(db, "theme:fisheries")
    for hour in range(8):
        article(db, NOW - timedelta(hours=hour + 1), tags=("theme:sanctions",))
    article(db, NOW - timedelta(hours=3), tags=("theme:fisheries",))  # its usual one
    # backfilled: loaded now, dated in the baseline, so no spike today
    for _ in range(6):
        article(db, NOW - timedelta(days=10), "ru", ("theme:energy",))
    db.commit()
    [found] = alerts.spike_alerts(db, NOW)
    assert found.kind == "spike" and found.key == "theme:sanctions|ja|2026-11-30"
    assert found.title.startswith("Spike: theme:sanctions in ja, 8 articles in 24 h")
    assert len(found.details) == 5 and found.details[0].startswith("NHK: Report ")


def test_an_event_both_sides_reported_within_hours_fires(db: Any) -> None:
    with db.cursor() as cur:
        cur.execute("""INSERT INTO event_threads (first_seen_at, last_seen_at, languages,
                           outlets, headlines)
                       SELECT %s, %s, %s, %s, %s::jsonb FROM generate_series(1, 3)
                       RETURNING id""",
                    (NOW - timedelta(hours=6), NOW - timedelta(hours=1), ["ja", "ru"],
                     ["NHK", "TASS"], '{"ja": "露外相が訪日", "ru": "Лавров прибыл в Токио"}'))
        both, apart, one_side = (row[0] for row in cur.fetchall())
    article(db, NOW - timedelta(hours=6), "ja", event_id=both)
    article(db, NOW - timedelta(hours=3), "ru", source="TASS", event_id=both)
    article(db, NOW - timedelta(days=3), "ja", event_id=apart)
    article(db, NOW - timedelta(hours=2), "ru", source="TASS", event_id=apart)
    article(db, NOW - timedelta(hours=2), "ja", event_id=one_side)
    article(db, NOW - timedelta(hours=1), "en", source="Kyodo", event_id=one_side)
    db.commit()
    [found] = alerts.both_sides_alerts(db, NOW)
    assert (found.kind, found.key) == ("both_sides", str(both))
    assert "Japan's side first, the other 3.0 h later" in found.title
    assert found.details == ("ja: 露外相が訪日", "ru: Лавров прибыл в Токио")
    assert alerts.wide_coverage_alerts(db, NOW) == []  # two outlets each: ordinary


def test_silent_and_disabled_sources_fire_and_a_lively_one_is_quiet(db: Any) -> None:
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO sources (name, url, language, outlet, last_success_at,
                   last_new_entry_at, disabled_reason, disabled_at)
               VALUES ('Quiet', 'https://q.example/rss', 'ja', 'Quiet', %(ok)s, %(old)s,
                       NULL, NULL),
                      ('Lively', 'https://l.example/rss', 'ja', 'Lively', %(ok)s, %(recent)s,
                       NULL, NULL),
                      ('Gone', 'https://g.example/rss', 'ru', 'Gone', NULL, NULL,
                       'HTTP 410 Gone at feed URL', %(ok)s)
               RETURNING id""",
            {"ok": NOW - timedelta(minutes=30), "old": NOW - timedelta(hours=30),
             "recent": NOW - timedelta(hours=2)})
        quiet, lively, _ = (row[0] for row in cur.fetchall())
    for source_id in (quiet, lively):  # both used to bring something every two hours
        for hours in range(32, 60, 2):
            article(db, NOW - timedelta(hours=hours), source_id=source_id, published=False)
    db.commit()
    found = {a.kind: a for a in alerts.source_alerts(db, NOW)}
    assert set(found) == {"silent_source", "disabled_source"}
    assert found["silent_source"].title.startswith("Silent source: Quiet answers but")
    assert "(usually every 2.0 h)" in found["silent_source"].title
    assert found["disabled_source"].details == ("HTTP 410 Gone at feed URL",)


def test_an_alert_is_sent_once(db: Any) -> None:
    one, two = (alerts.Alert("spike", key, f"Spike {key}") for key in ("a", "b"))
    assert alerts.unsent(db, [one, two]) == [one, two]
    alerts.mark_sent(db, [one], NOW)
    db.commit()
    assert alerts.unsent(db, [one, two]) == [two]
    assert alerts.unsent(db, []) == []
