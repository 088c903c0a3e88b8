"""event_links (DB path of events) on real PostgreSQL: the same events as link_events, the
event rows analysts read, idempotent re-runs, edits and relink."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from scrapers.dedup import event_links
from scrapers.dedup.hashes import content_hash
from scrapers.events import link_events
from tests.support import rows_with_xmin
from tests.support.groups import REPORTS, same_partition, timed_items

pytestmark = [pytest.mark.integration, pytest.mark.clock]

def reports() -> list[dict[str, Any]]:
    return timed_items(REPORTS)


def store(db: Any, items: list[dict[str, Any]], relevant: bool = True) -> dict[str, int]:
    ids = {}
    with db.cursor() as cur:
        for n, item in enumerate(items):
            cur.execute(
                """INSERT INTO articles (url, original_url, title, body, fetched_at,
                       first_seen_at, published_at, language, source, relevance_score,
                       relevant, content_hash)
                   VALUES (%(url)s, %(url)s, %(title)s, %(body)s, %(seen)s, %(seen)s,
                       %(published)s, %(lang)s, %(outlet)s, 0.9, %(relevant)s, %(hash)s)
                   RETURNING id""",
                {"url": f"https://news.example/{item['id']}", "title": item["title"],
                 "body": item["text"], "published": item["published_at"],
                 "seen": item["published_at"] + timedelta(minutes=n), "relevant": relevant,
                 "lang": item["language"], "outlet": f"Outlet {item['id']}",
                 "hash": content_hash(item["title"], item["text"])})
            ids[item["id"]] = int(cur.fetchone()[0])
    db.commit()
    return ids


def linked(db: Any) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every fixture report stored and linked, committed: (items, fixture id -> article id)."""
    items = reports()
    ids = store(db, items)
    event_links.link_pending(db)
    db.commit()
    return items, ids


def events_of(db: Any) -> dict[int, int]:
    with db.cursor() as cur:
        cur.execute("SELECT id, event_id FROM articles")
        return dict(cur.fetchall())


def snapshot(db: Any) -> list[Any]:
    return rows_with_xmin(
        db, "SELECT xmin::text, id, event_id FROM articles ORDER BY id",
        "SELECT xmin::text, * FROM event_threads ORDER BY id",
        "SELECT xmin::text, article_id FROM article_event_evidence ORDER BY 2")


def test_the_database_links_as_link_events_does(db: Any) -> None:
    items = reports()
    ids = store(db, items)
    assert event_links.link_pending(db) == len(items)
    db.commit()
    stored = events_of(db)
    assert same_partition([stored[ids[i["id"]]] for i in items], link_events(items))
    assert len(set(stored.values())) == 2


def test_event_rows_carry_languages_outlets_headlines_and_evidence(db: Any) -> None:
    items, ids = linked(db)
    visit = events_of(db)[ids["visit-en"]]
    with db.cursor() as cur:
        cur.execute("""SELECT article_count, languages, outlets, headlines, evidence,
                              first_seen_at FROM event_threads WHERE id = %s""", (visit,))
        count, languages, outlets, headlines, evidence, first_seen = cur.fetchone()
        cur.execute("""SELECT matched_article_id, score, shared FROM article_event_evidence
                       WHERE article_id = %s""", (ids["visit-ru"],))
        matched, score, shared = cur.fetchone()
    assert count == 3 and languages == ["en", "ja", "ru"]
    assert outlets == sorted(f"Outlet visit-{lang}" for lang in ("en", "ja", "ru"))
    assert headlines == {i["language"]: i["title"] for i in items if i["event"] == "visit"}
    assert "person:yuri_trutnev" in evidence and "md:5-12" in evidence
    assert first_seen == items[0]["published_at"]
    assert matched in (ids["visit-en"], ids["visit-ja"]) and score >= 0.25
    assert "person:yuri_trutnev" in shared


def test_linking_again_changes_nothing_and_irrelevant_articles_wait(db: Any) -> None:
    items = reports()
    store(db, items[:3])
    store(db, items[3:], relevant=False)
    assert event_links.link_pending(db) == 3
    db.commit()
    before = snapshot(db)
    assert event_links.link_pending(db) == 0
    db.commit()
    assert snapshot(db) == before
    assert sum(e is not None for e in events_of(db).values()) == 3


def test_an_edited_report_is_linked_anew_and_an_emptied_event_goes(db: Any) -> None:
    items, ids = linked(db)
    drills_ru = ids["drills-ru"]
    visit = events_of(db)[ids["visit-en"]]
    # the outlet replaced the text with a copy of the visit report
    visit_ru = next(i for i in items if i["id"] == "visit-ru")
    with db.cursor() as cur:
        cur.execute("UPDATE articles SET title = %s, body = %s WHERE id = %s",
                    (visit_ru["title"], visit_ru["text"], drills_ru))
    event_links.forget(db, [drills_ru])
    assert event_links.link_pending(db) == 1
    db.commit()
    assert events_of(db)[drills_ru] == visit
    with db.cursor() as cur:
        cur.execute("SELECT article_count FROM event_threads WHERE id = %s", (visit,))
        assert cur.fetchone() == (4,)
    # an event whose last report leaves is deleted
    with db.cursor() as cur:
        cur.execute("DELETE FROM articles WHERE event_id <> %s", (visit,))
        cur.execute("SELECT id FROM event_threads WHERE id <> %s", (visit,))
        gone = [r[0] for r in cur.fetchall()]
        event_links.refresh(cur, gone)
        cur.execute("SELECT count(*) FROM event_threads")
        assert cur.fetchone() == (1,)
    db.commit()


def test_relink_rebuilds_the_same_events(db: Any) -> None:
    items, ids = linked(db)
    first = events_of(db)
    seen: list[tuple[int, int]] = []
    assert event_links.relink(db, batch_size=4, progress=lambda d, t: seen.append((d, t))) == 6
    again = events_of(db)
    assert seen == [(4, 6), (6, 6)]
    assert same_partition([first[a] for a in ids.values()], [again[a] for a in ids.values()])


def test_analysts_see_coverage_first_reports_and_the_lag_between_sides(db: Any) -> None:
    items, ids = linked(db)
    visit = events_of(db)[ids["visit-en"]]
    with db.cursor() as cur:
        cur.execute("""SELECT headline_en, headline_ja, headline_ru, en_articles, ja_articles,
                              ru_articles, first_outlet, first_language, ru_lag_behind_ja,
                              evidence
                       FROM analytics.events WHERE event_id = %s""", (visit,))
        row = cur.fetchone()
        cur.execute("""SELECT language, outlet, articles, stories FROM analytics.event_coverage
                       WHERE event_id = %s ORDER BY language""", (visit,))
        coverage = cur.fetchall()
        cur.execute("SELECT event_id FROM analytics.articles WHERE id = %s", (ids["visit-ja"],))
        assert cur.fetchone() == (visit,)
    by_id = {i["id"]: i for i in items}
    assert row[:3] == (by_id["visit-en"]["title"], by_id["visit-ja"]["title"],
                       by_id["visit-ru"]["title"])
    assert row[3:6] == (1, 1, 1)
    assert row[6:8] == ("Outlet visit-en", "en")
    assert row[8] == by_id["visit-ru"]["published_at"] - by_id["visit-ja"]["published_at"]
    assert "person:yuri_trutnev" in row[9]
    assert coverage == [("en", "Outlet visit-en", 1, 0), ("ja", "Outlet visit-ja", 1, 0),
                        ("ru", "Outlet visit-ru", 1, 0)]
