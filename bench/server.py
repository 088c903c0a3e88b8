"""The benchmark's web server: tests.support.devserver.FixtureServer with latency and a byte count.

Same behaviour as the fixture server the tests use (ETag and Last-Modified with conditional
GET answering 304, gzip when asked, ``__BASE_URL__`` replaced by its own address), plus:

- ``latency_s``: every response waits this long before its first byte (a remote site's
  round trip; requests are served by concurrent threads, so it does not serialise them);
- counters of requests per status and of bytes sent (status line, headers and body, as
  they went over the socket), resettable between runs;
- responses are prepared once per file and kept in memory, so the server's own CPU use
  (it shares the machine with the pipeline) stays small and constant.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import Counter
from email.utils import formatdate
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from tests.support.devserver import (
    CONTENT_TYPES,
    PLACEHOLDER,
    TEXT_SUFFIXES,
    FixtureHandler,
    FixtureServer,
)


class _Prepared(NamedTuple):
    body: bytes
    gzipped: bytes | None
    etag: str
    mtime: float
    content_type: str


class BenchServer(FixtureServer):
    """Serves a corpus directory on 127.0.0.1; see the module docstring."""

    def __init__(self, root: Path, latency_s: float = 0.0, port: int = 0) -> None:
        super().__init__(root, port)
        self.RequestHandlerClass = _BenchHandler
        self.latency_s = latency_s
        self._lock = threading.Lock()
        self._cache: dict[str, _Prepared] = {}
        self.statuses: Counter[int] = Counter()
        self.bytes_sent = 0
        self.requests = 0

    def reset_counters(self) -> None:
        with self._lock:
            self.statuses.clear()
            self.bytes_sent = 0
            self.requests = 0
            self.hits.clear()

    def counters(self) -> dict[str, object]:
        with self._lock:
            return {"requests": self.requests, "bytes_sent": self.bytes_sent,
                    "statuses": {str(k): v for k, v in sorted(self.statuses.items())}}

    def count(self, status: int, nbytes: int) -> None:
        with self._lock:
            self.requests += 1
            self.statuses[status] += 1
            self.bytes_sent += nbytes

    def prepared(self, target: Path) -> _Prepared:
        key = str(target)
        mtime = target.stat().st_mtime
        cached = self._cache.get(key)
        if cached is not None and cached.mtime == mtime:
            return cached
        body = target.read_bytes()
        if target.suffix in TEXT_SUFFIXES:
            body = body.replace(PLACEHOLDER, self.base_url.encode())
        prepared = _Prepared(
            body=body,
            gzipped=gzip.compress(body, compresslevel=6) if len(body) > 1024 else None,
            etag='"' + hashlib.sha1(body).hexdigest()[:16] + '"',
            mtime=mtime,
            content_type=CONTENT_TYPES.get(target.suffix, "application/octet-stream"),
        )
        self._cache[key] = prepared
        return prepared


class _BenchHandler(FixtureHandler):
    server: BenchServer

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.server.latency_s > 0:
            time.sleep(self.server.latency_s)
        path = unquote(urlsplit(self.path).path)
        target = (self.server.root / path.lstrip("/")).resolve()
        if self.server.root not in target.parents or not target.is_file():
            self._send(404, b"not found\n", "text/plain", {})
            return
        page = self.server.prepared(target)
        headers = {"ETag": page.etag, "Last-Modified": formatdate(page.mtime, usegmt=True)}
        if self._not_modified(page.etag, page.mtime):
            self._send(304, b"", None, headers)
            return
        body = page.body
        if page.gzipped is not None and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = page.gzipped
            headers["Content-Encoding"] = "gzip"
        self._send(200, body, page.content_type, headers)

    def sent(self, status: int, nbytes: int) -> None:
        self.server.count(status, nbytes)
