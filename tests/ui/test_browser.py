"""The Nichiro page as a person sees it: headless Chromium logs in to the real api-server,
opens Browse → Nichiro (/plugin/nichiro, the page in the UI's frame), reads the Events view
(one event's English, Japanese and Russian headlines side by side) and its drill-down, and
opens an edited article's history (a unified diff of title and body), and takes
screenshots.

Needs Debian's `chromium` (scripts/ensure_chromium.sh installs it): without a browser this
test fails, it does not skip. Screenshots go to $NICHIRO_SCREENSHOT_DIR (default
/tmp/nichiro-ui): nichiro-browse-menu.png (the Browse menu with its Nichiro entry),
nichiro-in-airflow.png (the page in the UI's frame), nichiro-event.png (an event's page),
nichiro-article-diff.png (an article's edits) and nichiro-page.png (full page, a search).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.ui.cdp import Chromium
from tests.ui.test_page import SCRIPT_TITLE, add_revision

pytestmark = [pytest.mark.integration, pytest.mark.browser]

FRAME_DOC = "document.querySelector('iframe') && document.querySelector('iframe').contentDocument"
#: The fixture event's headlines (tests/fixtures/events/reports.jsonl, event "visit").
UI_EVENT_HEADLINES = ("Japan protests Russian minister's trip to Kunashir",
                      "トルトネフ副首相が国後島訪問 政府が抗議", "Трутнев посетил Кунашир")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a Chromium binary (installed by scripts/ensure_chromium.sh when missing)."""
    done = subprocess.run([str(REPO / "scripts" / "ensure_chromium.sh")], capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(f"no headless browser for the UI test:\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def shots() -> Path:
    path = Path(os.environ.get("NICHIRO_SCREENSHOT_DIR", "/tmp/nichiro-ui"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_log_in_and_open_the_nichiro_page(chromium: str, api_server: Any, dashboard_db: Any,
                                          shots: Path) -> None:
    base = api_server.base_url
    add_revision(dashboard_db)
    with Chromium(chromium) as browser:
        # not logged in: the page sends the browser to Airflow's login form
        browser.goto(f"{base}/nichiro/")
        browser.wait_for("location.pathname === '/auth/login'", what="the login page")
        assert "Kyodo" not in browser.js("document.body.innerText")

        # log in as a person would, asking for the Nichiro entry of the UI's navigation
        browser.log_in(base, "/plugin/nichiro", "admin", api_server.password())
        browser.wait_for("location.pathname === '/plugin/nichiro'", what="the Nichiro view")
        table = browser.wait_for(f"{FRAME_DOC} && {FRAME_DOC}.querySelector('#source-health') "
                                 f"&& {FRAME_DOC}.querySelector('#source-health').innerText",
                                 what="the source table inside the UI's frame")
        for source in ("Kyodo EN", "TASS RU", "NHK JA"):
            assert source in table
        assert "failing" in table and "disabled" in table
        # the Airflow UI around it: the frame shows /nichiro/, and Browse lists "Nichiro"
        assert browser.js("document.querySelector('iframe').getAttribute('src')").endswith(
            "/nichiro/")
        browser.js("[...document.querySelectorAll('nav button, nav a, button')]"
                   ".find(e => e.innerText.trim() === 'Browse').click()")
        browser.wait_for("[...document.querySelectorAll('[role=menuitem]')]"
                         ".some(e => e.innerText.trim() === 'Nichiro')",
                         what="a Nichiro item in the Browse menu")
        time.sleep(0.5)  # let the menu's opening animation finish
        menu = browser.screenshot(shots / "nichiro-browse-menu.png")
        browser.send("Input.dispatchKeyEvent", type="keyDown", key="Escape", code="Escape",
                     windowsVirtualKeyCode=27)
        browser.wait_for("![...document.querySelectorAll('[role=menuitem]')]"
                         ".some(e => e.checkVisibility())", what="the menu to close")
        time.sleep(0.5)  # and its closing animation
        frame_text = browser.js(f"{FRAME_DOC}.body.innerText")
        assert SCRIPT_TITLE in frame_text  # shown as text ...
        assert browser.js(f"{FRAME_DOC}.querySelectorAll('script').length") == 0  # ... not run
        assert browser.dialogs() == []
        titles = browser.js(f"[...{FRAME_DOC}.querySelectorAll('#latest-articles a')]"
                            ".map(a => [a.textContent, a.href])")
        assert [SCRIPT_TITLE, "https://tass.example/kurily"] in titles
        assert browser.js(f"{FRAME_DOC}.querySelectorAll('svg.chart rect').length") == 6
        # the Events view: one event's headlines side by side, in three languages
        events = browser.js(f"{FRAME_DOC}.querySelector('#events').innerText")
        for headline in UI_EVENT_HEADLINES:
            assert headline in events
        browser.wait_for("document.readyState === 'complete'")
        framed = browser.screenshot(shots / "nichiro-in-airflow.png")

        # its drill-down, as a person opens it: a click on the event's "3 reports"
        browser.goto(f"{base}/nichiro/")
        browser.wait_for("!!document.querySelector('#events a')", what="the events table")
        browser.js("[...document.querySelectorAll('#events a')]"
                   ".find(a => a.closest('tr').innerText.includes('Трутнев')).click()")
        browser.wait_for("location.pathname.startsWith('/nichiro/events/') && "
                         "!!document.querySelector('#event-articles')", what="the event page")
        sides = browser.js("document.querySelector('#headlines').innerText")
        for headline in UI_EVENT_HEADLINES:
            assert headline in sides
        languages = browser.js("[...document.querySelectorAll('#event-articles tbody tr')]"
                               ".map(r => r.cells[1].innerText)")
        assert languages == ["en", "ja", "ru"]
        event = browser.screenshot(shots / "nichiro-event.png", full_page=True)

        # an edited article's history, from the page's "Recent edits": a unified diff
        browser.goto(f"{base}/nichiro/")
        browser.wait_for("!!document.querySelector('#recent-edits a')", what="recent edits")
        browser.js("document.querySelector('#recent-edits a').click()")
        browser.wait_for("location.pathname === '/nichiro/articles/1' && "
                         "!!document.querySelector('#diff pre')", what="the article's diff")
        diff = browser.js("document.querySelector('#diff').innerText")
        assert "-Japan and Russia to resume treaty talks" in diff
        assert "+Japan and Russia resume peace treaty talks" in diff
        assert browser.js("document.querySelectorAll('#diff span.add').length") >= 2
        edited = browser.screenshot(shots / "nichiro-article-diff.png", full_page=True)

        # the page on its own, full length
        browser.goto(f"{base}/nichiro/?q={json.dumps('peace treaty')[1:-1]}&lang=en")
        browser.wait_for("!!document.querySelector('#search-results')", what="search results")
        assert "resume peace treaty talks" in browser.js(
            "document.querySelector('#search-results').innerText")
        page = browser.screenshot(shots / "nichiro-page.png", full_page=True)
        assert browser.dialogs() == []
    for png in (menu, framed, event, edited, page):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
