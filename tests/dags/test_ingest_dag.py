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

pytestmark = [pytest.mark.integration, pytest.mark.clock]

REPO = Path(__file__).resolve().parents[2]
ARTICLE_COLUMNS = "id, url, title, body, content_hash, fetched_at, updated_count, source"


@pytest.fixture(scope="module")
def dagbag(airflow_db: None) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag


@pytest.fixture(scope="module")
def ingest_dag(dagbag: Any) -> Any:
    return dagbag.dags["nichiro_ingest"]


def articles(db: Any) -> list[tuple[Any, ...]]:
    with db.cursor() as cur:
        cur.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY id")
        return list(cur.fetchall())


def task_states(run_id: str) -> dict[tuple[str, str | None], str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter(TaskInstance.run_id == run_id).all()
        # a shard of one source is labelled "shard i/n: <its name>": keyed by the name
        return {(ti.task_id, (ti.rendered_map_index or "").split(": ", 1)[-1] or None):
                str(ti.state) for ti in tis}


def test_ingest_lifecycle(ingest_dag: Any, db: Any, site: Any, alert_receiver: Any) -> None:
    # 1. First run: relevant stories stored once each, irrelevant ones filtered.
    run = ingest_dag.test(run_conf={"fetch_all": True})
    first = articles(db)
    urls = {row[1] for row in first}
    # stored as served: the sample site answers on http (only dedup keys fold it to https)
    base = site.base_url
    assert len(first) == 10, "10 distinct relevant stories (tests/fixtures/site/README.md)"
    assert all(url.startswith(base + "/") for url in urls)
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
        # the load linked every stored story to an event (one happening, any language)
        cur.execute("SELECT count(*) FROM articles WHERE event_id IS NULL")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT id, article_count, languages FROM event_threads ORDER BY id")
        events = cur.fetchall()
        assert events and sum(n for _, n, _ in events) == len(first)
        # the broken source is on record, the others succeeded
        cur.execute("""SELECT s.name, f.http_status, f.error FROM feed_fetches f
                       JOIN sources s ON s.id = f.source_id WHERE f.run_id = %s""",
                    (run.run_id,))
        fetches = {name: (status, error) for name, status, error in cur.fetchall()}
    assert fetches["Broken Feed"][0] == 500 and "HTTP 500" in fetches["Broken Feed"][1]
    assert all(err is None for name, (_, err) in fetches.items() if name != "Broken Feed")
    states = task_states(run.run_id)
    assert states[("shard.fetch_feed", "Broken Feed")] == "failed"
    assert states[("shard.fetch_feed", "Pacific Wire")] == "success"
    assert states[("shard.fetch_articles", "北海新報")] == "success"
    assert states[("load", None)] == "success" and states[("summary", None)] == "success"
    assert states[("announce", None)] == "success"  # new articles: asset event emitted
    # the failed source was announced to the alert webhook, by name, in the run's one
    # grouped alert (not one per failed shard)
    [grouped] = alert_receiver
    assert grouped["path"] == "/hook" and not grouped.get("shard")
    assert [a["kind"] for a in grouped["alerts"]] == ["failures"]
    assert grouped["text"].startswith("Nichiro: 1 of 5 sources failed in nichiro_ingest run ")
    assert "- Broken Feed: " in grouped["text"] and "HTTP 500" in grouped["text"]

    # 2. Rerun: nothing new, nothing changed (not even fetched_at, nor the events).
    rerun = ingest_dag.test(run_conf={"fetch_all": True})
    assert articles(db) == first
    with db.cursor() as cur:
        cur.execute("SELECT id, article_count, languages FROM event_threads ORDER BY id")
        assert cur.fetchall() == events
    states = task_states(rerun.run_id)
    assert states[("announce", None)] == "skipped"
    # unchanged feeds with no page left: fetch_feed skipped, and fetch_articles never ran
    # (so its copies keep their map index for a name: the template renders when a task runs)
    assert states[("shard.fetch_feed", "Pacific Wire")] == "skipped"
    assert sorted(state for (task_id, _), state in states.items()
                  if task_id == "shard.fetch_articles") == ["skipped"] * 4 + ["upstream_failed"]
    assert states[("shard.fetch_feed", "Broken Feed")] == "failed"
    assert states[("load", None)] == "success" and states[("summary", None)] == "success"
    assert rerun.state == "success"

    # 3. The outlet edits one story (page and feed lead): exactly that row is updated.
    feed = site.root / "feeds" / "en_wire.xml"
    feed_text = feed.read_text("utf-8")
    edited_url = next(u for u in sorted(urls) if u.replace(base, "__BASE_URL__") in feed_text)
    page = site.root / edited_url.removeprefix(base + "/")
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


def test_new_articles_emit_the_asset_and_the_digest_refreshes(
    dagbag: Any, db: Any, site: Any
) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    run = dagbag.dags["nichiro_ingest"].test(run_conf={"fetch_all": True})
    with create_session() as session:
        events = (session.query(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                  .filter(AssetModel.name == "nichiro_articles",
                          AssetEvent.source_run_id == run.run_id).all())
        assert len(events) == 1 and events[0].extra["new"] == 10
    # the fixture stories are dated November 2026: recompute far enough back for any "today"
    dagbag.dags["nichiro_digest"].test(run_conf={"days": 36500})
    with db.cursor() as cur:
        cur.execute("SELECT language, sum(articles), bool_or(top_stories <> '[]') "
                    "FROM daily_digest GROUP BY language ORDER BY language")
        assert cur.fetchall() == [("en", 4, True), ("ja", 3, True), ("ru", 3, True)]


def test_a_systemic_failure_turns_the_run_red_and_the_summary_still_runs(
        ingest_dag: Any, db: Any, site: Any) -> None:
    """load_sources fails (an unreadable catalog): nothing is fetched, and the run is red,
    not green because its summary succeeded."""
    site.catalog.write_text("this is [not toml", "utf-8")
    run = ingest_dag.test(run_conf={"fetch_all": True})
    states = task_states(run.run_id)
    assert states[("load_sources", None)] == "failed"
    assert states[("summary", None)] == "success"  # the table and the note still come
    assert states[("run_ok", None)] == "upstream_failed"
    assert run.state == "failed"


def test_most_sources_failing_turns_the_run_red(ingest_dag: Any, db: Any, site: Any) -> None:
    """Every source of the catalog answers HTTP 500: a deployment problem, not a source's."""
    text = site.catalog.read_text("utf-8")
    broken = re.search(r'url = "([^"]*/status/500)"', text)
    assert broken, "the sample catalog has a broken feed"
    urls = iter(range(100))
    site.catalog.write_text(re.sub(r'url = "[^"]*"',
                                   lambda _: f'url = "{broken[1]}?copy={next(urls)}"', text),
                            "utf-8")
    run = ingest_dag.test(run_conf={"fetch_all": True})
    states = task_states(run.run_id)
    assert states[("run_ok", None)] == "success"
    assert states[("sources_ok", None)] == "failed"
    assert run.state == "failed"


def test_sources_share_shards_and_a_failing_source_fails_alone(
        ingest_dag: Any, db: Any, site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two shards for the sample's five sources: Broken Feed's failure is recorded and
    listed, its shard's other sources load, and the shard task succeeds."""
    monkeypatch.setenv("NICHIRO_MAX_SHARDS", "2")
    run = ingest_dag.test(run_conf={"fetch_all": True})
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter(TaskInstance.run_id == run.run_id,
                                                 TaskInstance.map_index >= 0).all()
        shards = sorted((ti.task_id, ti.rendered_map_index, str(ti.state)) for ti in tis)
    assert [s for s in shards if s[0] == "shard.fetch_feed"] == [
        ("shard.fetch_feed", "shard 1/2: Pacific Wire, 北海新報, +1", "success"),
        ("shard.fetch_feed", "shard 2/2: Broken Feed, Google News: Japan Russia (en)",
         "success")]
    with db.cursor() as cur:
        cur.execute("SELECT s.name, f.error_class FROM feed_fetches f JOIN sources s "
                    "ON s.id = f.source_id WHERE f.run_id = %s ORDER BY 1", (run.run_id,))
        assert dict(cur.fetchall()) == {
            "Broken Feed": "HTTPStatusError", "Google News: Japan Russia (en)": None,
            "Pacific Wire": None, "北海新報": None, "Восточный вестник": None}
        cur.execute("SELECT count(*) FROM articles")
        assert cur.fetchone() == (10,)
    db.rollback()
    assert run.state == "success"  # one failed source of five: listed, not a red run


def test_a_run_with_1100_due_sources_completes(
        ingest_dag: Any, db: Any, site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """More due sources than Airflow maps copies of one task (1,024): in 16 shards. Their
    feeds carry nothing relevant, so no page is fetched: the run is about the mapping (with
    a task per source, load_sources' 1,100 copies could not be mapped at all)."""
    (site.root / "feeds" / "quiet.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title>'
        "<item><title>Local weather: a mild week ahead</title>"
        "<link>https://quiet.example/weather</link></item></channel></rss>", "utf-8")
    site.catalog.write_text("".join(
        f'[[source]]\nname = "Quiet {n}"\nurl = "{site.base_url}/feeds/quiet.xml?n={n}"\n'
        'language = "en"\n\n' for n in range(1100)), "utf-8")
    run = ingest_dag.test(run_conf={"fetch_all": True})
    assert run.state == "success"
    states = task_states(run.run_id)
    feeds = [state for (task, _), state in states.items() if task == "shard.fetch_feed"]
    assert len(feeds) == 16 and set(feeds) == {"success"}
    with db.cursor() as cur:
        cur.execute("SELECT count(DISTINCT source_id), count(*), count(error_class) "
                    "FROM feed_fetches WHERE run_id = %s", (run.run_id,))
        assert cur.fetchone() == (1100, 1100, 0)
    db.rollback()
