"""Pure parts of the pipeline: record building."""

from __future__ import annotations

from datetime import UTC, datetime

from scrapers.models import Article
from scrapers.pipeline import build_record

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
    assert record["url"] == "https://news.example/a/1-slug"
    assert record["original_url"] == "http://news.example/a/1?utm_source=x"
    assert (record["title"], record["source"], record["authors"]) == (
        "Page title", "Pacific Wire", ["A. Writer"])
    assert record["relevant"] and record["matched_terms"]
    assert {m["field"] for m in record["matched_terms"]} <= {"title", "summary", "body"}
    assert record["etag"] == '"e1"' and record["published_at"] == NOW


def test_front_page_canonical_is_ignored() -> None:
    article = Article(url="https://news.example/a/1", title="T", text=BODY,
                      canonical_url="https://news.example/")
    record, _ = build_record(SOURCE, entry(), article, None, None, NOW)
    assert record["url"] == "https://news.example/a/1"


def test_search_entry_keeps_its_publisher() -> None:
    article = Article(url="https://news.example/a/1", title="T", text=BODY)
    record, _ = build_record(SOURCE, entry(outlet="Kyodo"), article, None, None, NOW)
    assert record["source"] == "Kyodo"


def test_empty_and_irrelevant_pages_are_rejected_with_reason() -> None:
    empty = Article(url="https://news.example/a/1", title="Japan and Russia talk", text="")
    assert build_record(SOURCE, entry(), empty, None, None, NOW)[1] == (
        "no article text found on the page")
    off_topic = Article(url="https://news.example/a/1", title="Local bakery wins award",
                        text="A bakery in Osaka won a national award for its melon bread.")
    _, reason = build_record(SOURCE, entry(title="Bakery", summary=""), off_topic, None, None,
                             NOW)
    assert reason is not None and reason.startswith("not relevant with body")
