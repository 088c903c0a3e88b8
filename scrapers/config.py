"""Settings read from the environment, in one place.

Every knob an operator may turn is an environment variable with a documented default
(see README, "Environment variables"). Functions, not module constants, so tests and
tasks see the environment of the moment.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass

DEFAULT_DB_URL = "postgresql://postgres@127.0.0.1:5432/nichiro"
DEFAULT_USER_AGENT = (
    "NichiroBot/0.1 (+https://github.com/nichiro-monitor/nichiro; news monitor for "
    "Japan-Russia relations; contact: see URL)"
)


def db_url() -> str:
    """The news database as a libpq URL (`NICHIRO_DB_URL`)."""
    return os.environ.get("NICHIRO_DB_URL") or DEFAULT_DB_URL


def reader_role() -> str:
    """The analysts' read-only role (cluster-wide; created by `make reader-role`)."""
    return os.environ.get("NICHIRO_READER_ROLE") or "nichiro_reader"


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number") from exc


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_HOST_NAME = re.compile(
    r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)


@dataclass(frozen=True)
class PrivateAllowance:
    """Non-public destinations the fetcher may reach anyway (`NICHIRO_ALLOW_PRIVATE_HOSTS`).

    :param networks: addresses inside these networks are allowed.
    :param hosts: these exact host names may resolve to any address.
    """

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, value: str) -> PrivateAllowance:
        """A comma-separated list of IP addresses, CIDR networks and host names;
        `1`/`true`/`yes`/`on` means loopback only, `0`/`false`/`no`/`off`/empty means none."""
        value = value.strip().lower()
        if value in {"1", "true", "yes", "on"}:
            return LOOPBACK_ONLY
        if value in {"", "0", "false", "no", "off"}:
            return cls()
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in filter(None, (part.strip() for part in value.split(","))):
            try:
                networks.append(ipaddress.ip_network(entry))
                continue
            except ValueError as exc:
                problem = str(exc)
            name = entry.rstrip(".")
            if not _HOST_NAME.fullmatch(name) or name.rsplit(".", 1)[-1].isdigit():
                raise ValueError(
                    f"NICHIRO_ALLOW_PRIVATE_HOSTS: {entry!r} is not an IP address, CIDR "
                    f"network or host name ({problem})"
                )
            hosts.add(name)
        return cls(tuple(networks), frozenset(hosts))


LOOPBACK_ONLY = PrivateAllowance(
    (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
)


@dataclass(frozen=True)
class HttpSettings:
    """Limits of the one HTTP seam; see scrapers.fetch.http."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    allowed_private_hosts: PrivateAllowance = PrivateAllowance()  # default: none
    total_timeout_s: float = 120.0  # a whole response, however slowly it drips in

    @classmethod
    def from_env(cls) -> HttpSettings:
        return cls(
            user_agent=os.environ.get("NICHIRO_USER_AGENT") or DEFAULT_USER_AGENT,
            connect_timeout_s=_float("NICHIRO_CONNECT_TIMEOUT", 10.0),
            read_timeout_s=_float("NICHIRO_READ_TIMEOUT", 20.0),
            max_bytes=int(_float("NICHIRO_MAX_BYTES", 10 * 1024 * 1024)),
            max_redirects=int(_float("NICHIRO_MAX_REDIRECTS", 5)),
            allowed_private_hosts=PrivateAllowance.parse(
                os.environ.get("NICHIRO_ALLOW_PRIVATE_HOSTS", "")
            ),
            total_timeout_s=_float("NICHIRO_TOTAL_TIMEOUT", 120.0),
        )


def refetch_window_hours() -> float:
    """How long after first sight an article page is re-fetched to catch edits."""
    return _float("NICHIRO_REFETCH_HOURS", 72.0)


def backlog_hours() -> float:
    """How long an entry that never became an article (killed run, failed page) is retried."""
    return _float("NICHIRO_BACKLOG_HOURS", 72.0)


def max_articles_per_source() -> int:
    """Upper bound on article pages fetched from one feed in one run (bounded work)."""
    return int(_float("NICHIRO_MAX_ARTICLES_PER_SOURCE", 50))


def backfill_host_daily_pages() -> int:
    """Pages backfills fetch from one host per UTC day at most: history is loaded over
    days rather than at a rate a publisher would notice."""
    return int(_float("NICHIRO_BACKFILL_HOST_DAILY_PAGES", 500))


def max_shards() -> int:
    """Upper bound on a run's shards: the mapped fetch tasks it shows and pays for."""
    return int(_float("NICHIRO_MAX_SHARDS", 16))


def shard_min_sources() -> int:
    """Sources a shard holds at least (unless fewer are due): every mapped task instance
    pays seconds of Airflow's start-up and bookkeeping, so a shard should do more work
    than that."""
    return int(_float("NICHIRO_SHARD_MIN_SOURCES", 25))


def shard_threads() -> int:
    """Sources of one shard fetched at once."""
    return int(_float("NICHIRO_SHARD_THREADS", 4))


def raw_retention_days() -> float:
    """How long fetched HTML is kept for re-extraction (`make reprocess`)."""
    return _float("NICHIRO_RAW_RETENTION_DAYS", 180.0)


def staged_retention_days() -> float:
    """How long staging rows (the per-run audit trail: loaded, rejected, failed) are kept."""
    return _float("NICHIRO_STAGED_RETENTION_DAYS", 30.0)


def max_failed_source_share() -> float:
    """A run fails when more than this share of the sources it fetched failed."""
    return _float("NICHIRO_MAX_FAILED_SOURCE_SHARE", 0.5)


def feed_log_retention_days() -> float:
    """How long feed entries no feed lists any more, and feed fetch records, are kept."""
    return _float("NICHIRO_FEED_LOG_RETENTION_DAYS", 90.0)


def same_content_window_days() -> float:
    """An outlet republishing identical text within this window is the same story."""
    return _float("NICHIRO_SAME_CONTENT_DAYS", 7.0)


@dataclass(frozen=True)
class FetchSchedule:
    """Per-source cadence and backoff bounds; see scrapers.fetch.schedule."""

    min_interval_s: int = 15 * 60
    max_interval_s: int = 6 * 3600
    backoff_base_s: int = 5 * 60
    backoff_cap_s: int = 24 * 3600
    disable_after_failures: int = 20

    @classmethod
    def from_env(cls) -> FetchSchedule:
        return cls(
            min_interval_s=int(_float("NICHIRO_MIN_FETCH_INTERVAL_MINUTES", 15) * 60),
            max_interval_s=int(_float("NICHIRO_MAX_FETCH_INTERVAL_MINUTES", 360) * 60),
            backoff_base_s=int(_float("NICHIRO_BACKOFF_BASE_MINUTES", 5) * 60),
            backoff_cap_s=int(_float("NICHIRO_BACKOFF_CAP_HOURS", 24) * 3600),
            disable_after_failures=int(_float("NICHIRO_DISABLE_AFTER_FAILURES", 20)),
        )


def host_delay_seconds() -> float:
    """Minimum time between two requests to one host, across all tasks."""
    return _float("NICHIRO_HOST_DELAY_SECONDS", 3.0)


def robots_ttl_hours() -> float:
    """How long a host's robots.txt is trusted before it is read again."""
    return _float("NICHIRO_ROBOTS_TTL_HOURS", 24.0)
