"""Where a backfill's candidates come from: a unit's discovery, stored as feed entries.

`scrapers.backfill` plans the units and fetches their pages; this module reads what a unit
names (a site's sitemaps, GDELT's DOC API or a search feed for a window) and stores the
entries it
finds, judged for relevance before any page is fetched, under one `feed_fetches` row of
the backfill's run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from scrapers import gdelt, sitemaps
from scrapers.catalog import source_zone
from scrapers.db import backfill as state
from scrapers.db import staging
from scrapers.db.connection import Connection, savepoint
from scrapers.fetch.http import Fetcher, HTTPStatusError
from scrapers.fetch.politeness import RobotsPolicy
from scrapers.models import FeedEntry
from scrapers.pipeline import FEED_ACCEPT, store_entry

LOGGER = logging.getLogger(__name__)

SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, application/x-gzip;q=0.8, */*;q=0.1"
#: Statuses that say a sitemap is not there (as opposed to failing).
_MISSING = frozenset({404, 410})
_SLUG_WORD = re.compile(r"[^\W\d_]{2,}")
#: A slug's words can be judged for relevance only in the language's own script: a
#: Russian article's transliterated slug ("posol-yaponii") matches no Russian rule.
_SCRIPT = {"en": re.compile(r"[A-Za-z]"), "ru": re.compile(r"[А-Яа-яЁё]"),
           "ja": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")}


class SitemapUnavailable(sitemaps.SitemapError):
    """A sitemap could not be asked for now (its host's robots.txt is unavailable)."""


def slug_title(url: str) -> str:
    """The words of a URL's last path segment ("japan-russia-talks-2026.html" gives
    "japan russia talks"): what a sitemap without headlines says of an article."""
    segments = [unquote(p) for p in urlsplit(url).path.split("/") if p]
    last = segments[-1].rsplit(".", 1)[0] if segments else ""
    return " ".join(_SLUG_WORD.findall(last))


def in_site(url: str, site: str) -> bool:
    """Whether `url` is under `site` (same host; under its path when it has one)."""
    a, b = urlsplit(url), urlsplit(site)
    return (a.hostname or "").lower() == (b.hostname or "").lower() and \
        a.path.startswith(b.path.rstrip("/") + "/" if b.path.strip("/") else "/")


def sitemap_entry(entry: sitemaps.SitemapEntry, language: str) -> tuple[FeedEntry, bool]:
    """A sitemap entry as the feed entry it is stored as, and whether its title can be
    judged (a news headline, or a slug of at least two words in the language's script)."""
    slug = slug_title(entry.loc)
    title = entry.news_title or slug
    script = _SCRIPT.get(language)
    judged = bool(entry.news_title) or (
        len(slug.split()) >= 2 and script is not None and bool(script.search(slug)))
    published = entry.dated
    precision = "none" if published is None else (
        "date" if published.timetz() == time(tzinfo=UTC) else "datetime")
    feed_entry = FeedEntry(url=entry.loc, title=title, summary="", published_at=published,
                           guid=entry.loc, published_precision=precision)
    return feed_entry, judged


def discover_sitemap(conn: Connection, fetcher: Fetcher, robots: RobotsPolicy,
                  unit: Mapping[str, Any], run_id: str, now: datetime) -> int:
    """Walk the unit's site's sitemaps and store its entries in the window under a new
    feed fetch, in one transaction with the unit's progress; returns the fetch's id.

    A sitemap that fails is logged and the walk goes on; a site none of whose sitemaps
    could be read raises (the unit is failed and retried by the next run); a site with no
    sitemap at all is done, with nothing found.
    """
    source = staging.get_source(conn, unit["source_id"])
    site = unit["target"]

    def fetch(url: str) -> bytes | None:
        verdict = robots.verdict(url, now)
        if verdict == "unavailable":  # not "no sitemap": the unit fails and is retried
            raise SitemapUnavailable(f"robots.txt of {url} unavailable (unreachable, 5xx "
                                     "or 429)")
        if verdict == "disallowed":
            return None
        try:
            return fetcher.fetch(url, accept=SITEMAP_ACCEPT).body
        except HTTPStatusError as exc:
            if exc.status in _MISSING:
                return None
            raise

    named = robots.sitemaps(site, now)
    # A section of a shared host (a site with a path) reads the sitemaps under it, if the
    # host names any there: another section's sitemap says nothing about this one.
    roots = [url for url in named if in_site(url, site)] or named
    found = sitemaps.discover(site, fetch, unit["window_start"], unit["window_end"],
                              roots=roots, naive_zone=source_zone(source))
    for url, why in found.problems:
        LOGGER.warning("%s: sitemap %s: %s", source["name"], url, why)
    if not found.read and (found.problems or robots.verdict(site, now) == "unavailable"):
        why = ": ".join(found.problems[0]) if found.problems else "robots.txt unavailable"
        raise sitemaps.SitemapError(f"no sitemap of {site} could be read: {why}")
    entries = [sitemap_entry(e, source["language"]) for e in found.entries
               if in_site(e.loc, site)]
    fetch_id = _store(conn, source, unit, run_id, site, entries, now)
    LOGGER.info("%s: %d sitemap(s) read, %d entries in range", source["name"],
                len(found.read), len(entries))
    return fetch_id


def discover_gdelt(conn: Connection, fetcher: Fetcher, unit: Mapping[str, Any], run_id: str,
                   now: datetime) -> int | list[dict[str, Any]]:
    """Ask GDELT's DOC API (the unit's `target`) for the topic's articles in the source's
    language first seen in the unit's window, and store them like `discover_sitemap`;
    returns the fetch's id. A window whose answer hit GDELT's 250-record cap may hold more:
    it is not stored but returned as its two halves, new units of the same backfill (down
    to GDELT's 15 minutes; a full quarter of an hour is stored as it is, and logged).
    """
    source = staging.get_source(conn, unit["source_id"])
    start, end = unit["window_start"], unit["window_end"]
    url = gdelt.artlist_url(source["language"], start, end, endpoint=unit["target"])
    articles = gdelt.parse_artlist(fetcher.fetch(url, accept="application/json").body)
    if gdelt.is_full(articles):
        halves = gdelt.halves(start, end)
        if halves:
            LOGGER.info("%s: %d articles from %s to %s, GDELT's cap: split in two",
                        source["name"], len(articles), start, end)
            return [{**unit, "window_start": a, "window_end": b, "state": "pending"}
                    for a, b in halves]
        LOGGER.warning("%s: %d articles in GDELT's smallest window from %s: some may be "
                       "missing", source["name"], len(articles), start)
    entries = [(FeedEntry(url=a.url, title=a.title, summary="", published_at=a.seen_at,
                          guid=a.url, outlet=a.domain, published_precision="datetime"),
                bool(a.title))
               for a in articles
               if a.language in (None, source["language"]) and start <= a.seen_at < end]
    fetch_id = _store(conn, source, unit, run_id, url, entries, now)
    LOGGER.info("%s: %d GDELT articles from %s to %s", source["name"], len(entries), start,
                end)
    return fetch_id


def dated_search_url(url: str, start: datetime, end: datetime) -> str | None:
    """A search feed's URL asking for the items of the days [start, end) (Google News'
    `after:` and `before:` operators in its `q`, a day wider on each side: their edges
    are loose, and `discover_search` keeps the window's items only), or None when it has
    no `q` to date."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key == "q" for key, _ in params):
        return None
    last = (end - timedelta(microseconds=1)).date()
    dated = [(key, f"{value} after:{start.date() - timedelta(days=1)} "
                   f"before:{last + timedelta(days=1)}" if key == "q" else value)
             for key, value in params]
    return urlunsplit(parts._replace(query=urlencode(dated), fragment=""))


def discover_search(conn: Connection, fetcher: Fetcher, unit: Mapping[str, Any],
                    run_id: str, now: datetime) -> int:
    """Read a search feed dated to the unit's window (its `target`) and store its items
    published in the window, like a live fetch of the feed would (an opaque Google News
    link is matched to the publisher's entry); returns the fetch's id."""
    from scrapers.feeds import parse_feed_detailed

    source = staging.get_source(conn, unit["source_id"])
    start, end = unit["window_start"], unit["window_end"]
    result = fetcher.fetch(unit["target"], accept=FEED_ACCEPT)
    parsed = parse_feed_detailed(result.body, result.final_url,
                                 naive_zone=source_zone(source))
    entries = [(e, True) for e in parsed.entries
               if e.published_at is None or start <= e.published_at < end]
    fetch_id = _store(conn, source, unit, run_id, unit["target"], entries, now)
    LOGGER.info("%s: %d items from %s to %s", source["name"], len(entries), start, end)
    return fetch_id


def _store(conn: Connection, source: Mapping[str, Any], unit: Mapping[str, Any], run_id: str,
           read: str, entries: list[tuple[FeedEntry, bool]], now: datetime) -> int:
    """Store a unit's entries (each judged, or not) under a new feed fetch of its source,
    in one transaction with the unit's progress; returns the fetch's id."""
    fetch_id = staging.start_feed_fetch(conn, source["id"], run_id, read, now)
    candidates = 0
    for entry, judged in entries:
        with savepoint(conn, "discovered_entry"):
            candidates += store_entry(conn, dict(source), entry, fetch_id, now,
                                      discovered_via=unit["via"], judged=judged)[1]
    staging.finish_feed_fetch(conn, fetch_id, finished_at=now, http_status=200,
                              entries=len(entries), relevant=candidates,
                              new_entries=len(entries))
    state.mark_discovered(conn, unit, fetch_id, len(entries), candidates, now)
    conn.commit()
    return fetch_id
