"""The one date parser, for feed and page dates alike."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from scrapers.text.dates import parse_date, parse_date_precision

# --- as feeds state them --------------------------------------------------------------


def _utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon, 03 Mar 2025 10:00:00 GMT", _utc(2025, 3, 3, 10, 0)),
        ("Mon, 03 Mar 2025 10:00:00 +0900", _utc(2025, 3, 3, 1, 0)),
        ("Mon, 03 Mar 2025 10:00:00 +09:00", _utc(2025, 3, 3, 1, 0)),
        ("Mon, 03 Mar 2025 10:00:00 JST", _utc(2025, 3, 3, 1, 0)),
        ("Mon, 03 Mar 2025 10:00:00 MSK", _utc(2025, 3, 3, 7, 0)),
        ("Mon, 03 Mar 2025 10:00:00 UTC", _utc(2025, 3, 3, 10, 0)),
        ("Mon, 03 Mar 2025 10:00:00", _utc(2025, 3, 3, 10, 0)),
        ("3 Mar 2025 10:00 -0500", _utc(2025, 3, 3, 15, 0)),
        ("2025-03-03T10:00:00+03:00", _utc(2025, 3, 3, 7, 0)),
        ("2025-03-03T10:00:00Z", _utc(2025, 3, 3, 10, 0)),
        ("2025-03-03T10:00:00.123456Z", datetime(2025, 3, 3, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2025-03-03 10:00:00", _utc(2025, 3, 3, 10, 0)),
        ("2025-03-03", _utc(2025, 3, 3, 0, 0)),
        ("2025年3月3日 10時05分", _utc(2025, 3, 3, 1, 5)),
        ("2025年3月3日（月）10:05", _utc(2025, 3, 3, 1, 5)),
        ("2025年3月3日", _utc(2025, 3, 3, 0, 0)),  # a day alone is that day, as in ISO
        ("2025/03/03 10:00", _utc(2025, 3, 3, 10, 0)),
        ("  Mon, 03 Mar 2025 10:00:00 GMT\n", _utc(2025, 3, 3, 10, 0)),
    ],
)
def test_feed_dates(text: str, expected: datetime) -> None:
    got = parse_date(text)
    assert got == expected
    assert got is not None and got.tzinfo == UTC


@pytest.mark.parametrize(
    "text",
    ["", "sometime last week", "2025", "2025/13/03 10:00", "12345", "Mon, 31 Feb 2025 10:00 GMT",
     "1899-03-03T10:00:00Z",
     # numbers past a C long (OverflowError from the datetime they would build)
     "1 Jan 99999999999999999999 00:00 +0000", "1 Jan 2020 00:00 +99999999999999999999",
     "1 Jan 2020 00:99999999999999999999:00 +0000"],
)
def test_unparseable_dates_are_none(text: str) -> None:
    """feedparser turns some of these into a date built from today's; we return None."""
    assert parse_date(text) is None


def test_feedparser_result_used_for_unusual_english_spellings() -> None:
    fallback = time.struct_time((2025, 3, 3, 10, 0, 0, 0, 62, 0))
    assert parse_date("03 March 2025, 10:00 o'clock", fallback) == _utc(2025, 3, 3, 10, 0)
    assert parse_date("03/2025 10:00", fallback) is None  # all-numeric: never feedparser's



# --- as pages state them --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-05-31", datetime(2019, 5, 31, tzinfo=UTC)),
        ("2019-05-31T15:02:00+08:00", datetime(2019, 5, 31, 7, 2, tzinfo=UTC)),
        ("2019-05-31T15:02:00.123Z", datetime(2019, 5, 31, 15, 2, 0, 123000, tzinfo=UTC)),
        ("2019-05-31T15:02:00+0800", datetime(2019, 5, 31, 7, 2, tzinfo=UTC)),
        ("2019-05-31 15:02:00 +08:00", datetime(2019, 5, 31, 7, 2, tzinfo=UTC)),
        ("2019-05-31T15:02:00", datetime(2019, 5, 31, 15, 2, tzinfo=UTC)),
        ("2019/05/31 15:02", datetime(2019, 5, 31, 15, 2, tzinfo=UTC)),
        ("Fri, 31 May 2019 15:02:00 +0300", datetime(2019, 5, 31, 12, 2, tzinfo=UTC)),
        ("Fri, 31 May 2019 15:02:00 GMT", datetime(2019, 5, 31, 15, 2, tzinfo=UTC)),
        ("31-May-2019", None),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
        (None, None),
    ],
)
def test_page_dates(value: str | None, expected: datetime | None) -> None:
    assert parse_date(value) == expected



@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-06-03", (datetime(2024, 6, 3, tzinfo=UTC), "date")),
        ("2024/6/3", (datetime(2024, 6, 3, tzinfo=UTC), "date")),
        ("2024-06-03T00:30:00+09:00", (datetime(2024, 6, 2, 15, 30, tzinfo=UTC), "datetime")),
        ("Mon, 03 Jun 2024 10:00:00 +0300", (datetime(2024, 6, 3, 7, 0, tzinfo=UTC), "datetime")),
        ("nonsense", None),
    ],
)
def test_parse_date_precision(value: str, expected: tuple[datetime, str] | None) -> None:
    assert parse_date_precision(value) == expected


@pytest.mark.parametrize(
    ("value", "zone", "expected"),
    [
        # a time without an offset is read in the source's zone, and says so
        ("2024-06-03T10:00:00", "Asia/Tokyo", (datetime(2024, 6, 3, 1, 0, tzinfo=UTC),
                                               "zone_assumed")),
        ("2024-06-03 10:00", "Europe/Moscow", (datetime(2024, 6, 3, 7, 0, tzinfo=UTC),
                                               "zone_assumed")),
        ("2024-06-03T10:00:00", "UTC", (datetime(2024, 6, 3, 10, 0, tzinfo=UTC),
                                        "zone_assumed")),
        # a stated offset wins over the source's zone; a day alone stays a day
        ("2024-06-03T10:00:00+03:00", "Asia/Tokyo", (datetime(2024, 6, 3, 7, 0, tzinfo=UTC),
                                                     "datetime")),
        ("2024-06-03", "Asia/Tokyo", (datetime(2024, 6, 3, tzinfo=UTC), "date")),
        # Japanese-script dates are Japan time wherever the source is
        ("2024年6月3日 10時00分", "Europe/Moscow", (datetime(2024, 6, 3, 1, 0, tzinfo=UTC),
                                                  "datetime")),
    ],
)
def test_times_without_an_offset_are_read_in_the_sources_zone(
        value: str, zone: str, expected: tuple[datetime, str]) -> None:
    assert parse_date_precision(value, naive_zone=ZoneInfo(zone)) == expected
