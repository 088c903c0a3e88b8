"""Dates as a page states them: ISO 8601 or RFC 2822 into aware UTC, with the precision
stated (a day, or a time). Pure, no I/O."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

LOGGER = logging.getLogger(__name__)

SLASH_DATE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})")
SPACE_BEFORE_OFFSET = re.compile(r"(\d)\s+([+-]\d{2}:?\d{2}|Z)$")
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MIN_YEAR, MAX_YEAR = 1990, 2100


def parse_date(value: str | None) -> datetime | None:
    """Parse an ISO 8601 or RFC 2822 date as stated by a page into an aware UTC datetime.

    A date alone becomes midnight UTC and a time without an offset is taken as UTC (see
    :func:`scrapers.extract.body.extract_article`). Unparseable or implausible values give None.
    """
    parsed = parse_date_precision(value)
    return parsed[0] if parsed else None


def parse_date_precision(value: str | None) -> tuple[datetime, str] | None:
    """Like :func:`parse_date`, with the precision stated: ``"date"`` or ``"datetime"``.

    ``"2024-05-10"`` (or ``2024/05/10``) gives that day at 00:00 UTC with ``"date"``: the
    page named a day, and converting an invented local midnight would move it to the day
    before east of Greenwich. Anything with a time gives ``"datetime"``, converted to UTC from
    the offset the page states.
    """
    if not value:
        return None
    value = value.strip()
    if not value:
        return None
    iso = SLASH_DATE.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", value)
    iso = SPACE_BEFORE_OFFSET.sub(r"\1\2", iso)
    precision = "date" if DATE_ONLY.match(iso) else "datetime"
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            LOGGER.debug("unparseable date %r", value)
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None
    return parsed.astimezone(UTC), precision
