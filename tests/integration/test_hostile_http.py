"""The HTTP seam against hostile servers on 127.0.0.1, measured where measuring is the point.

- compressed bodies: the tracemalloc peak of a fetch stays near the size cap, whatever the
  body would unpack to;
- slow servers: a fetch ends (time.monotonic) at its total deadline plus a small margin, however
  the time is spent (headers a byte at a time, a chain of slow redirects);
- where a connection may go: an https page may not redirect to plain http (a real TLS server on
  loopback), and a host name is judged again when the connection is made, so a name that
  answers differently at connect time than when it was checked is never connected to.

Every server here is a real socket server on 127.0.0.1; nothing in the HTTP stack is replaced.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
import socket
import ssl
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from scrapers.config import LOOPBACK_ONLY, HttpSettings, PrivateAllowance
from scrapers.fetch import http
from scrapers.fetch.http import Fetcher, FetchError

pytestmark = [pytest.mark.integration, pytest.mark.clock]

MB = 1024 * 1024
CAP = 1 * MB
# What a fetch capped at CAP may hold at its peak: the body up to the cap, one decoded piece,
# one raw chunk, zlib's window, httpx's own objects. Far below what the bodies here unpack to.
MEMORY_BOUND = 4 * MB

# -- servers -----------------------------------------------------------------------------------
Route = Callable[["Handler"], None]


class Server(ThreadingHTTPServer):
    """Answers each path with the route a test registered; counts connections and requests."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tls: ssl.SSLContext | None = None, name: str = "127.0.0.1") -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        if tls is not None:  # the handshake runs in accept()
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.name = name  # the host its URLs name
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        self.connections = 0

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.name}:{self.port}"

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.base_url + path

    def get_request(self) -> tuple[Any, Any]:
        request = super().get_request()
        self.connections += 1
        return request

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # clients here hang up on purpose (caps, deadlines): broken pipes are expected


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        return

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = urlsplit(self.path).path
        self.server.hits.append(path)
        route = self.server.routes.get(path) or reply(404, b"not found\n")
        try:
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def reply(status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> Route:
    """A whole response; `headers` is a list so that a header may come twice."""
    def route(h: Handler) -> None:
        h.send_response(status)
        for key, value in headers or []:
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
    return route


def drip(raw: bytes, interval_s: float) -> Route:
    """Writes `raw` (status line and headers included) one byte every `interval_s` seconds:
    each byte resets a read timeout, so only a deadline over the whole request stops it."""
    def route(h: Handler) -> None:
        h.close_connection = True
        for i in range(len(raw)):
            h.wfile.write(raw[i:i + 1])
            h.wfile.flush()
            time.sleep(interval_s)
    return route


def pause_then(seconds: float, then: Route) -> Route:
    def route(h: Handler) -> None:
        time.sleep(seconds)
        then(h)
    return route


def start(server: Server) -> Server:
    # a short poll interval: shutdown() at each test's end waits up to one interval
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return server


@pytest.fixture
def server() -> Iterator[Server]:
    srv = start(Server())
    yield srv
    srv.shutdown()
    srv.server_close()


def settings(**extra: Any) -> HttpSettings:
    values: dict[str, Any] = {"allowed_private_hosts": LOOPBACK_ONLY, "max_bytes": CAP,
                              "connect_timeout_s": 1.0, "read_timeout_s": 2.0}
    return HttpSettings(**{**values, **extra})


# -- memory: compressed bodies -----------------------------------------------------------------
def _zeros(total: int, piece: int = MB) -> Iterator[bytes]:
    block = b"\0" * piece
    for _ in range(total // piece):
        yield block


def _gzip_stream(pieces: Iterator[bytes]) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return b"".join([*(packer.compress(p) for p in pieces), packer.flush()])


@cache
def gzip_bomb() -> bytes:
    """200 MiB of zeros in about 200 KB of gzip."""
    return _gzip_stream(_zeros(200 * MB))


@cache
def double_gzip() -> bytes:
    """128 MiB of zeros gzipped twice: a few hundred bytes on the wire."""
    return gzip.compress(_gzip_stream(_zeros(128 * MB)), 9)


def traced_peak(action: Callable[[], object]) -> tuple[int, FetchError | None]:
    """The tracemalloc peak while `action` runs (all threads), and the FetchError it raised."""
    tracemalloc.start()
    try:
        try:
            action()
        except FetchError as exc:
            return tracemalloc.get_traced_memory()[1], exc
        return tracemalloc.get_traced_memory()[1], None
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("headers", [
    [("Content-Encoding", "gzip, gzip")],
    [("Content-Encoding", "gzip"), ("Content-Encoding", "gzip")],  # the same, on two lines
])
def test_stacked_gzip_refused_in_bounded_memory(
    server: Server, headers: list[tuple[str, str]]
) -> None:
    """A few hundred bytes that unpack, layer after layer, to 128 MiB: refused before any
    byte of the body is unpacked; the fetch's memory peak stays under MEMORY_BOUND."""
    body = double_gzip()
    assert len(body) < 1024
    url = server.add("/stacked", reply(200, body, headers))
    with Fetcher(settings()) as fetcher:
        peak, error = traced_peak(lambda: fetcher.fetch(url))
    assert peak < MEMORY_BOUND, f"peak {peak / MB:.1f} MiB for a {len(body)}-byte response"
    assert error is not None and "Content-Encoding 'gzip, gzip' refused" in str(error)
    assert error.retryable is False


def test_gzip_bomb_unpacked_in_bounded_memory(server: Server) -> None:
    """One gzip layer, 200 MiB of zeros: unpacked a bounded piece at a time, so the fetch
    stops at the cap with its memory peak near the cap, not at what one chunk unpacks to."""
    url = server.add("/bomb", reply(200, gzip_bomb(), [("Content-Encoding", "gzip")]))
    with Fetcher(settings()) as fetcher:
        peak, error = traced_peak(lambda: fetcher.fetch(url))
    assert peak < MEMORY_BOUND, f"peak {peak / MB:.1f} MiB with a cap of {CAP / MB:.0f} MiB"
    assert isinstance(error, http.ResponseTooLargeError)
    assert f"body exceeds the cap of {CAP} bytes (after decoding)" in str(error)


def _text(size: int) -> bytes:
    """Compressible but not trivial text of exactly `size` bytes."""
    words = [f"word{i * 7919 % 1009}" for i in range(size // 4)]
    return " ".join(words).encode()[:size]


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(("coding", "pack"), [
    (None, lambda b: b),
    ("identity", lambda b: b),
    ("gzip", gzip.compress),
    ("GZip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),  # the zlib format, as RFC 9110 defines "deflate"
    ("deflate", _raw_deflate),  # a bare deflate stream, as some servers send
])
@pytest.mark.parametrize("size", [CAP, CAP - 1, 12_345])
def test_accepted_codings_decode_exactly_up_to_the_cap(
    server: Server, coding: str | None, pack: Callable[[bytes], bytes], size: int
) -> None:
    original = _text(size)
    headers = [("Content-Encoding", coding)] if coding else []
    url = server.add("/text", reply(200, pack(original), headers))
    with Fetcher(settings()) as fetcher:
        assert fetcher.fetch(url).body == original


@pytest.mark.parametrize("coding", ["gzip", "deflate", None])
def test_one_byte_over_the_cap_refused(server: Server, coding: str | None) -> None:
    original = _text(CAP + 1)
    pack = {"gzip": gzip.compress, "deflate": zlib.compress, None: lambda b: b}[coding]
    url = server.add("/over", reply(200, pack(original),
                                    [("Content-Encoding", coding)] if coding else []))
    with Fetcher(settings(max_bytes=CAP)) as fetcher, \
            pytest.raises(http.ResponseTooLargeError):
        # no declared length over the cap for the compressed ones: the decoded size decides
        fetcher.fetch(url)


@pytest.mark.parametrize("value", ["gzip, gzip", "deflate, gzip", "gzip, identity", "br",
                                   "zstd", "compress", "gzip;q=1"])
def test_other_codings_refused_and_logged(
    server: Server, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    url = server.add("/coded", reply(200, gzip.compress(b"<rss/>"),
                                     [("Content-Encoding", value)]))
    with Fetcher(settings()) as fetcher, caplog.at_level("WARNING", "scrapers.fetch.http"):
        refused = re.escape(f"Content-Encoding '{value}' refused")
        with pytest.raises(FetchError, match=refused) as info:
            fetcher.fetch(url)
    assert type(info.value).__name__ == "ContentEncodingError"
    assert info.value.retryable is False and info.value.url == url
    assert [r.getMessage() for r in caplog.records if value in r.getMessage() and url in
            r.getMessage()], caplog.text


def test_corrupt_gzip_is_a_network_error(server: Server) -> None:
    url = server.add("/corrupt", reply(200, b"\x1f\x8b\x08\x00garbage" * 10,
                                       [("Content-Encoding", "gzip")]))
    with Fetcher(settings()) as fetcher, pytest.raises(http.NetworkError, match="DecodingError"):
        fetcher.fetch(url)


# -- time: one deadline over the whole request -------------------------------------------------
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def test_header_drip_stopped_at_the_deadline(server: Server) -> None:
    """Status line and headers one byte every 0.2 s (13 s in all): no read waits longer than
    0.2 s, so no read timeout fires; the fetch must still end by the 1 s deadline + 1.5 s."""
    url = server.add("/drip-head", drip(HEAD, 0.2))
    with Fetcher(settings(total_timeout_s=1.0)) as fetcher:
        started = time.monotonic()
        with pytest.raises(http.NetworkError, match="total time limit of 1.0 s exceeded"):
            fetcher.fetch(url)
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 1.5, f"failed after {elapsed:.2f} s"


def test_deadline_spans_the_redirect_chain(server: Server) -> None:
    """Four hops of 0.5 s each, every one well within a 1 s deadline: the fetch as a whole is
    not, and ends at its deadline rather than after 2 s."""
    for n in range(4):
        server.add(f"/slow-hop-{n}",
                   pause_then(0.5, reply(302, headers=[("Location", f"/slow-hop-{n + 1}")])))
    server.add("/slow-hop-4", reply(200, b"arrived"))
    with Fetcher(settings(total_timeout_s=1.0, max_redirects=5)) as fetcher:
        started = time.monotonic()
        with pytest.raises(http.NetworkError, match="total time limit"):
            fetcher.fetch(server.base_url + "/slow-hop-0")
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 0.5, f"failed after {elapsed:.2f} s"


def test_own_rate_limit_waits_do_not_count(server: Server) -> None:
    """The throttle (our per-host spacing) sleeping longer than the deadline is not the
    server being slow: a quick redirect and page still arrive."""
    server.add("/hop", reply(302, headers=[("Location", "/page")]))
    server.add("/page", reply(200, b"page"))
    waits: list[str] = []

    def throttle(url: str) -> None:
        waits.append(url)
        time.sleep(0.7)
    with Fetcher(settings(total_timeout_s=1.0), throttle=throttle) as fetcher:
        assert fetcher.fetch(server.base_url + "/hop").body == b"page"
    assert len(waits) == 2


def test_slow_but_in_time_is_fine(server: Server) -> None:
    url = server.add("/in-time", drip(HEAD, 0.01))
    with Fetcher(settings(total_timeout_s=3.0)) as fetcher:
        assert fetcher.fetch(url).body == b"ok"


# -- downgrades: https to http -----------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_contexts(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A test CA and a certificate it signed for the name `localhost` only (not for 127.0.0.1):
    (server context, client context trusting only that CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Nichiro test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=800))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=800))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder: Path = tmp_path_factory.mktemp("tls")
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(folder / "leaf.pem", folder / "leaf.key")
    client_context = ssl.create_default_context(
        cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server_context, client_context


@pytest.fixture
def tls_server(
    tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    """A real TLS server on 127.0.0.1, named https://localhost:<port>/ in its URLs; Fetchers
    made during the test trust its CA (in place of the public CA bundle: the one thing
    changed, the handshake and verification are real)."""
    server_context, client_context = tls_contexts
    monkeypatch.setattr(http, "_tls_context", lambda: client_context)
    srv = start(Server(server_context, name="localhost"))
    yield srv
    srv.shutdown()
    srv.server_close()


def test_https_to_http_redirect_refused(tls_server: Server, server: Server) -> None:
    plain = server.add("/page", reply(200, b"in the clear"))
    url = tls_server.add("/to-http", reply(301, headers=[("Location", plain)]))
    with Fetcher(settings()) as fetcher, \
            pytest.raises(http.BlockedURLError, match="redirect from https to http") as info:
        fetcher.fetch(url)
    assert info.value.url == plain and url in str(info.value)
    assert info.value.retryable is False
    assert tls_server.hits == ["/to-http"]
    assert server.connections == 0  # the http server was never contacted


@pytest.mark.parametrize("location", ["http://127.0.0.1:99999/x",
                                      "http://" + "a" * 300 + ".example/"])
def test_a_redirect_to_an_unusable_address_is_a_clear_refusal(server: Server,
                                                                 location: str) -> None:
    """A Location the server wrote with a port out of range or a host label over 63
    characters: a refusal naming the address, not a bare ValueError from deep inside."""
    url = server.add("/away", reply(302, headers=[("Location", location)]))
    with Fetcher(settings()) as fetcher, \
            pytest.raises(http.BlockedURLError, match="invalid (port|host name)") as info:
        fetcher.fetch(url)
    assert info.value.url == location and info.value.retryable is False


def test_https_to_https_and_http_to_https_redirects_followed(
    tls_server: Server, server: Server
) -> None:
    """The same servers, the TLS handshake verified: only the downgrade is refused. The
    connection goes to the address `localhost` was judged to be, and the certificate is still
    verified against the name."""
    page = tls_server.add("/page", reply(200, b"secure"))
    tls_server.add("/to-https", reply(302, headers=[("Location", "/page")]))
    upgrade = server.add("/upgrade", reply(301, headers=[("Location", page)]))
    with Fetcher(settings()) as fetcher:
        result = fetcher.fetch(tls_server.base_url + "/to-https")
        assert (result.final_url, result.body) == (page, b"secure")
        result = fetcher.fetch(upgrade)
        assert (result.final_url, result.body) == (page, b"secure")


# -- where a connection goes: names judged when connecting -------------------------------------
def test_connect_judges_the_name_it_resolves_without_any_patch() -> None:
    """The socket layer on its own: `localhost` resolves to 127.0.0.1; with no private hosts
    allowed it is refused at connect time and nothing reaches the listening socket; under the
    loopback allowance the same call connects to the address it judged."""
    from scrapers.fetch.transport import GuardedBackend, PeerRefusedError

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(0.3)
        port = listener.getsockname()[1]
        with pytest.raises(PeerRefusedError, match="'localhost' resolves to non-public "
                                                   "address 127.0.0.1 when connecting"):
            GuardedBackend(PrivateAllowance()).connect_tcp("localhost", port, timeout=1.0)
        with pytest.raises(TimeoutError):
            listener.accept()  # no connection was attempted
        stream = GuardedBackend(LOOPBACK_ONLY).connect_tcp("localhost", port, timeout=1.0)
        try:
            assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
            accepted, _ = listener.accept()
            accepted.close()
        finally:
            stream.close()


@pytest.mark.parametrize(("allow", "allowed"), [
    ("", False),  # the default: no private destination
    ("10.0.0.0/8", False),  # a private network is allowed, loopback is not
    ("1", True),  # loopback only (tests, the demo)
    ("localhost", True),  # a listed name may resolve anywhere
])
def test_name_rebound_after_the_check_is_refused_at_connect(
    server: Server, monkeypatch: pytest.MonkeyPatch, allow: str, allowed: bool
) -> None:
    """DNS rebinding: a name judged public when checked that resolves to a refused address
    when connecting. Without a DNS server of our own, the first answer is played by letting
    this URL through check_url_allowed (as tests/integration/test_hostile_input.py does for
    its stand-ins for the public web); the second answer is the real one, localhost ->
    127.0.0.1, judged under NICHIRO_ALLOW_PRIVATE_HOSTS as set. Refused: not one connection
    reaches the server."""
    url = server.add("/secret", reply(200, b"internal"))
    url = url.replace("127.0.0.1", "localhost")
    real_check = http.check_url_allowed

    def checked_as_public(candidate: str, allowance: PrivateAllowance) -> None:
        if candidate != url:
            real_check(candidate, allowance)
    monkeypatch.setattr(http, "check_url_allowed", checked_as_public)
    monkeypatch.setenv("NICHIRO_ALLOW_PRIVATE_HOSTS", allow)
    with Fetcher(HttpSettings.from_env()) as fetcher:
        if allowed:
            assert fetcher.fetch(url).body == b"internal"
            assert server.connections == 1
            return
        with pytest.raises(http.BlockedURLError, match="resolves to non-public address "
                                                       "127.0.0.1 when connecting") as info:
            fetcher.fetch(url)
    assert info.value.url == url and info.value.retryable is False
    assert (server.connections, server.hits) == (0, [])


def test_certificate_verified_against_the_name_in_the_url(tls_server: Server) -> None:
    """The same server as https://127.0.0.1: its certificate does not name that address."""
    tls_server.add("/page", reply(200, b"secure"))
    with Fetcher(settings()) as fetcher, \
            pytest.raises(http.NetworkError, match="CERTIFICATE_VERIFY_FAILED"):
        fetcher.fetch(f"https://127.0.0.1:{tls_server.port}/page")
    assert tls_server.hits == []
