"""scrapers.discovery, the pure part: what a sitemap entry says of an article."""

from __future__ import annotations

from datetime import UTC, datetime

from scrapers.discovery import dated_search_url, in_site, sitemap_entry, slug_title
from scrapers.sitemaps import SitemapEntry


def test_a_slug_gives_its_words_and_a_site_its_section() -> None:
    assert slug_title("https://a.example/2026/10/japan-russia-talks-2026.html") == \
        "japan russia talks"
    assert slug_title("https://a.example/ru/posol%20yaponii_vyzvan/") == "posol yaponii vyzvan"
    assert slug_title("https://a.example/articles/20261008-0001.html") == ""
    assert in_site("https://a.example/en/x.html", "https://a.example/en/")
    assert not in_site("https://a.example/english/x.html", "https://a.example/en")
    assert not in_site("https://b.example/en/x.html", "https://a.example/en/")
    assert in_site("https://A.example/x", "https://a.example/")


def test_an_entry_is_judged_by_its_headline_or_a_slug_in_its_own_script() -> None:
    day = datetime(2026, 10, 8, tzinfo=UTC)
    news = SitemapEntry("https://a.example/1.html", news_title="日露外相が会談",
                        news_published_at=datetime(2026, 10, 8, 9, 0, tzinfo=UTC))
    entry, judged = sitemap_entry(news, "ja")
    assert (entry.title, entry.published_precision, judged) == ("日露外相が会談", "datetime", True)
    slug = SitemapEntry("https://a.example/japan-russia-talks.html", lastmod=day)
    entry, judged = sitemap_entry(slug, "en")
    assert (entry.title, entry.published_precision, judged) == ("japan russia talks", "date", True)
    assert sitemap_entry(SitemapEntry("https://a.example/posol-yaponii.html"), "ru")[1] is False
    assert sitemap_entry(SitemapEntry("https://a.example/20261008.html"), "en")[1] is False
    assert sitemap_entry(SitemapEntry("https://a.example/x"), "en")[0].published_precision == \
        "none"


def test_a_search_feed_is_dated_through_its_query() -> None:
    day = (datetime(2026, 10, 14, tzinfo=UTC), datetime(2026, 10, 15, tzinfo=UTC))
    url = "https://news.google.com/rss/search?q=Japan+Russia&hl=en-US&gl=US&ceid=US:en#x"
    assert dated_search_url(url, *day) == (
        "https://news.google.com/rss/search?q=Japan+Russia+after%3A2026-10-13+"
        "before%3A2026-10-15&hl=en-US&gl=US&ceid=US%3Aen")
    assert dated_search_url("https://search.example/feed.xml", *day) is None
