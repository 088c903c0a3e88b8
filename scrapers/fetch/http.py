"""The one network seam: every byte Nichiro reads from the web comes through `fetch`.

Why hand-rolled redirects: each hop's host is checked against the private-address
policy before we connect, which a client's automatic redirect following would skip, and an
https page may not send us to plain http.
Bodies are streamed raw and decoded here, a bounded piece at a time, and cut at a size cap
*after* decoding: one compressed chunk of a gzip bomb would otherwise unpack in one call to
far more than the cap before any check, and stacked codings (`gzip, gzip`) multiply that
again, so only a single gzip, deflate or identity coding is accepted.
One deadline covers each fetch, headers and redirects included, and every connection goes to
an address judged when connecting (scrapers.fetch.transport).
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import httpx

from scrapers.config import HttpSettings, PrivateAllowance
from scrapers.fetch.transport import (
    PeerRefusedError,
    deadline_scope,
    guarded_transport,
    is_refused,
    shown,
)
from scrapers.models import FetchResult
from scrapers.text.urls import ascii_host

LOGGER = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ALLOWED_SCHEMES = frozenset({"http", "https"})
# 5xx and 429 may heal by themselves: worth an Airflow retry. 4xx will not.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Content-Encoding values accepted, and the coding each one means (RFC 9110: x-gzip is gzip).
CODINGS = {"identity": "identity", "gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}
# The most one zlib call may unpack: what can sit in memory beyond the size cap.
DECODE_STEP = 64 * 1024
GZIP_WBITS = zlib.MAX_WBITS | 16


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


class ContentEncodingError(FetchError):
    """The body's Content-Encoding is not a single gzip, deflate or identity coding."""

    retryable = False


def check_url_allowed(url: str, allowance: PrivateAllowance) -> None:
    """Refuse non-http(s) URLs and hosts resolving to a non-public address outside `allowance`.

    Runs before every connection (each redirect hop), so a refused address is never contacted;
    the connection itself judges the name again as it resolves it then (DNS rebinding).
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise BlockedURLError(url, f"scheme {parts.scheme!r} is not allowed")
    host = parts.hostname
    if not host:
        raise BlockedURLError(url, "URL has no host")
    if host.rstrip(".") in allowance.hosts:
        return
    try:  # the name httpx will connect to: IDNA 2008, not Python's IDNA 2003 codec
        host = ascii_host(host)
    except ValueError as exc:
        raise BlockedURLError(url, f"invalid international host: {exc}") from exc
    try:
        port = parts.port
    except ValueError as exc:  # a redirect's Location is the server's to write
        raise BlockedURLError(url, f"invalid port: {exc}") from exc
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NetworkError(url, f"cannot resolve host {host!r}: {exc}") from exc
    except UnicodeError as exc:  # a label over 63 characters, an empty one
        raise BlockedURLError(url, f"invalid host name: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if is_refused(address, allowance):
            raise BlockedURLError(
                url,
                f"host {host!r} resolves to non-public address {shown(address)} "
                "(add it to NICHIRO_ALLOW_PRIVATE_HOSTS to allow)",
            )


def check_redirect(source: str, target: str) -> None:
    """Refuse a redirect from https to plain http: what was asked for over TLS would come back
    readable and alterable by anyone on the path."""
    if urlsplit(source).scheme.lower() == "https" and urlsplit(target).scheme.lower() == "http":
        raise BlockedURLError(target, f"redirect from https to http refused (from {source})")


def content_coding(values: Iterable[str]) -> str | None:
    """The coding to undo for a response's Content-Encoding lines, or None when it is not
    exactly one accepted coding. Stacked codings are refused: each layer multiplies what a
    few bytes unpack to."""
    codings = [c.strip().lower() for value in values for c in value.split(",") if c.strip()]
    if not codings:
        return "identity"
    return CODINGS.get(codings[0]) if len(codings) == 1 else None


def _zlib_header(head: bytes) -> bool:
    """Whether a "deflate" body starts with the zlib wrapper RFC 9110 asks for (RFC 1950:
    method 8, header checksum); some servers send a bare deflate stream instead."""
    return len(head) >= 2 and head[0] & 0x0F == 8 and ((head[0] << 8) | head[1]) % 31 == 0


def decoded(raw: Iterable[bytes], coding: str) -> Iterator[bytes]:
    """The body under one content coding, in pieces of at most DECODE_STEP bytes once unpacked.

    Each zlib call is given a max_length (the input it did not reach waits in
    unconsumed_tail), so a chunk that would unpack to gigabytes is only unpacked as far as the
    caller reads: the caller's size cap bounds the memory. Input after the end of the
    compressed stream is ignored, as httpx ignores it. Raises zlib.error on a corrupt stream.
    """
    if coding == "identity":
        yield from raw
        return
    chunks = iter(raw)
    head = b""
    wbits = GZIP_WBITS
    if coding == "deflate":
        for chunk in chunks:  # the first two bytes tell whether it is zlib-wrapped
            head += chunk
            if len(head) >= 2:
                break
        wbits = zlib.MAX_WBITS if _zlib_header(head) else -zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    for chunk in itertools.chain([head], chunks):
        data = chunk
        while not inflater.eof:
            piece = inflater.decompress(data, DECODE_STEP)
            data = inflater.unconsumed_tail
            if piece:
                yield piece
            if not data and len(piece) < DECODE_STEP:
                break  # all input used and zlib had room to spare: nothing held back


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
            transport=guarded_transport(_tls_context(), self.settings.allowed_private_hosts),
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
        """GET `url`; a 304 comes back as a FetchResult with status 304 and no body.

        The total time limit covers the whole fetch, redirects included, but not the waits for
        our own per-host rate limit.
        """
        started = time.monotonic()
        headers: dict[str, str] = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        seen: set[str] = set()
        with deadline_scope(self.settings.total_timeout_s) as deadline:
            for _ in range(self.settings.max_redirects + 1):
                check_url_allowed(current, self.settings.allowed_private_hosts)
                seen.add(current)
                if self.throttle is not None:
                    with deadline.paused():
                        self.throttle(current)
                status, response_headers, body = self._get_once(current, headers)
                if status in REDIRECT_STATUSES:
                    location = response_headers.get("location")
                    if not location:
                        raise HTTPStatusError(current, status, "redirect without Location")
                    target = urljoin(current, location)
                    check_redirect(current, target)
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
        too_slow = (f"total time limit of {self.settings.total_timeout_s} s exceeded "
                    "(server sends too slowly)")
        with deadline_scope(self.settings.total_timeout_s) as deadline:
            try:
                with self._client.stream("GET", url, headers=dict(headers)) as response:
                    if response.status_code in REDIRECT_STATUSES or response.status_code >= 300:
                        return response.status_code, response.headers, b""
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > cap:
                        raise ResponseTooLargeError(
                            url, f"Content-Length {declared} exceeds the cap of {cap} bytes"
                        )
                    coding = self._coding(url, response.headers)
                    chunks: list[bytes] = []
                    size = 0
                    for piece in decoded(response.iter_raw(), coding):
                        if deadline.remaining() < 0:
                            raise NetworkError(url, too_slow)
                        size += len(piece)
                        if size > cap:
                            raise ResponseTooLargeError(
                                url, f"body exceeds the cap of {cap} bytes (after decoding)"
                            )
                        chunks.append(piece)
                    return response.status_code, response.headers, b"".join(chunks)
            except PeerRefusedError as exc:
                raise BlockedURLError(url, str(exc)) from exc
            except zlib.error as exc:
                raise NetworkError(url, f"DecodingError: {exc}") from exc
            except httpx.TimeoutException as exc:
                if deadline.passed:
                    raise NetworkError(url, too_slow) from exc
                raise NetworkError(url, f"timeout: {type(exc).__name__}") from exc
            except httpx.HTTPError as exc:  # connect errors, protocol errors
                raise NetworkError(url, f"{type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _coding(url: str, headers: httpx.Headers) -> str:
        values = headers.get_list("content-encoding")
        coding = content_coding(values)
        if coding is None:
            value = ", ".join(values)
            LOGGER.warning("refused %s: Content-Encoding %r is not a single gzip, deflate or "
                           "identity coding", url, value)
            raise ContentEncodingError(
                url, f"Content-Encoding {value!r} refused: only a single gzip, deflate or "
                "identity coding is accepted")
        return coding
