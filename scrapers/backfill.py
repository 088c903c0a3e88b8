"""History on day one: past articles found in publishers' sitemaps, sent through the path
live items take (relevance, page fetch, extraction, dedup, load).

A backfill is a request (a date range, languages, sources, a page budget) cut into
units: one per source, way of discovery and time window. A unit is discovered (its
sitemap entries in the window are stored as feed entries of one `feed_fetches` row,
marked `discovered_via`), then its candidate pages are fetched into staging under the
backfill's run id, and the load stores them like any run's. Each step is recorded on the
unit (`backfill_units`), so a rerun or a retry goes on where the last one stopped, and a
page staged once is not fetched again. The same request made again is the same backfill
(`BackfillRequest.id`).

Politeness is the live path's: robots.txt (for sitemaps and pages), the per-host spacing
kept in PostgreSQL, Retry-After. On top, a page budget per host and UTC day
(`config.backfill_host_daily_pages`) and the request's own `max_articles`.

Only publisher sitemaps are read for now; GDELT (`scrapers.gdelt`) and dated search feeds
are to follow (issue 23).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from scrapers import config, sitemaps
from scrapers.catalog import source_zone
from scrapers.db import backfill as state
from scrapers.db import staging
from scrapers.db.connection import Connection, savepoint
from scrapers.fetch.http import Fetcher, HTTPStatusError
from scrapers.fetch.politeness import RobotsPolicy
from scrapers.models import LANGUAGES, FeedEntry, Source
from scrapers.pipeline import fetch_articles, store_entry

LOGGER = logging.getLogger(__name__)

#: Ways of discovery this module implements.
VIAS: tuple[str, ...] = ("sitemap",)
#: Staging and feed fetches of a backfill are filed under this prefix and its id.
RUN_PREFIX = "backfill:"
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


@dataclass(frozen=True)
class BackfillRequest:
    """What to backfill: publication days `start`..`end` (inclusive, UTC), languages and
    sources by name (empty: all), and how many pages to fetch at most."""

    start: date
    end: date
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    max_articles: int = 1000
    via: tuple[str, ...] = VIAS

    def __post_init__(self) -> None:
        problems = []
        if self.end < self.start:
            problems.append(f"the range ends ({self.end}) before it starts ({self.start})")
        unknown = sorted(set(self.languages) - set(LANGUAGES))
        if unknown:
            problems.append(f"unknown language(s) {unknown} (expected {list(LANGUAGES)})")
        ways = sorted(set(self.via) - set(VIAS))
        if ways or not self.via:
            problems.append(f"unknown way(s) of discovery {ways} (expected {list(VIAS)})")
        if self.max_articles < 1:
            problems.append(f"max_articles must be at least 1, not {self.max_articles}")
        if problems:
            raise ValueError("backfill request: " + "; ".join(problems))

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> BackfillRequest:
        """From the DAG's params or the CLI: dates as YYYY-MM-DD, lists or comma lists.

        :raises ValueError: with every problem named.
        """
        def listed(key: str) -> tuple[str, ...]:
            value = params.get(key) or ()
            items = value.split(",") if isinstance(value, str) else value
            return tuple(sorted({str(v).strip() for v in items if str(v).strip()}))

        try:
            start = date.fromisoformat(str(params["from"]))
            end = date.fromisoformat(str(params["to"]))
        except KeyError as exc:
            raise ValueError(f"backfill request: {exc.args[0]!r} is required "
                             "(a date, YYYY-MM-DD)") from None
        except ValueError as exc:
            raise ValueError(f"backfill request: {exc}") from None
        return cls(start, end, listed("languages"), listed("sources"),
                   int(params.get("max_articles") or 1000), listed("via") or VIAS)

    @property
    def id(self) -> str:
        """Stable for the same range, languages, sources and ways (not the page budget:
        asking again with a larger one goes on with the same backfill)."""
        key = json.dumps([self.start.isoformat(), self.end.isoformat(), sorted(self.languages),
                          sorted(self.sources), sorted(self.via)])
        return hashlib.sha256(key.encode()).hexdigest()[:12]

    @property
    def run_id(self) -> str:
        return RUN_PREFIX + self.id

    @property
    def window(self) -> tuple[datetime, datetime]:
        """[start, end) as aware UTC datetimes."""
        return (datetime.combine(self.start, time(), UTC),
                datetime.combine(self.end + timedelta(days=1), time(), UTC))

    def as_json(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(),
                "languages": list(self.languages), "sources": list(self.sources),
                "max_articles": self.max_articles, "via": list(self.via)}


def plan_units(request: BackfillRequest, sources: Sequence[Source],
               source_ids: Mapping[str, int]) -> list[dict[str, Any]]:
    """The request's units: one per enabled outlet feed chosen (a search feed has no site
    of its own), reading its site's sitemaps over the whole range.

    :raises ValueError: a source named in the request is not in the catalog.
    """
    missing = sorted(set(request.sources) - {s.name for s in sources})
    if missing:
        raise ValueError(f"backfill request: no source named {missing} in the catalog")
    start, end = request.window
    return [{"source_id": source_ids[s.name], "via": "sitemap", "window_start": start,
             "window_end": end, "target": s.site_url}
            for s in sources
            if s.enabled and s.kind == "rss" and s.name in source_ids
            and (not request.languages or s.language in request.languages)
            and (not request.sources or s.name in request.sources)]


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


def discover_unit(conn: Connection, fetcher: Fetcher, robots: RobotsPolicy,
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
    fetch_id = staging.start_feed_fetch(conn, source["id"], run_id, site, now)
    candidates = 0
    for entry, judged in entries:
        with savepoint(conn, "sitemap_entry"):
            candidates += store_entry(conn, source, entry, fetch_id, now,
                                      discovered_via="sitemap", judged=judged)[1]
    staging.finish_feed_fetch(conn, fetch_id, finished_at=now, http_status=200,
                              entries=len(entries), relevant=candidates,
                              new_entries=len(entries))
    state.mark_discovered(conn, unit, fetch_id, len(entries), candidates, now)
    conn.commit()
    LOGGER.info("%s: %d sitemap(s) read, %d entries in range, %d candidates",
                source["name"], len(found.read), len(entries), candidates)
    return fetch_id


def fetch_unit_pages(conn: Connection, fetcher: Fetcher, unit: Mapping[str, Any],
                     request: BackfillRequest, now: datetime) -> bool:
    """Fetch the unit's candidate pages not staged yet, within the request's page budget
    and the host's daily one; returns whether the unit is done."""
    run_id, fetch_id = request.run_id, unit["fetch_id"]
    host = urlsplit(unit["target"]).netloc.lower()
    day_start = datetime.combine(now.astimezone(UTC).date(), time(), UTC)
    budget = min(request.max_articles - state.staged_pages(conn, run_id),
                 config.backfill_host_daily_pages() - state.host_pages_since(conn, host, day_start))
    if budget > 0:
        fetch_articles(conn, unit["source_id"], run_id, fetch_id, fetcher, now,
                       limit=budget, backfill=True)
    else:
        LOGGER.info("%s: page budget spent (the request's or %s's for today); the unit "
                    "goes on in a later run", unit["source_name"], host)
    done = state.unstaged_candidates(conn, run_id, fetch_id) == 0
    state.mark_pages(conn, unit, state.staged_pages(conn, run_id, fetch_id), done, now)
    conn.commit()
    return done


def run_units(conn: Connection, fetcher: Fetcher, units: Sequence[Mapping[str, Any]],
              request: BackfillRequest, now: datetime) -> dict[str, int]:
    """Discover and fetch each unit in turn; a unit that fails is recorded and the others
    go on. Returns counts of units by what happened."""
    robots = RobotsPolicy(conn, fetcher, fetcher.settings.user_agent)
    counts = {"done": 0, "waiting": 0, "failed": 0}
    for unit in units:
        current = dict(unit)
        try:
            if current["state"] in ("pending", "failed"):
                fetch_id = discover_unit(conn, fetcher, robots, current, request.run_id, now)
                current.update(state="discovered", fetch_id=fetch_id)
            done = fetch_unit_pages(conn, fetcher, current, request, now)
            counts["done" if done else "waiting"] += 1
        except Exception as exc:
            if getattr(conn, "closed", False):  # the database is gone: stop the task
                raise
            conn.rollback()
            message = f"{type(exc).__name__}: {exc}"
            LOGGER.error("%s: backfill unit failed: %s", current["source_name"], message)
            state.mark_failed(conn, current, message, now)
            conn.commit()
            counts["failed"] += 1
    return counts

