"""nichiro_digest's one parameter, `days`: read through the DAG's Params only, so its default,
its schema and Airflow's rules for a run's conf decide what the task gets (dag.test() against
the test databases; the digest itself is tested with the ingest in test_ingest_dag.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dags.test_ingest_dag import task_states

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def digest_dag(airflow_db: None) -> Any:
    """Parsed afresh for each test: a run in this process sets the conf's values on the
    DAG object's own Params, which a task process of its own would never see."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.dags["nichiro_digest"]


@pytest.fixture
def refreshed(db: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The `days` each refresh was asked for (dag.test() runs the tasks in this process)."""
    import scrapers.db.digest

    calls: list[int] = []

    def refresh_digest(conn: Any, days: int) -> int:
        calls.append(days)
        return 0

    monkeypatch.setattr(scrapers.db.digest, "refresh_digest", refresh_digest)
    return calls


def test_days_comes_from_params_default_or_conf(digest_dag: Any, refreshed: list[int]) -> None:
    param = digest_dag.params.get_param("days")
    assert param.value == 3 and param.schema == {"type": "integer", "minimum": 1}
    assert param.description
    assert digest_dag.test().state == "success"
    assert digest_dag.test(run_conf={"days": 7}).state == "success"
    assert refreshed == [3, 7]


@pytest.mark.parametrize("days", [0, -2, "7", 1.5, None])
def test_an_invalid_days_is_refused_before_any_task_runs(
        digest_dag: Any, refreshed: list[int], days: Any) -> None:
    from airflow.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match="days"):
        digest_dag.test(run_conf={"days": days})
    assert refreshed == []


def test_conf_reaches_the_task_only_through_params(
        digest_dag: Any, refreshed: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """With `dag_run_conf_overrides_params` off, a run's conf does not override Params: the
    task gets the Param's default, not a value read from the conf behind their back."""
    monkeypatch.setenv("AIRFLOW__CORE__DAG_RUN_CONF_OVERRIDES_PARAMS", "False")
    assert digest_dag.test(run_conf={"days": 7}).state == "success"
    assert refreshed == [3]


def test_yesterdays_editions_are_sent_once(digest_dag: Any, db: Any,
                                           alert_receiver: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.integration.test_alerts_db import article

    now = datetime.now(UTC)  # the tasks read the clock: the data is dated from it
    yesterday = datetime.combine((now - timedelta(days=1)).date(), datetime.min.time(), UTC)
    article(db, yesterday + timedelta(hours=9), "ja", ("theme:fisheries",), now=now)
    article(db, yesterday + timedelta(hours=10), "ru", ("theme:fisheries",), "TASS", now=now)
    db.commit()
    run = digest_dag.test(run_conf={"days": 2})
    assert task_states(run.run_id)[("deliver", None)] == "success"
    [message] = alert_receiver
    assert sorted(a["key"].split("|")[1] for a in message["alerts"]) == ["japan", "russia"]
    day = yesterday.date().isoformat()
    assert f"# Nichiro digest, {day}: Japanese outlets" in message["text"]
    assert f"# Nichiro digest, {day}: Russian outlets" in message["text"]
    again = digest_dag.test(run_conf={"days": 2})
    assert task_states(again.run_id)[("deliver", None)] == "skipped"
    assert len(alert_receiver) == 1
