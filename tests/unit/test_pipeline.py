"""Pure parts of the pipeline: record building."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scrapers.models import Article, Rejection
from scrapers.pipeline import build_record

pytestmark = pytest.mark.clock

SOURCE = {"id": 7, "language": "en", "outlet": "Pacific Wire"}
NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
BODY = ("Japanese Foreign Minister met Russian Foreign Minister Sergei Lavrov in Tokyo to "
        "discuss a peace treaty and the Southern Kurils, which Japan calls the Northern "
        "Territories.")


def entry(**overrides: object) -> dict[str, object]:
    base = {"url": "https://news.example/a/1", "link": "http://news.example/a/1?utm_source=x",
            "title": "Feed title", "summary": "Feed lead", "published_at": NOW,
            "outlet": None, "guid": "g-1"}
    base.update(overrides)
    return base


def test_record_prefers_page_metadata_and_canonical_url() -> None:
    article = Article(url="https://news.example/a/1", title="Page title", text=BODY,
                      authors=["A. Writer"], canonical_url="HTTPS://News.Example/a/1-slug#top",
                      language="en", tags=["diplomacy"])
    record, reason = build_record(SOURCE, entry(), article, '"e1"', None, NOW)
    assert reason is None
    assert record.url == "https://news.example/a/1-slug"
    assert record.original_url == "http://news.example/a/1?utm_source=x"
    assert (record.title, record.source, record.authors) == (
        "Page title", "Pacific Wire", ["A. Writer"])
    assert record.relevant and record.matched_terms
    assert {m["field"] for m in record.matched_terms} <= {"title", "summary", "body"}
    assert record.etag == '"e1"' and record.published_at == NOW


def test_front_page_canonical_is_ignored() -> None:
    article = Article(url="https://news.example/a/1", title="T", text=BODY,
                      canonical_url="https://news.example/")
    record, _ = build_record(SOURCE, entry(), article, None, None, NOW)
    assert record.url == "https://news.example/a/1"


def record_urls(served: str, canonical: str | None = None, **entry_overrides: object
                ) -> tuple[str, str]:
    """(url shown, dedup key) of a page served from `served` naming `canonical`."""
    article = Article(url=served, title="T", text=BODY, canonical_url=canonical)
    record, _ = build_record(SOURCE, entry(**entry_overrides), article, None, None, NOW)
    return record.url, record.url_key


def test_page_of_an_http_only_site_keeps_http() -> None:
    """The link shown is where the page answered; only the dedup key folds the scheme."""
    assert record_urls("http://news.example/a/1?utm_source=x#c") == (
        "http://news.example/a/1", "https://news.example/a/1")


def test_url_is_where_the_page_was_served_after_redirects() -> None:
    assert record_urls("http://news.example/2026/11/a-1.html") == (
        "http://news.example/2026/11/a-1.html", "https://news.example/a/1")


def test_same_site_canonical_is_shown_with_the_scheme_it_declares() -> None:
    assert record_urls("http://m.news.example/a/1", "http://www.news.example/a/1-slug") == (
        "http://www.news.example/a/1-slug", "https://www.news.example/a/1-slug")
    assert record_urls("http://news.example/a/1", "HTTPS://News.Example/a/1-slug#top") == (
        "https://news.example/a/1-slug", "https://news.example/a/1-slug")


def test_canonical_on_another_site_is_neither_key_nor_link() -> None:
    """Any page may name any URL: taking a cross-site canonical as the key would let it
    overwrite the article stored under that URL. A syndicated copy is its own article, and
    joins its original's story (docs/clusters.md); its key is its feed entry's."""
    assert record_urls("http://aggregator.example/x/9", "https://wire.example/story") == (
        "http://aggregator.example/x/9", "https://news.example/a/1")


def test_search_stub_page_is_shown_as_the_publisher_it_names() -> None:
    stub = "https://news.google.com/rss/articles/AU_yqLOpaqueToken?oc=5"
    assert record_urls(stub, "http://news.example/a/1", link=stub) == (
        "http://news.example/a/1", "https://news.example/a/1")


def test_front_page_canonical_is_neither_key_nor_link() -> None:
    assert record_urls("http://news.example/a/1", "http://news.example/") == (
        "http://news.example/a/1", "https://news.example/a/1")
    # a query makes it a page of its own
    assert record_urls("http://news.example/a/1", "http://news.example/?p=17") == (
        "http://news.example/?p=17", "https://news.example/?p=17")


def test_unusable_served_url_falls_back_to_the_feed_link() -> None:
    assert record_urls("", None) == ("http://news.example/a/1", "https://news.example/a/1")


def test_search_entry_keeps_its_publisher() -> None:
    article = Article(url="https://news.example/a/1", title="T", text=BODY)
    record, _ = build_record(SOURCE, entry(outlet="Kyodo"), article, None, None, NOW)
    assert record.source == "Kyodo"


def test_empty_and_irrelevant_pages_are_rejected_with_reason() -> None:
    empty = Article(url="https://news.example/a/1", title="Japan and Russia talk", text="")
    assert build_record(SOURCE, entry(), empty, None, None, NOW)[1] == Rejection(
        "no article text", "no article text found on the page")
    off_topic = Article(url="https://news.example/a/1", title="Local bakery wins award",
                        text="A bakery in Osaka won a national award for its melon bread.")
    _, reason = build_record(SOURCE, entry(title="Bakery", summary=""), off_topic, None, None,
                             NOW)
    assert reason is not None and reason.code == "not relevant"
    assert reason.detail.startswith("not relevant with body")


def test_an_oversized_url_is_rejected_with_its_reason_and_a_long_outlet_cut() -> None:
    """A URL over the index's key size would fail the whole load on every retry."""
    long_path = "https://news.example/a/" + "x" * 2500
    article = Article(url=long_path, title="T", text=BODY)
    record, reason = build_record(SOURCE, entry(link=long_path), article, None, None, NOW)
    assert reason is not None and reason.code == "url too long"
    assert "2523 bytes" in reason.detail
    article = Article(url="https://news.example/a/1", title="T", text=BODY)
    record, reason = build_record(SOURCE, entry(outlet="O" * 3000), article, None, None, NOW)
    assert reason is None and record.source == "O" * 512


def test_control_characters_never_reach_a_record() -> None:
    """NUL would make PostgreSQL refuse the staged page (and fail the source's task). The
    HTML parser already drops it from page text; metadata (a JSON-LD string's \\u0000, a
    feed title) can still carry it."""
    article = Article(url="https://news.example/a/1", title="Talks\x00 resume", text=BODY +
                      "\x00\x07", authors=["A.\x00Writer"], tags=["ja\x00pan"],
                      captions=["Tokyo\x1f"], summary="Lead\x00")
    record, reason = build_record(SOURCE, entry(summary=""), article, None, None, NOW)
    assert reason is None
    row = record.as_row()
    assert not any(ch in str(value) for value in row.values() for ch in "\x00\x07\x1f")
    assert record.title == "Talks resume" and record.authors == ["A.Writer"]


def test_lone_surrogates_from_json_ld_become_replacement_characters() -> None:
    """A JSON string's `\\ud800` decodes to a lone surrogate, which no encoding can write:
    the record's hash, its JSON for staging and psycopg2 all raised on it, so the page failed
    as an unexpected error. Extracted from a real page, through the JSON-LD path."""
    import json

    from scrapers.extract.body import extract_article

    ld = {"@type": "NewsArticle", "headline": "Talks \\ud800 resume",
          "author": {"@type": "Person", "name": "A. \\udfff Writer"},
          "keywords": "japan, \\ud83d", "description": "Lead \\ud800"}
    html = ('<html><head><script type="application/ld+json">'
            + json.dumps(ld).replace("\\\\u", "\\u") + "</script></head><body><article><p>"
            + BODY + "</p></article></body></html>").encode()
    article = extract_article(html, "https://news.example/a/1", "text/html")
    assert "\ud800" in (article.title or "") + "".join(article.authors), "no surrogate read"
    record, reason = build_record(SOURCE, entry(summary=""), article, None, None, NOW)
    assert reason is None
    assert record.title == "Talks \ufffd resume" and "\ufffd" in record.authors[0]
    row = record.as_row()
    json.dumps(row, ensure_ascii=False, default=str).encode("utf-8")  # stageable
    assert not any("\ud800" <= ch <= "\udfff" for value in row.values() for ch in str(value))
