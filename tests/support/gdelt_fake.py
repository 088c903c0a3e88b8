"""GDELT's DOC 2.0 API on 127.0.0.1, as its documentation describes `mode=artlist`.

It answers `GET <path>?query=… sourcelang:<language>&mode=artlist&format=json&
startdatetime=YYYYMMDDHHMMSS&enddatetime=…&maxrecords=N&sort=dateasc` with the JSON object
`{"articles": [...]}` of the articles it holds in that language whose `seendate` is in
[start, end), oldest first, at most `maxrecords` (GDELT's cap is 250), and an empty body
when none match (as GDELT does). Each request's parameters are kept in `requests`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def _stamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def _seen(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@contextmanager
def gdelt_fake(articles: list[dict[str, Any]]) -> Iterator[Any]:
    """Serve `articles` (GDELT's artlist items: url, title, seendate, domain, language,
    sourcecountry); yields the server, whose `endpoint` is the API's URL."""
    requests: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

        def do_GET(self) -> None:  # noqa: N802
            params = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            requests.append(params)
            language = params["query"].rsplit("sourcelang:", 1)[1].strip().lower()
            start, end = _stamp(params["startdatetime"]), _stamp(params["enddatetime"])
            listed = sorted((a for a in articles if a["language"].lower() == language
                             and start <= _seen(a["seendate"]) < end),
                            key=lambda a: a["seendate"])[: int(params["maxrecords"])]
            body = json.dumps({"articles": listed}).encode() if listed else b""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.endpoint = f"http://127.0.0.1:{server.server_address[1]}/api/v2/doc/doc"  # type: ignore[attr-defined]
    server.requests = requests  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
