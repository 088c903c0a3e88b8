"""Per-source health against real servers and PostgreSQL: backoff, 410, Retry-After,
unchanged bodies, due sources, re-enabling."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scrapers import pipeline
from scrapers.config import LOOPBACK_ONLY, HttpSettings
from scrapers.fetch.http import Fetcher, HTTPStatusError
from scrapers.models import Source

pytestmark = [pytest.mark.integration, pytest.mark.clock]

NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def state(db: Any, name: str) -> dict[str, Any]:
    with db.cursor() as cur:
        cur.execute("SELECT * FROM sources WHERE name = %s", (name,))
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))


def fetch(db: Any, source_id: int, now: datetime, run_id: str = "r") -> dict[str, Any]:
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
        return pipeline.fetch_feed(db, source_id, run_id, fetcher, now=now)


def test_failures_back_off_then_success_resets(db: Any, site: Any) -> None:
    [row] = pipeline.sync_catalog(db, [Source(name="Flaky", url=f"{site.base_url}/status/503",
                                              language="en")], now=NOW)
    for attempt in (1, 2):  # two runs
        with pytest.raises(HTTPStatusError):
            fetch(db, row["id"], NOW, run_id=f"run-{attempt}")
        s = state(db, "Flaky")
        assert s["consecutive_failures"] == attempt and s["last_error_class"] == "HTTPStatusError"
        assert s["next_fetch_at"] == NOW + timedelta(minutes=5 * 2 ** (attempt - 1))
    # not due while backing off; due again afterwards
    assert pipeline.sync_catalog(db, [Source(name="Flaky", url=f"{site.base_url}/status/503",
                                             language="en")], now=NOW) == []
    fixed = Source(name="Flaky", url=f"{site.base_url}/feeds/en_wire.xml", language="en")
    assert [r["name"] for r in pipeline.sync_catalog(db, [fixed],
                                                     now=NOW + timedelta(hours=1))] == ["Flaky"]
    counts = fetch(db, row["id"], NOW + timedelta(hours=1))
    s = state(db, "Flaky")
    assert counts["new_entries"] == 6 and s["consecutive_failures"] == 0
    assert s["last_error"] is None and s["next_fetch_at"] > NOW + timedelta(hours=1)


def test_410_disables_at_once_and_enable_command_restores(
    db: Any, site: Any, news_db_url: str
) -> None:
    gone = Source(name="Gone", url=f"{site.base_url}/status/410", language="en")
    [row] = pipeline.sync_catalog(db, [gone], now=NOW)
    with pytest.raises(HTTPStatusError):
        fetch(db, row["id"], NOW)
    assert state(db, "Gone")["disabled_reason"].startswith("410 Gone")
    assert pipeline.sync_catalog(db, [gone], now=NOW + timedelta(days=30), fetch_all=True) == []
    with db.cursor() as cur:
        cur.execute("SELECT status FROM source_health WHERE name = 'Gone'")
        assert cur.fetchone() == ("disabled",)
    db.commit()
    env = {**os.environ, "NICHIRO_DB_URL": news_db_url}
    out = subprocess.run([sys.executable, "-m", "scrapers", "sources", "enable", "Gone"],
                         env=env, capture_output=True, text=True, check=True).stdout
    assert "enabled" in out
    listing = subprocess.run([sys.executable, "-m", "scrapers", "sources", "list"], env=env,
                             capture_output=True, text=True, check=True).stdout
    assert "Gone" in listing
    assert [r["name"] for r in pipeline.sync_catalog(db, [gone], now=NOW)] == ["Gone"]


def test_retry_after_on_429_sets_next_fetch(db: Any, site: Any) -> None:
    # the fixture server's /status/429 sends no Retry-After: use a tiny handler instead
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(429)
            self.send_header("Retry-After", "7200")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        src = Source(name="Throttled", url=f"http://127.0.0.1:{server.server_address[1]}/f",
                     language="en")
        [row] = pipeline.sync_catalog(db, [src], now=NOW)
        with pytest.raises(HTTPStatusError):
            fetch(db, row["id"], NOW)
    finally:
        server.shutdown()
        server.server_close()
    assert state(db, "Throttled")["next_fetch_at"] == NOW + timedelta(hours=2)
    with db.cursor() as cur:
        cur.execute("SELECT http_status, retry_after_s FROM feed_fetches")
        assert cur.fetchone() == (429, 7200)


def test_unchanged_body_is_not_parsed_again(db: Any, site: Any) -> None:
    src = Source(name="Wire", url=f"{site.base_url}/feeds/en_wire.xml", language="en")
    [row] = pipeline.sync_catalog(db, [src], now=NOW)
    first = fetch(db, row["id"], NOW, "r1")
    with db.cursor() as cur:  # a server that ignores conditional GET
        cur.execute("UPDATE sources SET etag = NULL, last_modified = NULL")
    db.commit()
    second = fetch(db, row["id"], NOW + timedelta(hours=1), "r2")
    assert first["entries"] == 6 and second["entries"] == 0
    with db.cursor() as cur:
        cur.execute("SELECT http_status, body_unchanged FROM feed_fetches WHERE run_id = 'r2'")
        assert cur.fetchone() == (200, True)


def test_the_retries_of_one_run_are_one_failure(db: Any, site: Any) -> None:
    """Airflow retries a failed fetch_feed within its run: three tries, one failure."""
    [row] = pipeline.sync_catalog(db, [Source(name="Flaky", url=f"{site.base_url}/status/503",
                                              language="en")], now=NOW)
    for _try in range(3):
        with pytest.raises(HTTPStatusError):
            fetch(db, row["id"], NOW, run_id="run-1")
    s = state(db, "Flaky")
    assert s["consecutive_failures"] == 1 and s["last_error_class"] == "HTTPStatusError"
    assert s["next_fetch_at"] == NOW + timedelta(minutes=5)
    with pytest.raises(HTTPStatusError):
        fetch(db, row["id"], NOW, run_id="run-2")
    assert state(db, "Flaky")["consecutive_failures"] == 2
