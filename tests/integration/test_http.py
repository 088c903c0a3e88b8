"""The HTTP seam against real servers on 127.0.0.1."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scrapers.config import HttpSettings
from scrapers.http import (
    BlockedURLError,
    Fetcher,
    HTTPStatusError,
    NetworkError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    check_url_allowed,
)

pytestmark = pytest.mark.integration

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
    settings = HttpSettings(allow_private_hosts=True, max_bytes=100_000, max_redirects=3,
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
    with Fetcher(HttpSettings(allow_private_hosts=False)) as strict:
        with pytest.raises(BlockedURLError, match="non-public address 127.0.0.1"):
            strict.fetch(base(server) + "/ok")
    assert not server.seen_headers or server.seen_headers[-1].get("X-Never") is None


@pytest.mark.parametrize("url", ["http://10.1.2.3/", "http://169.254.169.254/latest",
                                 "http://[::1]/", "http://192.168.0.1/", "http://0.0.0.0/"])
def test_private_addresses_refused(url: str) -> None:
    with pytest.raises(BlockedURLError):
        check_url_allowed(url, allow_private_hosts=False)


@pytest.mark.parametrize("url", ["ftp://example.org/x", "file:///etc/passwd", "javascript:1"])
def test_non_http_schemes_refused(url: str) -> None:
    with pytest.raises(BlockedURLError):
        check_url_allowed(url, allow_private_hosts=True)


def test_allow_private_hosts_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NICHIRO_ALLOW_PRIVATE_HOSTS", "1")
    assert HttpSettings.from_env().allow_private_hosts is True
    monkeypatch.setenv("NICHIRO_ALLOW_PRIVATE_HOSTS", "0")
    assert HttpSettings.from_env().allow_private_hosts is False
