"""The per-side digest editions against a real PostgreSQL: sides by the outlet's zone or
the article's language, events, new tags, spikes; rewriting them changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scrapers.db.digest_editions import edition, refresh_editions
from tests.integration.test_alerts_db import article

pytestmark = [pytest.mark.integration]

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
TODAY = NOW.date()


def source(db: Any, name: str, language: str, timezone: str, kind: str = "rss") -> int:
    with db.cursor() as cur:
        cur.execute("""INSERT INTO sources (name, url, language, kind, outlet, timezone)
                       VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
                    (name, f"https://{name.lower().replace(' ', '')}.example/rss", language,
                     kind, name, timezone))
        return int(cur.fetchone()[0])


def test_editions_per_side_with_events_new_tags_and_spikes(db: Any) -> None:
    nhk_world = source(db, "NHK World", "en", "Asia/Tokyo")  # English, but a Japanese outlet
    tass = source(db, "TASS", "ru", "Europe/Moscow")
    reuters = source(db, "Reuters", "en", "UTC")
    search = source(db, "Google News (ja)", "ja", "Asia/Tokyo", kind="search")
    with db.cursor() as cur:
        cur.execute("""INSERT INTO event_threads (first_seen_at, last_seen_at, article_count,
                           languages, outlets, headlines)
                       VALUES (%s, %s, 3, '{en,ru}', '{NHK World,TASS,Reuters}',
                               '{"en": "Lavrov visits Tokyo", "ru": "Лавров прибыл в Токио"}')
                       RETURNING id""", (NOW - timedelta(hours=8), NOW - timedelta(hours=2)))
        visit = cur.fetchone()[0]
    at = NOW - timedelta(hours=3)
    for day in range(1, 29):  # sanctions: once a day on the Russian side, for four weeks
        article(db, NOW - timedelta(days=day), "ru", ("theme:sanctions",), "TASS", tass,
                now=NOW)
    for n in range(8):  # ... and eight today: a spike
        article(db, at - timedelta(minutes=n), "ru", ("theme:sanctions",), "TASS", tass,
                now=NOW)
    article(db, at, "ru", ("person:sergei_lavrov",), "TASS", tass, event_id=visit, now=NOW)
    article(db, at, "en", ("person:sergei_lavrov", "theme:diplomacy"), "NHK World",
            nhk_world, event_id=visit, now=NOW)
    article(db, at, "en", ("theme:diplomacy",), "Reuters", reuters, event_id=visit, now=NOW)
    article(db, at, "ja", ("theme:fisheries",), "Hokkaido Shimbun", search, now=NOW)
    from scrapers.db import watchlists

    watchlists.add(db, "Lavrov", tag="person:sergei_lavrov", now=NOW)
    db.commit()

    assert refresh_editions(db, NOW, days=1) == 3
    db.commit()
    japan, russia, world = (edition(db, TODAY, side)
                            for side in ("japan", "russia", "international"))
    assert japan and russia and world
    assert (japan["articles"], russia["articles"], world["articles"]) == (2, 9, 1)
    # the Japanese side: NHK World (by its zone) and the search item in Japanese
    assert [e["event_id"] for e in japan["content"]["events"]] == [visit]
    assert "- Lavrov visits Tokyo (1 report(s) from this side, 3 in all; en, ru)" in \
        japan["markdown"]
    assert "- Лавров прибыл в Токио (1 report(s) from this side" in russia["markdown"]
    assert {t["tag"] for t in japan["content"]["new_tags"]} == {
        "person:sergei_lavrov", "theme:diplomacy", "theme:fisheries"}
    # the Russian side: sanctions is no new tag there, but it spiked
    assert {t["tag"] for t in russia["content"]["new_tags"]} == {"person:sergei_lavrov"}
    [spiked] = russia["content"]["spikes"]
    assert (spiked["tag"], spiked["count"]) == ("theme:sanctions", 8)
    assert world["content"]["spikes"] == [] and "<h2>Top events</h2>" in world["html"]
    # the watchlist's matches, on each side they came from (first seen today)
    assert [w["articles"] for w in japan["content"]["watches"]] == [1]
    assert "## Watchlists\n\n- Lavrov: 1 new: Report " in russia["markdown"]
    assert world["content"]["watches"] == [] and "Watchlists" not in world["html"]

    assert refresh_editions(db, NOW + timedelta(minutes=5), days=1) == 0  # nothing new
