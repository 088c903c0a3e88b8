"""Watchlists against a real PostgreSQL: saved from the command line, matched by term, tag,
language and outlet, alerted once per new match."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scrapers.db import alerts, watchlists
from scrapers.db.search import index_pending
from tests.conftest import REPO
from tests.integration.test_alerts_db import article

pytestmark = [pytest.mark.integration]

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def cli(news_db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scrapers", "watch", "--db", news_db_url,
                           *args], capture_output=True, text=True, cwd=REPO, timeout=60)


def test_watches_are_kept_from_the_command_line(db: Any, news_db_url: str) -> None:
    assert cli(news_db_url, "list").stdout.startswith("no watch yet")
    added = cli(news_db_url, "add", "Kuril fishing", "--term", "fishing", "--language", "en",
                "--outlets", "Kyodo, NHK World")
    assert added.returncode == 0, added.stderr
    assert cli(news_db_url, "add", "sanctions", "--tag", "theme:sanctions").returncode == 0
    listed = cli(news_db_url, "list").stdout.splitlines()
    assert listed == ["Kuril fishing: term 'fishing', in en, from Kyodo, NHK World",
                      "sanctions: tag theme:sanctions"]
    again = cli(news_db_url, "add", "sanctions", "--tag", "theme:energy")
    assert again.returncode == 2 and "the name is taken" in again.stderr
    empty = cli(news_db_url, "add", "nothing")
    assert empty.returncode == 2 and "needs a term, a tag" in empty.stderr
    bad_tag = cli(news_db_url, "add", "bad", "--tag", "Sanctions")
    assert bad_tag.returncode == 2 and "kind:name" in bad_tag.stderr
    assert cli(news_db_url, "remove", "sanctions").returncode == 0
    assert cli(news_db_url, "remove", "sanctions").returncode == 1
    assert cli(news_db_url, "list").stdout.splitlines() == listed[:1]


def test_matches_follow_term_tag_language_and_outlet_and_alert_once(db: Any) -> None:
    fishing = article(db, NOW - timedelta(hours=2), "en", ("theme:fisheries",),
                      source="Kyodo", published=False)
    with db.cursor() as cur:
        cur.execute("UPDATE articles SET title = 'Japanese fishing boats detained', "
                    "body = 'Russian border guards detained two boats fishing near the "
                    "islands.' WHERE id = %s", (fishing,))
    other_outlet = article(db, NOW - timedelta(hours=2), "en", ("theme:fisheries",),
                           source="Reuters", published=False)
    old = article(db, NOW - timedelta(days=3), "en", ("theme:fisheries",), source="Kyodo",
                  published=False)
    with db.cursor() as cur:
        cur.execute("UPDATE articles SET title = 'Fishing talks', body = 'The fishing talks "
                    "resumed.' WHERE id = ANY(%s)", ([other_outlet, old],))
    index_pending(db)
    watchlists.add(db, "Kuril fishing", term="fish", language="en", outlets=["Kyodo"], now=NOW)
    watchlists.add(db, "fisheries in ja", tag="theme:fisheries", language="ja", now=NOW)
    db.commit()
    [watch, _] = sorted(watchlists.all_watches(db), key=lambda w: w["name"] != "Kuril fishing")
    found = watchlists.matches(db, watch, NOW - timedelta(days=1), NOW)
    assert [m["id"] for m in found] == [fishing]  # stemmed: "fish" finds "fishing"
    [alert] = alerts.watch_alerts(db, NOW)
    assert alert.kind == "watch" and alert.key == f"{watch['id']}|{fishing}"
    assert alert.title == "Watch Kuril fishing: Kyodo: Japanese fishing boats detained"
    alerts.mark_sent(db, [alert], NOW)
    db.commit()
    assert alerts.unsent(db, alerts.watch_alerts(db, NOW)) == []
