"""nichiro_alerts end to end: dag.test() sends a spike to a webhook on 127.0.0.1 once,
and stays quiet when there is nothing new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.dags.test_ingest_dag import task_states
from tests.integration.test_alerts_db import article, baseline

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def alerts_dag(airflow_db: None) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "nichiro_alerts.py"))
    assert bag.import_errors == {}
    return bag.dags["nichiro_alerts"]


def test_a_spike_is_sent_once_and_an_ordinary_hour_is_quiet(
        alerts_dag: Any, db: Any, alert_receiver: Any) -> None:
    now = datetime.now(UTC)  # the DAG reads the clock: the data is dated from it
    baseline(db, "theme:sanctions", now=now)
    db.commit()
    quiet = alerts_dag.test()
    assert task_states(quiet.run_id)[("check", None)] == "skipped" and alert_receiver == []

    for hour in range(8):
        article(db, now - timedelta(hours=hour + 1), tags=("theme:sanctions",), now=now)
    db.commit()
    run = alerts_dag.test()
    assert task_states(run.run_id)[("check", None)] == "success"
    [message] = alert_receiver
    assert message["path"] == "/hook"
    assert [a["kind"] for a in message["alerts"]] == ["spike"]
    assert message["text"].startswith("Spike: theme:sanctions in ja, 8 articles in 24 h")

    again = alerts_dag.test()  # the same spike: already sent
    assert task_states(again.run_id)[("check", None)] == "skipped" and len(alert_receiver) == 1


def test_without_the_connection_nothing_is_sent_or_marked(alerts_dag: Any, db: Any) -> None:
    now = datetime.now(UTC)
    baseline(db, "theme:energy", language="ru", now=now)
    for hour in range(6):
        article(db, now - timedelta(hours=hour + 1), "ru", ("theme:energy",), now=now)
    db.commit()
    run = alerts_dag.test()
    assert task_states(run.run_id)[("check", None)] == "skipped"
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM alerts_sent")
        assert cur.fetchone()[0] == 0


def test_every_kind_reaches_the_webhook_in_one_message(alerts_dag: Any, db: Any,
                                                      alert_receiver: Any) -> None:
    from scrapers.db import watchlists

    now = datetime.now(UTC)
    baseline(db, "theme:sanctions", now=now)
    for hour in range(8):  # a spike
        article(db, now - timedelta(hours=hour + 1), tags=("theme:sanctions",), now=now)
    with db.cursor() as cur:  # an event both sides and six outlets reported in a few hours
        cur.execute("""INSERT INTO event_threads (first_seen_at, last_seen_at, languages,
                           outlets, headlines)
                       VALUES (%s, %s, '{ja,ru,en}', '{}', '{"ja": "露外相が訪日"}')
                       RETURNING id""", (now - timedelta(hours=5), now - timedelta(hours=1)))
        event = cur.fetchone()[0]
        cur.execute(  # a feed that answers and has brought nothing for a day and a half,
            # and one health disabled
            """INSERT INTO sources (name, url, language, outlet, last_success_at,
                   last_new_entry_at, disabled_reason, disabled_at)
               VALUES ('Quiet', 'https://q.example/rss', 'ja', 'Quiet', %(ok)s, %(old)s,
                       NULL, NULL),
                      ('Gone', 'https://g.example/rss', 'ru', 'Gone', NULL, NULL,
                       'HTTP 410 Gone', %(ok)s)
               RETURNING id""",
            {"ok": now - timedelta(minutes=30), "old": now - timedelta(hours=36)})
        quiet = cur.fetchone()[0]
    for n, (language, outlet) in enumerate([("ja", "NHK"), ("ru", "TASS"), ("en", "Kyodo"),
                                            ("en", "Reuters"), ("ru", "RIA"), ("ja", "Jiji")]):
        article(db, now - timedelta(hours=5 - n * 0.5), language, source=outlet,
                event_id=event, now=now)
    for hours in range(40, 70, 2):
        article(db, now - timedelta(hours=hours), source_id=quiet, published=False, now=now)
    watchlists.add(db, "sanctions watch", tag="theme:sanctions", now=now)
    db.commit()
    run = alerts_dag.test()
    assert task_states(run.run_id)[("check", None)] == "success"
    [message] = alert_receiver
    kinds = {a["kind"] for a in message["alerts"]}
    assert kinds == {"spike", "both_sides", "wide_coverage", "silent_source",
                     "disabled_source", "watch"}
    assert "Silent source: Quiet answers" in message["text"]
    assert "Both sides report event" in message["text"]
