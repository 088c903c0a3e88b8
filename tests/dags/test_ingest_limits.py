"""nichiro_ingest's time limits: every task and the run itself end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.dag_processing.dagbag import DagBag

from tests.conftest import REPO


def test_every_task_and_the_run_have_a_timeout() -> None:
    dag = DagBag(dag_folder=str(REPO / "dags" / "nichiro_ingest.py")).dags["nichiro_ingest"]
    assert dag.dagrun_timeout == timedelta(hours=4)
    limits = {task.task_id: task.execution_timeout for task in dag.tasks}
    assert all(limit is not None and limit <= timedelta(hours=2) for limit in limits.values())
    assert limits["load"] == timedelta(minutes=90)
    assert limits["shard.fetch_feed"] == timedelta(minutes=30)


def test_both_fetch_tasks_share_one_pool_and_nothing_else_caps_them() -> None:
    """One cap on requests in flight: `max_active_tis_per_dag` would cap each task on its
    own, twice the intended number."""
    from nichiro_pools import HTTP_POOL

    dag = DagBag(dag_folder=str(REPO / "dags" / "nichiro_ingest.py")).dags["nichiro_ingest"]
    fetching = {t.task_id: t for t in dag.tasks if t.task_id.startswith("shard.")}
    assert sorted(fetching) == ["shard.fetch_articles", "shard.fetch_feed"]
    assert {t.pool for t in fetching.values()} == {HTTP_POOL}
    assert all(t.max_active_tis_per_dag is None for t in fetching.values())
    assert {t.pool for t in dag.tasks if t.task_id not in fetching} == {"default_pool"}


def test_the_pool_is_created_once_and_an_operators_size_is_kept(
        airflow_db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.models.pool import Pool
    from nichiro_pools import HTTP_POOL, ensure_http_pool

    Pool.delete_pool(HTTP_POOL)
    monkeypatch.setenv("NICHIRO_HTTP_CONCURRENCY", "3")
    assert ensure_http_pool() == (3, True)
    Pool.create_or_update_pool(HTTP_POOL, 7, "resized in the UI", include_deferred=False)
    assert ensure_http_pool() == (7, False)
    Pool.create_or_update_pool(HTTP_POOL, 4, "as the session set it", include_deferred=False)
