"""The one date parser: dates as feeds and pages state them, into aware UTC, with the
precision stated (a day, or a time). Pure, no I/O.

Rules, the same for a feed entry and a page:
- ISO 8601 (``T`` or a space, ``Z``, ``+09:00``/``+0900``), ``2024/05/10`` slash dates,
  RFC 2822 with a numeric offset or a zone name from :data:`ZONE_OFFSETS`, and Japanese-script
  dates (``2025年3月3日 10時05分``), which are Japan time.
- A time without an offset is read in `naive_zone`: the source's zone where the caller knows
  it (the catalog's `timezone`), UTC otherwise; its precision is ``"zone_assumed"``, so an
  analyst can tell a stated instant from one read in the zone the source was assumed in.
- A day alone is that day at 00:00 UTC with precision ``"date"``: the source named a day,
  and converting an invented local midnight would move it to the day before east of
  Greenwich.
- Years outside 1990–2100 and unparseable text give None, never a guess.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

LOGGER = logging.getLogger(__name__)

MIN_YEAR, MAX_YEAR = 1990, 2100

# Zone names seen in our sources that email.utils does not know.
ZONE_OFFSETS: Mapping[str, str] = {
    "JST": "+0900",
    "KST": "+0900",
    "MSK": "+0300",
    "MSD": "+0400",
    "UTC": "+0000",
    "CET": "+0100",
    "CEST": "+0200",
    "EET": "+0200",
    "EEST": "+0300",
    "HKT": "+0800",
}
JST = timezone(timedelta(hours=9), "JST")

_SLASH_DATE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})")
_SPACE_BEFORE_OFFSET = re.compile(r"(\d)\s+([+-]\d{2}:?\d{2}|Z)$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZONE_NAME = re.compile(r"\s\(?([A-Za-z]{2,5})\)?\s*\Z")
_COLON_OFFSET = re.compile(r"([+-]\d{2}):(\d{2})\s*\Z")
_JAPANESE_DATE = re.compile(
    r"(\d{4})年\s*(\d{1,2})月\s*(\d{1,2})日"
    r"(?:\s*[（(][^)）]*[)）])?"  # weekday such as （月）
    r"(?:\s*(\d{1,2})[時:：](\d{1,2})分?(?:\s*(\d{1,2})秒)?)?"
)
# A date library's own reading (feedparser's struct_time) is trusted only for dates spelt
# with an English month name (asctime, day/month swapped RFC 822...), never for all-numeric
# partial dates, which it completes from today's date.
_MONTH_NAME = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.I)

DATE, DATETIME, ZONE_ASSUMED = "date", "datetime", "zone_assumed"
#: Precisions of a value with a time of day (the others: a day alone, or nothing).
WITH_TIME = frozenset({DATETIME, ZONE_ASSUMED})


def parse_date(
    value: str | None, fallback: time.struct_time | None = None, naive_zone: tzinfo = UTC
) -> datetime | None:
    """Parse a date as a feed or page states it into an aware UTC datetime, or None.

    :param fallback: a UTC ``struct_time`` another parser made of `value` (feedparser's
        ``published_parsed``), used only when `value` has an English month name and the
        rules here cannot read it.
    """
    parsed = parse_date_precision(value, fallback, naive_zone)
    return parsed[0] if parsed else None


def parse_date_precision(
    value: str | None, fallback: time.struct_time | None = None, naive_zone: tzinfo = UTC
) -> tuple[datetime, str] | None:
    """Like :func:`parse_date`, with the precision stated: ``"date"``, ``"datetime"``, or
    ``"zone_assumed"`` for a time without an offset (read in `naive_zone`)."""
    text = " ".join(value.split()) if value else ""
    if not text:
        return None
    parsed = _parse_iso(text) or _parse_rfc2822(text) or _parse_japanese(text)
    if parsed is None and fallback is not None and _MONTH_NAME.search(text):
        parsed = _from_struct(fallback)
    if parsed is None:
        LOGGER.debug("unparseable date %r", text)
        return None
    moment, precision = parsed
    if moment.tzinfo is None:
        if precision == DATETIME:
            moment, precision = moment.replace(tzinfo=naive_zone), ZONE_ASSUMED
        else:
            moment = moment.replace(tzinfo=UTC)
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        return None
    return moment.astimezone(UTC), precision


def _parse_iso(text: str) -> tuple[datetime, str] | None:
    if not text[:4].isdigit():
        return None
    iso = _SLASH_DATE.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", text)
    iso = _SPACE_BEFORE_OFFSET.sub(r"\1\2", iso)
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return moment, DATE if _DATE_ONLY.match(iso) else DATETIME


def _parse_rfc2822(text: str) -> tuple[datetime, str] | None:
    zone = _ZONE_NAME.search(text)
    if zone and zone.group(1).upper() in ZONE_OFFSETS:
        text = text[: zone.start()] + " " + ZONE_OFFSETS[zone.group(1).upper()]
    text = _COLON_OFFSET.sub(r"\1\2", text)  # "+09:00" -> "+0900"
    try:
        return parsedate_to_datetime(text), DATETIME
    except (TypeError, ValueError, IndexError, OverflowError):  # a 20-digit year or offset
        return None


def _parse_japanese(text: str) -> tuple[datetime, str] | None:
    """``2025年3月3日 10時00分`` is Japan time; ``2025年3月3日`` alone is that day."""
    match = _JAPANESE_DATE.search(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    has_time = match.group(4) is not None
    try:
        if not has_time:
            return datetime(year, month, day, tzinfo=UTC), DATE
        return datetime(year, month, day, hour, minute, second, tzinfo=JST), DATETIME
    except ValueError:
        return None


def _from_struct(moment: time.struct_time) -> tuple[datetime, str] | None:
    try:
        year, month, day, hour, minute, second = moment[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC), DATETIME
    except (TypeError, ValueError, OverflowError):
        return None
