"""A search feed's item matched to the publisher's own entry, by headline and time.

Google News' current item links are opaque ids that only Google can turn into the
publisher's URL. The item still says who published it (`<source url=…>`) and what the
headline was, and the publisher's own feed, sitemap or another search feed usually lists
the same headline with its real URL. Matching on the normalised headline, on the
publisher's site and within a few days resolves the item without asking Google
(issue 23). Pure: the caller supplies what is known.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

#: A headline and its copy are this far apart in time at most.
MAX_APART = timedelta(days=2)
#: Separators search feeds put between a headline and its publisher.
_OUTLET_SEPARATORS = (" - ", " | ", " – ", " — ", "：", " : ")
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class KnownEntry:
    """An entry with its real URL: from the publisher's feed, a sitemap or a resolved item."""

    url: str
    title: str
    published_at: datetime | None = None  # aware


def headline_key(title: str, outlet: str | None = None) -> str:
    """A headline as compared: NFKC, case-folded, the trailing publisher name dropped,
    punctuation and spacing ignored (quotes and dashes differ between copies)."""
    text = unicodedata.normalize("NFKC", title).casefold().strip()
    if outlet:
        name = unicodedata.normalize("NFKC", outlet).casefold().strip()
        for separator in _OUTLET_SEPARATORS:
            suffix = separator + name
            if name and len(text) > len(suffix) and text.endswith(suffix):
                text = text[: -len(suffix)]
                break
    return _NOT_WORD.sub(" ", text).strip()


def site_of(url: str) -> str:
    """The host a URL is on, without "www." (the publisher's site, for matching)."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def match_entry(title: str, outlet: str | None, site_url: str | None,
                published_at: datetime | None, known: Sequence[KnownEntry]) -> str | None:
    """The URL of the known entry that is this item's article, or None.

    A match has the same `headline_key`, is on the publisher's site (the item's
    ``<source url>``; any site when it names none) and, when both times are known, lies
    within `MAX_APART`. Of several, the closest in time; on a tie, the first given.
    """
    key = headline_key(title, outlet)
    if not key:
        return None
    site = site_of(site_url) if site_url else None
    best: tuple[timedelta, int, str] | None = None
    for order, entry in enumerate(known):
        entry_site = site_of(entry.url)
        if site and not (entry_site == site or entry_site.endswith("." + site)):
            continue
        if headline_key(entry.title, outlet) != key:
            continue
        apart = (abs(entry.published_at - published_at)
                 if entry.published_at and published_at else MAX_APART)
        if apart > MAX_APART:
            continue
        if best is None or (apart, order) < best[:2]:
            best = (apart, order, entry.url)
    return best[2] if best else None
