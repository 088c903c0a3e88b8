"""A static web server on 127.0.0.1 for the offline demo and the integration tests.

It serves a folder of fixture feeds and pages the way real sites do: ETag and
Last-Modified with conditional GET (304), gzip when asked, and `/status/<code>` answers
with that status. Text files may contain `__BASE_URL__`, replaced by the server's own
address, so fixtures carry absolute links without knowing the port.

CLI: `python -m tests.support.devserver ROOT [--port N]` serves until interrupted.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import threading
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

PLACEHOLDER = b"__BASE_URL__"
CONTENT_TYPES = {
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".html": "text/html",
    ".htm": "text/html",
    ".toml": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
TEXT_SUFFIXES = frozenset(CONTENT_TYPES)


@dataclass
class Outage:
    """A status answered instead of a resource, with headers (Retry-After, say), for the
    next `times` requests (None: until the test removes it)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = None


class FixtureServer(ThreadingHTTPServer):
    """Serves `root`; records each request path in `hits` for tests to inspect."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, root: Path, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), FixtureHandler)
        self.root = root.resolve()
        self.hits: list[tuple[str, int]] = []
        #: path -> status (or Outage) answered instead of the file: a test's outage of one
        #: resource
        self.outages: dict[str, int | Outage] = {}
        self._outage_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def handle_error(self, request: object, client_address: object) -> None:
        """A client hanging up early (size caps, 3xx without a body read) is not news."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def take_outage(self, path: str) -> Outage | None:
        """The outage answering this request for `path`, if any (one of its `times`)."""
        with self._outage_lock:
            outage = self.outages.get(path)
            if isinstance(outage, int):
                return Outage(outage)
            if outage is not None and outage.times is not None:
                outage.times -= 1
                if outage.times <= 0:
                    del self.outages[path]
            return outage

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> FixtureServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class FixtureHandler(BaseHTTPRequestHandler):
    server: FixtureServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        return  # keep test output quiet; hits are recorded instead

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = unquote(urlsplit(self.path).path)
        if path.startswith("/status/") and path[8:].isdigit():
            self._send(int(path[8:]), b"status page\n", "text/plain")
            return
        outage = self.server.take_outage(path)
        if outage is not None:
            self._send(outage.status, b"unavailable\n", "text/plain", outage.headers)
            return
        target = (self.server.root / path.lstrip("/")).resolve()
        if self.server.root not in target.parents or not target.is_file():
            self._send(404, b"not found\n", "text/plain")
            return
        body = target.read_bytes()
        if target.suffix in TEXT_SUFFIXES:
            body = body.replace(PLACEHOLDER, self.server.base_url.encode())
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        mtime = target.stat().st_mtime
        headers = {"ETag": etag, "Last-Modified": formatdate(mtime, usegmt=True)}
        if self._not_modified(etag, mtime):
            self._send(304, b"", None, headers)
            return
        content_type = CONTENT_TYPES.get(target.suffix, "application/octet-stream")
        if "gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 1024:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self._send(200, body, content_type, headers)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return etag in [t.strip() for t in if_none_match.split(",")]
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return int(mtime) <= parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                return False
        return False

    def _send(
        self, status: int, body: bytes, content_type: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.server.hits.append((urlsplit(self.path).path, status))
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        # Headers and body in one write, with TCP_NODELAY (disable_nagle_algorithm): two
        # writes would let Nagle's algorithm and the client's delayed ACK add ~40 ms.
        buffered: list[bytes] = getattr(self, "_headers_buffer", [])
        data = b"".join(buffered) + b"\r\n" + body
        buffered.clear()
        self.wfile.write(data)
        self.sent(status, len(data))

    def sent(self, status: int, nbytes: int) -> None:
        """Hook: a response of `nbytes` bytes on the wire was written."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fixture site on 127.0.0.1.")
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = FixtureServer(args.root, args.port)
    print(server.base_url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
