"""Re-extraction from kept raw pages: no fetching, idempotent, edits recorded as reprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from scrapers.reprocess import reprocess
from tests.integration.test_pipeline import run_all

pytestmark = [pytest.mark.integration, pytest.mark.clock]


def test_reprocess_restores_and_is_idempotent(db: Any, site: Any, news_db_url: str) -> None:
    run_all(db, "run-r")
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM articles")
        stored = cur.fetchone()[0]
        # an older, worse extractor had left boilerplate in one body and lost the relevance
        cur.execute("UPDATE articles SET body = body || E'\\n\\nShare this article', "
                    "content_hash = 'old', relevance_score = 0 WHERE id = 1 RETURNING body")
        cur.execute("UPDATE articles SET relevance_score = 0 WHERE id = 2")
    db.commit()
    hits_before = len(site.hits)
    counts = reprocess(db, batch=3)
    assert counts == {"updated": 1, "refreshed": 1, "unchanged": stored - 2, "failed": 0}
    assert len(site.hits) == hits_before, "reprocessing must not fetch anything"
    with db.cursor() as cur:
        cur.execute("SELECT body LIKE '%Share this article', relevance_score > 0 "
                    "FROM articles WHERE id IN (1, 2) ORDER BY id")
        assert cur.fetchall() == [(False, True), (False, True)]
        cur.execute("SELECT article_id, cause FROM article_revisions")
        assert cur.fetchall() == [(1, "reprocess")]
        # the sample site answers on http: stored URLs keep it, dedup keys stay https
        cur.execute("SELECT count(*) FROM articles WHERE url LIKE 'http://%'")
        assert cur.fetchone()[0] == stored
        cur.execute("SELECT count(*) FROM article_urls WHERE url NOT LIKE 'https://%'")
        assert cur.fetchone()[0] == 0
    assert reprocess(db) == {"updated": 0, "refreshed": 0, "unchanged": stored, "failed": 0}
    out = subprocess.run([sys.executable, "-m", "scrapers", "reprocess", "--quiet"], check=True,
                         capture_output=True, text=True,
                         env={**os.environ, "NICHIRO_DB_URL": news_db_url}).stdout
    assert out.strip() == f"reprocessed: updated 0, refreshed 0, unchanged {stored}, failed 0"


def test_one_page_that_cannot_be_extracted_is_counted_and_the_rest_reprocessed(
        db: Any, site: Any) -> None:
    run_all(db, "run-r")
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM articles")
        stored = cur.fetchone()[0]
        cur.execute("UPDATE raw_pages SET body_gz = '\\x1f8b00' WHERE article_id = 2")
        cur.execute("UPDATE articles SET body = body || E'\\n\\nShare this article', "
                    "content_hash = 'old' WHERE id IN (1, 3)")
    db.commit()
    assert reprocess(db, batch=2) == {"updated": 2, "refreshed": 0, "unchanged": stored - 3,
                                      "failed": 1}
    with db.cursor() as cur:
        cur.execute("SELECT article_id, revision, cause FROM article_revisions ORDER BY 1")
        assert cur.fetchall() == [(1, 1, "reprocess"), (3, 1, "reprocess")]
        cur.execute("SELECT count(*) FROM articles WHERE body LIKE '%Share this article'")
        assert cur.fetchone() == (0,)
