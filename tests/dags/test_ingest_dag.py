"""nichiro_ingest end to end: dag.test() against the sample site and a real PostgreSQL.

One test walks the life of the data, because each step builds on the previous state:
first run loads; a rerun changes nothing; an edited article updates exactly one row;
the broken source fails alone and is on record.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from scrapers.urls import canonicalize_url

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ARTICLE_COLUMNS = "id, url, title, body, content_hash, fetched_at, updated_count, source"


@pytest.fixture(scope="module")
def ingest_dag(airflow_db: None) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.dags["nichiro_ingest"]


def articles(db: Any) -> list[tuple[Any, ...]]:
    with db.cursor() as cur:
        cur.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY id")
        return list(cur.fetchall())


def task_states(run_id: str) -> dict[tuple[str, str | None], str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter(TaskInstance.run_id == run_id).all()
        return {(ti.task_id, ti.rendered_map_index): str(ti.state) for ti in tis}


def test_ingest_lifecycle(ingest_dag: Any, db: Any, site: Any) -> None:
    # 1. First run: relevant stories stored once each, irrelevant ones filtered.
    run = ingest_dag.test(run_conf={"fetch_all": True})
    first = articles(db)
    urls = {row[1] for row in first}
    # canonical URLs collapse http/https to https
    canonical_base = canonicalize_url(site.base_url + "/").rstrip("/")
    assert len(first) == 10, "10 distinct relevant stories (tests/fixtures/site/README.md)"
    assert all(url.startswith(canonical_base) for url in urls)
    assert not any("utm_" in url for url in urls), "tracking parameters must be stripped"
    titles = " ".join(row[2] for row in first)
    assert "Medvedev" not in titles and "Northern Territory " not in titles
    assert "北方謙三" not in titles
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM articles WHERE body = '' OR NOT relevant")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(DISTINCT url) = count(*) FROM articles")
        assert cur.fetchone()[0]
        # analyst tags are normalised across languages and stored per article
        cur.execute("SELECT tag, array_agg(DISTINCT a.language ORDER BY a.language) "
                    "FROM article_tags t JOIN articles a ON a.id = t.article_id GROUP BY tag")
        tags = dict(cur.fetchall())
        assert tags.get("person:sergei_lavrov") is not None
        assert any(tag.startswith("theme:") for tag in tags)
        assert any(len(langs) >= 2 for langs in tags.values()), tags
        # the broken source is on record, the others succeeded
        cur.execute("""SELECT s.name, f.http_status, f.error FROM feed_fetches f
                       JOIN sources s ON s.id = f.source_id WHERE f.run_id = %s""",
                    (run.run_id,))
        fetches = {name: (status, error) for name, status, error in cur.fetchall()}
    assert fetches["Broken Feed"][0] == 500 and "HTTP 500" in fetches["Broken Feed"][1]
    assert all(err is None for name, (_, err) in fetches.items() if name != "Broken Feed")
    states = task_states(run.run_id)
    assert states[("source.fetch_feed", "Broken Feed")] == "failed"
    assert states[("source.fetch_feed", "Pacific Wire")] == "success"
    assert states[("source.fetch_articles", "北海新報")] == "success"
    assert states[("load", None)] == "success" and states[("summary", None)] == "success"

    # 2. Rerun: nothing new, nothing changed (not even fetched_at).
    ingest_dag.test(run_conf={"fetch_all": True})
    assert articles(db) == first

    # 3. The outlet edits one story (page and feed lead): exactly that row is updated.
    feed = site.root / "feeds" / "en_wire.xml"
    feed_text = feed.read_text("utf-8")
    edited_url = next(u for u in sorted(urls)
                      if u.replace(canonical_base, "__BASE_URL__") in feed_text)
    page = site.root / edited_url.removeprefix(canonical_base + "/")
    html = page.read_text("utf-8")
    lead = max(re.findall(r"<p>([^<]{200,})</p>", html), key=len)  # a body paragraph
    page.write_text(html.replace(lead, lead + " The ministry issued a further statement "
                                              "on the Kuril Islands talks on Friday.", 1),
                    "utf-8")
    feed.write_text(feed.read_text("utf-8").replace("</description>", " (updated)</description>",
                                                    1), "utf-8")
    ingest_dag.test(run_conf={"fetch_all": True})
    after = articles(db)
    assert len(after) == len(first)
    changed = [(a, b) for a, b in zip(first, after, strict=True) if a != b]
    assert len(changed) == 1
    before_row, after_row = changed[0]
    assert after_row[1] == edited_url
    assert "further statement" in after_row[3] and after_row[6] == before_row[6] + 1
    with db.cursor() as cur:
        cur.execute("SELECT a.url, r.revision, r.cause, r.diff_summary FROM article_revisions r "
                    "JOIN articles a ON a.id = r.article_id")
        [(url, revision, cause, summary)] = cur.fetchall()
        assert (url, revision, cause) == (edited_url, 1, "edit") and "changed" in summary
        # every stored article keeps its page for re-extraction
        cur.execute("SELECT count(*) FROM raw_pages")
        assert cur.fetchone()[0] == len(after)
