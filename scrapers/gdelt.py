"""GDELT DOC 2.0, the pure part: queries for past coverage and the articles they list.

GDELT's DOC API searches about the last three months of online news in 65 languages
(machine-translated to English for the search), across outlets that are not in the
catalog: multilingual discovery for a backfill (issue 23). ``mode=artlist&format=json``
lists at most 250 articles per request, newest or oldest first, so a window that returns
250 may hold more and is split in halves until it does not (down to GDELT's 15-minute
resolution). GDELT asks for one request every 5 seconds per address: the caller paces
(`MIN_INTERVAL_S`). No I/O here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urldefrag, urlencode, urlsplit

ENDPOINT = "https://api.gdeltproject.org/api/v2/doc/doc"
#: Articles one artlist request returns at most.
MAX_RECORDS = 250
#: GDELT's time resolution: a window is not split below it.
RESOLUTION = timedelta(minutes=15)
#: GDELT's documented pace: one request per this many seconds per address.
MIN_INTERVAL_S = 5.0
#: A response larger than this is not an artlist of 250 (each is well under 1 KB).
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
#: `sourcelang:` per catalog language.
SOURCE_LANGUAGES = {"en": "english", "ja": "japanese", "ru": "russian"}
#: The topic, in the English GDELT searches its translations in. A query in parentheses
#: with OR between its terms; words side by side must all occur.
TOPIC_QUERY = ('("Japan Russia" OR "Japanese Russian" OR "Kuril Islands" '
               'OR "Northern Territories" OR "Russia Japan")')


class GdeltError(ValueError):
    """A response that is not an artlist: not JSON, too large, or GDELT's error text."""


@dataclass(frozen=True)
class GdeltArticle:
    """One listed article: where it is, its title, and when GDELT first saw it."""

    url: str
    title: str
    seen_at: datetime  # aware UTC
    domain: str
    language: str | None  # the catalog code (en/ja/ru) when it is one of ours, else None
    source_country: str | None


def artlist_url(language: str, start: datetime, end: datetime,
                query: str = TOPIC_QUERY, max_records: int = MAX_RECORDS,
                endpoint: str = ENDPOINT) -> str:
    """The request for the topic's articles in `language` first seen in [start, end)."""
    if language not in SOURCE_LANGUAGES:
        raise ValueError(f"no GDELT source language for {language!r}")
    if start.tzinfo is None or end.tzinfo is None or not start < end:
        raise ValueError("start and end must be aware, start before end")
    params = {
        "query": f"{query} sourcelang:{SOURCE_LANGUAGES[language]}",
        "mode": "artlist", "format": "json", "sort": "dateasc",
        "maxrecords": str(max_records),
        "startdatetime": _stamp(start), "enddatetime": _stamp(end),
    }
    # The catalog tells its GDELT sources apart by a fragment (#ja): never sent.
    return f"{urldefrag(endpoint).url}?{urlencode(params)}"


def parse_artlist(data: bytes) -> list[GdeltArticle]:
    """The articles of an artlist response; entries without an http(s) URL or a readable
    time are left out.

    :raises GdeltError: the body is too large, not JSON, or not an artlist (GDELT answers
        some errors as plain text with status 200).
    """
    if len(data) > MAX_RESPONSE_BYTES:
        raise GdeltError(f"response of {len(data)} bytes, over {MAX_RESPONSE_BYTES}")
    if not data.strip():
        return []  # GDELT answers an empty result with an empty body
    try:
        payload = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        snippet = data[:120].decode("utf-8", "replace").strip()
        raise GdeltError(f"not JSON: {snippet!r}") from exc
    if not isinstance(payload, dict):
        raise GdeltError("not an artlist: the JSON is not an object")
    raw = payload.get("articles", [])
    if not isinstance(raw, list):
        raise GdeltError("not an artlist: 'articles' is not a list")
    by_name = {name: code for code, name in SOURCE_LANGUAGES.items()}
    out = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        url, seen = str(item.get("url") or "").strip(), _seen(item.get("seendate"))
        if urlsplit(url).scheme not in ("http", "https") or seen is None:
            continue
        language = str(item.get("language") or "").strip().lower()
        out.append(GdeltArticle(
            url=url, title=" ".join(str(item.get("title") or "").split()), seen_at=seen,
            domain=str(item.get("domain") or urlsplit(url).hostname or ""),
            language=by_name.get(language),
            source_country=str(item.get("sourcecountry") or "") or None))
    return out


def is_full(articles: list[GdeltArticle], max_records: int = MAX_RECORDS) -> bool:
    """Whether a window's response hit the cap, so the window may hold more."""
    return len(articles) >= max_records


def halves(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """A full window split in two on GDELT's resolution; [] when it cannot be split."""
    if end - start < 2 * RESOLUTION:
        return []
    middle = start + (end - start) / 2
    middle = middle - timedelta(minutes=middle.minute % 15, seconds=middle.second,
                                microseconds=middle.microsecond)
    if middle <= start:
        middle = start + RESOLUTION
    return [(start, middle), (middle, end)]


def windows(start: datetime, end: datetime, step: timedelta) -> Iterator[tuple[datetime,
                                                                              datetime]]:
    """[start, end) in windows of `step` (the last may be shorter)."""
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    at = start
    while at < end:
        yield at, min(at + step, end)
        at += step


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def _seen(value: object) -> datetime | None:
    """GDELT's seendate, ``20261124T073000Z``."""
    try:
        return datetime.strptime(str(value), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
