"""Hostile and broken input, end to end: real servers on 127.0.0.1, the real pipeline steps,
a real PostgreSQL.

Each case runs one pipeline run over two sources, as the DAG would: the sample site's healthy
"Pacific Wire" feed and one hostile source served by the server in this module. Before it,
another run has stored the sample site's Japanese articles. Every case checks that

- the run finishes: the hostile source fails with a documented exception (a `FetchError`
  subclass or `FeedParseError`), or loads what can be loaded; nothing else escapes;
- the failure is on record in `feed_fetches` (error class and a clear message);
- Pacific Wire still loads its three articles;
- no stored row is lost or altered (the `articles` table before and after);
- stored text is the text that was sent: a title holding SQL or ``<script>`` is stored as
  exactly that string, never executed.
"""

from __future__ import annotations

import html
import socket
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlsplit

import pytest

from scrapers import feeds, pipeline
from scrapers.config import LOOPBACK_ONLY, HttpSettings, PrivateAllowance
from scrapers.db.loader import load_run
from scrapers.feeds import FeedParseError
from scrapers.fetch import http
from scrapers.fetch.http import Fetcher, FetchError
from scrapers.models import Source

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
DOCUMENTED = (FetchError, FeedParseError)
MB = 1024 * 1024
HOSTILE = "Hostile Herald"

# -- the hostile server ------------------------------------------------------------------------
Route = Callable[["HostileHandler"], None]


class HostileServer(ThreadingHTTPServer):
    """Answers each path with the route a test registered; records hits and bytes sent."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), HostileHandler)
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        self.sent: dict[str, int] = defaultdict(int)
        self.done: dict[str, threading.Event] = defaultdict(threading.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.base_url + path

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # transfers the client cuts off (size cap, timeouts) end in broken pipes


class HostileHandler(BaseHTTPRequestHandler):
    server: HostileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        return

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = urlsplit(self.path).path
        self.server.hits.append(path)
        route = self.server.routes.get(path) or static(404, b"not found\n", "text/plain")
        try:
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.server.done[path].set()

    def head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()
        self.server.sent[urlsplit(self.path).path] += len(data)


def static(status: int, body: bytes = b"", content_type: str | None = "application/xml",
           headers: dict[str, str] | None = None) -> Route:
    def route(h: HostileHandler) -> None:
        all_headers = {"Content-Length": str(len(body)), **(headers or {})}
        if content_type:
            all_headers["Content-Type"] = content_type
        h.head(status, all_headers)
        if body:
            h.write(body)
    return route


def chunked(pieces: Iterator[bytes], headers: dict[str, str] | None = None,
            interval_s: float = 0.0) -> Route:
    """A 200 streamed with chunked transfer encoding: nothing is built in memory up front."""
    def route(h: HostileHandler) -> None:
        h.head(200, {"Content-Type": "application/xml", "Transfer-Encoding": "chunked",
                     **(headers or {})})
        for piece in pieces:
            h.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            if interval_s:
                time.sleep(interval_s)
        h.write(b"0\r\n\r\n")
    return route


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


# -- documents -----------------------------------------------------------------------------------
EN_TITLE = "Japan and Russia agree to resume peace treaty talks"
BODIES = {
    "en": [
        "Japan and Russia agreed on Friday to resume working-level talks on a peace treaty, the "
        "foreign ministries of both countries said after a meeting in Tokyo.",
        "Japanese Foreign Minister Kenji Arakawa and Russian Foreign Minister Sergei Lavrov "
        "discussed the Southern Kurils, which Japan calls the Northern Territories, as well as "
        "fishing quotas and visa-free visits for former island residents.",
        "Officials said the next round of consultations would take place in Moscow early next "
        "year.",
    ],
    "ja": [
        "日本とロシアの外相は東京で会談し、平和条約締結交渉を再開することで一致した。"
        "北方領土問題をめぐる両国の立場の隔たりは依然として大きい。",
        "会談では北方四島周辺での日本漁船の安全操業や、元島民によるビザなし交流の再開についても"
        "意見を交わした。",
        "次回の協議は来年早々にモスクワで開かれる見通しだ。",
    ],
    "ru": [
        "Министры иностранных дел России и Японии договорились возобновить консультации по "
        "мирному договору, сообщили дипломаты после встречи в Токио.",
        "Стороны обсудили ситуацию вокруг Южных Курил, которые в Японии называют Северными "
        "территориями, а также квоты на вылов рыбы.",
        "Следующий раунд консультаций пройдет в Москве в начале следующего года.",
    ],
}


def article_page(url: str, title: str, lang: str = "en", *, charset: str | None = "utf-8",
                 dated: bool = True) -> str:
    """An article page (tests/fixtures/hostile/article.html) about Japan and Russia."""
    template = Template((FIXTURES / "article.html").read_text("utf-8"))
    return template.substitute(
        lang=lang,
        charset_meta=f'<meta charset="{charset}">' if charset else "",
        title_text=html.escape(title, quote=False),
        title_attr=html.escape(title),
        canonical=html.escape(url),
        date_meta=('<meta property="article:published_time" content="2026-11-26T10:00:00+09:00">'
                   if dated else ""),
        paragraphs="\n".join(f"<p>{html.escape(p)}</p>" for p in BODIES[lang]),
    )


def serve_page(server: HostileServer, path: str, title: str, lang: str = "en",
               **kwargs: Any) -> str:
    url = server.base_url + path
    body = article_page(url, title, lang, **kwargs).encode("utf-8")
    return server.add(path, static(200, body, "text/html; charset=utf-8"))


def rss(items: list[str], *, prolog: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    return (f'{prolog}\n<rss version="2.0"><channel><title>{HOSTILE}</title>'
            f"<link>https://herald.example/</link>{''.join(items)}</channel></rss>")


def item(title: str, link: str | None, guid: str | None,
         date: str | None = "Thu, 26 Nov 2026 10:00:00 +0900") -> str:
    parts = [f"<title>{html.escape(title, quote=False)}</title>"]
    if link is not None:
        parts.append(f"<link>{html.escape(link)}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{html.escape(guid)}</guid>')
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    return f"<item>{''.join(parts)}</item>"


# -- running the pipeline ------------------------------------------------------------------------
def one(db: Any, query: str, *args: Any) -> Any:
    with db.cursor() as cur:
        cur.execute(query, args)
        return cur.fetchone()


def rows(db: Any, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with db.cursor() as cur:
        cur.execute(query, args)
        return list(cur.fetchall())


def articles_snapshot(db: Any) -> dict[int, tuple[Any, ...]]:
    with db.cursor() as cur:
        cur.execute("SELECT * FROM articles ORDER BY id")
        snapshot = {row[0]: row for row in cur.fetchall()}
    db.commit()
    return snapshot


def run_pipeline(
    db: Any, sources: list[Source], run_id: str, fetcher: Fetcher
) -> tuple[dict[str, int], dict[str, Exception]]:
    """One DAG run without Airflow: a failing source's task fails, the others go on."""
    errors: dict[str, Exception] = {}
    for row in pipeline.sync_catalog(db, sources, fetch_all=True):
        try:
            feed = pipeline.fetch_feed(db, row["id"], run_id, fetcher)
        except DOCUMENTED as exc:  # anything else escapes and fails the test
            errors[row["name"]] = exc
            continue
        pipeline.fetch_articles(db, row["id"], run_id, feed["fetch_id"], fetcher)
    return load_run(db, run_id), errors


def wire(site: Any) -> Source:
    return Source(name="Pacific Wire", url=f"{site.base_url}/feeds/en_wire.xml", language="en",
                  outlet="Pacific Wire")


def hostile_source(url: str, language: str = "en") -> Source:
    return Source(name=HOSTILE, url=url, language=language)


@pytest.fixture
def stored_before(db: Any, site: Any) -> dict[int, tuple[Any, ...]]:
    """The sample site's three Japanese articles, stored by an earlier run."""
    ja = Source(name="北海新報", url=f"{site.base_url}/feeds/ja_shimbun.rdf", language="ja",
                outlet="北海新報")
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
        counts, errors = run_pipeline(db, [ja], "run-before", fetcher)
    assert counts["new"] == 3 and not errors
    return articles_snapshot(db)


class Outcome:
    """What one run over Pacific Wire and the hostile source left behind."""

    def __init__(self, db: Any, counts: dict[str, int], errors: dict[str, Exception]) -> None:
        self.db, self.counts, self.errors = db, counts, errors

    @property
    def error(self) -> Exception | None:
        return self.errors.get(HOSTILE)

    def fetch(self, name: str = HOSTILE) -> dict[str, Any]:
        with self.db.cursor() as cur:
            cur.execute(
                "SELECT f.* FROM feed_fetches f JOIN sources s ON s.id = f.source_id "
                "WHERE s.name = %s AND f.run_id = 'run-hostile'", (name,))
            names = [d[0] for d in cur.description]
            [row] = cur.fetchall()
        return dict(zip(names, row, strict=True))

    def source(self) -> dict[str, Any]:
        with self.db.cursor() as cur:
            cur.execute("SELECT * FROM sources WHERE name = %s", (HOSTILE,))
            names = [d[0] for d in cur.description]
            return dict(zip(names, cur.fetchone(), strict=True))

    def hostile_articles(self) -> list[tuple[Any, ...]]:
        return rows(self.db, "SELECT url, title, published_at FROM articles WHERE source = %s "
                             "ORDER BY url", HOSTILE)

    def entries(self) -> list[tuple[Any, ...]]:
        return rows(self.db, "SELECT e.guid, e.link, e.url, e.title, e.published_at "
                             "FROM feed_entries e JOIN sources s ON s.id = e.source_id "
                             "WHERE s.name = %s ORDER BY e.id", HOSTILE)

    def assert_failed(self, error_class: type[Exception], message: str) -> dict[str, Any]:
        """The hostile source failed with `error_class`, on record with `message`."""
        assert isinstance(self.error, error_class), self.errors
        record = self.fetch()
        assert record["error_class"] == error_class.__name__
        assert message in record["error"], record["error"]
        assert record["finished_at"] is not None and record["entries"] is None
        source = self.source()
        assert source["consecutive_failures"] == 1 and message in source["last_error"]
        assert self.entries() == [] and self.hostile_articles() == []
        return record


def run_with_wire(
    db: Any, site: Any, stored_before: dict[int, tuple[Any, ...]], source: Source,
    fetcher: Fetcher | None = None,
) -> Outcome:
    """Run Pacific Wire and `source`; check Pacific Wire loaded and nothing stored changed."""
    own = fetcher is None
    fetcher = fetcher or Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY))
    try:
        counts, errors = run_pipeline(db, [wire(site), source], "run-hostile", fetcher)
    finally:
        if own:
            fetcher.close()
    outcome = Outcome(db, counts, errors)
    assert "Pacific Wire" not in errors
    assert outcome.fetch("Pacific Wire")["error"] is None
    assert one(db, "SELECT count(*) FROM articles WHERE source = 'Pacific Wire'") == (3,)
    after = articles_snapshot(db)
    assert {k: after[k] for k in stored_before} == stored_before  # nothing lost or altered
    assert len(after) == len(stored_before) + counts["new"]
    return outcome


# -- HTTP errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "retryable"), [(500, True), (404, False), (410, False)])
def test_error_status(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer, status: int, retryable: bool
) -> None:
    url = hostile.add(f"/status-{status}.xml", static(status, b"<h1>error</h1>", "text/html"))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    record = outcome.assert_failed(http.HTTPStatusError, f"HTTP {status}")
    assert record["http_status"] == status
    assert outcome.error.retryable is retryable  # type: ignore[union-attr]
    disabled = outcome.source()["disabled_reason"]
    assert (disabled or "").startswith("410 Gone") if status == 410 else disabled is None


def test_429_retry_after_is_recorded_and_respected(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    url = hostile.add("/throttled.xml", static(429, b"slow down", "text/plain",
                                               {"Retry-After": "7200"}))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    record = outcome.assert_failed(http.HTTPStatusError, "HTTP 429 (Retry-After 7200 s)")
    assert (record["http_status"], record["retry_after_s"]) == (429, 7200)
    source = outcome.source()
    assert (source["next_fetch_at"] - record["started_at"]).total_seconds() >= 7200


# -- time ------------------------------------------------------------------------------------------
def fast(**extra: Any) -> HttpSettings:
    """Short timeouts, so that the cases that wait end quickly."""
    return HttpSettings(allowed_private_hosts=LOOPBACK_ONLY, connect_timeout_s=0.5,
                        read_timeout_s=1.0, **extra)


def test_connect_timeout(db: Any, site: Any, stored_before: Any) -> None:
    """A listening socket whose accept queue is full: the SYN is never answered."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):  # with backlog 0 the queue holds one connection; fill it
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    try:
        with Fetcher(fast()) as fetcher:
            started = time.monotonic()
            outcome = run_with_wire(db, site, stored_before,
                                    hostile_source(f"http://127.0.0.1:{port}/feed.xml"), fetcher)
            assert time.monotonic() - started < 30  # generous: the point is that it ends
    finally:
        for s in (*fillers, listener):
            s.close()
    outcome.assert_failed(http.NetworkError, "timeout: ConnectTimeout")


def test_stall_past_read_timeout(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    """Headers and a few bytes, then silence longer than the read timeout."""
    def trickle_then_stall(h: HostileHandler) -> None:
        h.head(200, {"Content-Type": "application/xml", "Content-Length": "5000"})
        for piece in (b"<?xml ", b'version="1.0"?>', b"<rss "):
            h.write(piece)
            time.sleep(0.1)
        time.sleep(3)  # read timeout is 1 s
    url = hostile.add("/stall.xml", trickle_then_stall)
    with Fetcher(fast()) as fetcher:
        outcome = run_with_wire(db, site, stored_before, hostile_source(url), fetcher)
    outcome.assert_failed(http.NetworkError, "timeout: ReadTimeout")


def test_slow_drip_past_total_deadline(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    """A byte every 0.2 s never trips a 1 s read timeout; only a total deadline stops it."""
    body = rss([item(EN_TITLE, "https://herald.example/1", "drip-1")]).encode()
    url = hostile.add("/drip.xml", chunked((body[i:i + 20] for i in range(0, len(body), 20)),
                                           interval_s=0.2))
    with Fetcher(fast(total_timeout_s=2.0)) as fetcher:
        outcome = run_with_wire(db, site, stored_before, hostile_source(url), fetcher)
    outcome.assert_failed(http.NetworkError, "total")


# -- size ------------------------------------------------------------------------------------------
def _zeros(total: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    block = b"\0" * piece
    for _ in range(total // piece):
        yield block


def _wait_done(server: HostileServer, path: str) -> None:
    assert server.done[path].wait(10), f"server still sending {path}"


def test_50_mb_body_stops_at_size_cap(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    """Streamed lazily, no Content-Length: the client hangs up once it holds the 10 MiB cap."""
    url = hostile.add("/huge.xml", chunked(_zeros(50 * MB)))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    outcome.assert_failed(http.ResponseTooLargeError,
                          f"body exceeds the cap of {10 * MB} bytes (after decoding)")
    _wait_done(hostile, "/huge.xml")
    assert hostile.sent["/huge.xml"] < 30 * MB  # the cap plus socket buffers, not 50 MB


def test_50_mb_declared_length_refused_before_reading(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    def declared_huge(h: HostileHandler) -> None:
        h.head(200, {"Content-Type": "application/xml", "Content-Length": str(50 * MB)})
        for piece in _zeros(50 * MB):
            h.write(piece)
    url = hostile.add("/huge-declared.xml", declared_huge)
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    outcome.assert_failed(http.ResponseTooLargeError,
                          f"Content-Length {50 * MB} exceeds the cap of {10 * MB} bytes")
    _wait_done(hostile, "/huge-declared.xml")
    assert hostile.sent["/huge-declared.xml"] < 30 * MB


@cache
def gzip_bomb() -> bytes:
    """200 MiB of zeros in about 200 KB of gzip, built in pieces."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    out = [packer.compress(piece) for piece in _zeros(200 * MB, MB)]
    return b"".join([*out, packer.flush()])


def test_gzip_bomb_stops_at_size_cap(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < MB  # 200 times smaller than what it unpacks to
    url = hostile.add("/bomb.xml", static(200, bomb, "application/xml",
                                          {"Content-Encoding": "gzip"}))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    outcome.assert_failed(http.ResponseTooLargeError, "(after decoding)")


# -- redirects -------------------------------------------------------------------------------------
def test_redirect_loop(db: Any, site: Any, stored_before: Any, hostile: HostileServer) -> None:
    hostile.add("/loop-b.xml", static(302, headers={"Location": "/loop-a.xml"}))
    url = hostile.add("/loop-a.xml", static(301, headers={"Location": "/loop-b.xml"}))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    outcome.assert_failed(http.TooManyRedirectsError, f"redirect loop at {url}")


def test_redirect_chain_too_long(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    for n in range(10):
        hostile.add(f"/hop-{n}.xml", static(307, headers={"Location": f"/hop-{n + 1}.xml"}))
    outcome = run_with_wire(db, site, stored_before,
                            hostile_source(hostile.base_url + "/hop-0.xml"))
    outcome.assert_failed(http.TooManyRedirectsError, "more than 5 redirects")


@pytest.mark.parametrize("location", [
    "{base}/secret.xml", "http://localhost:{port}/secret.xml", "http://[::1]:{port}/secret.xml",
    "http://10.0.0.1/feed.xml", "http://169.254.169.254/latest/meta-data/",
])
def test_redirect_to_private_address_refused_before_connecting(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer,
    monkeypatch: pytest.MonkeyPatch, location: str,
) -> None:
    """A public feed redirecting into the private network: refused, the target never asked.

    All servers here are on 127.0.0.1, itself private; so the first hop is let through as if
    it were public, and every other URL meets the real check (no private hosts allowed).
    """
    target = location.format(base=hostile.base_url, port=hostile.server_address[1])
    hostile.add("/secret.xml", static(200, rss([]).encode()))
    url = hostile.add("/to-private.xml", static(302, headers={"Location": target}))
    real_check = http.check_url_allowed

    def first_hop_public(candidate: str, allowance: PrivateAllowance) -> None:
        # the first hop, and the sample site, stand in for the public web
        if candidate != url and not candidate.startswith(site.base_url + "/"):
            real_check(candidate, allowance)
    monkeypatch.setattr(http, "check_url_allowed", first_hop_public)
    hits = len(hostile.hits)
    with Fetcher(HttpSettings()) as strict:
        outcome = run_with_wire(db, site, stored_before, hostile_source(url), strict)
    outcome.assert_failed(http.BlockedURLError, "resolves to non-public address")
    assert hostile.hits[hits:] == ["/to-private.xml"]  # /secret.xml was never requested


@pytest.mark.parametrize("location", [
    "http://10.0.0.1/feed.xml", "http://[::ffff:10.0.0.1]/feed.xml",
    "http://169.254.169.254/latest/meta-data/",
])
def test_loopback_allowance_refuses_private_redirect(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer,
    monkeypatch: pytest.MonkeyPatch, location: str,
) -> None:
    """NICHIRO_ALLOW_PRIVATE_HOSTS=1 (tests, demo) allows loopback only: a loopback feed
    redirecting into the private network is refused before any request to the target."""
    url = hostile.add("/to-ten.xml", static(302, headers={"Location": location}))
    fetcher = Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY))
    get_once = fetcher._get_once

    def loopback_only(target: str, headers: Any) -> Any:
        assert urlsplit(target).hostname == "127.0.0.1", f"would have connected to {target}"
        return get_once(target, headers)
    monkeypatch.setattr(fetcher, "_get_once", loopback_only)
    hits = len(hostile.hits)
    with fetcher:
        outcome = run_with_wire(db, site, stored_before, hostile_source(url), fetcher)
    record = outcome.assert_failed(http.BlockedURLError, "resolves to non-public address")
    assert f"[{location}]" in record["error"]
    assert hostile.hits[hits:] == ["/to-ten.xml"]


def test_private_feed_url_refused(db: Any, site: Any, stored_before: Any) -> None:
    """Without NICHIRO_ALLOW_PRIVATE_HOSTS the feed URL itself is checked (no connection)."""
    strict = Fetcher(HttpSettings())
    real_check = http.check_url_allowed
    site_prefix = site.base_url + "/"
    # the sample site (on 127.0.0.1 too) stands in for the public web
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(http, "check_url_allowed", lambda u, allow: None if u.startswith(site_prefix)
                   else real_check(u, allow))
        try:
            outcome = run_with_wire(db, site, stored_before,
                                    hostile_source("http://10.255.0.1/feed.xml"), strict)
        finally:
            strict.close()
    outcome.assert_failed(http.BlockedURLError, "host '10.255.0.1' resolves to non-public")


# -- not a feed ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("fixture", "content_type", "message"), [
    ("invalid_before_first_entry.xml", "application/rss+xml",
     "malformed rss20 feed at {url} yielded no entries: SAXParseException"),
    ("not_a_feed.html", "text/html; charset=utf-8", "not an RSS, RDF or Atom feed at {url}"),
])
def test_not_a_usable_feed(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer,
    fixture: str, content_type: str, message: str,
) -> None:
    body = (FIXTURES / fixture).read_bytes()
    url = hostile.add(f"/{fixture}", static(200, body, content_type))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    record = outcome.assert_failed(FeedParseError, message.format(url=url))
    assert record["http_status"] == 200


def test_binary_junk_is_not_a_feed(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    url = hostile.add("/junk.xml", static(200, bytes(range(256)) * 64))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    outcome.assert_failed(FeedParseError, f"not an RSS, RDF or Atom feed at {url}")


def test_truncated_feed_keeps_whole_entries(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    for n, title in ((1, "Japan and Russia agree to resume peace treaty talks in Tokyo"),
                     (2, "Russia and Japan discuss fishing quotas near the Kuril Islands")):
        serve_page(hostile, f"/pages/truncated-{n}.html", title)
    body = (FIXTURES / "truncated_after_two_items.xml").read_bytes().replace(
        b"__BASE_URL__", hostile.base_url.encode())
    url = hostile.add("/truncated.xml", static(200, body))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    assert outcome.error is None
    assert [e[0] for e in outcome.entries()] == ["truncated-1", "truncated-2"]
    assert [a[1] for a in outcome.hostile_articles()] == [
        "Japan and Russia agree to resume peace treaty talks in Tokyo",
        "Russia and Japan discuss fishing quotas near the Kuril Islands",
    ]
    # the damage is on record as a warning, not as a failure
    with db.cursor() as cur:
        cur.execute("SELECT f.error, f.parse_warning FROM feed_fetches f "
                    "JOIN sources s ON s.id = f.source_id WHERE s.name = %s", (HOSTILE,))
        [(error, warning)] = cur.fetchall()
    assert error is None and warning


# -- charsets ------------------------------------------------------------------------------------
JA_TITLE = "日露外相会談、平和条約交渉の再開で一致"
RU_TITLE = "Россия и Япония возобновят консультации по мирному договору"


@pytest.mark.parametrize(("codec", "declared", "lang"), [
    ("shift_jis", None, "ja"),
    ("shift_jis", "utf-8", "ja"),
    ("cp1251", None, "ru"),
    ("cp1251", "utf-8", "ru"),
    ("cp1251", "koi8-r", "ru"),
    ("koi8_r", None, "ru"),
    ("koi8_r", "windows-1251", "ru"),
], ids=lambda v: str(v))
def test_wrong_or_missing_charset(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer,
    codec: str, declared: str | None, lang: str,
) -> None:
    """Feed and page in a legacy encoding, declared wrongly or not at all: no mojibake."""
    title = JA_TITLE if lang == "ja" else RU_TITLE
    slug = f"/pages/{codec}-{declared}.html"
    page_url = hostile.base_url + slug
    page = article_page(page_url, title, lang, charset=declared).encode(codec)
    hostile.add(slug, static(200, page, "text/html"))  # and no charset in the header
    prolog = (f'<?xml version="1.0" encoding="{declared}"?>' if declared
              else '<?xml version="1.0"?>')
    feed = rss([item(title, page_url, f"{codec}-{declared}")], prolog=prolog).encode(codec)
    url = hostile.add(f"/feeds/{codec}-{declared}.xml", static(200, feed, "application/xml"))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url, lang))
    assert outcome.error is None
    assert [e[3] for e in outcome.entries()] == [title]
    assert [a[1] for a in outcome.hostile_articles()] == [title]
    body = one(db, "SELECT body FROM articles WHERE source = %s", HOSTILE)[0]
    assert BODIES[lang][0] in body


# -- entries -------------------------------------------------------------------------------------
def test_entries_without_links_or_dates(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    undated = serve_page(hostile, "/pages/undated.html", EN_TITLE + " without a date",
                         dated=False)
    dated = serve_page(hostile, "/pages/dated.html", EN_TITLE + " in Tokyo")
    feed = rss([
        item(EN_TITLE + " (no link, id only)", None, "no-link"),
        item(EN_TITLE + " (nothing at all)", None, None, date=None),
        item(EN_TITLE + " without a date", undated, "undated", date=None),
        item(EN_TITLE + " in Tokyo", dated, "dated", date="not a date at all"),
    ]).encode()
    url = hostile.add("/feeds/linkless.xml", static(200, feed))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    assert outcome.error is None
    record = outcome.fetch()
    assert (record["entries"], record["skipped"], record["error"]) == (2, 2, None)
    assert [(e[0], e[4]) for e in outcome.entries()] == [("undated", None), ("dated", None)]
    stored = {a[1]: a[2] for a in outcome.hostile_articles()}
    assert stored[EN_TITLE + " without a date"] is None
    assert stored[EN_TITLE + " in Tokyo"].isoformat() == "2026-11-26T01:00:00+00:00"


def test_pages_whose_metadata_raised_deep_inside_are_stored(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    """Found by serving pages from 127.0.0.1 to the real page step: each raised an exception
    no step expected (LookupError, OverflowError, UnicodeEncodeError), so the page was staged
    as an error and retried to its attempt limit, or, before pages were isolated, failed the
    source's task. Each is an ordinary article with one bad value: it is stored."""
    overflow = "1 Jan 99999999999999999999 00:00 +0000"
    pages = {}

    def page(path: str, title: str, edit: Callable[[str], str], content_type: str,
             filler: bytes = b"") -> str:
        url = hostile.base_url + path
        text = edit(article_page(url, title))
        body = text.encode("utf-8").replace(b"</article>", filler + b"</article>")
        pages[title] = url
        return hostile.add(path, static(200, body, content_type))

    # a charset label naming a byte transform, and a body that is not all UTF-8
    # (one stray byte amid 60 KB, past what detection samples)
    filler = b"<p>" + b"Background. " * 2500 + b"\x81" + b"Background. " * 2500 + b"</p>"
    page("/pages/rot13.html", EN_TITLE + " (rot13)", lambda t: t, "text/html; charset=rot13",
         filler)
    # a publication date whose year overflows a C long
    page("/pages/overflow.html", EN_TITLE + " (overflow)",
         lambda t: t.replace("2026-11-26T10:00:00+09:00", overflow), "text/html; charset=utf-8")
    # a JSON-LD headline with a lone surrogate escape, and no other title
    page("/pages/surrogate.html", "", lambda t: t.replace(
        "</head>", '<script type="application/ld+json">{"@type": "NewsArticle", "headline": '
        f'"{EN_TITLE} \\ud800"}}</script></head>').replace("<h1></h1>", "").replace(
        "<title> | Hostile Herald</title>", ""), "text/html; charset=utf-8")
    feed = rss([item(title or EN_TITLE + " (surrogate)", url, url, date=overflow)
                for title, url in pages.items()]).encode()
    url = hostile.add("/feeds/deep.xml", static(200, feed))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    assert outcome.error is None and outcome.fetch()["error"] is None
    assert rows(db, "SELECT status, reason_code FROM staged_articles s JOIN sources o "
                    "ON o.id = s.source_id WHERE o.name = %s", HOSTILE) == [
        ("extracted", None)] * 3
    stored = {a[0]: a for a in outcome.hostile_articles()}
    assert sorted(stored) == sorted(pages.values())
    assert stored[pages[""]][1] == EN_TITLE + " \ufffd"
    assert stored[pages[EN_TITLE + " (overflow)"]][2] is None  # no date, not an error
    assert all(e[4] is None for e in outcome.entries())  # the feed's dates overflow too


def test_relative_links_resolved_against_feed_url(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    serve_page(hostile, "/pages/rooted.html", EN_TITLE + " (rooted link)")
    serve_page(hostile, "/feeds/pages/sibling.html", EN_TITLE + " (sibling link)")
    serve_page(hostile, "/pages/parent.html", EN_TITLE + " (parent link)")
    feed = rss([
        item(EN_TITLE + " (rooted link)", "/pages/rooted.html", "rooted"),
        item(EN_TITLE + " (sibling link)", "pages/sibling.html?utm_source=rss", "sibling"),
        item(EN_TITLE + " (parent link)", "../pages/./parent.html", "parent"),
    ]).encode()
    url = hostile.add("/feeds/relative.xml", static(200, feed))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    assert outcome.error is None
    base = hostile.base_url.replace("http://", "https://")
    assert [e[1:3] for e in outcome.entries()] == [
        (hostile.base_url + "/pages/rooted.html", base + "/pages/rooted.html"),
        (hostile.base_url + "/feeds/pages/sibling.html?utm_source=rss",
         base + "/feeds/pages/sibling.html"),
        (hostile.base_url + "/pages/parent.html", base + "/pages/parent.html"),
    ]
    assert len(outcome.hostile_articles()) == 3


def test_duplicate_guids_stored_once(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    first = serve_page(hostile, "/pages/dup-1.html", EN_TITLE + " (first copy)")
    second = serve_page(hostile, "/pages/dup-2.html", EN_TITLE + " (second copy)")
    feed = rss([item(EN_TITLE + " (first copy)", first, "same-guid"),
                item(EN_TITLE + " (second copy)", second, "same-guid"),
                item(EN_TITLE + " (first copy)", first, "same-guid")]).encode()
    url = hostile.add("/feeds/duplicates.xml", static(200, feed))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    record = outcome.fetch()
    assert (record["entries"], record["skipped"]) == (1, 2)
    assert [e[0] for e in outcome.entries()] == ["same-guid"]
    assert [a[1] for a in outcome.hostile_articles()] == [EN_TITLE + " (first copy)"]
    assert "/pages/dup-2.html" not in hostile.hits


def test_10000_entries_bounded_work(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the first 500 entries are built and stored, and at most N pages fetched."""
    monkeypatch.setenv("NICHIRO_MAX_ARTICLES_PER_SOURCE", "3")
    url = hostile.base_url + "/feeds/bulk.xml"
    made = []  # entries built from the bulk feed
    real_make_entry = feeds._make_entry

    def counting_make_entry(raw: Any, feed_url: str, *rest: Any) -> Any:
        if feed_url == url:
            made.append(raw.get("id"))
        return real_make_entry(raw, feed_url, *rest)
    monkeypatch.setattr(feeds, "_make_entry", counting_make_entry)
    for n in range(3):
        serve_page(hostile, f"/bulk/{n}.html", f"{EN_TITLE} (part {n})")
    feed = rss([item(f"{EN_TITLE} (part {n})", f"{hostile.base_url}/bulk/{n}.html", f"bulk-{n}")
                for n in range(10_000)]).encode()
    hostile.add("/feeds/bulk.xml", static(200, feed))
    hits = len(hostile.hits)
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    record = outcome.fetch()
    assert (record["entries"], record["skipped"]) == (feeds.MAX_ENTRIES, 10_000 - 500)
    assert one(db, "SELECT count(*) FROM feed_entries WHERE guid LIKE %s", "bulk-%") == (500,)
    assert made == [f"bulk-{n}" for n in range(feeds.MAX_ENTRIES)]
    page_hits = [p for p in hostile.hits[hits:] if p.startswith("/bulk/")]
    assert sorted(page_hits) == ["/bulk/0.html", "/bulk/1.html", "/bulk/2.html"]
    assert len(outcome.hostile_articles()) == 3


# -- text that looks like code --------------------------------------------------------------------
SQL_TITLE = "'); DROP TABLE articles; -- Japan and Russia agree to resume peace treaty talks"
SCRIPT_TITLE = "<script>alert(1)</script> Japan and Russia agree to resume peace treaty talks"


@pytest.mark.parametrize("title", [SQL_TITLE, SCRIPT_TITLE], ids=["sql", "script"])
def test_code_in_titles_stored_verbatim(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer, title: str
) -> None:
    slug = "/pages/sql.html" if title == SQL_TITLE else "/pages/script.html"
    page_url = serve_page(hostile, slug, title)
    guid = "guid'); DELETE FROM sources; --"
    feed = rss([item(title, page_url, guid)]).encode()
    url = hostile.add("/feeds/code-" + slug.rsplit("/", 1)[1] + ".xml", static(200, feed))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    assert outcome.error is None
    assert [(e[0], e[3]) for e in outcome.entries()] == [(guid, title)]
    assert [a[1] for a in outcome.hostile_articles()] == [title]
    # the tables the SQL names are all still there, with every row
    assert one(db, "SELECT to_regclass('articles') IS NOT NULL, "
                   "(SELECT count(*) FROM sources)") == (True, 3)
    # the page's own <script> element is markup: it is neither run nor stored as text
    body = one(db, "SELECT body FROM articles WHERE source = %s", HOSTILE)[0]
    assert "never run" not in body and BODIES["en"][0] in body


def test_atom_text_title_with_markup_is_stored_as_text(
    db: Any, site: Any, stored_before: Any, hostile: HostileServer
) -> None:
    """Atom type="text": "&lt;script&gt;" is the five characters "<script>", kept as such;
    type="html": a script element, dropped (it is code, not title text)."""
    page_url = serve_page(hostile, "/pages/atom.html", SCRIPT_TITLE)
    escaped = html.escape(SCRIPT_TITLE, quote=False)
    feed = (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{HOSTILE}</title><id>urn:hostile</id><updated>2026-11-26T01:00:00Z</updated>"
            f'<entry><id>atom-text</id><title type="text">{escaped}</title>'
            f'<link href="{page_url}"/><updated>2026-11-26T01:00:00Z</updated></entry>'
            f'<entry><id>atom-html</id><title type="html">{escaped}</title>'
            f'<link href="{page_url}?v=2"/><updated>2026-11-26T01:00:00Z</updated></entry>'
            "</feed>").encode()
    url = hostile.add("/feeds/atom.xml", static(200, feed, "application/atom+xml"))
    outcome = run_with_wire(db, site, stored_before, hostile_source(url))
    assert [(e[0], e[3]) for e in outcome.entries()] == [
        ("atom-text", SCRIPT_TITLE),
        ("atom-html", "Japan and Russia agree to resume peace treaty talks"),
    ]
    assert [a[1] for a in outcome.hostile_articles()] == [SCRIPT_TITLE]
