"""A fresh install schedules itself: a brand-new Airflow metadata database, migrated as
`make db` does, with the deployment's DAGS_ARE_PAUSED_AT_CREATION=True and the real
schedule. Only the dag-processor and the scheduler run: nobody unpauses anything, through
the UI, the REST API or the CLI, and a scheduled run of nichiro_ingest must appear.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from tests.conftest import REPO, TEST_AIRFLOW_DB_URL, _recreate_database
from tests.support import free_port
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration]

FRESH_DB_URL = urlunsplit(urlsplit(TEST_AIRFLOW_DB_URL)._replace(
    path=urlsplit(TEST_AIRFLOW_DB_URL).path + "_fresh"))


@pytest.fixture
def fresh_metadata_db() -> Iterator[str]:
    """An empty PostgreSQL database for Airflow's metadata, dropped afterwards."""
    _recreate_database(FRESH_DB_URL)
    try:
        yield FRESH_DB_URL
    finally:
        _recreate_database(FRESH_DB_URL, create=False)


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            return list(cur.fetchall())
    finally:
        conn.close()


def test_an_empty_metadata_database_gets_a_scheduled_run(
        fresh_metadata_db: str, news_db_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO),
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": fresh_metadata_db.replace(
            "postgresql://", "postgresql+psycopg2://"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "1",
        # as scripts/env.sh sets it for `make run`
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # No api-server: the run's tasks cannot start, so nothing is fetched; the test
        # is about the run being created.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{free_port()}/execution/",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "NICHIRO_SCHEDULE": "*/30 * * * *",
    }
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    migrated = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env,
                              cwd=REPO, capture_output=True, text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
    assert _rows(fresh_metadata_db, "SELECT count(*) FROM dag") == [(0,)]

    logs = tmp_path / "logs"
    logs.mkdir()
    stack = Stack("", env, logs)
    try:
        stack.start("dag-processor", "dag-processor")
        stack.start("scheduler", "scheduler")
        runs = stack.wait(
            "a scheduled run of nichiro_ingest",
            lambda: _rows(fresh_metadata_db,
                          "SELECT run_type FROM dag_run WHERE dag_id = 'nichiro_ingest'"),
            timeout=150)
        paused = dict(_rows(fresh_metadata_db, "SELECT dag_id, is_paused FROM dag"))
    finally:
        stack.stop()
    assert runs == [("scheduled",)]
    # nichiro_backfill has no schedule: active, it runs when an operator triggers it
    assert paused == {"nichiro_ingest": False, "nichiro_digest": False,
                      "nichiro_backfill": False, "nichiro_alerts": False}
