"""Politeness towards the sites we read: robots.txt and a per-host request rate.

Both keep their state in PostgreSQL, so they hold across parallel mapped tasks and
worker processes: a host's robots.txt is read once per TTL for everyone, and each request
reserves the host's next free slot with one atomic UPDATE before it starts.
robots.txt is parsed by the standard library's RFC 9309 parser; as the RFC says, a 4xx
robots.txt allows everything and an unreachable or 5xx one disallows everything (for now).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

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


class RobotsPolicy:
    """Answers whether our User-Agent may fetch a URL, with robots.txt cached per host."""

    def __init__(self, conn: Connection, fetcher: Any, user_agent: str) -> None:
        self.conn = conn
        self.fetcher = fetcher
        self.agent = user_agent.split("/", 1)[0]  # product token, e.g. "NichiroBot"
        self._parsers: dict[str, RobotFileParser] = {}

    def allowed(self, url: str, now: datetime | None = None) -> bool:
        host = host_key(url)
        parser = self._parsers.get(host)
        if parser is None:
            parser = self._parsers[host] = self._load(host, now or datetime.now(UTC))
        return parser.can_fetch(self.agent, url)

    def _load(self, host: str, now: datetime) -> RobotFileParser:
        ttl = timedelta(hours=config.robots_ttl_hours())
        with self.conn.cursor() as cur:
            cur.execute("SELECT fetched_at, status, body FROM robots_cache WHERE host = %s",
                        (host,))
            row = cur.fetchone()
        if row is None or row[0] < now - ttl:
            status, body = self._fetch(host)
        else:
            status, body = row[1], row[2]
        if status is not None and (row is None or row[0] < now - ttl):
            # An unreachable robots.txt is not cached: the next run asks again.
            with self.conn.cursor() as cur:
                cur.execute(
                    """INSERT INTO robots_cache (host, fetched_at, status, body)
                       VALUES (%s, %s, %s, %s)
                       ON CONFLICT (host) DO UPDATE SET fetched_at = EXCLUDED.fetched_at,
                           status = EXCLUDED.status, body = EXCLUDED.body""",
                    (host, now, status, body),
                )
            self.conn.commit()
        parser = RobotFileParser()
        if status is None or status >= 500:
            parser.parse(["User-agent: *", "Disallow: /"])
        elif status >= 400:
            parser.parse([])  # no rules: everything allowed
        else:
            parser.parse(body.splitlines())
        return parser

    def _fetch(self, host: str) -> tuple[int | None, str]:
        try:
            result = self.fetcher.fetch(f"{host}/robots.txt", accept="text/plain")
        except HTTPStatusError as exc:
            return exc.status, ""
        except FetchError as exc:
            LOGGER.warning("robots.txt of %s unreachable (%s): not fetching there for now",
                           host, exc)
            return None, ""
        return result.status, result.body[:512_000].decode("utf-8", "replace")
