"""History on day one: past articles found in publishers' sitemaps, GDELT and dated search
feeds, sent through the path live items take (relevance, page fetch, extraction, dedup,
load).

A backfill is a request (a date range, languages, sources, a page budget) cut into
units: one per source, way of discovery and time window. A unit is discovered
(`scrapers.discovery`: its entries in the window are stored as feed entries of one
`feed_fetches` row, marked `discovered_via`), then its candidate pages are fetched into
staging under the backfill's run id, and the load stores them like any run's. Each step
is recorded on the unit (`backfill_units`), so a rerun or a retry goes on where the last
one stopped, and a page staged once is not fetched again. The same request made again is
the same backfill (`BackfillRequest.id`).

Politeness is the live path's: robots.txt (for sitemaps and pages), the per-host spacing
kept in PostgreSQL, Retry-After. On top, a page budget per host and UTC day
(`config.backfill_host_daily_pages`) and the request's own `max_articles`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from scrapers import config, gdelt
from scrapers.db import backfill as state
from scrapers.db.connection import Connection
from scrapers.discovery import (
    dated_search_url,
    discover_gdelt,
    discover_search,
    discover_sitemap,
)
from scrapers.fetch.http import Fetcher
from scrapers.fetch.politeness import HostThrottle, RobotsPolicy
from scrapers.models import LANGUAGES, Source
from scrapers.pipeline import fetch_articles

LOGGER = logging.getLogger(__name__)

#: Ways of discovery this module implements.
VIAS: tuple[str, ...] = ("gdelt", "search", "sitemap")
#: Staging and feed fetches of a backfill are filed under this prefix and its id.
RUN_PREFIX = "backfill:"
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
    """The request's units: per enabled outlet feed chosen, its site's sitemaps over the
    whole range (a search feed has no site of its own); per GDELT source chosen, one day
    of the range each (a day that hits GDELT's cap is split when it is read); per search
    feed chosen that has a query to date, one day each.

    :raises ValueError: a source named in the request is not in the catalog.
    """
    missing = sorted(set(request.sources) - {s.name for s in sources})
    if missing:
        raise ValueError(f"backfill request: no source named {missing} in the catalog")
    start, end = request.window
    chosen = [s for s in sources
              if s.enabled and s.name in source_ids
              and (not request.languages or s.language in request.languages)
              and (not request.sources or s.name in request.sources)]
    units = [{"source_id": source_ids[s.name], "via": "sitemap", "window_start": start,
              "window_end": end, "target": s.site_url}
             for s in chosen if s.kind == "rss" and "sitemap" in request.via]
    units += [{"source_id": source_ids[s.name], "via": "gdelt", "window_start": a,
               "window_end": b, "target": s.url}
              for s in chosen if s.kind == "gdelt" and "gdelt" in request.via
              for a, b in gdelt.windows(start, end, timedelta(days=1))]
    units += [{"source_id": source_ids[s.name], "via": "search", "window_start": a,
               "window_end": b, "target": dated}
              for s in chosen if s.kind == "search" and "search" in request.via
              for a, b in gdelt.windows(start, end, timedelta(days=1))
              if (dated := dated_search_url(s.url, a, b)) is not None]
    return units


def fetch_unit_pages(conn: Connection, fetcher: Fetcher, unit: Mapping[str, Any],
                     request: BackfillRequest, now: datetime) -> bool:
    """Fetch the unit's candidate pages not staged yet, within the request's page budget
    and each host's daily one; returns whether the unit is done."""
    run_id, fetch_id = request.run_id, unit["fetch_id"]
    budget = request.max_articles - state.staged_pages(conn, run_id)
    if budget > 0:
        fetch_articles(conn, unit["source_id"], run_id, fetch_id, fetcher, now,
                       limit=budget, backfill=True,
                       host_daily_pages=config.backfill_host_daily_pages())
    else:
        LOGGER.info("%s: the request's page budget is spent", unit["source_name"])
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
    work = [dict(unit) for unit in units]
    with _gdelt_fetcher(fetcher) as api:
        while work:
            current = work.pop(0)
            try:
                if current["state"] in ("pending", "failed"):
                    if current["via"] == "gdelt":
                        found = discover_gdelt(conn, api, current, request.run_id, now)
                    elif current["via"] == "search":
                        found = discover_search(conn, fetcher, current, request.run_id, now)
                    else:
                        found = discover_sitemap(conn, fetcher, robots, current,
                                                 request.run_id, now)
                    if isinstance(found, list):  # split: the halves replace the unit
                        state.replace_unit(conn, current, found, now)
                        conn.commit()
                        work[:0] = found
                        continue
                    current.update(state="discovered", fetch_id=found)
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


@contextmanager
def _gdelt_fetcher(fetcher: Fetcher) -> Iterator[Fetcher]:
    """The client GDELT is asked through: GDELT asks for one request per 5 s from an
    address, more than the usual per-host spacing, kept in PostgreSQL like it."""
    throttle = fetcher.throttle
    if not isinstance(throttle, HostThrottle):
        yield fetcher  # no spacing at all (tests on loopback)
        return
    with Fetcher(fetcher.settings, throttle=HostThrottle(
            throttle.conn, max(throttle.delay_s, gdelt.MIN_INTERVAL_S))) as api:
        yield api

