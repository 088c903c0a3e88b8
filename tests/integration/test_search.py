"""article_search: written by scrapers.db.search.index_pending after a load, never on insert."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from scrapers.db.search import index_pending

pytestmark = [pytest.mark.integration, pytest.mark.clock]

CONFIG = {"en": "english", "ru": "russian"}


def add_article(conn: Any, url: str, title: str, body: str, language: str | None) -> int:
    """Insert an article the way the loader does (content_hash from title and body)."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO articles (url, original_url, title, body, fetched_at, first_seen_at,
                   language, source, relevance_score, relevant, content_hash)
               VALUES (%s, %s, %s, %s, now(), now(), %s, 'Wire', 1, true, md5(%s || %s))
               RETURNING id""",
            (url, url, title, body, language, title, body),
        )
        article_id: int = cur.fetchone()[0]
    conn.commit()
    return article_id


def edit_article(conn: Any, article_id: int, title: str, body: str) -> None:
    """Replace an article's text as the loader does: title, body and content_hash together."""
    with conn.cursor() as cur:
        cur.execute("UPDATE articles SET title = %s, body = %s, content_hash = md5(%s || %s), "
                    "updated_count = updated_count + 1 WHERE id = %s",
                    (title, body, title, body, article_id))
    conn.commit()


def found(conn: Any, query: str, lang: str | None) -> list[int]:
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM analytics.search(%s, %s)", (query, lang))
        return [r[0] for r in cur.fetchall()]


def search_rows(conn: Any) -> list[tuple[Any, ...]]:
    """Each search row, with whether its vector is what the article's text and language give."""
    with conn.cursor() as cur:
        cur.execute("""SELECT s.article_id, s.content_hash = a.content_hash, s.language,
                              s.title, s.body,
                              s.search_vector = setweight(to_tsvector(cfg, a.title), 'A')
                                                || setweight(to_tsvector(cfg, a.body), 'B')
                       FROM article_search s JOIN articles a ON a.id = s.article_id,
                            CAST(CASE a.language WHEN 'en' THEN 'english' WHEN 'ru' THEN 'russian'
                                 ELSE 'simple' END AS regconfig) AS cfg
                       ORDER BY s.article_id""")
        return list(cur.fetchall())


def test_new_article_is_found_once_indexed(db: Any) -> None:
    en = add_article(db, "https://w.example/1", "Fishing talks resume",
                     "Negotiators met in Moscow.", "en")
    ja = add_article(db, "https://w.example/2", "北方領土の漁業", "サハリン沖で交渉が続く。", "ja")
    assert found(db, "negotiations", "en") == []
    assert found(db, "サハリン", "ja") == []
    with db.cursor() as cur:
        cur.execute("SELECT search_vector FROM analytics.articles ORDER BY id")
        assert cur.fetchall() == [(None,), (None,)]  # the view still lists the articles

    assert index_pending(db) == 2
    db.commit()
    assert search_rows(db) == [
        (en, True, "en", "Fishing talks resume", "Negotiators met in Moscow.", True),
        (ja, True, "ja", "北方領土の漁業", "サハリン沖で交渉が続く。", True),
    ]
    assert found(db, "negotiations", "en") == [en]
    assert found(db, "サハリン", "ja") == [ja]
    assert found(db, "北方領土", None) == [ja]


def test_second_call_writes_nothing(db: Any) -> None:
    add_article(db, "https://w.example/1", "Peace treaty", "Talks on a peace treaty.", "en")
    assert index_pending(db) == 1
    db.commit()
    assert index_pending(db) == 0
    # a change that leaves text and language alone does not make the row stale
    with db.cursor() as cur:
        cur.execute("UPDATE articles SET relevance_score = 0.5, cluster_id = NULL")
    assert index_pending(db) == 0


def test_edited_article_is_reindexed(db: Any) -> None:
    en = add_article(db, "https://w.example/1", "Fishing quotas", "Salmon quotas were set.", "en")
    ja = add_article(db, "https://w.example/2", "北方領土", "択捉島の港を視察した。", "ja")
    index_pending(db)
    db.commit()
    edit_article(db, en, "Energy deal", "A gas pipeline was discussed.")
    edit_article(db, ja, "北方領土", "色丹島の学校を訪れた。")
    # until indexed, the search still describes the previous text
    assert found(db, "salmon", "en") == [en]
    assert found(db, "pipeline", "en") == []

    assert index_pending(db) == 2
    db.commit()
    assert found(db, "salmon", "en") == []
    assert found(db, "quotas", "en") == []
    assert found(db, "pipeline", "en") == [en]
    assert found(db, "択捉島", "ja") == []
    assert found(db, "色丹島", "ja") == [ja]
    assert [r[1:] for r in search_rows(db)] == [
        (True, "en", "Energy deal", "A gas pipeline was discussed.", True),
        (True, "ja", "北方領土", "色丹島の学校を訪れた。", True),
    ]
    assert index_pending(db) == 0


def test_language_change_reindexes_with_the_new_config(db: Any) -> None:
    article = add_article(db, "https://w.example/1", "Лавров", "Переговоры о мирном договоре.",
                          "en")  # mislabelled: the english config does not stem Russian
    index_pending(db)
    db.commit()
    assert found(db, "переговоры", "ru") == []
    with db.cursor() as cur:
        cur.execute("UPDATE articles SET language = 'ru' WHERE id = %s", (article,))
    db.commit()

    assert index_pending(db) == 1
    db.commit()
    assert search_rows(db) == [
        (article, True, "ru", "Лавров", "Переговоры о мирном договоре.", True)]
    assert found(db, "мирный договор", "ru") == [article]  # stemmed: мирном -> мирн
    assert found(db, "мирный договор", "en") == []


def test_deleting_an_article_deletes_its_search_row(db: Any) -> None:
    keep = add_article(db, "https://w.example/1", "Kuril Islands", "A visit.", "en")
    gone = add_article(db, "https://w.example/2", "Kuril Islands again", "Another visit.", "en")
    index_pending(db)
    db.commit()
    with db.cursor() as cur:
        cur.execute("DELETE FROM articles WHERE id = %s", (gone,))
        cur.execute("SELECT article_id FROM article_search")
        assert cur.fetchall() == [(keep,)]
    assert found(db, "kuril", "en") == [keep]


def test_limit_and_article_ids(db: Any) -> None:
    ids = [add_article(db, f"https://w.example/{n}", f"Story {n}", "Text.", "en")
           for n in range(5)]
    assert index_pending(db, article_ids=[ids[3]]) == 1
    assert index_pending(db, article_ids=[ids[3]]) == 0
    assert index_pending(db, limit=2) == 2  # lowest ids first
    with db.cursor() as cur:
        cur.execute("SELECT article_id FROM article_search ORDER BY 1")
        assert [r[0] for r in cur.fetchall()] == [ids[0], ids[1], ids[3]]
    assert index_pending(db, limit=2) == 2
    assert index_pending(db, limit=2) == 0


def test_cli_indexes_everything_pending(db: Any, news_db_url: str) -> None:
    for n in range(5):
        add_article(db, f"https://w.example/{n}", f"Story {n}", "Text.", "en")
    command = [sys.executable, "-m", "scrapers", "search-index", "--db", news_db_url,
               "--batch-size", "2"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    assert out.strip() == "articles indexed for search: 5"
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM article_search")
        assert cur.fetchone() == (5,)
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    assert out.strip() == "articles indexed for search: 0"


def test_reprocess_keeps_the_search_current(db: Any, site: Any) -> None:
    from scrapers.reprocess import reprocess
    from tests.integration.test_pipeline import run_all

    run_all(db, "run-s")
    index_pending(db)
    db.commit()
    # an older extractor had left a footer in one body; the search found it
    edit_article(db, 1, *_text(db, 1, suffix="\n\nZyxwvut newsletter"))
    index_pending(db)
    db.commit()
    assert found(db, "zyxwvut", None) == [1]

    reprocess(db)
    assert found(db, "zyxwvut", None) == []  # re-extracted and re-indexed in one transaction
    assert index_pending(db) == 0


def _text(conn: Any, article_id: int, suffix: str) -> tuple[str, str]:
    with conn.cursor() as cur:
        cur.execute("SELECT title, body FROM articles WHERE id = %s", (article_id,))
        title, body = cur.fetchone()
    return title, body + suffix
