"""Pure parts of the pipeline: record building and the summary table."""

from __future__ import annotations

from datetime import UTC, datetime

from scrapers.models import Article
from scrapers.pipeline import build_record, display_width, format_summary

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


def test_summary_table_totals_failures_and_cjk_alignment() -> None:
    rows = [
        {"source": "北海新報", "entries": 5, "relevant": 3, "fetched": 3, "new": 3,
         "updated": 0, "duplicates": 0, "rejected": 0, "errors": 0, "error": None},
        {"source": "Broken Feed", "entries": 0, "relevant": 0, "fetched": 0, "new": 0,
         "updated": 0, "duplicates": 0, "rejected": 0, "errors": 1,
         "error": "HTTPStatusError: HTTP 500"},
    ]
    lines = format_summary(rows).splitlines()
    assert lines[0].split() == ["source", "entries", "relevant", "fetched", "new", "updated",
                                "duplicates", "rejected", "errors"]
    assert lines[-2].split() == ["TOTAL", "5", "3", "3", "3", "0", "0", "0", "1"]
    assert lines[-1] == "FAILED Broken Feed: HTTPStatusError: HTTP 500"
    table = [line for line in lines if not line.startswith("FAILED")]
    assert len({display_width(line) for line in table}) == 1  # every row equally wide


def test_summary_lines_are_one_per_source() -> None:
    from scrapers.pipeline import summary_lines

    row = {"source": "Pacific Wire", "entries": 6, "relevant": 3, "fetched": 3, "new": 2,
           "updated": 1, "duplicates": 0, "rejected": 1, "errors": 0, "error": None}
    broken = {**row, "source": "Broken Feed", "rejected": 0, "errors": 1,
              "error": "HTTP 500", "rejected_by": {}}
    picky = {**row, "source": "北海新報", "rejected": 3,
             "rejected_by": {"listing page": 1, "not relevant with body": 2}}
    assert summary_lines([row, broken, picky]) == [
        "Pacific Wire: entries=6 relevant=3 fetched=3 new=2 updated=1 duplicates=0 "
        "rejected=1 errors=0",
        "Broken Feed: entries=6 relevant=3 fetched=3 new=2 updated=1 duplicates=0 "
        "rejected=0 errors=1 error='HTTP 500'",
        "北海新報: entries=6 relevant=3 fetched=3 new=2 updated=1 duplicates=0 "
        "rejected=3 (not relevant with body 2, listing page 1) errors=0"]
