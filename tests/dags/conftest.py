"""Fixtures the DAG tests share."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def alert_receiver(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A webhook on 127.0.0.1 standing in for Slack; `nichiro_alerts` points at it."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, **json.loads(body)})
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AIRFLOW_CONN_NICHIRO_ALERTS",
                       f"http://127.0.0.1:{server.server_address[1]}/hook")
    yield received
    server.shutdown()
    server.server_close()
