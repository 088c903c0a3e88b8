"""robots.txt and the per-host request slots, against real servers and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import psycopg2
import pytest

from scrapers import pipeline
from scrapers.config import LOOPBACK_ONLY, HttpSettings
from scrapers.db.loader import load_run
from scrapers.fetch.http import Fetcher
from scrapers.fetch.politeness import HostThrottle, RobotsPolicy
from scrapers.models import Source

pytestmark = [pytest.mark.integration, pytest.mark.clock]


def test_robots_disallowed_pages_are_not_fetched_and_recorded(db: Any, site: Any) -> None:
    (site.root / "robots.txt").write_text(
        "User-agent: *\nDisallow: /private/\n\nUser-agent: NichiroBot\n"
        "Disallow: /en/articles/kunashir\n", "utf-8")
    src = Source(name="Pacific Wire", url=f"{site.base_url}/feeds/en_wire.xml", language="en")
    [row] = pipeline.sync_catalog(db, [src])
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
        feed = pipeline.fetch_feed(db, row["id"], "r", fetcher)
        counts = pipeline.fetch_articles(db, row["id"], "r", feed["fetch_id"], fetcher)
    load_run(db, "r")
    assert counts["rejected"] == 1 and counts["fetched"] == 2
    fetched_paths = {path for path, _ in site.hits}
    assert "/en/articles/kunashir-fishing-boats-detained.html" not in fetched_paths
    assert ("/robots.txt", 200) in site.hits
    with db.cursor() as cur:
        cur.execute("SELECT reason FROM staged_articles WHERE status = 'rejected'")
        assert cur.fetchall() == [("robots.txt disallows this page",)]
        cur.execute("SELECT count(*) FROM robots_cache WHERE status = 200")
        assert cur.fetchone()[0] == 1


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (410, True), (503, False)])
def test_robots_status_rules(db: Any, site: Any, status: int, allowed: bool) -> None:
    class Stub:
        settings = HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)

        def fetch(self, url: str, **_: Any) -> Any:
            from scrapers.fetch.http import HTTPStatusError

            raise HTTPStatusError(url, status)

    policy = RobotsPolicy(db, Stub(), "NichiroBot/0.1")
    assert policy.allowed("https://news.example/a/1", datetime.now(UTC)) is allowed


def test_host_slots_space_requests_across_connections(news_db_url: str, db: Any) -> None:
    """Two throttles on separate connections (as two tasks would be) share one schedule."""
    starts: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        conn = psycopg2.connect(news_db_url)
        throttle = HostThrottle(conn, delay_s=0.2)
        for _ in range(3):
            throttle("https://news.example/page")
            with lock:
                starts.append(time.monotonic())
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 6
    assert min(gaps) >= 0.15, f"requests to one host closer than the delay: {gaps}"


def test_other_hosts_are_not_delayed(db: Any) -> None:
    slept: list[float] = []
    throttle = HostThrottle(db, delay_s=30, sleep=slept.append)
    throttle("https://a.example/1")
    throttle("https://b.example/1")
    throttle("https://a.example/2")
    assert len(slept) == 1 and 29 < slept[0] <= 30


def test_the_longest_matching_rule_wins(db: Any, site: Any) -> None:
    """RFC 9309: an Allow more specific than a Disallow wins, wherever it is listed (the
    standard library's parser took the first match and refused the page)."""
    (site.root / "robots.txt").write_text(
        "User-agent: *\nDisallow: /en/articles/\nAllow: /en/articles/kunashir\n"
        "Disallow: /*.pdf$\n", "utf-8")
    base = site.base_url
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
        policy = RobotsPolicy(db, fetcher, "NichiroBot/0.1")
        assert policy.verdict(f"{base}/en/articles/kunashir-fishing-boats-detained.html") == (
            "allowed")
        assert policy.verdict(f"{base}/en/articles/arakawa-lavrov-tokyo.html") == "disallowed"
        assert policy.verdict(f"{base}/files/report.pdf") == "disallowed"
        assert policy.verdict(f"{base}/files/report.pdf?page=2") == "allowed"


def test_an_unavailable_robots_txt_leaves_pages_retryable_then_they_are_fetched(
        db: Any, site: Any) -> None:
    """robots.txt answering 503: nothing is fetched from the site, nothing is refused for
    good, nothing is cached; once it answers, the next run fetches the pages."""
    site.outages["/robots.txt"] = 503
    src = Source(name="Pacific Wire", url=f"{site.base_url}/feeds/en_wire.xml", language="en")
    [row] = pipeline.sync_catalog(db, [src])
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
        feed = pipeline.fetch_feed(db, row["id"], "r1", fetcher)
        first = pipeline.fetch_articles(db, row["id"], "r1", feed["fetch_id"], fetcher)
    assert first["fetched"] == 0 and first["rejected"] == 0 and first["errors"] == 3
    with db.cursor() as cur:
        cur.execute("SELECT DISTINCT status, reason_code FROM staged_articles")
        assert cur.fetchall() == [("error", "robots.txt unavailable")]
        cur.execute("SELECT count(*) FROM robots_cache")
        assert cur.fetchone() == (0,)
    assert not any(path.startswith("/en/articles/") for path, _ in site.hits)
    del site.outages["/robots.txt"]
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
        feed = pipeline.fetch_feed(db, row["id"], "r2", fetcher)
        second = pipeline.fetch_articles(db, row["id"], "r2", feed["fetch_id"], fetcher)
    assert second["fetched"] == 3 and second["errors"] == 0
