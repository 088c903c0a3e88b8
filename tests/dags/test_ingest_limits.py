"""nichiro_ingest's time limits: every task and the run itself end."""

from __future__ import annotations

from datetime import timedelta

from airflow.dag_processing.dagbag import DagBag

from tests.conftest import REPO


def test_every_task_and_the_run_have_a_timeout() -> None:
    dag = DagBag(dag_folder=str(REPO / "dags" / "nichiro_ingest.py")).dags["nichiro_ingest"]
    assert dag.dagrun_timeout == timedelta(hours=4)
    limits = {task.task_id: task.execution_timeout for task in dag.tasks}
    assert all(limit is not None and limit <= timedelta(hours=2) for limit in limits.values())
    assert limits["load"] == timedelta(minutes=90)
    assert limits["source.fetch_feed"] == timedelta(minutes=30)
