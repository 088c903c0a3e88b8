"""store: stories keyed by canonical URL, revisions, tags, and the analyst views, on real
rows. Records are stored the way the pipeline stores them: staged, then loaded."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scrapers.db import loader, staging, store
from scrapers.dedup.hashes import content_hash
from scrapers.models import Source

pytestmark = [pytest.mark.integration, pytest.mark.clock]

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # a Monday
LATER = NOW + timedelta(hours=2)  # a later fetch of the same page


def record(source_id: int, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "url": "https://news.example/a/1", "original_url": "https://news.example/a/1?utm_x=1",
        "title": "Lavrov and Japanese minister meet", "body": "Talks on the Kurils.",
        "summary": "", "authors": ["A. Writer"], "published_at": NOW, "fetched_at": NOW,
        "language": "en", "source": "Pacific Wire", "source_id": source_id, "guid": None,
        "tags": [], "captions": [], "relevance_score": 0.9, "relevant": True,
        "matched_terms": [{"term": "Kurils", "field": "body", "group": "bilateral",
                           "weight": 3.0}],
        "etag": None, "last_modified": None, "published_precision": "datetime",
        "truncated": False, "paywalled": False,
    }
    base.update(overrides)
    base["guid"] = base["guid"] or base["url"]
    base["content_hash"] = content_hash(base["title"], base["body"])
    return base


_RUNS = itertools.count(1)


def save(db: Any, rec: dict[str, Any], link: str | None = None) -> tuple[int, str]:
    """Stage `rec` as the page of its feed entry (found through `link`, default its URL),
    load it in a run of its own, and return (article id, outcome)."""
    run_id = f"manual__store_{next(_RUNS)}"
    link = link or rec["url"]
    entry_id, _ = staging.upsert_feed_entry(db, {
        "source_id": rec["source_id"], "guid": rec["guid"], "link": link, "url": link,
        "title": rec["title"], "summary": "", "published_at": None,
        "published_precision": "none", "outlet": None,
        "fingerprint": rec["guid"], "relevance_score": 0.9, "candidate": True,
        "matched_terms": "[]", "now": NOW, "fetch_id": None})
    staging.stage_article(db, {
        "run_id": run_id, "source_id": rec["source_id"], "entry_id": entry_id, "url": link,
        "status": "extracted", "reason": None, "reason_code": None, "staged_at": NOW,
        "record": json.dumps(rec, default=datetime.isoformat), "raw_gz": None,
        "raw_url": None, "raw_content_type": None})
    loader.load_run(db, run_id, now=NOW)
    with db.cursor() as cur:
        cur.execute("SELECT article_id, outcome FROM staged_articles WHERE run_id = %s",
                    (run_id,))
        article_id, outcome = cur.fetchone()
    return article_id, outcome


def test_new_unchanged_updated_with_revision(db: Any) -> None:
    [src] = staging.sync_sources(db, [Source(name="Pacific Wire", url="https://x.example/f",
                                           language="en")])
    first_id, outcome = save(db, record(src["id"]))
    assert outcome == "new"
    assert save(db, record(src["id"], fetched_at=LATER)) == (first_id, "unchanged")
    # whitespace-only differences are not an edit
    assert save(db, record(src["id"], body="Talks  on the   Kurils."))[1] == "unchanged"
    edited = record(src["id"], title="Lavrov and Japanese minister meet again",
                    body="Talks on the Kurils.\n\nA new paragraph.", fetched_at=LATER)
    assert save(db, edited) == (first_id, "updated")
    db.commit()
    with db.cursor() as cur:
        cur.execute("SELECT count(*), max(body), max(updated_count) FROM articles")
        assert cur.fetchone() == (1, "Talks on the Kurils.\n\nA new paragraph.", 1)
        cur.execute("SELECT revision, title, body, cause, diff_summary FROM article_revisions")
        assert cur.fetchall() == [(1, "Lavrov and Japanese minister meet",
                                   "Talks on the Kurils.", "edit",
                                   "title changed; 1 paragraph added; body +18 chars")]
        cur.execute("SELECT previous_title, current_title, diff_summary "
                    "FROM recently_edited_articles")
        assert cur.fetchone()[:2] == ("Lavrov and Japanese minister meet",
                                      "Lavrov and Japanese minister meet again")


def test_url_variants_and_guid_continuity(db: Any) -> None:
    [src] = staging.sync_sources(db, [Source(name="P", url="https://x.example/f", language="en")])
    # found through an m. link whose page names the www. canonical URL
    first_id, _ = save(db, record(src["id"], url="https://www.news.example/a/1", guid="g1"),
                       link="https://m.news.example/a/1")
    # the m. variant alone now leads to the same story
    assert store.article_ids_by_url(db, ["https://m.news.example/a/1"]) == {
        "https://m.news.example/a/1": first_id}
    assert save(db, record(src["id"], url="https://m.news.example/a/1")) == (
        first_id, "unchanged")
    # a slug edit: new URL, same feed GUID (the entry already points at the article)
    renamed = record(src["id"], url="https://www.news.example/a/1-lavrov-talks",
                     title="Lavrov talks: headline edited", guid="g1")
    assert save(db, renamed) == (first_id, "updated")
    db.commit()
    with db.cursor() as cur:
        cur.execute("SELECT url FROM articles")
        assert cur.fetchall() == [("https://www.news.example/a/1-lavrov-talks",)]
        cur.execute("SELECT kind FROM article_urls WHERE url = 'https://www.news.example/a/1'")
        assert cur.fetchone() == ("canonical",)


def test_same_outlet_same_text_within_window_is_one_story(db: Any) -> None:
    [src] = staging.sync_sources(db, [Source(name="P", url="https://x.example/f", language="en")])
    first_id, _ = save(db, record(src["id"], url="https://news.example/a/1"))
    assert save(db, record(src["id"], url="https://news.example/archive/9")) == (
        first_id, "duplicate")
    other_outlet = record(src["id"], url="https://wire.example/x", source="Other Outlet")
    assert save(db, other_outlet)[1] == "new"


def test_tags_replaced_and_counted_weekly(db: Any) -> None:
    [src] = staging.sync_sources(db, [Source(name="Pacific Wire", url="https://x.example/f",
                                           language="en")])
    article_id, _ = save(db, record(src["id"]))
    store.replace_article_tags(db, {article_id: ["person:sergei_lavrov", "place:kuril_islands"]})
    store.replace_article_tags(db, {article_id: ["person:sergei_lavrov", "place:kuril_islands"]})
    store.replace_article_tags(db, {article_id: ["person:sergei_lavrov", "theme:peace_treaty"]})
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

    [src] = staging.sync_sources(db, [Source(name="P", url="https://x.example/f", language="en")])
    article_id, _ = save(db, record(src["id"]))
    with pytest.raises(psycopg2.errors.CheckViolation):
        store.replace_article_tags(db, {article_id: ["Lavrov"]})
    db.rollback()


def test_daily_counts_and_source_health_views(db: Any) -> None:
    [src] = staging.sync_sources(db, [Source(name="Pacific Wire", url="https://x.example/f",
                                           language="en")])
    save(db, record(src["id"]))
    save(db, record(src["id"], url="https://news.example/a/2", title="Other"))
    db.commit()
    with db.cursor() as cur:
        cur.execute("SELECT day, source, language, articles FROM daily_article_counts")
        assert cur.fetchall() == [(NOW.date(), "Pacific Wire", "en", 2)]
        cur.execute("SELECT name, enabled, consecutive_failures FROM source_health")
        assert cur.fetchall() == [("Pacific Wire", True, 0)]


def test_retention_prunes_every_old_staging_row_and_old_raw_pages(db: Any) -> None:
    [src] = staging.sync_sources(db, [Source(name="Pacific Wire", url="https://x.example/f",
                                           language="en")])
    article_id, _ = save(db, record(src["id"]))
    old, recent = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    rows = [("old-loaded", "extracted", old, True), ("old-rejected", "rejected", old, False),
            ("old-error", "error", old, False), ("old-never-loaded", "extracted", old, False),
            ("new-rejected", "rejected", recent, False), ("new-pending", "extracted", recent,
                                                           False)]
    with db.cursor() as cur:
        for name, status, created, loaded in rows:
            cur.execute(
                "INSERT INTO staged_articles (run_id, source_id, url, status, created_at,"
                " loaded_at) VALUES ('r', %s, %s, %s, %s, %s)",
                (src["id"], f"https://news.example/{name}", status, created,
                 created if loaded else None))
        cur.execute("INSERT INTO raw_pages (article_id, url, fetched_at, content_type, "
                    "size_bytes, body_gz) VALUES (%s, 'https://news.example/a/1', %s, "
                    "'text/html', 2, '\\x1f8b')", (article_id, old))
    cut = datetime(2026, 10, 28, tzinfo=UTC)
    assert store.prune(db, raw_before=cut, staged_before=cut) == (1, 4)
    with db.cursor() as cur:
        cur.execute("SELECT url FROM staged_articles WHERE run_id = 'r' ORDER BY url")
        assert [r[0] for r in cur.fetchall()] == ["https://news.example/new-pending",
                                                 "https://news.example/new-rejected"]
        cur.execute("SELECT count(*) FROM raw_pages")
        assert cur.fetchone() == (0,)


def test_inserting_from_a_missing_staged_row_stops_the_load(db: Any) -> None:
    """A staged id that matches no row must raise, not silently store fewer articles."""
    with db.cursor() as cur:
        cur.execute("SELECT nextval('articles_id_seq')")
        article_id = cur.fetchone()[0]
    with pytest.raises(RuntimeError, match="inserted 0 of 1 staged articles"):
        store.insert_articles_from_staged(db, [(987654321, article_id, None)])
    db.rollback()


def test_retention_prunes_the_feed_log_but_not_what_is_still_pointed_at(db: Any) -> None:
    [src] = staging.sync_sources(db, [Source(name="Pacific Wire", url="https://x.example/f",
                                           language="en")])
    old, recent = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    fetches = {when: staging.start_feed_fetch(db, src["id"], "r", "https://x.example/f", when)
               for when in (old, recent, old - timedelta(days=1))}
    entries = {}
    for name, seen, fetch in [("gone", old, fetches[old]), ("listed", recent, fetches[recent]),
                              ("staged", old, fetches[old - timedelta(days=1)])]:
        entries[name], _ = staging.upsert_feed_entry(db, {
            "source_id": src["id"], "guid": name, "link": f"https://news.example/{name}",
            "url": f"https://news.example/{name}", "title": name, "summary": "",
            "published_at": None, "published_precision": "none", "outlet": None,
            "fingerprint": name, "relevance_score": 0,
            "candidate": False, "matched_terms": "[]", "now": seen, "fetch_id": fetch})
    with db.cursor() as cur:
        cur.execute("INSERT INTO staged_articles (run_id, source_id, entry_id, url, status, "
                    "created_at) VALUES ('r', %s, %s, 'https://news.example/staged', "
                    "'rejected', %s)", (src["id"], entries["staged"], recent))
    # the entry no feed lists and its fetch go; a listed entry, an entry a staging row
    # names, and the fetches they were last seen in stay
    assert store.prune_feed_log(db, datetime(2026, 9, 1, tzinfo=UTC)) == (1, 1)
    with db.cursor() as cur:
        cur.execute("SELECT guid FROM feed_entries ORDER BY guid")
        assert [r[0] for r in cur.fetchall()] == ["listed", "staged"]
        cur.execute("SELECT id FROM feed_fetches ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == sorted([fetches[recent],
                                                         fetches[old - timedelta(days=1)]])
    db.rollback()
