"""analytics schema: views, search per language, index use, the read-only role, docs/queries.md.

Fixture rows come from tests/fixtures/analytics/articles.json; each search example there
carries the articles it must find.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import psycopg2
import psycopg2.errors
import pytest

from scrapers.db.search import index_pending
from tests.conftest import FIXTURES, REPO

pytestmark = [pytest.mark.integration, pytest.mark.clock]

DATA = json.loads((FIXTURES / "analytics" / "articles.json").read_text("utf-8"))
ARTICLES = {a["key"]: a for a in DATA["articles"]}
QUERIES_MD = REPO / "docs" / "queries.md"


def ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def load_fixture(conn: Any) -> dict[str, int]:
    """Insert the fixture's sources, fetch errors, articles and tags; returns article ids."""
    source_ids: dict[str, int] = {}
    article_ids: dict[str, int] = {}
    with conn.cursor() as cur:
        for s in DATA["sources"]:
            cur.execute(
                """INSERT INTO sources (name, url, language, outlet, enabled, last_success_at,
                       last_fetched_at, consecutive_failures, last_error)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (s["name"], s["url"], s["language"], s["outlet"], s.get("enabled", True),
                 ts(s["last_success_at"]), ts(s["last_fetched_at"]),
                 s["consecutive_failures"], s["last_error"]),
            )
            source_ids[s["name"]] = cur.fetchone()[0]
        for f in DATA["fetch_errors"]:
            cur.execute(
                """INSERT INTO feed_fetches (source_id, run_id, url, started_at, finished_at,
                       http_status, error_class, error)
                   VALUES (%s, 'fixture', 'https://feed.example/', %s, %s, %s, %s, %s)""",
                (source_ids[f["source"]], ts(f["started_at"]), ts(f["started_at"]),
                 f["http_status"], f["error_class"], f["error"]),
            )
        outlets = {s["name"]: s["outlet"] for s in DATA["sources"]}
        for a in DATA["articles"]:
            cur.execute(
                """INSERT INTO articles (url, original_url, title, body, summary, authors,
                       published_at, fetched_at, first_seen_at, language, source, source_id,
                       guid, tags, relevance_score, relevant, matched_terms, content_hash,
                       published_precision, truncated, paywalled)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, true,
                       %s, md5(%s), %s, %s, %s) RETURNING id""",
                (a["url"], a["url"], a["title"], a["body"], a["summary"], a["authors"],
                 ts(a["published_at"]), ts(a["first_seen_at"]), ts(a["first_seen_at"]),
                 a["language"], outlets[a["source"]], source_ids[a["source"]], a["url"],
                 a.get("page_tags", []), a["relevance_score"],
                 json.dumps(a["matched_terms"], ensure_ascii=False), a["title"] + a["body"],
                 a["published_precision"], a["truncated"], a["paywalled"]),
            )
            article_ids[a["key"]] = cur.fetchone()[0]
            for tag in a["analyst_tags"]:
                cur.execute("INSERT INTO article_tags (article_id, tag) VALUES (%s, %s)",
                            (article_ids[a["key"]], tag))
    conn.commit()
    return article_ids


@pytest.fixture
def loaded(db: Any) -> Iterator[tuple[Any, dict[str, int]]]:
    ids = load_fixture(db)
    index_pending(db)  # as the load task does right after committing its articles
    db.commit()
    yield db, ids
    db.rollback()


def rows(conn: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def dated(a: dict[str, Any]) -> datetime:
    value = ts(a["published_at"]) or ts(a["first_seen_at"])
    assert value is not None
    return value


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- views -----------------------------------------------------------------------------


def test_articles_view_is_the_analysts_projection(loaded: Any) -> None:
    conn, ids = loaded
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM analytics.articles WHERE id = %s", (ids["en_fishing"],))
        names = [d[0] for d in cur.description]
        row = dict(zip(names, cur.fetchone(), strict=True))
    a = ARTICLES["en_fishing"]
    assert names[:19] == [
        "id", "url", "title", "body", "summary", "authors", "published_at",
        "published_precision", "first_seen_at", "language", "source", "relevance_score",
        "matched_terms", "truncated", "paywalled", "tags", "analyst_tags", "dated_at",
        "relevant"]
    assert {k: row[k] for k in names[:19]} == {
        "id": ids["en_fishing"], "url": a["url"], "title": a["title"], "body": a["body"],
        "summary": a["summary"], "authors": ["Ken Sato"], "published_at": ts(a["published_at"]),
        "published_precision": "datetime", "first_seen_at": ts(a["first_seen_at"]),
        "language": "en", "source": "Pacific Wire", "relevance_score": pytest.approx(0.92),
        "matched_terms": a["matched_terms"], "truncated": False, "paywalled": False,
        "tags": ["World", "Asia"],
        "analyst_tags": ["person:sergei_lavrov", "place:kuril_islands", "theme:fisheries"],
        "dated_at": ts(a["published_at"]), "relevant": True}
    assert "search_vector" in names
    # an article without a publication time is dated by when we first saw it
    assert rows(conn, "SELECT dated_at, published_at FROM analytics.articles WHERE id = %s",
                (ids["ja_lng"],)) == [(ts("2026-11-30T23:30:00Z"), None)]
    assert rows(conn, "SELECT count(*) FROM analytics.articles") == [(len(ARTICLES),)]


def test_daily_counts(loaded: Any) -> None:
    conn, _ = loaded
    expected = Counter(
        (dated(a).date(), outlet_of(a), a["language"]) for a in DATA["articles"])
    got = rows(conn, "SELECT day, source, language, n FROM analytics.daily_counts")
    assert sorted(got) == sorted((*k, n) for k, n in expected.items())
    assert (date(2026, 11, 2), "Pacific Wire", "en", 1) in got
    assert (date(2026, 10, 31), "Pacific Wire", "en", 1) in got  # 23:59:59 UTC stays Oct 31


def outlet_of(a: dict[str, Any]) -> str:
    return next(s["outlet"] for s in DATA["sources"] if s["name"] == a["source"])


def test_weekly_top_terms(loaded: Any) -> None:
    conn, ids = loaded
    counts: Counter[tuple[date, str, str]] = Counter()
    for a in DATA["articles"]:
        for term in {m["term"] for m in a["matched_terms"]}:  # once per article
            counts[(week_of(dated(a).date()), a["language"], term)] += 1
    got = rows(conn, "SELECT week, language, term, n FROM analytics.weekly_top_terms")
    assert sorted(got) == sorted((*k, n) for k, n in counts.items())
    # "Kuril Islands" matched twice in one article (title and body): counted once
    assert (date(2026, 11, 2), "en", "Kuril Islands", 1) in got

    # a second English article that week makes "Kuril Islands" the top term
    with conn.cursor() as cur:
        cur.execute("UPDATE articles SET published_at = '2026-11-03T00:00:00Z' WHERE id = %s",
                    (ids["en_drills"],))
    ranked = rows(conn, """SELECT term, n, rank FROM analytics.weekly_top_terms
                           WHERE week = '2026-11-02' AND language = 'en' ORDER BY rank, term""")
    assert ranked == [("Kuril Islands", 2, 1), ("Lavrov", 1, 2), ("Northern Territories", 1, 2)]


def test_weekly_tag_counts(loaded: Any) -> None:
    conn, _ = loaded
    counts: Counter[tuple[date, str, str, str]] = Counter()
    for a in DATA["articles"]:
        for tag in a["analyst_tags"]:
            counts[(week_of(dated(a).date()), tag.split(":")[0], tag, a["language"])] += 1
    got = rows(conn, "SELECT week, kind, tag, language, n FROM analytics.weekly_tag_counts")
    assert sorted(got) == sorted((*k, n) for k, n in counts.items())
    assert (date(2026, 11, 2), "place", "place:kuril_islands", "ru", 1) in got


def test_analysts_and_the_page_read_one_status(loaded: Any) -> None:
    """analytics.source_health takes its status from public.source_health, which the Nichiro
    page and `python -m scrapers sources` read: they cannot disagree on "failing"."""
    conn, _ = loaded
    with conn.cursor() as cur:  # disabled by health (a 410), still in the catalog
        cur.execute("UPDATE sources SET disabled_reason = '410 Gone at feed URL' "
                    "WHERE name = 'pacific-wire-en'")
    analysts = rows(conn, "SELECT source, status FROM analytics.source_health ORDER BY 1")
    page = rows(conn, "SELECT name, status FROM public.source_health ORDER BY 1")
    assert analysts == page
    assert ("pacific-wire-en", "disabled") in analysts


def test_source_health(loaded: Any) -> None:
    conn, ids = loaded
    with conn.cursor() as cur:  # one article first seen two days ago, the others long ago
        cur.execute("UPDATE articles SET first_seen_at = CASE WHEN id = %s "
                    "THEN now() - interval '2 days' ELSE now() - interval '30 days' END",
                    (ids["en_fishing"],))
    got = rows(conn, """SELECT source, outlet, status, consecutive_failures, last_success_at,
                               last_error, last_error_at, articles_7d
                        FROM analytics.source_health ORDER BY source""")
    assert got == [
        ("harbor-times-en", "Harbor Times", "failing", 3, ts("2026-11-20T06:00:00Z"),
         "HTTP 503 from https://harbor-times.example/feed", ts("2026-11-26T06:00:00Z"), 0),
        ("hokkai-nippo-ja", "北海日報", "ok", 0, ts("2026-11-26T06:00:00Z"), None, None, 0),
        ("pacific-wire-en", "Pacific Wire", "ok", 0, ts("2026-11-26T06:00:00Z"), None, None, 1),
        ("severny-vestnik-ru", "Северный вестник", "ok", 0, ts("2026-11-26T06:00:00Z"), None,
         None, 0),
        ("tokyo-keizai-ja", "東京経済新聞", "new", 0, None, None, None, 0),
        ("vostochny-kurier-ru", "Восточный курьер", "off (catalog)", 0, ts("2026-11-26T06:00:00Z"),
         None, None, 0),
    ]


# --- search ----------------------------------------------------------------------------


@pytest.mark.parametrize("example", DATA["searches"], ids=lambda e: f"{e['lang']}:{e['query']}")
def test_search_examples(loaded: Any, example: dict[str, Any]) -> None:
    conn, ids = loaded
    found = rows(conn, "SELECT id, language FROM analytics.search(%s, %s)",
                 (example["query"], example["lang"]))
    by_id = {v: k for k, v in ids.items()}
    assert [by_id[r[0]] for r in found] == example["finds"], example["why"]


def test_search_ranks_title_hits_first_and_filters_language(loaded: Any) -> None:
    conn, ids = loaded
    found = rows(conn, "SELECT id, rank FROM analytics.search('negotiations', 'en')")
    assert [r[0] for r in found] == [ids["en_fishing"], ids["en_october"]]
    assert found[0][1] > found[1][1] > 0  # "negotiate" in the title (weight A) ranks first
    assert rows(conn, "SELECT id FROM analytics.search('negotiations', 'ru')") == []
    # Japanese: a title hit outranks body-only hits; wildcards in the query are literal
    assert [r[0] for r in rows(conn, "SELECT id FROM analytics.search('サハリン', 'ja')")] == [
        ids["ja_lng"]]
    assert rows(conn, "SELECT id FROM analytics.search('%', 'ja')") == []
    assert rows(conn, "SELECT id FROM analytics.search('  ', NULL)") == []


def test_russian_short_form_needs_a_prefix_query(loaded: Any) -> None:
    """Snowball stems "Курилы" to курил but "Курильских" to курильск: documented limitation.

    docs/queries.md shows the prefix query that finds both.
    """
    conn, ids = loaded
    assert rows(conn, "SELECT to_tsvector('russian', 'Курилы Курильских островах')") == [
        ("'курил':1 'курильск':2 'остров':3",)]
    assert rows(conn, "SELECT id FROM analytics.search('Курилы', 'ru')") == []
    # the prefix through the simple config: stemming it would give 'кур':*, which also
    # matches курс and курьер
    assert rows(conn, "SELECT to_tsquery('russian', 'курил:*')::text, "
                      "to_tsquery('simple', 'курил:*')::text") == [("'кур':*", "'курил':*")]
    assert rows(conn, """SELECT id FROM analytics.articles WHERE language = 'ru'
                         AND search_vector @@ to_tsquery('simple', 'курил:*')""") == [
        (ids["ru_lavrov"],)]


def test_search_vector_follows_language_and_edits(loaded: Any) -> None:
    conn, ids = loaded
    configs = {"en": "english", "ru": "russian", "ja": "simple"}
    for language, config in configs.items():
        mismatched = rows(conn, """SELECT a.id FROM articles a
            LEFT JOIN article_search s ON s.article_id = a.id WHERE a.language = %s
            AND s.search_vector IS DISTINCT FROM setweight(to_tsvector(%s::regconfig, a.title),
                'A') || setweight(to_tsvector(%s::regconfig, a.body), 'B')""",
                          (language, config, config))
        assert mismatched == [], language
    with conn.cursor() as cur:
        cur.execute("UPDATE articles SET body = 'Переговоры возобновятся', language = 'ru' "
                    "WHERE id = %s", (ids["en_october"],))
    assert index_pending(conn) == 1
    found = rows(conn, "SELECT id FROM analytics.search('переговорах', 'ru')")
    assert (ids["en_october"],) in found


# --- index use -------------------------------------------------------------------------


def plan(conn: Any, sql: str, params: Any = None) -> str:
    with conn.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + sql, params)
        return "\n".join(r[0] for r in cur.fetchall())


@pytest.mark.parametrize(("sql", "index"), [
    ("SELECT * FROM analytics.search('negotiations', 'en')", "article_search_vector_idx"),
    ("SELECT * FROM analytics.search('Курильские острова', 'ru')",
     "article_search_vector_idx"),
    ("SELECT * FROM analytics.search('北方領土', 'ja')", "article_search_body_trgm_idx"),
    ("SELECT * FROM analytics.search('北方領土', 'ja')", "article_search_title_trgm_idx"),
    ("SELECT * FROM analytics.search('peace', 'xx')", "article_search_vector_idx"),
    # the trigram-indexed text is in analytics.article_search (analytics.articles has none)
    ("SELECT article_id FROM analytics.article_search WHERE body LIKE '%北方領土%'",
     "article_search_body_trgm_idx"),
    ("SELECT article_id FROM analytics.article_search WHERE title ILIKE '%サハリン%'",
     "article_search_title_trgm_idx"),
    ("SELECT id FROM analytics.articles WHERE search_vector @@ "
     "websearch_to_tsquery('english', 'peace treaty')", "article_search_vector_idx"),
    ("SELECT id FROM analytics.articles WHERE dated_at >= '2026-11-01' "
     "AND dated_at < '2026-12-01'", "articles_dated_at_idx"),
])
def test_indexes_serve_search(loaded: Any, sql: str, index: str) -> None:
    conn, _ = loaded
    text = plan(conn, sql)
    assert index in text, text
    assert "Index Scan" in text, text  # Bitmap Index Scan or Index Scan
    conn.rollback()


# --- the read-only role ----------------------------------------------------------------


def as_reader(conn: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run `sql` as nichiro_reader inside a transaction that is always rolled back."""
    try:
        with conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE nichiro_reader")
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.rollback()


def analytics_relations(conn: Any) -> list[str]:
    return [r[0] for r in rows(conn, """SELECT quote_ident(table_name) FROM information_schema
                                        .tables WHERE table_schema = 'analytics'
                                        ORDER BY 1""")]


def test_reader_role_attributes(db: Any) -> None:
    assert rows(db, """SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolinherit,
                              rolconfig FROM pg_roles WHERE rolname = 'nichiro_reader'""") == [
        (False, False, False, False, True, ["default_transaction_read_only=on"])]
    # it is a member of nothing (so inherits no one's rights)
    assert rows(db, """SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
                       WHERE r.rolname = 'nichiro_reader'""") == [(0,)]


def test_reader_can_select_every_analytics_view(loaded: Any) -> None:
    conn, ids = loaded
    names = analytics_relations(conn)
    assert {"articles", "daily_counts", "weekly_top_terms", "weekly_tag_counts",
            "source_health"} <= set(names)
    populated = {"articles", "daily_counts", "weekly_top_terms", "weekly_tag_counts",
                 "source_health"}  # the fixture has no edits or clusters: those may be empty
    for name in names:
        count = as_reader(conn, f"SELECT count(*) FROM analytics.{name}")[0][0]
        assert count >= (1 if name in populated else 0), name
    assert as_reader(conn, "SELECT id FROM analytics.search('北方領土', 'ja')") == [
        (ids["ja_hoppo"],)]


def test_reader_reads_views_created_later(loaded: Any) -> None:
    """V005's default privileges: a view the migrating role adds later is readable at once."""
    conn, _ = loaded
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE VIEW analytics.later AS SELECT 1 AS x")
            cur.execute("SET LOCAL ROLE nichiro_reader")
            cur.execute("SELECT x FROM analytics.later")
            assert cur.fetchall() == [(1,)]
    finally:
        conn.rollback()


@pytest.mark.parametrize("sql", [
    "INSERT INTO public.articles (url, original_url, title, body, fetched_at, first_seen_at, "
    "source, relevance_score, relevant, content_hash) VALUES ('u', 'u', 't', 'b', now(), "
    "now(), 's', 1, true, 'h')",
    "UPDATE public.articles SET title = 'x'",
    "DELETE FROM public.articles",
    "SELECT * FROM public.articles",
    "SELECT * FROM public.sources",
    "SELECT * FROM public.article_tags",
    "SELECT * FROM public.daily_article_counts",
    "TRUNCATE public.articles",
    "UPDATE analytics.article_search SET title = 'x'",  # a simple view is auto-updatable
    "DELETE FROM analytics.article_search",
    "INSERT INTO analytics.article_search (article_id) VALUES (1)",
    "CREATE TABLE analytics.scratch (x int)",
    "CREATE TABLE public.scratch (x int)",
    "CREATE VIEW analytics.mine AS SELECT 1",
    "CREATE SCHEMA reader_own",
    "SELECT nextval('public.articles_id_seq')",
])
def test_reader_is_refused(loaded: Any, sql: str) -> None:
    conn, _ = loaded
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        as_reader(conn, sql)


@pytest.mark.parametrize("sql", [
    "UPDATE analytics.articles SET title = 'x'",
    "DELETE FROM analytics.articles",
    "INSERT INTO analytics.articles (url) VALUES ('u')",
])
def test_articles_view_is_not_writable(loaded: Any, sql: str) -> None:
    """It joins article_search, so it is not auto-updatable: refused whatever the role."""
    conn, _ = loaded
    with pytest.raises(psycopg2.errors.ObjectNotInPrerequisiteState):
        as_reader(conn, sql)


def test_reader_has_no_privilege_on_any_public_table(loaded: Any) -> None:
    conn, _ = loaded
    privileged = rows(conn, """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p', 'S')
          AND (CASE WHEN c.relkind = 'S'
                    THEN has_sequence_privilege('nichiro_reader', c.oid, 'USAGE,SELECT,UPDATE')
                    ELSE has_table_privilege('nichiro_reader', c.oid,
                             'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER') END)""")
    assert privileged == []


# --- docs/queries.md -------------------------------------------------------------------

SQL_BLOCK = re.compile(r"^```sql\n(.*?)^```", re.S | re.M)


def doc_queries() -> list[str]:
    return SQL_BLOCK.findall(QUERIES_MD.read_text("utf-8"))


def test_docs_have_ten_queries() -> None:
    assert len(doc_queries()) == 10


# The search examples (5: en, 6: ru, 7: ja) must find these fixture articles.
DOC_SEARCH_FINDS = {5: {"en_fishing", "en_october"}, 6: {"ru_lavrov"}, 7: {"ja_hoppo"}}


@pytest.mark.parametrize("number", range(1, 11))
def test_docs_query_runs_as_reader(loaded: Any, number: int) -> None:
    conn, _ = loaded
    sql = doc_queries()[number - 1]
    result = as_reader(conn, sql)
    assert result, f"query {number} returned no rows on the fixture:\n{sql}"
    if number in DOC_SEARCH_FINDS:
        urls = {cell for row in result for cell in row if isinstance(cell, str)}
        expected = {ARTICLES[key]["url"] for key in DOC_SEARCH_FINDS[number]}
        assert urls & {a["url"] for a in DATA["articles"]} == expected


# --- README.md --------------------------------------------------------------------------

README_MD = REPO / "README.md"


def readme_statements() -> list[str]:
    """Every SQL statement of the README's sql blocks."""
    blocks = SQL_BLOCK.findall(README_MD.read_text("utf-8"))
    return [statement.strip() for block in blocks for statement in block.split(";")
            if statement.strip() and not all(line.lstrip().startswith("--")
                                              for line in statement.strip().splitlines())]


def test_the_readme_has_its_queries() -> None:
    assert len(readme_statements()) == 7


@pytest.mark.parametrize("number", range(1, 8))
def test_readme_query_runs_as_reader(loaded: Any, number: int) -> None:
    """The reader role may run every query the README shows (rows or none)."""
    conn, _ = loaded
    as_reader(conn, readme_statements()[number - 1])


def test_the_reader_reads_what_analysts_need(loaded: Any) -> None:
    conn, _ = loaded
    for view in ("analytics.story_clusters", "analytics.events", "analytics.daily_digest",
                 "analytics.recent_edits", "analytics.weekly_tag_counts"):
        as_reader(conn, f"SELECT * FROM {view} LIMIT 1")
    assert as_reader(conn, "SELECT count(*) FROM analytics.articles "
                           "WHERE cardinality(analyst_tags) > 0")[0][0] > 0
