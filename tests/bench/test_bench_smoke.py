"""The deployment benchmark runs end to end on a tiny corpus (no timings asserted).

bench/deployment.py starts Airflow's real components against loopback HTTP and databases
of its own (suffixed with its pid), which it drops; this test checks the report's shape
and that its counts are real, never how fast anything was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import TEST_DB_URL

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def assert_dropped(databases: list[str]) -> None:
    """A benchmark drops the databases it made."""
    import psycopg2

    admin = psycopg2.connect(urlunsplit(urlsplit(TEST_DB_URL)._replace(path="/postgres")))
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (databases,))
            assert cur.fetchall() == [], "the benchmark must drop its databases"
    finally:
        admin.close()


def test_deployment_benchmark_runs_under_the_real_scheduler(tmp_path: Path) -> None:
    """bench/deployment.py (`make bench`) on 3 sources x 2 entries: Airflow's real
    components, two runs, the counts real (no timings asserted)."""
    server = urlunsplit(urlsplit(TEST_DB_URL)._replace(path=""))
    output = tmp_path / "deployment.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "deployment.py"), "--sources", "3",
         "--entries", "2", "--latency-ms", "0", "--timeout", "300", "--pg", server,
         "--output", str(output)],
        cwd=REPO, capture_output=True, text=True, timeout=600, env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [result] = json.loads(output.read_text("utf-8"))["results"]
    assert result["first"]["state"] == result["second"]["state"] == "success"
    assert result["feed_fetches"] == 3 and result["failed_fetches"] == 0
    assert result["articles"] > 0 and result["first"]["task_instances"] == 7 + 2 * 3
    assert result["second"]["requests"] < result["first"]["requests"]  # feeds answer 304
    assert all(v > 0 for v in result["peak_rss_mb_largest_process"].values())
    load = result["first"]["load"]  # the load's own seconds, from its task log, and its floor
    assert load["load_run_s"] > 0 and load["written_rows_copy_s"] > 0
    assert "events" in load["phases"] and "commit" in load["phases"]
    assert_dropped(result["databases"])
