"""nichiro_ingest's retries of a failed feed fetch follow the source's backoff and the
server's Retry-After (plugins/nichiro_retry.py), under Airflow's own task runner."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from nichiro_retry import RetryWhenSourceIsDue

from tests.conftest import REPO
from tests.support.devserver import Outage

pytestmark = [pytest.mark.integration, pytest.mark.clock]

FEED = "/feeds/en_wire.xml"


def test_the_policy_waits_for_the_source_or_leaves_it_to_a_later_run() -> None:
    policy = RetryWhenSourceIsDue(longest=timedelta(minutes=30))
    soon, later, unknown = ConnectionError("503"), ConnectionError("503"), RuntimeError("bug")
    soon.due_in_s = 300  # type: ignore[attr-defined]
    later.due_in_s = 7200  # type: ignore[attr-defined]
    decision = policy.evaluate(soon, try_number=1, max_tries=3)
    assert (decision.action.value, decision.retry_delay) == ("retry", timedelta(seconds=300))
    assert policy.evaluate(later, try_number=1, max_tries=3).action.value == "fail"
    assert policy.evaluate(unknown, try_number=1, max_tries=3).action.value == "default"
    assert RetryWhenSourceIsDue.deserialize(policy.serialize()).longest == policy.longest


def _tries(run_id: str) -> list[tuple[int, str, float | None, str | None]]:
    """fetch_feed's tries in a run: (try number, state, retry delay asked, its reason)."""
    from airflow.models import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = [(h.try_number, str(h.state), h.retry_delay_override, h.retry_reason)
                for h in session.query(TaskInstanceHistory).filter(
                    TaskInstanceHistory.run_id == run_id,
                    TaskInstanceHistory.task_id == "shard.fetch_feed")]
        ti = session.query(TaskInstance).filter(
            TaskInstance.run_id == run_id, TaskInstance.task_id == "shard.fetch_feed").one()
        return sorted(rows) + [(ti.try_number, str(ti.state), None, None)]


def test_a_fetch_is_retried_when_its_source_is_due_and_not_within_the_run_when_far_off(
        airflow_db: None, db: Any, site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    # one source; one retry; a first backoff of 3 s
    text = site.catalog.read_text("utf-8")
    site.catalog.write_text(text[:text.index("[[source]]", text.index("[[source]]") + 1)],
                            "utf-8")
    assert re.findall(r'name = "([^"]+)"', site.catalog.read_text("utf-8")) == ["Pacific Wire"]
    monkeypatch.setenv("NICHIRO_TASK_RETRIES", "1")
    monkeypatch.setenv("NICHIRO_BACKOFF_BASE_MINUTES", "0.05")
    dag = DagBag(dag_folder=str(REPO / "dags" / "nichiro_ingest.py")).dags["nichiro_ingest"]
    assert dag.get_task("shard.fetch_feed").retries == 1

    # 503 once, Retry-After 1 s: retried after the source's backoff (3 s), not Airflow's 60 s
    site.outages[FEED] = Outage(503, {"Retry-After": "1"}, times=1)
    run = dag.test(run_conf={"fetch_all": True})
    tries = _tries(run.run_id)
    # (the history keeps a retried try as failed, with the delay its policy asked for)
    assert [t[:3] for t in tries] == [(1, "failed", 3.0), (2, "success", None)], tries
    assert "due again, in 3 s" in (tries[0][3] or "")

    # 503 with Retry-After 2 h: no retry spent waiting inside the run; the source is left
    # to the run that finds it due
    site.outages[FEED] = Outage(503, {"Retry-After": "7200"}, times=1)
    run = dag.test(run_conf={"fetch_all": True})
    assert _tries(run.run_id) == [(1, "failed", None, None)]
    with db.cursor() as cur:
        cur.execute("SELECT next_fetch_at - last_fetched_at >= interval '2 hours', "
                    "consecutive_failures FROM sources WHERE name = 'Pacific Wire'")
        assert cur.fetchone() == (True, 1)
