"""Pipeline steps against the sample site and a real PostgreSQL, without Airflow."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from scrapers import pipeline
from scrapers.catalog import load_catalog
from scrapers.config import LOOPBACK_ONLY, HttpSettings
from scrapers.db.loader import load_run
from scrapers.fetch.http import Fetcher, HTTPStatusError
from scrapers.models import FetchResult, Source

pytestmark = [pytest.mark.integration, pytest.mark.clock]


def one(db: Any, query: str, *args: Any) -> Any:
    with db.cursor() as cur:
        cur.execute(query, args)
        return cur.fetchone()


def run_all(db: Any, run_id: str) -> dict[str, int]:
    stage_all(db, run_id)
    return load_run(db, run_id)


def stage_all(db: Any, run_id: str) -> None:
    """fetch_feed and fetch_articles for every source, as the DAG runs them."""
    sources = pipeline.sync_catalog(db, load_catalog(), fetch_all=True)
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
        for source in sources:
            try:
                feed = pipeline.fetch_feed(db, source["id"], run_id, fetcher)
            except HTTPStatusError:
                continue
            if feed["page_work"]:  # as the DAG does: otherwise fetch_articles is skipped
                pipeline.fetch_articles(db, source["id"], run_id, feed["fetch_id"], fetcher)


def test_run_load_is_idempotent_and_counts(db: Any, site: Any) -> None:
    counts = run_all(db, "run-1")
    assert counts == {"new": 10, "updated": 0, "unchanged": 0, "duplicate": 2}
    assert load_run(db, "run-1") == {"new": 0, "updated": 0, "unchanged": 0,
                                              "duplicate": 0}
    assert one(db, "SELECT count(*) FROM articles")[0] == 10
    # every entry that became an article points at it
    assert one(db, "SELECT count(*) FROM feed_entries WHERE candidate AND article_id IS NULL"
               )[0] == 0


def test_failed_fetch_is_recorded_before_raising(db: Any, site: Any) -> None:
    broken = Source(name="Broken", url=f"{site.base_url}/status/503", language="en")
    [row] = pipeline.sync_catalog(db, [broken])
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher, \
            pytest.raises(HTTPStatusError):
        pipeline.fetch_feed(db, row["id"], "run-x", fetcher)
    status, error, error_class = one(
        db, "SELECT http_status, error, error_class FROM feed_fetches WHERE run_id = 'run-x'")
    assert (status, error_class) == (503, "HTTPStatusError") and "HTTP 503" in error
    failures, last_error = one(
        db, "SELECT consecutive_failures, last_error FROM sources WHERE id = %s", row["id"])
    assert failures == 1 and "HTTP 503" in last_error


def test_html_where_feed_expected_is_a_clear_error(db: Any, site: Any) -> None:
    page = Source(name="Not a feed", url=f"{site.base_url}/en/articles/arakawa-lavrov-tokyo.html",
                  language="en")
    [row] = pipeline.sync_catalog(db, [page])
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher, \
            pytest.raises(ValueError):
        pipeline.fetch_feed(db, row["id"], "run-h", fetcher)
    assert one(db, "SELECT error_class FROM feed_fetches WHERE run_id = 'run-h'")[0] == (
        "FeedParseError")


def test_catalog_sync_disables_removed_sources_and_resets_validators(db: Any) -> None:
    a = Source(name="A", url="https://a.example/feed", language="en")
    b = Source(name="B", url="https://b.example/feed", language="ja")
    pipeline.sync_catalog(db, [a, b])
    with db.cursor() as cur:
        cur.execute("UPDATE sources SET etag = '\"x\"' WHERE name = 'A'")
    db.commit()
    enabled = pipeline.sync_catalog(db, [Source(name="A", url="https://a.example/new",
                                                language="en")])
    assert [r["name"] for r in enabled] == ["A"]
    assert one(db, "SELECT enabled FROM sources WHERE name = 'B'") == (False,)
    assert one(db, "SELECT etag, url FROM sources WHERE name = 'A'") == (
        None, "https://a.example/new")


def test_report_cli_prints_latest_run(db: Any, site: Any, news_db_url: str) -> None:
    run_all(db, "run-report")
    out = subprocess.run(
        [sys.executable, "-m", "scrapers", "report", "--articles", "3"], check=True,
        capture_output=True, text=True, env={**os.environ, "NICHIRO_DB_URL": news_db_url},
    ).stdout
    assert "run run-report" in out and "TOTAL" in out and "Pacific Wire" in out
    assert "newest 3 rows of articles" in out


def test_search_stub_resolved_to_publisher_and_stored_once(db: Any, site: Any) -> None:
    from tests.unit.text.test_urls import _stub

    page = f"{site.base_url}/en/articles/arakawa-lavrov-tokyo.html"
    (site.root / "feeds" / "stub_search.xml").write_text(f"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>search</title><link>https://news.google.com</link>
<item><title>Japanese and Russian foreign ministers revive peace treaty talks in Tokyo
 - Pacific Wire</title><link>{_stub(page)}</link><guid>stub-1</guid>
<source url="{site.base_url}">Pacific Wire</source></item>
</channel></rss>""", "utf-8")
    sources = [
        Source(name="Pacific Wire", url=f"{site.base_url}/feeds/en_wire.xml", language="en"),
        Source(name="Search", url=f"{site.base_url}/feeds/stub_search.xml", language="en",
               kind="search"),
    ]
    run_id = "run-stub"
    rows = pipeline.sync_catalog(db, sources)
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
        for source in rows:
            feed = pipeline.fetch_feed(db, source["id"], run_id, fetcher)
            pipeline.fetch_articles(db, source["id"], run_id, feed["fetch_id"], fetcher)
    counts = load_run(db, run_id)
    assert counts == {"new": 3, "updated": 0, "unchanged": 0, "duplicate": 1}
    from scrapers.text.urls import canonicalize_url

    # stored where it opens (the site answers on http), filed under its scheme-folded key
    assert one(db, "SELECT count(*) FROM articles WHERE url = %s", page) == (1,)
    assert one(db, "SELECT link, url FROM feed_entries WHERE guid = 'stub-1'") == (
        page, canonicalize_url(page))


OPAQUE = "https://news.google.com/rss/articles/CBMiqwFBVV95cUxNcE9wYXF1ZUlkT25seUdvb2dsZUNhblJlYWQ{}?oc=5"


def test_an_opaque_search_link_is_matched_to_the_publishers_entry_by_headline(
        db: Any, site: Any) -> None:
    """Google News' current links say nothing of the publisher's URL: the item is matched
    to the publisher's own feed entry by headline, site and time, without asking Google."""
    page = f"{site.base_url}/en/articles/kunashir-fishing-boats-detained.html"
    (site.root / "feeds" / "opaque_search.xml").write_text(f"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>search</title><link>https://news.google.com</link>
<item><title>Russian border guards detain two Japanese fishing boats near Kunashir
 - Pacific Wire</title><link>{OPAQUE.format(1)}</link><guid>opaque-1</guid>
<pubDate>Tue, 24 Nov 2026 03:40:00 GMT</pubDate>
<source url="{site.base_url}">Pacific Wire</source></item>
<item><title>Russian border guards detain two Japanese fishing boats near Kunashir
 - Pacific Wire</title><link>{OPAQUE.format(2)}</link><guid>opaque-late</guid>
<pubDate>Sat, 28 Nov 2026 03:40:00 GMT</pubDate>
<source url="{site.base_url}">Pacific Wire</source></item>
<item><title>Japan and Russia sign a treaty nobody reported - Pacific Wire</title>
<link>{OPAQUE.format(3)}</link><guid>opaque-unknown</guid>
<pubDate>Tue, 24 Nov 2026 03:40:00 GMT</pubDate>
<source url="{site.base_url}">Pacific Wire</source></item>
<item><title>Russian border guards detain two Japanese fishing boats near Kunashir
 - Pacific Wire</title><link>{OPAQUE.format(4)}</link><guid>opaque-elsewhere</guid>
<pubDate>Tue, 24 Nov 2026 03:40:00 GMT</pubDate>
<source url="https://another-site.example">Pacific Wire</source></item>
</channel></rss>""", "utf-8")
    sources = [
        Source(name="Pacific Wire", url=f"{site.base_url}/feeds/en_wire.xml", language="en"),
        Source(name="Search", url=f"{site.base_url}/feeds/opaque_search.xml", language="en",
               kind="search"),
    ]
    rows = pipeline.sync_catalog(db, sources)
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
        feeds = [pipeline.fetch_feed(db, source["id"], "run-opaque", fetcher)
                 for source in rows]  # the outlet's feed first, as a run orders them
        for source, feed in zip(rows, feeds, strict=True):
            pipeline.fetch_articles(db, source["id"], "run-opaque", feed["fetch_id"], fetcher)
    with db.cursor() as cur:
        cur.execute("SELECT guid, link FROM feed_entries WHERE guid LIKE 'opaque%'")
        links = dict(cur.fetchall())
    # matched: same headline, on the site the item names, 30 minutes after the outlet's
    assert links["opaque-1"].startswith(page)
    # not matched: four days apart, a headline nobody else gave, another site
    assert links["opaque-late"] == OPAQUE.format(2)
    assert links["opaque-unknown"] == OPAQUE.format(3)
    assert links["opaque-elsewhere"] == OPAQUE.format(4)
    load_run(db, "run-opaque")
    with db.cursor() as cur:
        cur.execute("SELECT url, headline_only, body, source, published_at IS NOT NULL "
                    "FROM articles WHERE url LIKE 'https://news.google.com/%' ORDER BY url")
        kept = cur.fetchall()
        cur.execute("SELECT count(*) FROM staged_articles WHERE status = 'error'")
        errors = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM articles WHERE url LIKE %s", (page + "%",))
        matched = cur.fetchone()[0]
    # the unmatched ones are kept as flagged headlines, Google never asked (no error); the
    # fourth is the second again (same outlet, same headline): stored once
    assert kept == [(OPAQUE.format(n), True, "", "Pacific Wire", True) for n in (2, 3)]
    assert errors == 0 and matched == 1


class HttpsAliasFetcher(Fetcher):
    """The loopback site answers only on http: an https link to it is answered as a site
    that redirects https to http would, so the page's final URL is the http one."""

    def fetch(self, url: str, *args: Any, **kwargs: Any) -> FetchResult:
        if url.startswith("https://127.0.0.1:"):
            url = "http" + url.removeprefix("https")
        return super().fetch(url, *args, **kwargs)


def test_http_only_site_is_stored_with_http_and_an_https_alias_is_the_same_row(
        db: Any, site: Any) -> None:
    from scrapers.text.urls import canonicalize_url

    page = f"{site.base_url}/en/articles/arakawa-lavrov-tokyo.html"
    assert page.startswith("http://")
    # no rel=canonical: the URL shown is the one the page was served from
    html = site.root / "en" / "articles" / "arakawa-lavrov-tokyo.html"
    html.write_text(re.sub(r'\s*<link rel="canonical"[^>]*>', "", html.read_text("utf-8")),
                    "utf-8")
    wire = Source(name="Pacific Wire", url=f"{site.base_url}/feeds/en_wire.xml", language="en")
    mirror = Source(name="Mirror", url=f"{site.base_url}/feeds/mirror.xml", language="en",
                    outlet="Pacific Wire")
    alias = "https" + page.removeprefix("http") + "?utm_source=mirror#comments"
    (site.root / "feeds" / "mirror.xml").write_text(f"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>mirror</title><link>{site.base_url}</link>
<item><title>Japanese and Russian foreign ministers revive peace treaty talks in Tokyo</title>
<link>{alias.replace("&", "&amp;")}</link><guid>mirror-1</guid></item>
</channel></rss>""", "utf-8")

    def run(run_id: str, sources: list[Source]) -> dict[str, int]:
        rows = pipeline.sync_catalog(db, sources)
        with HttpsAliasFetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
            for source in rows:
                feed = pipeline.fetch_feed(db, source["id"], run_id, fetcher)
                if feed["page_work"]:
                    pipeline.fetch_articles(db, source["id"], run_id, feed["fetch_id"], fetcher)
        return load_run(db, run_id)

    assert run("run-http", [wire])["new"] == 3
    article_id, url = one(db, "SELECT id, url FROM articles WHERE url LIKE %s",
                          "%/arakawa-lavrov-tokyo.html%")
    assert url == page  # http, as served; the feed's tracking parameters dropped
    assert one(db, "SELECT count(*) FROM articles WHERE url NOT LIKE %s", "http://%") == (0,)
    # the same article through an https link: fetched (the page is re-served with a new
    # ETag, same text), and loaded as the same row, unchanged
    html.write_text(html.read_text("utf-8") + "<!-- served again -->\n", "utf-8")
    assert run("run-https", [wire, mirror]) == {"new": 0, "updated": 0, "unchanged": 1,
                                                "duplicate": 0}
    assert one(db, "SELECT status, outcome, article_id, raw_url FROM staged_articles "
                   "WHERE run_id = 'run-https'") == ("extracted", "unchanged", article_id,
                                                     "http" + alias.removeprefix("https"))
    assert one(db, "SELECT url, article_id FROM feed_entries WHERE guid = 'mirror-1'") == (
        canonicalize_url(page), article_id)
    assert one(db, "SELECT count(*), max(url) FROM articles WHERE url LIKE %s",
               "%/arakawa-lavrov-tokyo.html%") == (1, page)
    # dedup keys stay scheme-folded: the http spelling is no key of its own
    assert one(db, "SELECT count(*) FROM article_urls WHERE url NOT LIKE %s", "https://%") == (
        0,)
    assert one(db, "SELECT kind FROM article_urls WHERE url = %s", canonicalize_url(page)) == (
        "canonical",)


def test_entries_of_a_run_killed_before_its_pages_are_fetched_by_the_next_run(
        db: Any, site: Any) -> None:
    """Run 1 stores the feeds' entries, then dies before fetching any page. Run 2 finds every
    feed unchanged, yet fetches those pages: the same rows as an undisturbed run."""
    sources = pipeline.sync_catalog(db, load_catalog(), fetch_all=True)
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
        for source in sources:
            try:
                pipeline.fetch_feed(db, source["id"], "run-killed", fetcher)
            except HTTPStatusError:
                continue
    assert one(db, "SELECT count(*) FROM staged_articles")[0] == 0

    counts = run_all(db, "run-next")
    unchanged = one(db, "SELECT count(*) FROM feed_fetches WHERE run_id = 'run-next' "
                        "AND (not_modified OR body_unchanged)")[0]
    assert unchanged == len(sources) - 1  # every feed but the broken one
    assert counts == {"new": 10, "updated": 0, "unchanged": 0, "duplicate": 2}
    # settled entries are not offered again: unchanged feeds now have no page work at all
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
        source = next(s for s in sources if s["name"] == "Pacific Wire")
        assert pipeline.fetch_feed(db, source["id"], "run-after", fetcher)["page_work"] is False
    run_all(db, "run-after")
    assert one(db, "SELECT count(*) FROM staged_articles WHERE run_id = 'run-after'")[0] == 0


def test_load_step_indexes_its_runs_articles_and_a_retry_heals(db: Any, site: Any) -> None:
    from scrapers.db import search

    def indexed() -> int:
        return one(db, "SELECT count(*) FROM article_search")[0]

    stage_all(db, "run-1")
    assert pipeline.load(db, "run-1")["new"] == 10
    assert indexed() == 10
    # the task died between the load's commit and the search rows: its retry loads nothing
    # but still writes them
    first = one(db, "SELECT min(article_id) FROM article_search")[0]
    with db.cursor() as cur:
        cur.execute("DELETE FROM article_search WHERE article_id = %s", (first,))
    db.commit()
    assert pipeline.load(db, "run-1") == {"new": 0, "updated": 0, "unchanged": 0,
                                          "duplicate": 0}
    assert indexed() == 10
    # another run's load looks only at its own articles; the catch-up sweep finds the rest
    with db.cursor() as cur:
        cur.execute("DELETE FROM article_search WHERE article_id = %s", (first,))
    db.commit()
    pipeline.load(db, "run-2")
    assert indexed() == 9
    assert search.index_all(db) == 1 and indexed() == 10


def test_summary_line_gives_rejections_by_reason(db: Any, site: Any) -> None:
    from scrapers.db.store import run_summary
    from scrapers.report import summary_lines

    run_all(db, "run-r")
    with db.cursor() as cur:  # two pages of Pacific Wire turned away, for two reasons
        for n, (code, reason) in enumerate([
                ("not relevant", "not relevant with body (score 0.4 < 1.0)"),
                ("listing page", "listing page (many headlines, no article body)"),
                ("not relevant", "not relevant with body (score 0.1 < 1.0)")]):
            cur.execute(
                "INSERT INTO staged_articles (run_id, source_id, url, status, reason,"
                " reason_code) SELECT 'run-r', id, %s, 'rejected', %s, %s FROM sources"
                " WHERE name = 'Pacific Wire'", (f"https://pacific.example/x{n}", reason, code))
    db.commit()
    [line] = [x for x in summary_lines(run_summary(db, "run-r"))
              if x.startswith("Pacific Wire:")]
    assert line == ("Pacific Wire: entries=6 relevant=3 fetched=3 new=3 updated=0 "
                    "duplicates=0 rejected=3 (not relevant 2, listing page 1) "
                    "errors=0")


def test_times_without_an_offset_are_read_in_the_sources_zone(db: Any, site: Any) -> None:
    """The Japanese outlet states 07:30 without an offset, in its feed and on its page: that
    is Japan time (its catalog zone by default), 22:30 UTC the day before, and the stored
    precision says the zone was assumed."""
    page = site.root / "ja" / "articles" / "etorofu-visa-free-exchange.html"
    feed = site.root / "feeds" / "ja_shimbun.rdf"
    for path in (page, feed):
        path.write_bytes(path.read_bytes().replace(b"2026-11-24T07:30:00+09:00",
                                                   b"2026-11-24T07:30:00"))
    run_all(db, "run-zones")
    url = f"{site.base_url}/ja/articles/etorofu-visa-free-exchange.html"
    stored = one(db, "SELECT published_at, published_precision FROM articles "
                     "WHERE original_url = %s", url)
    assert stored == (datetime(2026, 11, 23, 22, 30, tzinfo=UTC), "zone_assumed")
    assert one(db, "SELECT published_at, published_precision FROM feed_entries "
                   "WHERE link = %s", url) == (datetime(2026, 11, 23, 22, 30, tzinfo=UTC),
                                               "zone_assumed")
    # a stated offset is a stated instant
    assert one(db, "SELECT count(*) FROM feed_entries WHERE published_precision = 'datetime'"
               )[0] > 0
    assert one(db, "SELECT timezone FROM sources WHERE language = 'ja'") == ("Asia/Tokyo",)


def test_an_article_dated_by_its_feed_keeps_the_feeds_precision(db: Any, site: Any) -> None:
    """The page states no date; the feed states 07:30 without an offset: the article is
    dated by the feed, in Japan time, and says the zone was assumed."""
    page = site.root / "ja" / "articles" / "etorofu-visa-free-exchange.html"
    feed = site.root / "feeds" / "ja_shimbun.rdf"
    html = page.read_text("utf-8")
    for stated in ("2026-11-24T07:30:00+09:00", "2026年11月24日（火）7:30"):
        assert stated in html
        html = html.replace(stated, "")
    page.write_text(html, "utf-8")
    feed.write_bytes(feed.read_bytes().replace(b"2026-11-24T07:30:00+09:00",
                                               b"2026-11-24T07:30:00"))
    run_all(db, "run-feed-dated")
    url = f"{site.base_url}/ja/articles/etorofu-visa-free-exchange.html"
    assert one(db, "SELECT published_at, published_precision FROM articles "
                   "WHERE original_url = %s", url) == (
        datetime(2026, 11, 23, 22, 30, tzinfo=UTC), "zone_assumed")
