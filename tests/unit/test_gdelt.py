"""gdelt (pure part): artlist requests, responses, and windows under the 250-record cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from scrapers.gdelt import (
    MAX_RECORDS,
    GdeltArticle,
    GdeltError,
    artlist_url,
    halves,
    is_full,
    parse_artlist,
    windows,
)
from tests.conftest import FIXTURES

T0 = datetime(2026, 11, 24, tzinfo=UTC)


def test_a_request_names_the_topic_language_and_window_in_utc() -> None:
    start = datetime(2026, 11, 24, 18, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 09:00 UTC
    end = start + timedelta(hours=6)
    url = artlist_url("ja", start, end, query='"Kuril Islands"')
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.path) == (
        "https", "api.gdeltproject.org", "/api/v2/doc/doc")
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "query": '"Kuril Islands" sourcelang:japanese', "mode": "artlist", "format": "json",
        "sort": "dateasc", "maxrecords": "250", "startdatetime": "20261124090000",
        "enddatetime": "20261124150000"}
    with pytest.raises(ValueError, match="no GDELT source language"):
        artlist_url("fr", start, end)
    with pytest.raises(ValueError, match="start before end"):
        artlist_url("en", end, start)


def test_an_artlist_gives_its_articles_and_leaves_out_what_it_cannot_use() -> None:
    got = parse_artlist((FIXTURES / "gdelt" / "artlist.json").read_bytes())
    assert got == [
        GdeltArticle("https://shimbun.example/articles/0001", "北方領土の元島民、 墓参の再開を要望",
                     datetime(2026, 11, 24, 7, 30, tzinfo=UTC), "shimbun.example", "ja",
                     "Japan"),
        GdeltArticle("https://vesti.example/news/42", "Москва ответила Токио",
                     datetime(2026, 11, 24, 8, 15, tzinfo=UTC), "vesti.example", "ru",
                     "Russia"),
        GdeltArticle("https://herald.example/world/7", "Kurils talks",
                     datetime(2026, 11, 24, 9, 0, tzinfo=UTC), "herald.example", None, None),
    ]


def test_responses_that_are_not_an_artlist_are_clear_errors() -> None:
    assert parse_artlist(b"") == [] and parse_artlist(b"{}") == []
    with pytest.raises(GdeltError, match="not JSON: 'Your search contained"):
        parse_artlist((FIXTURES / "gdelt" / "error.txt").read_bytes())
    with pytest.raises(GdeltError, match="not an object"):
        parse_artlist(b"[1, 2]")
    with pytest.raises(GdeltError, match="'articles' is not a list"):
        parse_artlist(b'{"articles": "none"}')
    with pytest.raises(GdeltError, match="over 2097152"):
        parse_artlist(b" " * (3 * 1024 * 1024))


def test_a_full_window_is_split_on_gdelts_resolution_until_it_cannot_be() -> None:
    article = GdeltArticle("https://a.example/", "", T0, "a.example", "en", None)
    assert is_full([article] * MAX_RECORDS) and not is_full([article] * (MAX_RECORDS - 1))
    assert halves(T0, T0 + timedelta(hours=6)) == [
        (T0, T0 + timedelta(hours=3)), (T0 + timedelta(hours=3), T0 + timedelta(hours=6))]
    # the middle falls on a quarter hour
    assert halves(T0, T0 + timedelta(minutes=50)) == [
        (T0, T0 + timedelta(minutes=15)), (T0 + timedelta(minutes=15), T0 +
                                          timedelta(minutes=50))]
    assert halves(T0, T0 + timedelta(minutes=29)) == []


def test_a_range_is_walked_in_windows() -> None:
    got = list(windows(T0, T0 + timedelta(days=2, hours=12), timedelta(days=1)))
    assert got == [(T0, T0 + timedelta(days=1)), (T0 + timedelta(days=1), T0 + timedelta(days=2)),
                   (T0 + timedelta(days=2), T0 + timedelta(days=2, hours=12))]
    with pytest.raises(ValueError, match="positive"):
        list(windows(T0, T0 + timedelta(days=1), timedelta(0)))
