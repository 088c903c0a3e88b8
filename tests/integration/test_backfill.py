"""The backfill against the sample site's archive and a real PostgreSQL, without Airflow:
sitemaps discovered, candidates judged, pages fetched through the live path, loaded once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from scrapers import backfill
from scrapers.backfill import BackfillRequest
from scrapers.catalog import load_catalog
from scrapers.config import LOOPBACK_ONLY, HttpSettings
from scrapers.db import backfill as state
from scrapers.db.loader import load_run
from scrapers.db.staging import sync_sources
from scrapers.fetch.http import Fetcher

pytestmark = [pytest.mark.integration]

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
OCTOBER = BackfillRequest(date(2026, 10, 1), date(2026, 10, 31))
STORED = {  # the archive's relevant pages dated in October (tests/fixtures/site/README.md)
    "/en/archive/japan-russia-salmon-quota-agreed-moscow.html",
    "/en/archive/tokyo-summons-russian-envoy-kunashir-drills.html",
    "/ja/archive/20261008-0001.html", "/ja/archive/20261016-0002.html",
    "/ru/archive/yaponiya-i-rossiya-soglasovali-kvoty-lososya.html",
    "/ru/archive/posla-yaponii-vyzvali-v-mid-rossii.html",
}


def rows(db: Any, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with db.cursor() as cur:
        cur.execute(query, args)
        return list(cur.fetchall())


def plan(db: Any, request: BackfillRequest) -> list[dict[str, Any]]:
    catalog = load_catalog()
    ids = {r["name"]: int(r["id"]) for r in sync_sources(db, catalog)}
    state.ensure_backfill(db, request.id, request.as_json(),
                          backfill.plan_units(request, catalog, ids), NOW)
    db.commit()
    return state.open_units(db, request.id)


def run(db: Any, request: BackfillRequest, now: datetime = NOW) -> dict[str, int]:
    units = plan(db, request)
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
        counts = backfill.run_units(db, fetcher, units, request, now)
    load_run(db, request.run_id, now)
    return counts


def stored_paths(db: Any, base_url: str) -> set[str]:
    return {url.removeprefix(base_url) for (url,) in rows(
        db, "SELECT url FROM articles WHERE discovered_via = 'sitemap'")}


def test_the_archive_is_discovered_judged_fetched_and_loaded_once(db: Any, site: Any) -> None:
    counts = run(db, OCTOBER)
    assert counts == {"done": 4, "waiting": 0, "failed": 0}  # 3 outlets and Broken Feed
    assert stored_paths(db, site.base_url) == STORED
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == len(STORED)
    by_path = {url.removeprefix(site.base_url): (candidate, via) for url, candidate, via in rows(
        db, "SELECT link, candidate, discovered_via FROM feed_entries")}
    # judged by its headline or slug before any fetch: not a candidate, never fetched
    assert by_path["/en/archive/osaka-marathon-record-crowd.html"] == (False, "sitemap")
    assert by_path["/ja/archive/20261020-0003.html"] == (False, "sitemap")
    # a transliterated slug cannot be judged: the page decides, and rejects it
    assert by_path["/ru/archive/vladivostok-novyj-most-otkryt.html"] == (True, "sitemap")
    # out of the range: not stored at all; robots.txt keeps the drafts folder closed
    assert "/en/archive/japan-russia-visa-talks-august.html" not in by_path
    staged = {url.removeprefix(site.base_url): (status, code) for url, status, code in rows(
        db, "SELECT e.link, st.status, st.reason_code FROM staged_articles st "
            "JOIN feed_entries e ON e.id = st.entry_id")}
    assert staged["/ru/archive/vladivostok-novyj-most-otkryt.html"] == (
        "rejected", "not relevant")
    assert staged["/en/private/draft-japan-russia-memo.html"][0] == "rejected"
    assert "/en/archive/osaka-marathon-record-crowd.html" not in staged
    [progress] = state.progress(db, OCTOBER.id)
    assert (progress["units"], progress["units_done"], progress["articles"]) == (4, 4, 6)
    assert state.finish(db, OCTOBER.id, NOW)

    # the same request again: nothing left to do, nothing fetched or stored twice
    assert run(db, OCTOBER) == {"done": 0, "waiting": 0, "failed": 0}
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == len(STORED)


def test_a_rerun_goes_on_after_the_page_budget_ran_out(db: Any, site: Any) -> None:
    small = BackfillRequest(date(2026, 10, 1), date(2026, 10, 31), languages=("en",),
                            max_articles=1)
    # the newest candidate first: the draft robots.txt closes (no request, no budget)
    assert run(db, small) == {"done": 1, "waiting": 1, "failed": 0}  # Broken Feed: nothing
    assert stored_paths(db, site.base_url) == set()
    assert run(db, small) == {"done": 0, "waiting": 1, "failed": 0}
    assert stored_paths(db, site.base_url) == {
        "/en/archive/tokyo-summons-russian-envoy-kunashir-drills.html"}
    more = BackfillRequest(date(2026, 10, 1), date(2026, 10, 31), languages=("en",),
                           max_articles=10)
    assert more.id == small.id  # a larger budget goes on with the same backfill
    assert run(db, more) == {"done": 1, "waiting": 0, "failed": 0}
    assert stored_paths(db, site.base_url) == {p for p in STORED if p.startswith("/en/")}
    assert rows(db, "SELECT count(*) FROM staged_articles WHERE status = 'extracted'"
                )[0][0] == 2  # each page fetched once


def test_a_host_gets_its_daily_pages_and_the_rest_waits_for_the_next_day(
        db: Any, site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    monkeypatch.setenv("NICHIRO_BACKFILL_HOST_DAILY_PAGES", "3")  # the sample is one host
    # day 1: the English unit's three candidates (a draft robots.txt closes, two pages)
    assert run(db, OCTOBER) == {"done": 2, "waiting": 2, "failed": 0}  # and Broken Feed
    assert rows(db, "SELECT count(*) FROM staged_articles")[0][0] == 3
    assert run(db, OCTOBER) == {"done": 0, "waiting": 2, "failed": 0}  # same day: nothing
    assert rows(db, "SELECT count(*) FROM staged_articles")[0][0] == 3
    # day 2: the Japanese unit's two and one Russian; day 3: the other two Russian
    assert run(db, OCTOBER, NOW + timedelta(days=1)) == {"done": 1, "waiting": 1, "failed": 0}
    assert run(db, OCTOBER, NOW + timedelta(days=2)) == {"done": 1, "waiting": 0, "failed": 0}
    assert stored_paths(db, site.base_url) == STORED
    assert rows(db, "SELECT count(*) FROM staged_articles")[0][0] == 8  # each page once


def test_a_site_whose_sitemaps_fail_is_retried_and_the_others_go_on(db: Any, site: Any) -> None:
    sitemap = site.root / "ru" / "sitemap.xml"
    good = sitemap.read_bytes()
    sitemap.write_text("<html>not a sitemap</html>", "utf-8")
    assert run(db, OCTOBER) == {"done": 3, "waiting": 0, "failed": 1}  # the ru section
    [(error,)] = rows(db, "SELECT error FROM backfill_units WHERE state = 'failed'")
    assert error.startswith("SitemapError: no sitemap of ") and "/ru/" in error
    assert {p for p in stored_paths(db, site.base_url)} == {
        p for p in STORED if not p.startswith("/ru/")}
    sitemap.write_bytes(good)  # mended: the next run retries the failed unit only
    assert run(db, OCTOBER) == {"done": 1, "waiting": 0, "failed": 0}
    assert stored_paths(db, site.base_url) == STORED

    for gone in ("ru/sitemap.xml", "ja/news-sitemap.xml", "en/sitemap_index.xml"):
        (site.root / gone).unlink()
    september = BackfillRequest(date(2026, 9, 1), date(2026, 9, 30))
    assert run(db, september) == {"done": 0, "waiting": 0, "failed": 4}


def test_an_unavailable_robots_txt_fails_the_units_until_it_answers(db: Any, site: Any) -> None:
    """Not "no sitemap": nothing is asked for, and the next run tries again."""
    site.outages["/robots.txt"] = 503
    assert run(db, OCTOBER) == {"done": 0, "waiting": 0, "failed": 4}
    errors = [error for (error,) in rows(db, "SELECT error FROM backfill_units")]
    assert all(e.startswith("SitemapError: no sitemap of ") and "SitemapUnavailable: "
               "robots.txt of " in e for e in errors), errors
    assert not [p for p, _ in site.hits if "sitemap" in p or "/archive/" in p]
    del site.outages["/robots.txt"]
    assert run(db, OCTOBER) == {"done": 4, "waiting": 0, "failed": 0}
    assert stored_paths(db, site.base_url) == STORED


KILLED_WORKER = """
import sys
from datetime import UTC, date, datetime
import psycopg2
from scrapers import backfill
from scrapers.backfill import BackfillRequest
from scrapers.catalog import load_catalog
from scrapers.db import backfill as state
from scrapers.db.staging import sync_sources
from tests.integration.outage_worker import fetcher

conn = psycopg2.connect(sys.argv[1])
request = BackfillRequest(date(2026, 10, 1), date(2026, 10, 31))
catalog = load_catalog()
ids = {r["name"]: int(r["id"]) for r in sync_sources(conn, catalog)}
now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
state.ensure_backfill(conn, request.id, request.as_json(),
                      backfill.plan_units(request, catalog, ids), now)
conn.commit()
with fetcher(stall_after_pages=2) as http:  # stalls between two pages, until killed
    backfill.run_units(conn, http, state.open_units(conn, request.id), request, now)
"""


def test_a_rerun_after_a_kill_mid_window_goes_on_and_fetches_nothing_twice(
        db: Any, site: Any, news_db_url: str) -> None:
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    worker = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, news_db_url],
                              cwd=Path(__file__).resolve().parents[2], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while rows(db, "SELECT count(*) FROM staged_articles")[0][0] < 2:
        db.rollback()
        assert worker.poll() is None, worker.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the worker staged no 2 pages in 60 s"
        time.sleep(0.1)
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=30)
    db.rollback()
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == 0  # killed before its load
    # killed in the middle of the English unit's window: one of its pages left
    assert rows(db, "SELECT state, pages FROM backfill_units ORDER BY source_id")[0] == (
        "discovered", None)
    assert run(db, OCTOBER) == {"done": 4, "waiting": 0, "failed": 0}
    assert stored_paths(db, site.base_url) == STORED
    pages = [path for path, _ in site.hits if "/archive/" in path]
    assert sorted(pages) == sorted(set(pages)), "a page was fetched twice"


# --- GDELT ------------------------------------------------------------------------------

def with_gdelt(site: Any, endpoint: str, languages: tuple[str, ...] = ("en",)) -> None:
    """The sample catalog plus a GDELT source per language, at the fake's endpoint."""
    catalog = site.catalog.read_text("utf-8")
    for language in languages:
        catalog += (f'\n[[source]]\nname = "GDELT ({language})"\n'
                    f'url = "{endpoint}#{language}"\nlanguage = "{language}"\n'
                    'kind = "gdelt"\n')
    site.catalog.write_text(catalog, "utf-8")


def gdelt_articles(base_url: str) -> list[dict[str, Any]]:
    import json
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "fixtures" / "gdelt" / "archive.json"
            ).read_text("utf-8")
    return list(json.loads(text.replace("__BASE_URL__", base_url))["articles"])


def test_gdelt_finds_outlets_beyond_the_catalog_day_by_day(db: Any, site: Any) -> None:
    from tests.support.gdelt_fake import gdelt_fake

    request = BackfillRequest(date(2026, 10, 1), date(2026, 10, 31), languages=("en",),
                              via=("gdelt",))
    with gdelt_fake(gdelt_articles(site.base_url)) as api:
        with_gdelt(site, api.endpoint, ("en", "ja"))
        assert run(db, request) == {"done": 31, "waiting": 0, "failed": 0}
        assert len(api.requests) == 31  # one a day, English only
        assert {r["query"].rsplit(" ", 1)[1] for r in api.requests} == {"sourcelang:english"}
    found = {url.removeprefix(site.base_url): (via, source) for url, via, source in rows(
        db, "SELECT url, discovered_via, source FROM articles")}
    # a GDELT source is no feed: the live ingest never fetches it, its health is not shown
    from scrapers import pipeline

    due = {s["name"] for s in pipeline.sync_catalog(db, load_catalog(), fetch_all=True)}
    assert "Pacific Wire" in due and not {"GDELT (en)", "GDELT (ja)"} & due
    assert not rows(db, "SELECT name FROM source_health WHERE name LIKE 'GDELT%%'")
    assert found == {
        "/other/kuril-ferry-japanese-visitors.html": ("gdelt", "courier.example"),
        "/en/archive/japan-russia-salmon-quota-agreed-moscow.html": ("gdelt", "wire.example"),
    }  # the marathon judged out by its title; the Japanese article is not English
    assert rows(db, "SELECT count(*) FROM feed_entries WHERE discovered_via = 'gdelt'"
                )[0][0] == 3


def test_a_gdelt_window_at_the_cap_is_split_until_it_is_not(db: Any, site: Any) -> None:
    from tests.support.gdelt_fake import gdelt_fake

    busy = [{"url": f"{site.base_url}/busy/{n}.html", "title": f"Weather report {n}",
             "seendate": f"20261015T{n * 4 // 60:02d}{n * 4 % 60:02d}00Z",  # every 4 min
             "domain": "busy.example",
             "language": "English", "sourcecountry": ""} for n in range(300)]
    request = BackfillRequest(date(2026, 10, 15), date(2026, 10, 15), via=("gdelt",))
    with gdelt_fake(busy) as api:
        with_gdelt(site, api.endpoint)
        assert run(db, request) == {"done": 2, "waiting": 0, "failed": 0}
        windows = [(r["startdatetime"], r["enddatetime"]) for r in api.requests]
    # the day held 300 (over the cap of 250): read again as its halves, 180 and 120
    assert windows == [("20261015000000", "20261016000000"),
                       ("20261015000000", "20261015120000"),
                       ("20261015120000", "20261016000000")]
    assert rows(db, "SELECT count(*) FROM feed_entries WHERE discovered_via = 'gdelt'"
                )[0][0] == 300
    assert rows(db, "SELECT count(*), min(window_start), max(window_end) FROM backfill_units"
                ) == [(2, datetime(2026, 10, 15, tzinfo=UTC), datetime(2026, 10, 16, tzinfo=UTC))]



def test_a_search_feed_dated_day_by_day(db: Any, site: Any) -> None:
    """The sample's search feed, asked for one day at a time (the sample server answers
    every query with the whole feed: each day keeps its own items)."""
    catalog = site.catalog.read_text("utf-8").replace(
        "/feeds/search_en.xml", "/feeds/search_en.xml?q=Japan+Russia")
    site.catalog.write_text(catalog, "utf-8")
    request = BackfillRequest(date(2026, 11, 23), date(2026, 11, 27), via=("search",))
    assert run(db, request) == {"done": 5, "waiting": 0, "failed": 0}
    asked = sorted(p for p, _ in site.hits if p.startswith("/feeds/search_en.xml"))
    assert len(asked) == 5
    by_day = rows(db, """SELECT u.window_start::date, e.title FROM backfill_units u
                         JOIN feed_entries e ON e.last_fetch_id = u.fetch_id
                         ORDER BY 1""")
    assert [(d.day, t[:20]) for d, t in by_day] == [
        (23, "Japanese and Russian"), (26, "Russia and Japan to "), (27, "Japan and Russia res")]
    assert {via for (via,) in rows(db, "SELECT discovered_via FROM articles")} == {"search"}
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == 3
