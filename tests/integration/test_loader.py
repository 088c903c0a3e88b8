"""loader: the set-based load gives what loading each record on its own gives.

The reference is the load with batches of one row, each resolved and written before the
next is looked at: what loading each record on its own means. One run of staged rows
covers every way a record meets a story: new, a near-duplicate joining a cluster, the same
page linked from another feed, a same-outlet copy, a redirect alias, a search-feed copy,
an edit of a stored story, an edit of a story new in the same run, and rows that were not
fetched again.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scrapers.db import loader, staging, store
from scrapers.dedup.hashes import content_hash
from scrapers.models import Source
from tests.conftest import empty_news_tables

pytestmark = [pytest.mark.integration, pytest.mark.clock]

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
RUN = "manual__load"
PEACE = ("Japan and Russia resumed talks on a peace treaty in Moscow on Tuesday, the first "
         "round since the foreign ministers met in the spring. Officials said the agenda "
         "covered fishing quotas near the Kuril Islands, visa-free visits for former "
         "residents and joint economic activity on the islands. ")
ENERGY = ("Japanese trading houses kept their stakes in the Sakhalin-2 liquefied natural gas "
          "project, the ministry of economy said, citing long-term contracts with utilities "
          "that rely on the fuel during the winter. ")


def _record(feed: dict[str, Any], url: str, title: str, body: str, **extra: Any
            ) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "url": url, "original_url": url + "?utm_source=feed", "title": title, "body": body,
        "summary": "Talks, quotas and visits.", "authors": ["Anna Ito", "Oleg \"Ed\" Sato"],
        "published_at": (NOW - timedelta(hours=3)).isoformat(),
        "fetched_at": NOW.isoformat(), "language": "en", "source": feed["outlet"],
        "source_id": feed["id"], "guid": url, "tags": ["japan", "russia"],
        "captions": ["The ministry, {in} Tokyo", "Кабинет министров"],
        "relevance_score": 0.9, "relevant": True,
        "matched_terms": [{"term": "Japan", "field": "title", "group": "ja", "weight": 1.0}],
        "topic_tags": ["theme:peace_treaty"] if "treaty" in body else ["theme:energy"],
        "etag": None, "last_modified": None, "published_precision": "datetime",
        "truncated": False, "paywalled": False, **extra,
    }
    rec["content_hash"] = content_hash(rec["title"], rec["body"])
    return rec


def _stage(db: Any, source: dict[str, Any], url: str, status: str = "extracted",
           record: dict[str, Any] | None = None, raw_url: str | None = None,
           sketched: bool = True, run_id: str = RUN, staged_at: datetime = NOW) -> None:
    if record is not None and status == "extracted" and sketched:
        record = {**record, "minhash": loader.minhash_field(
            record["title"], record["body"], record["language"])}
    staging.stage_article(db, {
        "run_id": run_id, "source_id": source["id"], "entry_id": None, "url": url,
        "status": status, "reason": None, "reason_code": None, "staged_at": staged_at,
        "record": json.dumps(record, ensure_ascii=False) if record else None,
        # mtime=0: the same bytes whenever it runs (the tests compare stored pages' bytes)
        "raw_gz": gzip.compress(f"<html>{url}</html>".encode(), mtime=0)
        if status == "extracted" else None,
        "raw_url": raw_url or (url if status == "extracted" else None),
        "raw_content_type": "text/html" if status == "extracted" else None,
    })


def _scenario(db: Any) -> None:
    """An earlier run's two stories, then this run's staged rows (not loaded yet)."""
    staging.sync_sources(db, [
        Source(name="Pacific Wire", url="https://pw.example/feed", language="en"),
        Source(name="Harbour Times", url="https://ht.example/feed", language="en"),
        Source(name="News search", url="https://search.example/rss?q=japan+russia",
               language="en", kind="search"),
    ])
    with db.cursor() as cur:
        cur.execute("SELECT id, name, outlet FROM sources")
        by_name = {name: {"id": sid, "outlet": outlet or name} for sid, name, outlet in cur}
    pw, ht, search = by_name["Pacific Wire"], by_name["Harbour Times"], by_name["News search"]
    earlier = NOW - timedelta(days=1)
    for url, body in (("https://pw.example/old-1", PEACE * 2), ("https://pw.example/old-2",
                                                                 ENERGY * 3)):
        rec = _record(pw, url, "Earlier story", body, fetched_at=earlier.isoformat())
        _stage(db, pw, url, record=rec, run_id="manual__earlier", staged_at=earlier)
    db.commit()
    assert loader.load_run(db, "manual__earlier", now=earlier)["new"] == 2
    staged = [
        (pw, "https://pw.example/a1", _record(pw, "https://pw.example/a1", "Talks resume",
                                              PEACE * 3), None),
        # near-duplicate of a1 (and of old-1): joins their cluster
        (pw, "https://pw.example/a2", _record(pw, "https://pw.example/a2", "Talks resume again",
                                              PEACE * 3 + "A spokesman declined to comment."),
         None),
        # the same page a1 linked from another feed
        (ht, "https://pw.example/a1", _record(ht, "https://pw.example/a1", "Talks resume",
                                              PEACE * 3, source=pw["outlet"]), None),
        # same outlet, same text as a2 under another URL
        (pw, "https://pw.example/archive/a2", _record(
            pw, "https://pw.example/archive/a2", "Talks resume again",
            PEACE * 3 + "A spokesman declined to comment."), None),
        # a redirect: the link and the page differ
        (ht, "https://ht.example/r/77", _record(ht, "https://ht.example/energy", "Gas stakes",
                                                ENERGY * 2), "https://ht.example/energy"),
        # an edit of a story stored by the earlier run, and an unchanged re-fetch
        (pw, "https://pw.example/old-2", _record(pw, "https://pw.example/old-2", "Earlier story",
                                                 ENERGY * 3 + "Updated at noon."), None),
        (pw, "https://pw.example/old-1", _record(pw, "https://pw.example/old-1", "Earlier story",
                                                 PEACE * 2), None),
        # the page a2 changed between two feeds' fetches in this run: an edit of a new story
        (ht, "https://pw.example/a2", _record(ht, "https://pw.example/a2", "Talks resume again",
                                              PEACE * 3 + "The spokesman later commented.",
                                              source=pw["outlet"]), None),
        # a search feed finds a1 (same page) and a story nobody else had
        (search, "https://pw.example/a1", _record(search, "https://pw.example/a1",
                                                  "Talks resume", PEACE * 3,
                                                  source=pw["outlet"]), None),
        (search, "https://other.example/x", _record(search, "https://other.example/x",
                                                    "Gas", ENERGY * 4, source="Other"), None),
    ]
    for source, url, record, raw_url in staged:
        _stage(db, source, url, record=record, raw_url=raw_url)
    _stage(db, ht, "https://pw.example/old-1", status="not_modified",
           record={"article_id": 1})
    db.commit()


def _state(db: Any) -> dict[str, Any]:
    """Everything the load writes, keyed by URL (ids may be numbered differently)."""
    with db.cursor() as cur:
        cur.execute("SELECT id, url FROM articles")
        url_of = dict(cur.fetchall())
        cur.execute("SELECT id, url, title, body, content_hash, source, updated_count, "
                    "cluster_id, first_seen_at FROM articles ORDER BY url")
        articles = cur.fetchall()
        # every stored column, as the row-by-row path wrote it from Python values and the
        # set-based one from the staged record on the server
        cur.execute(f"SELECT {', '.join(store.ARTICLE_CONTENT_COLUMNS)} FROM articles "
                    "ORDER BY url")
        content = cur.fetchall()
        members: dict[int, set[str]] = {}
        for row in articles:
            members.setdefault(row[7], set()).add(row[1])
        cur.execute("SELECT url, article_id, kind FROM article_urls ORDER BY url")
        urls = [(u, url_of[a], k) for u, a, k in cur.fetchall()]
        cur.execute("SELECT article_id, tag FROM article_tags")
        tags = sorted((url_of[a], t) for a, t in cur.fetchall())
        cur.execute("SELECT article_id, revision, title, content_hash FROM article_revisions")
        revisions = sorted((url_of[a], *rest) for a, *rest in cur.fetchall())
        cur.execute("SELECT article_id, url, fetched_at, content_type, size_bytes, "
                    "md5(body_gz) FROM raw_pages")
        raw = sorted((url_of[a], *rest) for a, *rest in cur.fetchall())
        cur.execute("SELECT m.article_id, m.matched_article_id, m.similarity, m.shingle_count,"
                    " m.signature, (SELECT count(*) FROM article_lsh_bands b"
                    "               WHERE b.article_id = m.article_id)"
                    " FROM article_minhash m")
        minhash = sorted((url_of[a], url_of.get(b), s, n, bytes(sig), bands)
                         for a, b, s, n, sig, bands in cur.fetchall())
        cur.execute("SELECT id, article_count, first_seen_at, last_seen_at "
                    "FROM story_clusters")
        cluster_rows = sorted((sorted(members[c]), n, first, last)
                              for c, n, first, last in cur.fetchall())
        cur.execute("SELECT url, source_id, status, outcome, article_id FROM staged_articles"
                    " ORDER BY id")
        outcomes = [(u, s, st, o, url_of.get(a)) for u, s, st, o, a in cur.fetchall()]
    return {"articles": [(r[1:7], sorted(members[r[7]])) for r in articles], "urls": urls,
            "content": content,
            "tags": tags, "revisions": revisions, "raw": raw, "minhash": minhash,
            "clusters": cluster_rows, "outcomes": outcomes}


@pytest.mark.parametrize("batch_size", [500, 3])
def test_set_based_load_equals_row_by_row(
    db: Any, batch_size: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _scenario(db)
    monkeypatch.setattr(loader, "BATCH_SIZE", 1)
    expected_counts = loader.load_run(db, RUN, now=NOW)
    expected = _state(db)
    empty_news_tables(db)
    _scenario(db)
    monkeypatch.setattr(loader, "BATCH_SIZE", batch_size)
    assert loader.load_run(db, RUN, now=NOW) == expected_counts
    assert _state(db) == expected
    # the scenario exercises what it claims to
    assert expected_counts == {"new": 4, "updated": 2, "unchanged": 1, "duplicate": 4}
    assert any(len(c[0]) >= 3 for c in expected["clusters"])  # old-1, a1 and a2 together
    # each edit kept the version it replaced: old-2 from the earlier run, a2 from this one
    assert [r[:3] for r in expected["revisions"]] == [
        ("https://pw.example/a2", 1, "Talks resume again"),
        ("https://pw.example/old-2", 1, "Earlier story")]
    assert ("https://ht.example/r/77", "https://ht.example/energy", "link") in expected["urls"]
    # every story keeps one page: new ones their own, the redirected one the page served
    assert [(url, page) for url, page, *_ in expected["raw"]] == [
        ("https://ht.example/energy", "https://ht.example/energy"),
        ("https://other.example/x", "https://other.example/x"),
        ("https://pw.example/a1", "https://pw.example/a1"),
        ("https://pw.example/a2", "https://pw.example/a2"),
        ("https://pw.example/old-1", "https://pw.example/old-1"),
        ("https://pw.example/old-2", "https://pw.example/old-2")]


def test_reloading_a_run_changes_nothing(db: Any) -> None:
    _scenario(db)
    loader.load_run(db, RUN, now=NOW)
    before = _state(db)
    assert loader.load_run(db, RUN, now=NOW) == {"new": 0, "updated": 0, "unchanged": 0,
                                                 "duplicate": 0}
    assert _state(db) == before


def test_records_without_a_stored_sketch_are_sketched_at_load(db: Any) -> None:
    """Staged before the extraction step sketched records (or with other parameters)."""
    _scenario(db)
    with db.cursor() as cur:
        cur.execute("UPDATE staged_articles SET record = record - 'minhash'")
    db.commit()
    with_sketch = _state_after_load(db)
    empty_news_tables(db)
    _scenario(db)
    assert _state_after_load(db) == with_sketch


def _state_after_load(db: Any) -> dict[str, Any]:
    loader.load_run(db, RUN, now=NOW)
    return _state(db)


def test_http_and_https_spellings_are_one_story(db: Any) -> None:
    """`articles.url` keeps the scheme the page answered on; the story is found by the
    scheme-folded key, so the https spelling is the same row, unchanged."""
    [source] = staging.sync_sources(db, [Source(name="Pacific Wire", url="http://pw.example/f",
                                              language="en")])
    pw = {"id": source["id"], "outlet": "Pacific Wire"}
    key = "https://pw.example/plain"
    served = _record(pw, "http://pw.example/plain", "Talks resume", PEACE * 3,
                     url_key=key)
    _stage(db, pw, key, record=served, raw_url="http://pw.example/plain?utm_source=feed")
    db.commit()
    assert loader.load_run(db, RUN, now=NOW)["new"] == 1

    def rows() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        with db.cursor() as cur:
            cur.execute("SELECT id, url, updated_count FROM articles")
            articles = cur.fetchall()
            cur.execute("SELECT url, article_id, kind FROM article_urls ORDER BY url")
            return articles, cur.fetchall()

    [(article_id, url, _)], keys = rows()
    assert url == "http://pw.example/plain"
    assert keys == [(key, article_id, "canonical")]
    # staged again with https (an older record: its key in `url`): the same article, unchanged
    again = _record(pw, key, "Talks resume", PEACE * 3)
    _stage(db, pw, key, record=again, run_id="manual__again")
    db.commit()
    assert loader.load_run(db, "manual__again", now=NOW)["unchanged"] == 1
    assert rows() == ([(article_id, "http://pw.example/plain", 0)], keys)
    # the site moves to https and edits the story: the row follows, under the same key
    edited = _record(pw, key, "Talks resume", PEACE * 3 + "Updated at noon.", url_key=key)
    _stage(db, pw, key, record=edited, run_id="manual__edited")
    db.commit()
    assert loader.load_run(db, "manual__edited", now=NOW)["updated"] == 1
    assert rows() == ([(article_id, key, 1)], keys)


def test_loads_wait_for_each_other(db: Any, news_db_url: str) -> None:
    """A load decides from what it looked up, so two loads must not interleave: the second
    waits on the load lock until the first commits."""
    import threading
    import time

    import psycopg2

    _scenario(db)
    holder = psycopg2.connect(news_db_url)  # stands in for a load in progress
    loading = psycopg2.connect(news_db_url, application_name="nichiro-test-second-load")
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (loader.LOAD_LOCK_KEY,))
        result: dict[str, Any] = {}
        thread = threading.Thread(
            target=lambda: result.update(counts=loader.load_run(loading, RUN, now=NOW)))
        thread.start()
        deadline = time.monotonic() + 30
        while True:
            with db.cursor() as cur:
                cur.execute("SELECT wait_event FROM pg_stat_activity "
                            "WHERE application_name = 'nichiro-test-second-load'")
                row = cur.fetchone()
            db.commit()
            if row and row[0] == "advisory":
                break
            assert time.monotonic() < deadline, f"the second load never waited ({row})"
            time.sleep(0.05)
        assert thread.is_alive()
        assert len(_state(db)["articles"]) == 2  # only the earlier run's: nothing loaded yet
        holder.rollback()  # the first load ends
        thread.join(30)
        assert result["counts"] == {"new": 4, "updated": 2, "unchanged": 1, "duplicate": 4}
    finally:
        holder.close()
        loading.close()


def test_a_page_staged_again_during_a_load_waits_for_it(db: Any, news_db_url: str) -> None:
    """The load writes articles from the staged rows it decided on: while it runs, a fetch
    task staging the same page again (a cleared task re-run) must wait, not change the row
    under it."""
    import psycopg2

    _scenario(db)
    batch = next(staging.pending_batches(db, RUN))  # what load_run reads first, in its transaction
    restager = psycopg2.connect(news_db_url, options="-c lock_timeout=200")
    try:
        with restager.cursor() as cur, pytest.raises(psycopg2.errors.LockNotAvailable):
            cur.execute("UPDATE staged_articles SET record = record WHERE id = %s",
                        (batch[0]["id"],))
        restager.rollback()
        db.rollback()  # the load's transaction ends: the page can be staged again
        with restager.cursor() as cur:
            cur.execute("UPDATE staged_articles SET record = record WHERE id = %s",
                        (batch[0]["id"],))
            assert cur.rowcount == 1
        restager.rollback()
    finally:
        restager.close()


def test_a_row_the_database_refuses_is_set_aside_and_the_rest_of_the_run_loads(
        db: Any) -> None:
    """A record staged with a URL beyond the index's key size (as before URLs were capped)
    used to fail the whole load, on every retry and every run."""
    _scenario(db)
    with db.cursor() as cur:
        cur.execute("SELECT id, name, outlet FROM sources WHERE name = 'Pacific Wire'")
        sid, _, outlet = cur.fetchone()
    # random text: PostgreSQL compresses index entries, and a repetitive one would fit
    huge = "https://pw.example/" + "".join(
        hashlib.sha256(str(i).encode()).hexdigest() for i in range(100))
    _stage(db, {"id": sid, "outlet": outlet or "Pacific Wire"}, "https://pw.example/huge",
           record=_record({"id": sid, "outlet": "Pacific Wire"}, huge, "Huge", ENERGY * 4))
    db.commit()
    counts = loader.load_run(db, RUN, now=NOW)
    assert counts == {"new": 4, "updated": 2, "unchanged": 1, "duplicate": 4}  # as without it
    with db.cursor() as cur:
        cur.execute("SELECT status, reason_code, reason LIKE 'load failed: %%', "
                    "loaded_at IS NOT NULL FROM staged_articles WHERE url = %s",
                    ("https://pw.example/huge",))
        assert cur.fetchone() == ("error", "ProgramLimitExceeded", True, True)
        cur.execute("SELECT count(*) FROM articles WHERE url = %s", (huge,))
        assert cur.fetchone() == (0,)
    # a second load finds nothing pending: the row is not retried forever
    assert loader.load_run(db, RUN, now=NOW) == {"new": 0, "updated": 0, "unchanged": 0,
                                                 "duplicate": 0}
