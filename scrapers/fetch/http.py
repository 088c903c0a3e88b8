"""The one network seam: every byte Nichiro reads from the web comes through `fetch`.

Why hand-rolled redirects: each hop's host is checked against the private-address
policy before we connect, which a client's automatic redirect following would skip.
Bodies are streamed and cut at a size cap *after* content decoding, so a gzip bomb
stops at the cap too.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import httpx

from scrapers.config import HttpSettings, PrivateAllowance
from scrapers.models import FetchResult

LOGGER = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ALLOWED_SCHEMES = frozenset({"http", "https"})
# 5xx and 429 may heal by themselves: worth an Airflow retry. 4xx will not.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class FetchError(Exception):
    """A fetch that produced no usable response."""

    retryable: bool = True

    def __init__(self, url: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{message} [{url}]")
        self.url = url
        self.status = status


class BlockedURLError(FetchError):
    """The URL's scheme or address is not allowed (private hosts, file:, ...)."""

    retryable = False


class HTTPStatusError(FetchError):
    """The server answered with an error status (Retry-After kept when it sent one)."""

    def __init__(
        self, url: str, status: int, reason: str = "", retry_after_s: int | None = None
    ) -> None:
        detail = f" (Retry-After {retry_after_s} s)" if retry_after_s is not None else ""
        super().__init__(url, f"HTTP {status} {reason}".strip() + detail, status)
        self.retryable = status in RETRYABLE_STATUSES
        self.retry_after_s = retry_after_s


def parse_retry_after(value: str | None, now: datetime | None = None) -> int | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0, int((when - (now or datetime.now(UTC))).total_seconds()))


class ResponseTooLargeError(FetchError):
    """The body passed the configured size cap."""

    retryable = False


class TooManyRedirectsError(FetchError):
    """More redirects than allowed, or a redirect loop."""

    retryable = False


class NetworkError(FetchError):
    """Connect/read timeout, refused connection, DNS failure, broken transfer."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
# Not public, though `is_global` says so on Python 3.11: IPv4-compatible IPv6 (deprecated)
# and local-use NAT64 (RFC 8215).
ALSO_NON_PUBLIC = (ipaddress.IPv6Network("::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def _judged_as(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped ::ffff:0:0/96, NAT64
    64:ff9b::/96, 6to4 2002::/16), else the address itself: what is judged."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def check_url_allowed(url: str, allowance: PrivateAllowance) -> None:
    """Refuse non-http(s) URLs and hosts resolving to a non-public address outside `allowance`.

    Runs before every connection (each redirect hop), so a refused address is never contacted.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise BlockedURLError(url, f"scheme {parts.scheme!r} is not allowed")
    host = parts.hostname
    if not host:
        raise BlockedURLError(url, "URL has no host")
    if host.rstrip(".") in allowance.hosts:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NetworkError(url, f"cannot resolve host {host!r}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        judged = _judged_as(address)
        if any(address in net or judged in net for net in allowance.networks):
            continue
        if (not judged.is_global or judged.is_multicast
                or any(address in net for net in ALSO_NON_PUBLIC)):
            shown = f"{address} (IPv4 {judged})" if judged != address else str(address)
            raise BlockedURLError(
                url,
                f"host {host!r} resolves to non-public address {shown} "
                "(add it to NICHIRO_ALLOW_PRIVATE_HOSTS to allow)",
            )


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA bundle is slow, and httpx would
    pay it again for every client (every fetch task; docs/benchmarks.md, "The unchanged
    second run"). The same CA bundle as httpx's default (certifi)."""
    return httpx.create_ssl_context()


class Fetcher:
    """An HTTP client with Nichiro's limits; one per task, closed after use."""

    def __init__(
        self, settings: HttpSettings | None = None,
        throttle: Callable[[str], None] | None = None,
    ) -> None:
        """`throttle(url)` is called before every request (each redirect hop too) and may
        sleep: the per-host rate limit (scrapers.fetch.politeness.HostThrottle) plugs in here."""
        self.settings = settings or HttpSettings.from_env()
        self.throttle = throttle
        timeout = httpx.Timeout(
            self.settings.read_timeout_s, connect=self.settings.connect_timeout_s
        )
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={
                "User-Agent": self.settings.user_agent,
                "Accept-Encoding": "gzip, deflate",
            },
            trust_env=False,
            verify=_tls_context(),
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
    ) -> FetchResult:
        """GET `url`; a 304 comes back as a FetchResult with status 304 and no body."""
        started = time.monotonic()
        headers: dict[str, str] = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        seen: set[str] = set()
        for _ in range(self.settings.max_redirects + 1):
            check_url_allowed(current, self.settings.allowed_private_hosts)
            seen.add(current)
            if self.throttle is not None:
                self.throttle(current)
            status, response_headers, body = self._get_once(current, headers)
            if status in REDIRECT_STATUSES:
                location = response_headers.get("location")
                if not location:
                    raise HTTPStatusError(current, status, "redirect without Location")
                target = urljoin(current, location)
                if target in seen:
                    raise TooManyRedirectsError(url, f"redirect loop at {target}")
                current = target
                continue
            if status == 304:
                body = b""
            elif status >= 400:
                raise HTTPStatusError(
                    current, status,
                    retry_after_s=parse_retry_after(response_headers.get("retry-after")),
                )
            return FetchResult(
                url=url,
                final_url=current,
                status=status,
                body=body,
                content_type=response_headers.get("content-type"),
                etag=response_headers.get("etag"),
                last_modified=response_headers.get("last-modified"),
                elapsed_s=time.monotonic() - started,
            )
        raise TooManyRedirectsError(url, f"more than {self.settings.max_redirects} redirects")

    def _get_once(
        self, url: str, headers: Mapping[str, str]
    ) -> tuple[int, httpx.Headers, bytes]:
        cap = self.settings.max_bytes
        deadline = time.monotonic() + self.settings.total_timeout_s
        try:
            with self._client.stream("GET", url, headers=dict(headers)) as response:
                if response.status_code in REDIRECT_STATUSES or response.status_code >= 300:
                    return response.status_code, response.headers, b""
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > cap:
                    raise ResponseTooLargeError(
                        url, f"Content-Length {declared} exceeds the cap of {cap} bytes"
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    if time.monotonic() > deadline:  # a read timeout never fires on a drip
                        raise NetworkError(
                            url, f"total time limit of {self.settings.total_timeout_s} s "
                            "exceeded (server sends too slowly)")
                    size += len(chunk)
                    if size > cap:
                        raise ResponseTooLargeError(
                            url, f"body exceeds the cap of {cap} bytes (after decoding)"
                        )
                    chunks.append(chunk)
                return response.status_code, response.headers, b"".join(chunks)
        except httpx.TimeoutException as exc:
            raise NetworkError(url, f"timeout: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:  # connect errors, protocol errors, decoding errors
            raise NetworkError(url, f"{type(exc).__name__}: {exc}") from exc
