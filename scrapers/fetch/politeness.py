"""Politeness towards the sites we read: robots.txt and a per-host request rate.

Both keep their state in PostgreSQL, so they hold across parallel mapped tasks and
worker processes: a host's robots.txt is read once per TTL for everyone, and each request
reserves the host's next free slot with one atomic UPDATE before it starts.

robots.txt is read as RFC 9309 says, by protego (Scrapy's parser): the longest matching
rule wins, with `*` and `$` (the standard library applies the first matching rule, so an
`Allow` under a shorter `Disallow` is lost). A 4xx robots.txt allows everything. An
unreachable, 5xx or 429 one makes the site's pages *unavailable* for now: they are not
fetched, but they are not refused either (the page is staged as a retryable error), and the
answer is not cached, so the next run asks again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from protego import Protego

from scrapers import config
from scrapers.db.connection import Connection
from scrapers.fetch.http import FetchError, HTTPStatusError

LOGGER = logging.getLogger(__name__)


def host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"


class HostThrottle:
    """Waits until this host's next slot; pass as `Fetcher(throttle=...)`."""

    def __init__(
        self, conn: Connection, delay_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.conn = conn
        self.delay_s = config.host_delay_seconds() if delay_s is None else delay_s
        self._sleep = sleep

    def __call__(self, url: str) -> None:
        if self.delay_s <= 0:
            return
        host = host_key(url)
        with self.conn.cursor() as cur:
            # Reserve: my slot is max(now, next_allowed); the next one is delay later.
            cur.execute(
                """INSERT INTO host_slots AS h (host, next_allowed_at)
                   VALUES (%s, clock_timestamp() + make_interval(secs => %s))
                   ON CONFLICT (host) DO UPDATE SET next_allowed_at =
                       greatest(h.next_allowed_at, clock_timestamp())
                       + make_interval(secs => %s)
                   RETURNING extract(epoch FROM (next_allowed_at - clock_timestamp()))""",
                (host, self.delay_s, self.delay_s),
            )
            wait = float(cur.fetchone()[0]) - self.delay_s
        self.conn.commit()
        if wait > 0:
            self._sleep(wait)


Verdict = Literal["allowed", "disallowed", "unavailable"]


def unavailable(status: int | None) -> bool:
    """A robots.txt answer that says nothing about the rules: no answer, 5xx or 429."""
    return status is None or status >= 500 or status == 429


class RobotsPolicy:
    """Answers whether our User-Agent may fetch a URL, with robots.txt cached per host."""

    def __init__(self, conn: Connection, fetcher: Any, user_agent: str) -> None:
        self.conn = conn
        self.fetcher = fetcher
        self.agent = user_agent.split("/", 1)[0]  # product token, e.g. "NichiroBot"
        self._parsers: dict[str, Protego | None] = {}

    def verdict(self, url: str, now: datetime | None = None) -> Verdict:
        """"allowed", "disallowed", or "unavailable" while the site's robots.txt is."""
        parser = self._parser(url, now)
        if parser is None:
            return "unavailable"
        return "allowed" if parser.can_fetch(url, self.agent) else "disallowed"

    def allowed(self, url: str, now: datetime | None = None) -> bool:
        return self.verdict(url, now) == "allowed"

    def sitemaps(self, url: str, now: datetime | None = None) -> list[str]:
        """The sitemaps the robots.txt of `url`'s host names (absolute, once each)."""
        from scrapers.sitemaps import absolute_sitemaps

        parser = self._parser(url, now)
        return [] if parser is None else absolute_sitemaps(parser.sitemaps, f"{host_key(url)}/")

    def _parser(self, url: str, now: datetime | None) -> Protego | None:
        host = host_key(url)
        if host not in self._parsers:
            self._parsers[host] = self._load(host, now or datetime.now(UTC))
        return self._parsers[host]

    def _load(self, host: str, now: datetime) -> Protego | None:
        ttl = timedelta(hours=config.robots_ttl_hours())
        with self.conn.cursor() as cur:
            cur.execute("SELECT fetched_at, status, body FROM robots_cache WHERE host = %s",
                        (host,))
            row = cur.fetchone()
        if row is None or row[0] < now - ttl:
            status, body = self._fetch(host)
        else:
            status, body = row[1], row[2]
        if not unavailable(status) and (row is None or row[0] < now - ttl):
            # An unavailable robots.txt is not cached: the next run asks again.
            with self.conn.cursor() as cur:
                cur.execute(
                    """INSERT INTO robots_cache (host, fetched_at, status, body)
                       VALUES (%s, %s, %s, %s)
                       ON CONFLICT (host) DO UPDATE SET fetched_at = EXCLUDED.fetched_at,
                           status = EXCLUDED.status, body = EXCLUDED.body""",
                    (host, now, status, body),
                )
            self.conn.commit()
        if unavailable(status):
            return None
        assert status is not None
        return Protego.parse("" if status >= 400 else body)  # 4xx: no rules, all allowed

    def _fetch(self, host: str) -> tuple[int | None, str]:
        try:
            result = self.fetcher.fetch(f"{host}/robots.txt", accept="text/plain")
        except HTTPStatusError as exc:
            return exc.status, ""
        except FetchError as exc:
            LOGGER.warning("robots.txt of %s unreachable (%s): its pages wait for now",
                           host, exc)
            return None, ""
        return result.status, result.body[:512_000].decode("utf-8", "replace")
