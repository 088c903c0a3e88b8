"""nichiro_backfill end to end: dag.test() loads the sample site's archive into a real
PostgreSQL, and the same request again changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dags.test_ingest_dag import task_states

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}


@pytest.fixture(scope="module")
def backfill_dag(airflow_db: None) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "nichiro_backfill.py"))
    assert bag.import_errors == {}
    return bag.dags["nichiro_backfill"]


def counts(db: Any) -> tuple[int, int, int]:
    with db.cursor() as cur:
        cur.execute("""SELECT count(*) FILTER (WHERE discovered_via = 'sitemap'),
                              count(*) FILTER (WHERE discovered_via = 'feed'),
                              count(DISTINCT event_id) FROM articles""")
        return cur.fetchone()


def test_a_backfill_loads_the_archive_once(backfill_dag: Any, db: Any, site: Any) -> None:
    run = backfill_dag.test(run_conf=OCTOBER)
    assert counts(db)[:2] == (6, 0)  # tests/fixtures/site/README.md, "Archive"
    states = task_states(run.run_id)
    assert states[("plan", None)] == "success" and states[("load", None)] == "success"
    # one shard per outlet here (the tests' shards hold one source)
    assert sorted(s for (task, _), s in states.items() if task == "fetch") == ["success"] * 4
    assert states[("progress", None)] == "success"
    with db.cursor() as cur:
        cur.execute("SELECT count(*), count(*) FILTER (WHERE state = 'fetched'), "
                    "bool_and(b.finished_at IS NOT NULL) "
                    "FROM backfill_units u JOIN backfills b ON b.id = u.backfill_id")
        assert cur.fetchone() == (4, 4, True)
        cur.execute("SELECT count(*) FROM articles WHERE event_id IS NULL")
        assert cur.fetchone()[0] == 0  # linked to events like any load's articles

    rerun = backfill_dag.test(run_conf=OCTOBER)
    assert counts(db)[:2] == (6, 0)
    states = task_states(rerun.run_id)
    assert states[("load", None)] == "success"
    assert not [task for (task, _), s in states.items() if task == "fetch" and s == "success"]


def test_a_bad_request_fails_the_plan_with_its_reason(backfill_dag: Any, db: Any,
                                                       site: Any) -> None:
    run = backfill_dag.test(run_conf={"from": "2026-10-31", "to": "2026-10-01"})
    assert task_states(run.run_id)[("plan", None)] == "failed"
    assert counts(db)[:2] == (0, 0)
