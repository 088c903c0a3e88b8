"""nichiro_alerts end to end: dag.test() sends a spike to a webhook on 127.0.0.1 once,
and stays quiet when there is nothing new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.dags.test_ingest_dag import alert_receiver, task_states  # noqa: F401
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
        alerts_dag: Any, db: Any, alert_receiver: Any) -> None:  # noqa: F811
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
