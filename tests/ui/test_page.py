"""The Nichiro page and its JSON API, on the plugin's FastAPI app with a real database and
real Airflow tokens (no api-server: see test_api_server.py for that)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.ui.conftest import mint_token

pytestmark = pytest.mark.integration

EXPECTED_SOURCES = {  # name -> (status, consecutive failures, articles 24 h, articles 7 d)
    "Kyodo EN": ("ok", 0, 2, 2),
    "TASS RU": ("failing", 3, 1, 1),
    "NHK JA": ("disabled", 1, 0, 1),
}
SCRIPT_TITLE = "<script>alert(1)</script> Япония и Россия: переговоры о мирном договоре"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- who may call it ---------------------------------------------------------------------

def test_anonymous_page_redirects_to_login(client: Any, dashboard_db: Any) -> None:
    r = client.get("/?q=treaty")
    assert r.status_code == 303
    assert r.headers["location"] == "/auth/login?next=%2F%3Fq%3Dtreaty"
    assert "Kyodo" not in r.text


@pytest.mark.parametrize("path", ["/api/summary", "/api/search?q=treaty"])
def test_anonymous_api_is_401(client: Any, dashboard_db: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 401
    assert r.json() == {"detail": "Not authenticated"}
    assert r.headers["www-authenticate"] == "Bearer"


def test_forged_token_is_refused(client: Any, auth_manager: Any) -> None:
    token = mint_token(auth_manager)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get("/api/summary", headers=bearer(forged)).status_code == 403
    # the page sends a stale or forged cookie back to the login page
    client.cookies.set("_token", forged)
    try:
        assert client.get("/").status_code == 303
    finally:
        client.cookies.clear()


def test_expired_token_is_401(client: Any, auth_manager: Any) -> None:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    expired = auth_manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="ADMIN"),
                                        expiration_time_in_seconds=-600)
    r = client.get("/api/summary", headers=bearer(expired))
    assert r.status_code == 401 and r.json() == {"detail": "Token Expired"}
    assert client.get("/", headers=bearer(expired)).status_code == 303


def test_user_without_role_is_forbidden(client: Any, auth_manager: Any) -> None:
    r = client.get("/api/summary", headers=bearer(mint_token(auth_manager, role=None)))
    assert r.status_code == 403


def test_ui_cookie_is_accepted(client: Any, dashboard_db: Any, auth_manager: Any) -> None:
    client.cookies.set("_token", mint_token(auth_manager))
    try:
        r = client.get("/")
    finally:
        client.cookies.clear()
    assert r.status_code == 200 and "Kyodo EN" in r.text


# --- what it shows -----------------------------------------------------------------------

def test_page_shows_health_chart_and_latest(client: Any, dashboard_db: Any,
                                            auth_manager: Any) -> None:
    r = client.get("/", headers=bearer(mint_token(auth_manager)))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src" not in r.headers["content-security-policy"]  # default-src 'none'
    page = r.text
    table = page.split('id="source-health"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>(.*?)</td>.*?st-\w+\">(.*?)</span>.*?</tr>", table, re.S)
    # failing first, then disabled, then ok
    assert rows == [("TASS RU", "failing"), ("NHK JA", "disabled"), ("Kyodo EN", "ok")]
    assert "HTTPStatusError: HTTP 503 &lt;b&gt;Service Unavailable&lt;/b&gt;" in table
    assert "410 Gone at feed URL" in table
    # chart: inline SVG, one bar per (day, language) with articles
    svg = page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert svg.count("<rect") == 3 + 3  # en, ru today / ja two days ago; 3 legend boxes
    assert "en (1)" in svg and "ja (1)" in svg and "ru (1)" in svg
    latest = page.split('id="latest-articles"')[1].split("</table>")[0]
    assert latest.index("Япония") < latest.index("peace treaty talks") < latest.index("北方領土")
    assert ('<a href="https://kyodo.example/peace-treaty?utm_source=rss" target="_blank" '
            'rel="noopener noreferrer">Japan and Russia resume peace treaty talks</a>') in latest
    assert "Weather in Sapporo" not in page  # not relevant
    # story and event sizes instead of the matched terms
    assert "peace treaty, Russia" not in latest
    assert '<th class="num">Story size</th><th class="num">Event size</th>' in latest
    assert re.search(r"Kyodo</td><td>en</td><td>[\d :-]+</td>\s*<td class=\"num\">2</td>",
                     latest)
    assert re.search(r'<a href="events/\d+">3</a>', latest)  # the visit, in three languages


def test_feed_text_is_escaped(client: Any, dashboard_db: Any, auth_manager: Any) -> None:
    page = client.get("/", headers=bearer(mint_token(auth_manager))).text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Япония" in page
    assert "javascript:" not in page  # article 3's link is dropped, its canonical URL kept
    assert '<a href="https://nhk.example/hoppo"' in page


def test_search_on_the_page(client: Any, dashboard_db: Any, auth_manager: Any) -> None:
    r = client.get("/", params={"q": "peace treaty", "lang": "en"},
                   headers=bearer(mint_token(auth_manager)))
    assert r.status_code == 200
    results = r.text.split('id="search-results"')[1].split("</table>")[0]
    assert "resume peace treaty talks" in results and results.count("<tr>") == 2  # head + 1
    r = client.get("/", params={"q": "x", "lang": "fr"}, headers=bearer(mint_token(auth_manager)))
    assert r.status_code == 400 and "unknown language &#39;fr&#39;" in r.text


def test_json_summary_shape(client: Any, dashboard_db: Any, auth_manager: Any) -> None:
    r = client.get("/api/summary", headers=bearer(mint_token(auth_manager)))
    assert r.status_code == 200
    data = r.json()
    assert set(data) == {"generated_at", "sources", "daily", "events", "latest", "backfills",
                         "edits"}
    assert data["backfills"] == [] and data["edits"] == []
    got = {s["name"]: (s["status"], s["consecutive_failures"], s["articles_24h"],
                       s["articles_7d"]) for s in data["sources"]}
    assert got == EXPECTED_SOURCES
    assert set(data["sources"][0]) == {
        "name", "language", "status", "last_success_at", "last_fetched_at",
        "consecutive_failures", "next_fetch_at", "articles_24h", "articles_7d", "last_error",
        "last_error_class", "disabled_reason"}
    assert len(data["daily"]["days"]) == 30
    assert {k: sum(v) for k, v in data["daily"]["series"].items()} == {"en": 1, "ja": 1, "ru": 1}
    assert all(len(v) == 30 for v in data["daily"]["series"].values())
    first = data["latest"][0]
    assert first["title"] == SCRIPT_TITLE  # JSON carries the raw text; escaping is the page's
    assert first["matched_terms"] == ["мирный договор"] and first["story_size"] == 2
    assert [a["id"] for a in data["latest"]][:3] == [2, 1, 3]  # then the visit's reports
    [visit] = [e for e in data["events"] if e["headline_ru"] == "Трутнев посетил Кунашир"]
    assert (visit["en_articles"], visit["ja_articles"], visit["ru_articles"]) == (1, 1, 1)
    assert visit["headline_ja"] == "トルトネフ副首相が国後島訪問 政府が抗議"


def test_json_search(client: Any, dashboard_db: Any, auth_manager: Any) -> None:
    token = mint_token(auth_manager)
    r = client.get("/api/search", params={"q": "北方領土 交渉", "lang": "ja"},
                   headers=bearer(token))
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == "北方領土 交渉" and body["lang"] == "ja" and body["count"] == 1
    [hit] = body["results"]
    assert set(hit) == {"id", "url", "title", "source", "language", "published_at",
                        "first_seen_at", "rank"}
    assert hit["id"] == 3 and hit["source"] == "NHK"
    r = client.get("/api/search", params={"q": "мирном договоре"}, headers=bearer(token))
    assert [h["id"] for h in r.json()["results"]] == [2]
    assert client.get("/api/search", params={"q": ""}, headers=bearer(token)).json()["count"] == 0
    assert client.get("/api/search", params={"q": "a", "lang": "xx"},
                      headers=bearer(token)).status_code == 400


def test_events_side_by_side_and_their_drill_down(client: Any, dashboard_db: Any,
                                                 auth_manager: Any) -> None:
    token = mint_token(auth_manager)
    page = client.get("/", headers=bearer(token)).text
    events = page.split('id="events"')[1].split("</table>")[0]
    row = next(r for r in events.split("<tr>") if "Трутнев посетил Кунашир" in r)
    assert '<td lang="ja">トルトネフ副首相が国後島訪問 政府が抗議</td>' in row
    assert '<td lang="ru">Трутнев посетил Кунашир</td>' in row
    assert re.search(r'<td class="num">1</td><td class="num">1</td>\s*<td class="num">1</td>',
                     row)
    assert "Kyodo (en)" in row and "+1 h 0 min" in row  # RU one hour after JA
    event_id = int(re.search(r'href="events/(\d+)">3 reports', row)[1])
    r = client.get(f"/events/{event_id}", headers=bearer(token))
    assert r.status_code == 200 and "script-src" not in r.headers["content-security-policy"]
    reports = r.text.split('id="event-articles"')[1].split("</table>")[0]
    assert [lang for lang in re.findall(r"<td>(en|ja|ru)</td>", reports)] == ["en", "ja", "ru"]
    assert "person:yuri_trutnev" in r.text  # the evidence that linked them
    detail = client.get(f"/api/events/{event_id}", headers=bearer(token)).json()
    assert detail["event"]["headline_en"] == "Japan protests Russian minister's trip to Kunashir"
    assert [a["language"] for a in detail["articles"]] == ["en", "ja", "ru"]
    assert client.get("/events/999999", headers=bearer(token)).status_code == 404
    assert client.get(f"/api/events/{event_id}").status_code == 401
    assert client.get(f"/events/{event_id}").status_code == 303


def test_the_page_reads_in_a_bounded_read_only_session(client: Any, dashboard_db: Any,
                                                       auth_manager: Any) -> None:
    """The page cannot write, a slow query stops after a few seconds, and one character
    (a substring matching nearly every Japanese article) is refused."""
    from nichiro_db import news_db

    with news_db(read_only=True) as conn, conn.cursor() as cur:
        cur.execute("SHOW statement_timeout")
        assert cur.fetchone() == ("5s",)
        with pytest.raises(Exception, match="read-only transaction"):
            cur.execute("DELETE FROM articles")
    r = client.get("/api/search", params={"q": "北"}, headers=bearer(mint_token(auth_manager)))
    assert r.status_code == 400 and "at least 2 characters" in r.json()["detail"]


def test_an_unreachable_database_is_a_503_that_names_nothing(
        client: Any, auth_manager: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import free_port

    monkeypatch.setenv("AIRFLOW_CONN_NICHIRO_DB",
                       f"postgresql://secret_user:hunter2@127.0.0.1:{free_port()}/nichiro")
    r = client.get("/api/summary", headers=bearer(mint_token(auth_manager)))
    assert r.status_code == 503
    assert r.json() == {"detail": "news database unavailable"}


def test_a_backfills_progress_is_on_the_page(client: Any, dashboard_db: Any,
                                            auth_manager: Any) -> None:
    from datetime import UTC, date, datetime

    from scrapers.backfill import BackfillRequest
    from scrapers.db import backfill as state

    request = BackfillRequest(date(2026, 9, 1), date(2026, 9, 30), languages=("ja",))
    at = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    with dashboard_db.cursor() as cur:
        cur.execute("SELECT id FROM sources ORDER BY id LIMIT 2")
        first, second = (row[0] for row in cur.fetchall())
    start, end = request.window
    state.ensure_backfill(dashboard_db, request.id, request.as_json(), [
        {"source_id": first, "via": "sitemap", "window_start": start, "window_end": end,
         "target": "https://a.example/"},
        {"source_id": second, "via": "sitemap", "window_start": start, "window_end": end,
         "target": "https://b.example/"}], at)
    [unit, _] = state.open_units(dashboard_db, request.id)
    state.mark_failed(dashboard_db, unit, "SitemapError: no sitemap", at)
    dashboard_db.commit()
    page = client.get("/", headers=bearer(mint_token(auth_manager))).text
    table = page.split('id="backfill-progress"')[1].split("</table>")[0]
    assert f"<td>{request.id}</td><td>2026-09-01 to 2026-09-30</td><td>ja</td>" in table
    assert '<td class="num">0/2</td><td class="num">1</td>' in table
    assert "under way, last step 2026-10-01 09:00" in table


def add_revision(db: Any, article_id: int = 1) -> None:
    """Article 1 was first stored with another headline and a sentence since rewritten."""
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO article_revisions (article_id, revision, title, body, content_hash,
                   seen_from, replaced_at, diff_summary)
               VALUES (%s, 1, 'Japan and Russia to resume treaty talks',
                       'Tokyo and Moscow may resume peace treaty negotiations.',
                       'old-hash', now() - interval '3 hours', now() - interval '1 hour',
                       'title, body')""", (article_id,))
        cur.execute("UPDATE articles SET updated_count = 1 WHERE id = %s", (article_id,))
    db.commit()


def test_an_articles_edits_are_a_unified_diff(client: Any, dashboard_db: Any,
                                              auth_manager: Any) -> None:
    add_revision(dashboard_db)
    token = mint_token(auth_manager)
    page = client.get("/", headers=bearer(token)).text
    edits = page.split('id="recent-edits"')[1].split("</table>")[0]
    assert '<a href="articles/1">Japan and Russia resume peace treaty talks</a>' in edits
    r = client.get("/articles/1", headers=bearer(token))
    assert r.status_code == 200
    diff = r.text.split('id="diff"')[1]
    assert '<span class="del">-Japan and Russia to resume treaty talks</span>' in diff
    assert '<span class="add">+Japan and Russia resume peace treaty talks</span>' in diff
    assert ('<span class="del">-Tokyo and Moscow may resume peace treaty negotiations.</span>'
            in diff)
    assert "Version 1 → current" in diff
    assert client.get("/articles/999", headers=bearer(token)).status_code == 404
    unchanged = client.get("/articles/2", headers=bearer(token)).text
    assert "No earlier version" in unchanged
