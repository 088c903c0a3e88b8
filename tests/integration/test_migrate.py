"""Migrations against a real PostgreSQL: order, idempotence, checksums, rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg2
import pytest

from scrapers.db.migrate import REWRITTEN, MigrationError, discover, migrate

pytestmark = pytest.mark.integration


@pytest.fixture
def scratch(news_db_url: str) -> Any:
    """A connection inside a throwaway schema, so these tests leave the real one alone."""
    conn = psycopg2.connect(news_db_url)
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS migtest CASCADE; CREATE SCHEMA migtest")
        cur.execute("SET search_path TO migtest")
    conn.commit()
    yield conn
    conn.rollback()
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA migtest CASCADE")
    conn.commit()
    conn.close()


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


def test_project_migrations_applied_and_recorded(news_db_url: str) -> None:
    conn = psycopg2.connect(news_db_url)
    with conn.cursor() as cur:
        cur.execute("SELECT version FROM schema_migrations ORDER BY version")
        versions = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT to_regclass('articles'), to_regclass('daily_article_counts')")
        assert all(cur.fetchone())
    assert versions[0] == "001" and "R:analyst_views" in versions
    assert migrate(conn) == []  # idempotent: nothing pending
    conn.close()


def test_a_file_rewritten_on_purpose_keeps_databases_that_applied_it(news_db_url: str) -> None:
    """V005 lost the role creation (the privileged step took it): a database that applied
    the earlier text gets the new checksum recorded; nothing is applied again."""
    [v005] = [m for m in discover()[0] if m.version == "005"]
    [earlier] = REWRITTEN["005"]
    conn = psycopg2.connect(news_db_url)
    with conn.cursor() as cur:
        cur.execute("UPDATE schema_migrations SET checksum = %s WHERE version = '005'",
                    (earlier,))
    conn.commit()
    assert migrate(conn) == []
    with conn.cursor() as cur:
        cur.execute("SELECT checksum FROM schema_migrations WHERE version = '005'")
        assert cur.fetchone() == (v005.checksum,)
    conn.close()


def test_order_idempotence_and_views(scratch: Any, tmp_path: Path) -> None:
    write(tmp_path, "migrations/V002__add_col.sql", "ALTER TABLE t ADD COLUMN b int;")
    write(tmp_path, "migrations/V001__create.sql", "CREATE TABLE t (a int);")
    write(tmp_path, "views/R__v.sql", "CREATE OR REPLACE VIEW v AS SELECT a, b FROM t;")
    assert migrate(scratch, tmp_path) == ["V001__create.sql", "V002__add_col.sql", "R__v.sql"]
    assert migrate(scratch, tmp_path) == []
    write(tmp_path, "views/R__v.sql", "CREATE OR REPLACE VIEW v AS SELECT a, b, 1 AS c FROM t;")
    assert migrate(scratch, tmp_path) == ["R__v.sql"]


def test_edited_applied_migration_is_refused(scratch: Any, tmp_path: Path) -> None:
    write(tmp_path, "migrations/V001__create.sql", "CREATE TABLE t (a int);")
    migrate(scratch, tmp_path)
    write(tmp_path, "migrations/V001__create.sql", "CREATE TABLE t (a bigint);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(scratch, tmp_path)


def test_failing_migration_rolls_back_whole(scratch: Any, tmp_path: Path) -> None:
    write(tmp_path, "migrations/V001__create.sql", "CREATE TABLE t (a int);")
    write(tmp_path, "migrations/V002__bad.sql", "CREATE TABLE u (a int); SELECT nonsense;")
    with pytest.raises(MigrationError, match="V002__bad.sql failed"):
        migrate(scratch, tmp_path)
    with scratch.cursor() as cur:
        cur.execute("SELECT to_regclass('migtest.t') IS NOT NULL, to_regclass('migtest.u')")
        assert cur.fetchone() == (True, None)
        cur.execute("SELECT version FROM schema_migrations")
        assert [r[0] for r in cur.fetchall()] == ["001"]


def test_badly_named_file_is_refused(scratch: Any, tmp_path: Path) -> None:
    write(tmp_path, "migrations/create.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="V001__description"):
        migrate(scratch, tmp_path)


def test_article_text_is_lz4_compressed_where_the_server_has_lz4(news_db_url: str) -> None:
    """V015: new article text is compressed with lz4 (this server has it), and a stored
    body reads back the same."""
    conn = psycopg2.connect(news_db_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 'lz4' = ANY (enumvals) FROM pg_settings "
                        "WHERE name = 'default_toast_compression'")
            if not cur.fetchone()[0]:
                pytest.skip("this PostgreSQL was built without lz4")
            cur.execute("""SELECT attrelid::regclass::text || '.' || attname, attcompression
                           FROM pg_attribute
                           WHERE (attrelid, attname) IN (
                               ('articles'::regclass, 'title'), ('articles'::regclass, 'body'),
                               ('articles'::regclass, 'summary'),
                               ('article_search'::regclass, 'body'),
                               ('article_revisions'::regclass, 'body'),
                               ('staged_articles'::regclass, 'record'))""")
            assert {name: kind for name, kind in cur.fetchall()} == {
                "articles.title": "l", "articles.body": "l", "articles.summary": "l",
                "article_search.body": "l", "article_revisions.body": "l",
                "staged_articles.record": "l"}
            body = "Kuril talks resumed. " * 400  # 8 KB: compressed, as bodies are
            cur.execute("CREATE TEMP TABLE lz4_probe (LIKE articles INCLUDING ALL)")
            cur.execute("INSERT INTO lz4_probe (url, original_url, title, body, fetched_at, "
                        "first_seen_at, source, relevance_score, relevant, content_hash) "
                        "VALUES ('u', 'u', 't', %s, now(), now(), 's', 1, true, 'h')", (body,))
            cur.execute("SELECT pg_column_compression(body), body FROM lz4_probe")
            assert cur.fetchone() == ("lz4", body)
    finally:
        conn.rollback()
        conn.close()


def test_stored_urls_get_back_the_scheme_their_page_was_served_on(db: Any) -> None:
    """V017: an article stored as https:// (the dedup key) whose kept page came over plain
    http from that very host is shown as http://; nothing else moves, and it re-runs clean."""
    from scrapers.db.migrate import SQL_DIR

    [sql] = (SQL_DIR / "migrations").glob("V017__*.sql")
    stored = {
        "https://plain.example/a": "http://Plain.example/a?utm_source=rss",  # the one to fix
        "https://both.example/b": "https://both.example/b",  # served on https
        "https://www.moved.example/c": "http://moved.example/c",  # another host served it
        "https://plain.example:8080/d": "http://plain.example/d",  # another port
        "https://gone.example/e": None,  # no kept page: nothing to go by
    }
    try:
        with db.cursor() as cur:
            for url, raw in stored.items():
                cur.execute("INSERT INTO articles (url, original_url, title, body, fetched_at, "
                            "first_seen_at, source, relevance_score, relevant, content_hash) "
                            "VALUES (%s, %s, 't', 'b', now(), now(), 's', 1, true, 'h') "
                            "RETURNING id", (url, url))
                article_id = cur.fetchone()[0]
                cur.execute("INSERT INTO article_urls (url, article_id, kind) "
                            "VALUES (%s, %s, 'canonical')", (url, article_id))
                if raw:
                    cur.execute("INSERT INTO raw_pages (article_id, url, fetched_at, size_bytes, "
                                "body_gz) VALUES (%s, %s, now(), 1, 'x')", (article_id, raw))
            for _ in range(2):
                cur.execute(sql.read_text("utf-8"))
            cur.execute("SELECT u.url, a.url FROM articles a JOIN article_urls u "
                        "ON u.article_id = a.id")
            assert dict(cur.fetchall()) == {**{url: url for url in stored},
                                            "https://plain.example/a": "http://plain.example/a"}
    finally:
        db.rollback()


def test_rejection_codes_of_rows_staged_before_v018(db: Any) -> None:
    """V018's backfill gives rows staged before it the codes the summary used to parse."""
    from scrapers.db.migrate import SQL_DIR

    backfill = (SQL_DIR / "migrations" / "V018__rejection_codes.sql").read_text("utf-8")
    backfill = backfill[backfill.index("UPDATE staged_articles"):]
    reasons = {
        ("rejected", "robots.txt disallows this page"): "robots.txt",
        ("rejected", "unextractable: document is empty"): "unextractable",
        ("rejected", "listing page (many headlines, no article body)"): "listing page",
        ("rejected", "no article text found on the page"): "no article text",
        ("rejected", "not relevant with body (score 0.4 < 1.0)"): "not relevant",
        ("error", "NetworkError: ReadTimeout [https://x.example/a]"): "NetworkError",
    }
    with db.cursor() as cur:
        cur.execute("INSERT INTO sources (name, url, language, outlet)"
                    " VALUES ('S', 'https://x/f', 'en', 'S')"
                    " RETURNING id")
        source_id = cur.fetchone()[0]
        for n, (status, reason) in enumerate(reasons):
            cur.execute("INSERT INTO staged_articles (run_id, source_id, url, status, reason)"
                        " VALUES ('old', %s, %s, %s, %s)",
                        (source_id, f"https://x.example/{n}", status, reason))
        cur.execute(backfill)
        cur.execute("SELECT status, reason, reason_code FROM staged_articles")
        got = {(status, reason): code for status, reason, code in cur.fetchall()}
    db.rollback()
    assert got == reasons
