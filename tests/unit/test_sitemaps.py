"""sitemaps (pure part): urlsets, indexes and news sitemaps read within bounds."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from scrapers.sitemaps import (
    SitemapError,
    discover,
    inflate,
    parse_sitemap,
    robots_sitemaps,
    within,
)
from tests.conftest import FIXTURES

SITEMAPS = FIXTURES / "sitemaps"


def read(name: str) -> bytes:
    return (SITEMAPS / name).read_bytes()


def test_an_index_lists_its_sitemaps_absolute_and_drops_what_is_not_http() -> None:
    got = parse_sitemap(read("index.xml"), "https://news.example/sitemap.xml")
    assert got.kind == "index"
    assert [(e.loc, e.lastmod) for e in got.entries] == [
        ("https://news.example/sitemaps/2026-11.xml.gz", datetime(2026, 11, 30, 14, 10,
                                                                  tzinfo=UTC)),
        ("https://news.example/sitemaps/news.xml", None),
    ]
    assert got.skipped == [("not_http", "javascript:alert(1)")]


def test_a_urlset_gives_each_url_with_its_day_or_time() -> None:
    got = parse_sitemap(read("urlset.xml"), "https://news.example/s.xml",
                        naive_zone=ZoneInfo("Europe/Moscow"))
    assert got.kind == "urlset"
    assert [(e.loc.rsplit("/", 1)[1], e.lastmod) for e in got.entries] == [
        ("fishery-talks-resume", datetime(2026, 11, 2, tzinfo=UTC)),  # a day: 00:00 UTC
        ("ferry-season-ends", datetime(2026, 11, 3, 15, 30, tzinfo=UTC)),
        ("island-visit", datetime(2026, 11, 4, 6, 0, tzinfo=UTC)),  # no offset: Moscow time
        ("undated", None),  # whitespace around the URL is not part of it
    ]
    assert got.skipped == [("no_loc", "")]


def test_a_news_sitemap_gives_headline_publication_time_and_language() -> None:
    got = parse_sitemap(read("news.xml"), "https://shimbun.example/news.xml",
                        naive_zone=ZoneInfo("Asia/Tokyo"))
    first, second = got.entries
    assert (first.news_title, first.news_language) == ("北方領土の元島民、墓参の再開を要望", "ja")
    assert first.news_published_at == datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
    assert first.dated == first.news_published_at and first.lastmod is None
    # the publication time is the date that counts, whatever lastmod says
    assert second.news_title == "札幌で雪まつりの準備始まる"
    assert second.dated == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    start, end = datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC)
    assert within(got.entries, start, end) == [second]
    assert within(got.entries, datetime(2026, 11, 23, tzinfo=UTC), end) == got.entries


def test_undated_entries_are_kept_only_when_asked() -> None:
    entries = parse_sitemap(read("urlset.xml"), "https://news.example/s.xml").entries
    start, end = datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)
    assert [e.loc[-7:] for e in within(entries, start, end)] == ["on-ends"]
    assert [e.loc[-7:] for e in within(entries, start, end, undated=True)] == [
        "on-ends", "undated"]


def test_a_gzipped_sitemap_reads_as_the_plain_one() -> None:
    plain = parse_sitemap(read("news.xml"), "https://shimbun.example/news.xml")
    zipped = parse_sitemap(gzip.compress(read("news.xml")), "https://shimbun.example/news.xml.gz")
    assert zipped == plain


def gzip_of_spaces(size: int) -> bytes:
    """A gzip member of `size` spaces, compressed in steps (never holding them all)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    step = b" " * (1024 * 1024)
    parts = [packer.compress(b"<urlset>")]
    parts += [packer.compress(step) for _ in range(size // len(step))]
    return b"".join(parts) + packer.flush()


def test_a_gzip_bomb_stops_at_the_cap_in_bounded_time_and_memory() -> None:
    bomb = gzip_of_spaces(200 * 1024 * 1024)
    assert len(bomb) < 400 * 1024  # a few hundred kilobytes that would inflate to 200 MB
    started = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(SitemapError, match="inflates past 52428800 bytes"):
            parse_sitemap(bomb, "https://news.example/bomb.xml.gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 30
    assert peak < 120 * 1024 * 1024  # the cap (50 MB) and a step, not the bomb's 200 MB
    with pytest.raises(SitemapError, match="inflates past 1000 bytes"):
        inflate(gzip.compress(b" " * 5000), limit=1000)
    with pytest.raises(SitemapError, match="broken gzip"):
        inflate(b"\x1f\x8b" + b"\x00" * 20)


def test_entities_are_not_expanded() -> None:
    laughs = ('<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa">'
              + "".join(f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">'
                        for n in range(8))
              + ']><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              "<url><loc>https://news.example/&i;</loc></url></urlset>").encode()
    got = parse_sitemap(laughs, "https://news.example/s.xml")
    assert all(len(e.loc) < 100 for e in got.entries)


def test_broken_documents_are_clear_errors_and_a_broken_tail_keeps_the_head() -> None:
    with pytest.raises(SitemapError, match="not a sitemap at .*root <rss>"):
        parse_sitemap(b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>',
                      "https://news.example/feed")
    with pytest.raises(SitemapError, match="root <html>"):  # a soft 404 page
        parse_sitemap(b"<html><body>Not found", "https://news.example/sitemap.xml")
    with pytest.raises(SitemapError, match="not XML"):
        parse_sitemap(b'{"urls": []}', "https://news.example/sitemap.json")
    with pytest.raises(SitemapError, match="not XML"):
        parse_sitemap(b"", "https://news.example/empty.xml")
    with pytest.raises(SitemapError, match="larger than 10 bytes"):
        parse_sitemap(read("urlset.xml"), "https://news.example/s.xml", limit=10)
    cut = read("urlset.xml").split(b"<url>\n    <lastmod>2026-11-05")[0] + b"<url><loc>https"
    got = parse_sitemap(cut, "https://news.example/s.xml")
    assert len(got.entries) == 3 and got.skipped[0][0] == "malformed"


def test_at_most_max_urls_are_read() -> None:
    body = ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(f"<url><loc>https://news.example/{n}</loc></url>" for n in range(10))
            + "</urlset>").encode()
    got = parse_sitemap(body, "https://news.example/s.xml", max_urls=4)
    assert [e.loc[-1] for e in got.entries] == ["0", "1", "2", "3"]
    assert got.skipped == [("over_max_urls", "")] * 6


def test_robots_txt_names_sitemaps_absolute_and_once() -> None:
    robots = ("User-agent: *\nDisallow: /search\n"
              "Sitemap: https://news.example/sitemap.xml\n"
              "sitemap: /news-sitemap.xml\n"
              "Sitemap: https://news.example/sitemap.xml\n"
              "Sitemap: ftp://news.example/old.xml\n")
    assert robots_sitemaps(robots, "https://news.example/robots.txt") == [
        "https://news.example/sitemap.xml", "https://news.example/news-sitemap.xml"]


SITE = "https://news.example"


def urlset(*locs: tuple[str, str]) -> bytes:
    return ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(f"<url><loc>{loc}</loc><lastmod>{day}</lastmod></url>" for loc, day in locs)
            + "</urlset>").encode()


def index(*locs: tuple[str, str | None]) -> bytes:
    return ('<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(f"<sitemap><loc>{loc}</loc>"
                      + (f"<lastmod>{day}</lastmod>" if day else "") + "</sitemap>"
                      for loc, day in locs)
            + "</sitemapindex>").encode()


def test_discovery_walks_indexes_once_each_within_bounds_and_dates() -> None:
    pages = {
        f"{SITE}/index.xml": index((f"{SITE}/2026-11.xml.gz", "2026-11-30"),
                                   (f"{SITE}/2025-01.xml", "2025-01-31"),  # before the range
                                   (f"{SITE}/index.xml", None),  # names itself: a loop
                                   (f"{SITE}/broken.xml", None),
                                   (f"{SITE}/gone.xml", None)),
        f"{SITE}/2026-11.xml.gz": gzip.compress(urlset(
            (f"{SITE}/a/in-range", "2026-11-10"), (f"{SITE}/a/too-early", "2026-10-01"),
            ("https://elsewhere.example/a/other-host", "2026-11-10"))),
        f"{SITE}/2025-01.xml": urlset((f"{SITE}/a/old", "2025-01-05")),
        f"{SITE}/broken.xml": b"<html>soft 404</html>",
    }
    asked: list[str] = []

    def fetch(url: str) -> bytes | None:
        asked.append(url)
        return pages.get(url)

    robots = f"User-agent: *\nSitemap: {SITE}/index.xml\n"
    got = discover(SITE, fetch, datetime(2026, 11, 1, tzinfo=UTC),
                   datetime(2026, 12, 1, tzinfo=UTC), roots=robots_sitemaps(robots, SITE))
    assert [e.loc for e in got.entries] == [f"{SITE}/a/in-range"]
    assert got.read == [f"{SITE}/index.xml", f"{SITE}/2026-11.xml.gz"]
    assert f"{SITE}/2025-01.xml" not in asked  # its lastmod says nothing in it is new
    assert [(url.rsplit("/", 1)[1], why.split(":")[0]) for url, why in got.problems] == [
        ("index.xml", "already read (a loop or a repeat)"), ("broken.xml", "SitemapError"),
        ("gone.xml", "missing")]


def test_discovery_tries_the_usual_places_and_stops_at_its_bound() -> None:
    children = [(f"{SITE}/part-{n}.xml", None) for n in range(5)]
    pages = {f"{SITE}/sitemap_index.xml": index(*children)}
    pages.update({loc: urlset((f"{SITE}/a/{n}", "2026-11-10")) for n, (loc, _) in
                  enumerate(children)})
    got = discover(SITE, pages.get, datetime(2026, 11, 1, tzinfo=UTC),
                   datetime(2026, 12, 1, tzinfo=UTC), max_sitemaps=3)
    assert got.read == [f"{SITE}/sitemap_index.xml", f"{SITE}/part-0.xml", f"{SITE}/part-1.xml"]
    assert len(got.entries) == 2
    assert [why for _, why in got.problems] == ["over 3 sitemaps"] * 3
