"""The socket layer under `scrapers.fetch.http.Fetcher`: where a connection may go, and until when.

Where: `check_url_allowed` judges a URL's host before each request, but httpx resolves the name
again when it connects, and a name may answer differently the second time (DNS rebinding).
`GuardedBackend` resolves the name itself when connecting, judges every address by the same
policy, and connects only to an address it has judged.

Until when: httpx's timeouts bound each socket operation, not a request, so a server that sends
its headers a byte at a time restarts the read timeout with every byte. Each socket operation
of a fetch (connect, TLS handshake, every read and write) is given at most the time left until
the fetch's `Deadline`, so the fetch ends at its deadline whichever part of it is slow. The
limit rides on the socket timeouts rather than on a watchdog thread that closes the socket: no
second thread touches a connection the pool may hand to the next request, and the connect and
the handshake are bounded too. Name resolution (getaddrinfo) takes no timeout and stays outside.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import httpcore
import httpx

from scrapers.config import PrivateAllowance

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
# Not public, though `is_global` says so on Python 3.11: IPv4-compatible IPv6 (deprecated)
# and local-use NAT64 (RFC 8215).
ALSO_NON_PUBLIC = (ipaddress.IPv6Network("::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def judged_as(address: IPAddress) -> IPAddress:
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


def is_refused(address: IPAddress, allowance: PrivateAllowance) -> bool:
    """Whether `address` is non-public and outside `allowance`."""
    judged = judged_as(address)
    if any(address in net or judged in net for net in allowance.networks):
        return False
    return (not judged.is_global or judged.is_multicast
            or any(address in net for net in ALSO_NON_PUBLIC))


def shown(address: IPAddress) -> str:
    """The address as error messages name it, with the IPv4 address it stands for."""
    judged = judged_as(address)
    return f"{address} (IPv4 {judged})" if judged != address else str(address)


class PeerRefusedError(Exception):
    """When connecting, the host resolved to an address the policy refuses."""


class Deadline:
    """The wall-clock end (time.monotonic) of one fetch, shared by all its socket operations."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.passed = False  # set when an operation ran out of time because of this deadline

    def remaining(self) -> float:
        return self.at - time.monotonic()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Time spent inside is not the server's (waiting for our own per-host rate limit), so
        it does not count against the deadline."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.at += time.monotonic() - started


_CURRENT: ContextVar[Deadline | None] = ContextVar("nichiro_fetch_deadline", default=None)


@contextmanager
def deadline_scope(seconds: float) -> Iterator[Deadline]:
    """The deadline of the fetch in progress in this context, or a new one of `seconds`."""
    current = _CURRENT.get()
    if current is not None:
        yield current
        return
    deadline = Deadline(seconds)
    token = _CURRENT.set(deadline)
    try:
        yield deadline
    finally:
        _CURRENT.reset(token)


T = TypeVar("T")


def bounded_call(
    operation: Callable[[float | None], T], timeout: float | None,
    timeout_error: type[Exception],
) -> T:
    """`operation(timeout)`, its timeout cut to what is left of the current fetch's deadline.

    :param timeout_error: the httpcore timeout the operation raises, raised here too when the
        deadline has already passed.
    """
    deadline = _CURRENT.get()
    if deadline is None:
        return operation(timeout)
    left = deadline.remaining()
    if left <= 0:
        deadline.passed = True
        raise timeout_error("the fetch's total time limit has passed")
    if timeout is not None and timeout <= left:
        return operation(timeout)
    try:
        return operation(left)
    except timeout_error:
        deadline.passed = True
        raise


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation ends by the current fetch's deadline (a pooled
    connection serves several fetches: the deadline is looked up per operation)."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return bounded_call(lambda t: self._stream.read(max_bytes, t), timeout,
                            httpcore.ReadTimeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        bounded_call(lambda t: self._stream.write(buffer, t), timeout, httpcore.WriteTimeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = bounded_call(lambda t: self._stream.start_tls(ssl_context, server_hostname, t),
                           timeout, httpcore.ConnectTimeout)
        return DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses judged when connecting, within the fetch's deadline."""

    def __init__(self, allowance: PrivateAllowance) -> None:
        self.allowance = allowance

    def addresses(self, host: str, port: int) -> list[str]:
        """Where to connect for `host`. An address literal as it stands: nothing resolves it,
        so it is the address check_url_allowed judged. A host name the allowance lists as it
        stands: it may resolve anywhere. Any other name: every address it resolves to now,
        refused if any is refused (as check_url_allowed does)."""
        name = host.strip("[]")
        try:
            ipaddress.ip_address(name)
        except ValueError:
            pass
        else:
            return [name]
        if name.rstrip(".").lower() in self.allowance.hosts:
            return [name]
        try:
            infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve host {name!r}: {exc}") from exc
        found: list[str] = []
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if is_refused(address, self.allowance):
                raise PeerRefusedError(
                    f"host {name!r} resolves to non-public address {shown(address)} when "
                    "connecting (add it to NICHIRO_ALLOW_PRIVATE_HOSTS to allow)"
                )
            if str(address) not in found:
                found.append(str(address))
        return found

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Tries each judged address in turn (as socket.create_connection does with all)."""
        failure: Exception | None = None
        for address in self.addresses(host, port):
            try:
                stream = self._connect_to(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return DeadlineStream(stream)
        raise failure or httpcore.ConnectError(f"no address for host {host!r}")

    def _connect_to(
        self, address: str, port: int, timeout: float | None, local_address: str | None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None,
    ) -> httpcore.NetworkStream:
        connect = super().connect_tcp
        return bounded_call(lambda t: connect(address, port, t, local_address, socket_options),
                            timeout, httpcore.ConnectTimeout)


def guarded_transport(
    ssl_context: ssl.SSLContext, allowance: PrivateAllowance
) -> httpx.HTTPTransport:
    """httpx's own transport (its error mapping, its response streams) over a GuardedBackend.

    httpx takes no network backend, so the transport's connection pool is replaced by one
    built as httpx builds it (its default limits), around ours.
    """
    transport = httpx.HTTPTransport(verify=ssl_context, trust_env=False)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=GuardedBackend(allowance),
    )
    return transport
