"""The whole stack as an operator meets it: real Airflow components as subprocesses
(`airflow scheduler` with the LocalExecutor, `airflow dag-processor`, `airflow api-server`),
the offline sample site, one triggered run of nichiro_ingest, then headless Chromium logs in
through the UI's form, opens the DAG grid and the Nichiro page, and takes screenshots.

Screenshots go to $NICHIRO_E2E_SCREENSHOT_DIR (default /tmp/nichiro-e2e): dag-grid.png (the
run's page with the grid, task groups expanded; with NICHIRO_UPDATE_DOCS_SCREENSHOTS=1 also
copied to docs/dag-grid.png for the README), dag-mapped-fetch-feed.png (the mapped
fetch_feed instances by source) and nichiro-page.png (the Nichiro page, full length).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from nichiro_pools import HTTP_POOL

from tests.conftest import REPO
from tests.support.stack import (
    DAG_ID,
    Stack,
    run_to_the_end,
    running_stack,
    unpause_when_registered,
)
from tests.ui.cdp import Chromium

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SCRIPT_TITLE = "<script>alert(1)</script> Japan Russia test"
SAMPLE_TITLE = "Japanese and Russian foreign ministers revive peace treaty talks in Tokyo"
SOURCES = ("Pacific Wire", "北海新報", "Восточный вестник", "Google News: Japan Russia (en)",
           "Broken Feed")


@pytest.fixture
def stack(airflow_db: None, db: Any, site: Any, tmp_path: Path) -> Iterator[Stack]:
    """The stack with the LocalExecutor, against the (emptied) news database."""
    with running_stack(site, tmp_path) as s:
        yield s


def test_run_the_pipeline_and_see_it_in_the_browser(stack: Stack, db: Any, chromium: str
                                                    ) -> None:
    shots = Path(os.environ.get("NICHIRO_E2E_SCREENSHOT_DIR", "/tmp/nichiro-e2e"))
    shots.mkdir(parents=True, exist_ok=True)

    # 1. The DAG, parsed by the dag-processor, unpaused and triggered through the REST API.
    # Wait for *this* stack's parse (schedule 29 Feb): an earlier test in the session may have
    # serialized the DAG with its real schedule, and unpausing that version would start a
    # scheduled run that fetches the sample before the triggered one.
    unpause_when_registered(stack)
    # 2. The scheduler runs it to the end (LocalExecutor, parallelism 4), with the fetch
    # tasks' pool resized to 2 as an operator would in the UI.
    def resize(slots: int) -> httpx.Response:
        return stack.api("PATCH", f"/pools/{HTTP_POOL}", params={"update_mask": "slots"},
                         json={"pool": HTTP_POOL, "slots": slots, "include_deferred": False})

    r = resize(2)
    assert r.status_code == 200 and r.json()["slots"] == 2, r.text
    try:
        run, states = run_to_the_end(stack)
    finally:
        resize(4)
    run_id = run["dag_run_id"]
    # fetch_feed and fetch_articles together never ran more than the pool's 2 at a time
    tis = stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances",
                    params={"limit": 100}).json()["task_instances"]
    spans = [(ti["start_date"], ti["end_date"]) for ti in tis
             if ti["task_id"].startswith("shard.") and ti["state"] in ("success", "failed")]
    assert len(spans) == 2 * len(SOURCES) - 1  # Broken Feed's fetch_articles never ran
    assert max(sum(1 for s, e in spans if s <= at < e) for at, _ in spans) <= 2, spans
    # the intentional failure, and nothing else: Broken Feed fails alone
    assert states[("shard.fetch_feed", "Broken Feed")] == "failed", states
    assert states[("shard.fetch_articles", "Broken Feed")] == "upstream_failed", states
    expected: set[tuple[str, str | None]] = {
        (task, None) for task in ("migrate", "load_sources", "load", "announce", "summary",
                                  "run_ok", "sources_ok")}
    expected |= {(f"shard.{t}", name) for t in ("fetch_feed", "fetch_articles")
                 for name in SOURCES if name != "Broken Feed"}
    assert set(states) == expected | {("shard.fetch_feed", "Broken Feed"),
                                      ("shard.fetch_articles", "Broken Feed")}, states
    runs = [(r["dag_run_id"], r["run_type"], r["state"]) for r in
            stack.api("GET", f"/dags/{DAG_ID}/dagRuns").json()["dag_runs"]]
    assert {key: states[key] for key in expected} == dict.fromkeys(expected, "success"), (
        states, runs)
    # The run's state follows run_ok and sources_ok, not summary: one failed source of five
    # is under the share that turns a run red, so the run is "success" and the failure
    # shows on the source's task and in the note.
    assert run["state"] == "success", run
    # ... and the run's note, written by `summary` through the REST API, says what failed
    note = run["note"] or ""
    assert note.startswith(f"**{len(SOURCES)} sources, 1 failed**"), note
    assert "**Failed:**\n- Broken Feed: HTTPStatusError: HTTP 500" in note, note
    assert "**New or updated by source:**" in note and "Pacific Wire: 3 new" in note, note

    # 3. The news database holds the sample's 10 distinct stories.
    with db.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT url) FROM articles")
        assert cur.fetchone() == (10, 10)
        cur.execute("SELECT title FROM articles WHERE title = %s", (SAMPLE_TITLE,))
        assert cur.fetchone() is not None
        # a hostile title, as a feed could carry it: it must show as text, never run
        cur.execute(
            "INSERT INTO articles (url, original_url, title, body, published_at, fetched_at,"
            " first_seen_at, language, source, source_id, relevance_score, relevant,"
            " matched_terms, content_hash)"
            " SELECT 'https://e2e.example/script', 'https://e2e.example/script', %s,"
            " 'Japan and Russia, a test body.', now(), now(), now(), 'en', 'Pacific Wire', id,"
            " 3.0, true, '[]', 'e2e-script' FROM sources WHERE name = 'Pacific Wire'",
            (SCRIPT_TITLE,))
        assert cur.rowcount == 1
    db.commit()

    # 4. A person in the browser: log in, the DAG grid, the Nichiro page.
    base = stack.base_url
    grid_png = shots / "dag-grid.png"
    page_png = shots / "nichiro-page.png"
    with Chromium(chromium) as browser:
        browser.log_in(base, f"/dags/{DAG_ID}", "admin", stack.password())
        browser.wait_for(f"location.pathname.startsWith('/dags/{DAG_ID}')", what="the DAG page")
        browser.wait_for("document.body.innerText.includes('load_sources')", timeout=60,
                         what="the grid's task names")
        # the run's page, with the grid's task groups expanded (source → fetch_feed, ...)
        run_path = f"/dags/{DAG_ID}/runs/{quote(run_id, safe='')}"
        browser.goto(f"{base}{run_path}")
        # the new document first (Page.navigate returns before the old page is gone), then
        # the React grid's content
        browser.wait_for("location.pathname.includes('/runs/') && "
                         "document.body.innerText.includes('load_sources')", timeout=60,
                         what="the grid on the run's page")
        # by its test id: under load the UI may still show its untranslated label
        # ("taskGroups.expandAll") when the button appears
        browser.wait_for("(() => { const b = document.querySelector("
                         "'button[data-testid=\"expand-all-button\"]') || "
                         "[...document.querySelectorAll('button')].find("
                         "b => /expand all/i.test(b.getAttribute('aria-label') || ''));"
                         " if (b) b.click(); return !!b; })()", what="Expand all task groups")
        browser.wait_for("document.body.innerText.includes('fetch_articles') && "
                         "document.body.innerText.includes('Broken Feed')", timeout=30,
                         what="the expanded task group and the run's task instances")
        # the run's note in the run's header, its first line rendered from Markdown
        browser.wait_for(f"document.body.innerText.includes('{len(SOURCES)} sources, 1 failed"
                         " · 10 new')", timeout=30, what="the run's note on the run page")
        text = browser.js("document.body.innerText")
        assert "**" not in text, text[:3000]
        for name in ("migrate", "load_sources", "fetch_feed", "fetch_articles", "load",
                     "announce", "summary", "Broken Feed", "Failed", "Upstream Failed"):
            assert name in text, text[:3000]
        time.sleep(1)  # let the grid's squares settle
        browser.screenshot(grid_png)

        # the mapped fetch_feed tasks of this run, labelled with their sources
        browser.goto(f"{base}{run_path}/tasks/shard.fetch_feed/mapped")
        browser.wait_for("location.pathname.endsWith('/mapped') && "
                         "document.body.innerText.includes('Broken Feed')", timeout=60,
                         what="the mapped fetch_feed list with its source names")
        text = browser.js("document.body.innerText")
        for name in SOURCES:
            assert name in text, text[:3000]
        time.sleep(1)
        browser.screenshot(shots / "dag-mapped-fetch-feed.png")

        browser.goto(f"{base}/nichiro/")
        browser.wait_for("location.pathname === '/nichiro/' && "
                         "!!document.querySelector('#source-health')", what="the Nichiro page")
        health = browser.js("document.querySelector('#source-health').innerText")
        for name in SOURCES:
            assert name in health, health
        latest = browser.js("document.querySelector('#latest-articles').innerText")
        assert SAMPLE_TITLE in latest and SCRIPT_TITLE in latest, latest
        assert browser.js("document.querySelectorAll('script').length") == 0
        browser.wait_for("document.readyState === 'complete'")
        browser.screenshot(page_png, full_page=True)
        assert browser.dialogs() == []
    for png in (grid_png, page_png):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    if os.environ.get("NICHIRO_UPDATE_DOCS_SCREENSHOTS") == "1":  # refresh the README's image
        shutil.copyfile(grid_png, REPO / "docs" / "dag-grid.png")

    # 5. A second run with every feed unchanged: under the real scheduler too, an unchanged
    # feed ends skipped, its fetch_articles never runs, and load and summary still run.
    again, states = run_to_the_end(stack)
    assert again["state"] == "success", (again, states)
    for name in SOURCES:
        if name != "Broken Feed":
            assert states[("shard.fetch_feed", name)] == "skipped", states
            assert states[("shard.fetch_articles", name)] == "skipped", states
    assert states[("shard.fetch_feed", "Broken Feed")] == "failed", states
    assert {t: states[(t, None)] for t in ("load", "announce", "summary")} == {
        "load": "success", "announce": "skipped", "summary": "success"}, states
