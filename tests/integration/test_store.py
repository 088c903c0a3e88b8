"""store: upserts keyed by canonical URL, tags, and the analyst views, on real rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from scrapers import store
from scrapers.dedup import content_hash
from scrapers.models import Source

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # a Monday


def record(source_id: int, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "url": "https://news.example/a/1", "original_url": "https://news.example/a/1?utm_x=1",
        "title": "Lavrov and Japanese minister meet", "body": "Talks on the Kurils.",
        "summary": "", "authors": ["A. Writer"], "published_at": NOW, "fetched_at": NOW,
        "language": "en", "source": "Pacific Wire", "source_id": source_id, "guid": "g1",
        "tags": [], "captions": [], "relevance_score": 0.9, "relevant": True,
        "matched_terms": json.dumps([{"term": "Kurils", "field": "body", "group": "bilateral",
                                      "weight": 3.0}]),
        "etag": None, "last_modified": None, "published_precision": "datetime",
        "truncated": False, "paywalled": False,
    }
    base.update(overrides)
    base["content_hash"] = content_hash(base["title"], base["body"])
    return base


def test_upsert_new_unchanged_updated(db: Any) -> None:
    [src] = store.sync_sources(db, [Source(name="Pacific Wire", url="https://x.example/f",
                                           language="en")])
    first_id, outcome = store.upsert_article(db, record(src["id"]))
    assert outcome == "new"
    assert store.upsert_article(db, record(src["id"], fetched_at=datetime.now(UTC))) == (
        first_id, "unchanged")
    edited = record(src["id"], body="Talks on the Kurils.  New paragraph.",
                    fetched_at=datetime.now(UTC))
    assert store.upsert_article(db, edited) == (first_id, "updated")
    db.commit()
    with db.cursor() as cur:
        cur.execute("SELECT body, updated_count, fetched_at > %s FROM articles", (NOW,))
        assert cur.fetchone() == ("Talks on the Kurils.  New paragraph.", 1, True)
        # whitespace-only differences are not an edit
        cur.execute("SELECT count(*) FROM articles")
        assert cur.fetchone()[0] == 1
    respaced = record(src["id"], body="Talks  on the Kurils. New   paragraph.")
    assert store.upsert_article(db, respaced)[1] == "unchanged"


def test_tags_replaced_and_counted_weekly(db: Any) -> None:
    [src] = store.sync_sources(db, [Source(name="Pacific Wire", url="https://x.example/f",
                                           language="en")])
    article_id, _ = store.upsert_article(db, record(src["id"]))
    store.replace_article_tags(db, article_id, ["person:sergei_lavrov", "place:kuril_islands"])
    store.replace_article_tags(db, article_id, ["person:sergei_lavrov", "place:kuril_islands"])
    store.replace_article_tags(db, article_id, ["person:sergei_lavrov", "theme:peace_treaty"])
    db.commit()
    with db.cursor() as cur:
        cur.execute("SELECT tag, kind FROM article_tags ORDER BY tag")
        assert cur.fetchall() == [("person:sergei_lavrov", "person"),
                                  ("theme:peace_treaty", "theme")]
        cur.execute("SELECT week, kind, tag, language, articles FROM weekly_tag_counts "
                    "ORDER BY tag")
        rows = cur.fetchall()
    assert [r[2] for r in rows] == ["person:sergei_lavrov", "theme:peace_treaty"]
    assert all(str(r[0]) == "2026-11-23" and r[3] == "en" and r[4] == 1 for r in rows)


def test_bad_tag_is_refused_by_the_schema(db: Any) -> None:
    import psycopg2

    [src] = store.sync_sources(db, [Source(name="P", url="https://x.example/f", language="en")])
    article_id, _ = store.upsert_article(db, record(src["id"]))
    with pytest.raises(psycopg2.errors.CheckViolation):
        store.replace_article_tags(db, article_id, ["Lavrov"])
    db.rollback()


def test_daily_counts_and_source_health_views(db: Any) -> None:
    [src] = store.sync_sources(db, [Source(name="Pacific Wire", url="https://x.example/f",
                                           language="en")])
    store.upsert_article(db, record(src["id"]))
    store.upsert_article(db, record(src["id"], url="https://news.example/a/2", title="Other"))
    db.commit()
    with db.cursor() as cur:
        cur.execute("SELECT day, source, language, articles FROM daily_article_counts")
        assert cur.fetchall() == [(NOW.date(), "Pacific Wire", "en", 2)]
        cur.execute("SELECT name, enabled, consecutive_failures FROM source_health")
        assert cur.fetchall() == [("Pacific Wire", True, 0)]
