"""The HTTP seam against real servers on 127.0.0.1."""

from __future__ import annotations

import gzip
import ipaddress
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scrapers.config import LOOPBACK_ONLY, HttpSettings, PrivateAllowance
from scrapers.fetch.http import (
    BlockedURLError,
    Fetcher,
    HTTPStatusError,
    NetworkError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    check_url_allowed,
)

pytestmark = [pytest.mark.integration, pytest.mark.clock]

BIG = b"x" * 200_000


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self.server.seen_headers.append(dict(self.headers))  # type: ignore[attr-defined]
        if self.path == "/ok":
            self._reply(200, b"hello", {"Content-Type": "text/plain", "ETag": '"v1"',
                                        "Last-Modified": "Wed, 25 Nov 2026 10:00:00 GMT"})
        elif self.path == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                self._reply(304, headers={"ETag": '"v1"'})
            else:
                self._reply(200, b"fresh", {"ETag": '"v1"'})
        elif self.path == "/gzip":
            self._reply(200, gzip.compress(b"zipped body"), {"Content-Encoding": "gzip"})
        elif self.path == "/bomb":
            self._reply(200, gzip.compress(b"\0" * 5_000_000), {"Content-Encoding": "gzip"})
        elif self.path == "/big":
            self._reply(200, BIG)
        elif self.path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(20):
                chunk = b"y" * 10_000
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/redirect":
            self._reply(302, headers={"Location": "/ok"})
        elif self.path == "/loop-a":
            self._reply(301, headers={"Location": "/loop-b"})
        elif self.path == "/loop-b":
            self._reply(301, headers={"Location": "/loop-a"})
        elif self.path.startswith("/chain/"):
            n = int(self.path.rsplit("/", 1)[1])
            self._reply(302, headers={"Location": f"/chain/{n + 1}"})
        elif self.path.startswith("/to-private/"):  # /to-private/10.0.0.1 -> http://10.0.0.1/feed
            self._reply(302, headers={"Location": f"http://{self.path[12:]}/feed.xml"})
        elif self.path == "/to-file":
            self._reply(302, headers={"Location": "file:///etc/passwd"})
        elif self.path.startswith("/status/"):
            self._reply(int(self.path.rsplit("/", 1)[1]), b"error page")
        else:
            self._reply(404, b"nope")


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.seen_headers = []  # type: ignore[attr-defined]
    srv.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def base(srv: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    settings = HttpSettings(allowed_private_hosts=LOOPBACK_ONLY, max_bytes=100_000, max_redirects=3,
                            user_agent="NichiroTest/1.0 (+https://example.org/contact)")
    with Fetcher(settings) as f:
        yield f


def test_ok_returns_body_and_validators(server: ThreadingHTTPServer, fetcher: Fetcher) -> None:
    result = fetcher.fetch(base(server) + "/ok")
    assert (result.status, result.body, result.etag) == (200, b"hello", '"v1"')
    assert result.last_modified == "Wed, 25 Nov 2026 10:00:00 GMT"
    assert server.seen_headers[-1]["User-Agent"] == "NichiroTest/1.0 (+https://example.org/contact)"


def test_conditional_get_gives_304(server: ThreadingHTTPServer, fetcher: Fetcher) -> None:
    first = fetcher.fetch(base(server) + "/etag")
    again = fetcher.fetch(base(server) + "/etag", etag=first.etag)
    assert first.body == b"fresh"
    assert again.not_modified and again.body == b""


def test_gzip_is_decoded(server: ThreadingHTTPServer, fetcher: Fetcher) -> None:
    assert fetcher.fetch(base(server) + "/gzip").body == b"zipped body"


def test_gzip_bomb_stops_at_cap(server: ThreadingHTTPServer, fetcher: Fetcher) -> None:
    with pytest.raises(ResponseTooLargeError, match="after decoding"):
        fetcher.fetch(base(server) + "/bomb")


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
def test_size_cap(server: ThreadingHTTPServer, fetcher: Fetcher, path: str) -> None:
    with pytest.raises(ResponseTooLargeError):
        fetcher.fetch(base(server) + path)


def test_redirect_followed(server: ThreadingHTTPServer, fetcher: Fetcher) -> None:
    result = fetcher.fetch(base(server) + "/redirect")
    assert result.final_url == base(server) + "/ok" and result.body == b"hello"


def test_redirect_loop_and_limit(server: ThreadingHTTPServer, fetcher: Fetcher) -> None:
    with pytest.raises(TooManyRedirectsError, match="loop"):
        fetcher.fetch(base(server) + "/loop-a")
    with pytest.raises(TooManyRedirectsError, match="more than 3"):
        fetcher.fetch(base(server) + "/chain/0")


def test_redirect_to_other_scheme_refused(server: ThreadingHTTPServer, fetcher: Fetcher) -> None:
    with pytest.raises(BlockedURLError, match="scheme 'file'"):
        fetcher.fetch(base(server) + "/to-file")


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True),
                                                   (404, False), (410, False)])
def test_error_statuses(
    server: ThreadingHTTPServer, fetcher: Fetcher, status: int, retryable: bool
) -> None:
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(base(server) + f"/status/{status}")
    assert info.value.status == status and info.value.retryable is retryable


def test_refused_connection_is_network_error(fetcher: Fetcher) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError):
        fetcher.fetch(f"http://127.0.0.1:{port}/")


def test_private_hosts_refused_by_default(server: ThreadingHTTPServer) -> None:
    with Fetcher(HttpSettings()) as strict:
        with pytest.raises(BlockedURLError, match="non-public address 127.0.0.1"):
            strict.fetch(base(server) + "/ok")
    assert not server.seen_headers or server.seen_headers[-1].get("X-Never") is None


# Literal addresses only: getaddrinfo answers them without DNS, and nothing is connected to.
NON_PUBLIC = [
    "10.1.2.3", "169.254.169.254", "192.168.0.1", "172.16.0.1", "0.0.0.0",
    "100.64.0.1",  # carrier-grade NAT
    "224.0.0.1", "[ff02::1]",  # multicast
    "[fe80::1]", "[fc00::1]", "[::]",
    "[::ffff:10.0.0.1]", "[::ffff:169.254.169.254]",  # IPv4-mapped
    "[64:ff9b::a00:1]", "[64:ff9b::a9fe:a9fe]",  # NAT64 of 10.0.0.1, 169.254.169.254
    "[2002:a00:1::1]",  # 6to4 of 10.0.0.1
    "[::10.0.0.1]",  # IPv4-compatible (deprecated)
    "[64:ff9b:1::a00:1]",  # local-use NAT64
]
LOOPBACK = ["127.0.0.1", "127.3.4.5", "[::1]", "[::ffff:127.0.0.1]"]


@pytest.mark.parametrize("host", NON_PUBLIC + LOOPBACK)
def test_non_public_addresses_refused_by_default(host: str) -> None:
    with pytest.raises(BlockedURLError, match="resolves to non-public address"):
        check_url_allowed(f"http://{host}/", PrivateAllowance())


@pytest.mark.parametrize("host", NON_PUBLIC)
def test_loopback_allowance_refuses_everything_else(host: str) -> None:
    with pytest.raises(BlockedURLError, match="resolves to non-public address"):
        check_url_allowed(f"http://{host}:8080/feed", LOOPBACK_ONLY)


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_allowance_allows_loopback(host: str) -> None:
    check_url_allowed(f"http://{host}/", LOOPBACK_ONLY)


@pytest.mark.parametrize("host", ["8.8.8.8", "[2001:4860:4860::8888]", "[::ffff:8.8.8.8]",
                                  "[64:ff9b::808:808]", "[2002:808:808::1]"])
def test_public_addresses_allowed(host: str) -> None:
    check_url_allowed(f"https://{host}/", PrivateAllowance())


def test_embedded_ipv4_is_named() -> None:
    with pytest.raises(BlockedURLError, match=r"address ::ffff:\S+ \(IPv4 10\.0\.0\.1\)"):
        check_url_allowed("http://[::ffff:10.0.0.1]/", LOOPBACK_ONLY)


def test_listed_networks_allowed_and_nothing_more() -> None:
    allowance = PrivateAllowance.parse("10.0.0.0/8, 192.168.1.5, fd00::/8, 64:ff9b::/96")
    for host in ["10.9.9.9", "[::ffff:10.1.1.1]", "192.168.1.5", "[fd00::5]", "[64:ff9b::1]"]:
        check_url_allowed(f"http://{host}/", allowance)
    for host in ["192.168.1.6", "127.0.0.1", "169.254.169.254", "[fc00::1]"]:
        with pytest.raises(BlockedURLError):
            check_url_allowed(f"http://{host}/", allowance)


def test_listed_host_name_may_resolve_anywhere() -> None:
    allowance = PrivateAllowance.parse("LocalHost")
    check_url_allowed("http://localhost:8080/feed", allowance)
    check_url_allowed("http://localhost.:8080/feed", allowance)
    with pytest.raises(BlockedURLError):
        check_url_allowed("http://127.0.0.1:8080/feed", allowance)


@pytest.mark.parametrize("path", ["10.0.0.1", "10.255.1.1:8080", "[::ffff:10.0.0.1]",
                                  "[64:ff9b::a00:1]", "169.254.169.254", "100.64.0.1"])
def test_redirect_to_private_refused_before_connecting(
    server: ThreadingHTTPServer, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Under the loopback allowance a loopback feed redirecting into the private network is
    refused by the check, before any request to the target (no socket is opened to it)."""
    requested: list[str] = []
    get_once = fetcher._get_once

    def loopback_only(url: str, headers: dict[str, str]) -> object:
        requested.append(url)
        assert url.startswith(base(server) + "/"), f"would have connected to {url}"
        return get_once(url, headers)

    monkeypatch.setattr(fetcher, "_get_once", loopback_only)
    start = base(server) + f"/to-private/{path}"
    with pytest.raises(BlockedURLError, match="resolves to non-public address") as info:
        fetcher.fetch(start)
    assert info.value.url == f"http://{path}/feed.xml"
    assert requested == [start]


@pytest.mark.parametrize("url", ["ftp://example.org/x", "file:///etc/passwd", "javascript:1"])
def test_non_http_schemes_refused(url: str) -> None:
    with pytest.raises(BlockedURLError):
        check_url_allowed(url, LOOPBACK_ONLY)


@pytest.mark.parametrize(("value", "expected"), [
    ("1", LOOPBACK_ONLY), ("true", LOOPBACK_ONLY), ("yes", LOOPBACK_ONLY),
    ("0", PrivateAllowance()), ("", PrivateAllowance()),
    ("127.0.0.0/8,::1", LOOPBACK_ONLY),
    (" 10.0.0.0/8 , feeds.internal, fd00::1", PrivateAllowance(
        (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::1/128")),
        frozenset({"feeds.internal"}))),
])
def test_allow_private_hosts_env(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: PrivateAllowance
) -> None:
    monkeypatch.setenv("NICHIRO_ALLOW_PRIVATE_HOSTS", value)
    assert HttpSettings.from_env().allowed_private_hosts == expected


def test_allow_private_hosts_env_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NICHIRO_ALLOW_PRIVATE_HOSTS", raising=False)
    assert HttpSettings.from_env().allowed_private_hosts == PrivateAllowance()


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "10.0.0.1/8", "300.1.1.1", "[::1]", "a b"])
def test_allow_private_hosts_env_bad_entry(monkeypatch: pytest.MonkeyPatch, entry: str) -> None:
    monkeypatch.setenv("NICHIRO_ALLOW_PRIVATE_HOSTS", f"::1,{entry}")
    with pytest.raises(ValueError, match=f"NICHIRO_ALLOW_PRIVATE_HOSTS: {re.escape(repr(entry))}"):
        HttpSettings.from_env()
