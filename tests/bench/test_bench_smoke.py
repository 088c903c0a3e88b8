"""The benchmarks run end to end on tiny corpora (no timings asserted).

bench/pipeline.py with 2 sources x 5 entries: a real `dag.test()` of nichiro_ingest twice
against loopback HTTP and PostgreSQL, every stage, the parse/import checks. The benchmark
uses databases of its own (suffixed with its pid) and drops them; this test checks the
report's shape and that its counts are real, never how fast anything was.
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
STAGES = {"feed_parsing", "relevance", "extraction", "cleaning", "dedup_clustering", "load"}


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


def test_benchmark_runs_on_a_tiny_corpus(tmp_path: Path) -> None:
    server = urlunsplit(urlsplit(TEST_DB_URL)._replace(path=""))
    output = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "pipeline.py"), "--sources", "2", "--entries", "5",
         "--skip-scale", "--repeat", "1", "--no-compile", "--pg", server,
         "--output", str(output)],
        cwd=REPO, capture_output=True, text=True, timeout=240, env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "targets" in proc.stdout and str(output) in proc.stdout
    result = json.loads(output.read_text("utf-8"))

    assert result["machine"]["cpu_count"] >= 1 and result["machine"]["python"]
    assert "commit" in result and result["config"]["sources"] == 2
    assert result["corpus"]["entries"] == 10 and result["corpus"]["pages"] > 0

    e2e = result["end_to_end"]
    assert e2e["entries"] == 10 and e2e["wall_s"] > 0 and e2e["state"].endswith("success")
    assert e2e["articles_new"] > 0 and e2e["bytes_sent"] > 0 and e2e["requests"] > 0
    assert e2e["tasks_not_successful"] == []
    assert e2e["max_task_peak_rss_mb"] > 0
    assert {"migrate", "load_sources", "shard.fetch_feed", "shard.fetch_articles",
            "load"} <= set(e2e["task_totals"])
    assert e2e["news"]["articles_total"] == e2e["articles_new"]

    second = result["second_run"]  # unchanged feeds: conditional GET answers 304
    assert second["statuses"] == {"304": 2} and 0 < second["bytes_sent"] < e2e["bytes_sent"]
    assert second["news"]["outcomes"] == {}

    assert set(result["stages"]) == STAGES
    for name, stage in result["stages"].items():
        assert stage["n"] > 0 and stage["per_s"] > 0, name
    for name in ("feed_parsing", "extraction", "dedup_clustering", "load"):
        assert result["stages"][name]["ratio"] > 0, name
    load = result["stages"]["load"]
    assert load["outcomes"]["new"] > 0
    assert {"staged rows", "resolve", "cluster keys", "cluster candidates", "articles",
            "cluster writes", "tags", "outcomes", "commit"} <= set(load["phases_s"])
    assert load["written_rows_copy_seconds"] > 0 and load["ratio_to_written_rows_copy"] > 0

    files = result["parse"]["dag_files"]
    assert set(files) == {"nichiro_ingest.py", "nichiro_digest.py"}
    assert all(f["heavy_imports"] == [] and f["dags"] for f in files.values())
    assert result["parse"]["scrapers_import"]["importtime_cumulative_s"] > 0
    assert set(result["parse"]["task_imports_s"]) == {
        "migrate", "load_sources", "fetch_feed", "fetch_articles", "load", "summary"}
    assert {t["target"] for t in result["targets"]} >= {"load rows/s", "2nd run bytes share"}

    assert_dropped(result["databases"])


def test_window_benchmark_runs_on_tiny_corpora(tmp_path: Path) -> None:
    """bench/window.py: the run loaded on nothing, on an archive inside the cluster time
    window and on the same archive outside it (counts only, no timings asserted)."""
    server = urlunsplit(urlsplit(TEST_DB_URL)._replace(path=""))
    output = tmp_path / "window.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "window.py"), "--sources", "2", "--entries", "5",
         "--archive-sources", "3", "--archive-entries", "10", "--repeat", "1",
         "--pg", server, "--output", str(output)],
        cwd=REPO, capture_output=True, text=True, timeout=240, env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(output.read_text("utf-8"))
    cases = result["cases"]
    assert set(cases) == {"empty", "archive_inside", "archive_outside"}
    assert result["staged"] > 0 and result["archive_load"]["new"] > 0
    assert cases["empty"]["articles"] == 0
    assert cases["archive_inside"]["articles"] == cases["archive_outside"]["articles"] > 0
    assert cases["archive_outside"]["band_rows"] > 0
    assert (cases["archive_inside"]["days_before"], cases["archive_outside"]["days_before"]) \
        == (10, 60)
    for case in cases.values():  # the run's own articles are new in every case
        assert case["outcomes"]["new"] == cases["empty"]["outcomes"]["new"] > 0
        assert case["load_s"] > 0 and "cluster candidates" in case["phases_s"]

    assert_dropped(result["databases"])


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
