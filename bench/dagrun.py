"""One real `nichiro_ingest` run with `dag.test()`, timed; run by bench/pipeline.py.

Usage (the environment comes from bench/pipeline.py: AIRFLOW_HOME, the metadata database,
AIRFLOW_CONN_NICHIRO_DB, NICHIRO_SOURCES, ...)::

    python bench/dagrun.py --output run.json [--init]

``--init`` first creates Airflow's metadata schema (``airflow.utils.db.initdb``), outside
the timed part, and migrates the empty news database; then `nichiro_digest` runs through
dag.test(), untimed (see `_warm_up`). The run itself is
``dag.test(run_conf={"fetch_all": True})``: every task runs in this one process, one after
another (no scheduler, no executor), as in tests/dags/test_ingest_dag.py.

Per task instance it records the wall time and the peak resident memory *of this process
while the task ran*: before each task the kernel's high-water mark is reset
(``/proc/self/clear_refs`` = 5) and after it ``VmHWM`` is read. To do that it wraps
``airflow.sdk.definitions.dag._run_task``, the function ``dag.test()`` calls per task
instance (a private Airflow function: a measurement hook, not used by the pipeline). The
figure includes Airflow itself and everything imported so far, so it is an upper bound for
what the task would need in a worker process of its own.

Writes JSON: run wall time, per-task records, process peak RSS, and counts read back from
the news database for this run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
_HWM = re.compile(r"VmHWM:\s+(\d+)\s+kB")
_RSS = re.compile(r"VmRSS:\s+(\d+)\s+kB")


def _status_kb(pattern: re.Pattern[str]) -> int | None:
    try:
        match = pattern.search(Path("/proc/self/status").read_text())
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _instrument(records: list[dict[str, Any]]) -> None:
    import airflow.sdk.definitions.dag as dag_module

    original = dag_module._run_task

    def timed_run_task(*, ti: Any, task: Any, run_triggerer: bool = False) -> Any:
        reset = _reset_hwm()
        rss_before = _status_kb(_RSS)
        started = time.perf_counter()
        try:
            return original(ti=ti, task=task, run_triggerer=run_triggerer)
        finally:
            records.append({
                "task_id": ti.task_id, "map_index": ti.map_index,
                "state": str(getattr(ti.state, "value", ti.state)),
                "seconds": round(time.perf_counter() - started, 4),
                "rss_before_mb": round((rss_before or 0) / 1024, 1),
                "peak_rss_mb": round((_status_kb(_HWM) or 0) / 1024, 1) if reset else None,
            })

    dag_module._run_task = timed_run_task


class _IdleClock:
    """Counts the seconds dag.test() sleeps because a pass over the run found no task to
    run (it waits 1 s, e.g. while skips propagate to downstream tasks): a wait of the test
    harness, not of the pipeline, so the report gives it beside the run's wall time.

    dag.test() imports `time` inside the function, so `time.sleep` itself is wrapped, and
    only calls made directly from dag.test() count."""

    def __init__(self) -> None:
        self.idle_s = 0.0
        real = time.sleep

        def sleep(seconds: float) -> None:
            caller = sys._getframe(1).f_code
            if caller.co_name == "test" and caller.co_filename.endswith(
                    os.path.join("sdk", "definitions", "dag.py")):
                self.idle_s += seconds
            real(seconds)

        time.sleep = sleep


def _news_counts(run_id: str) -> dict[str, Any]:
    import psycopg2

    conn = psycopg2.connect(os.environ["AIRFLOW_CONN_NICHIRO_DB"])
    try:
        with conn.cursor() as cur:
            cur.execute("""SELECT count(*), coalesce(sum(entries), 0), coalesce(sum(bytes), 0),
                                  count(*) FILTER (WHERE not_modified),
                                  count(*) FILTER (WHERE error IS NOT NULL)
                           FROM feed_fetches WHERE run_id = %s""", (run_id,))
            fetches, entries, feed_bytes, not_modified, failed = cur.fetchone()
            cur.execute("SELECT status, count(*) FROM staged_articles WHERE run_id = %s "
                        "GROUP BY status", (run_id,))
            staged = dict(cur.fetchall())
            cur.execute("SELECT coalesce(outcome, 'none'), count(*) FROM staged_articles "
                        "WHERE run_id = %s GROUP BY 1", (run_id,))
            outcomes = dict(cur.fetchall())
            cur.execute("SELECT count(*) FROM feed_entries WHERE candidate")
            candidates = cur.fetchone()[0]
            cur.execute("SELECT count(*), count(DISTINCT cluster_id) FROM articles")
            articles, clusters = cur.fetchone()
    finally:
        conn.close()
    return {"feed_fetches": fetches, "feed_entries": int(entries), "feed_bytes": int(feed_bytes),
            "feeds_not_modified": not_modified, "feeds_failed": failed, "staged": staged,
            "outcomes": outcomes, "candidates_total": candidates, "articles_total": articles,
            "clusters_total": clusters}


def _create_news_schema() -> float:
    """Migrate the (empty) news database, untimed, so the warm-up's digest finds its tables.
    A one-time cost of a new database, not of a run; reported as ``news_schema_s``."""
    import psycopg2

    from scrapers.db.migrate import migrate

    started = time.perf_counter()
    conn = psycopg2.connect(os.environ["AIRFLOW_CONN_NICHIRO_DB"])
    try:
        migrate(conn)
    finally:
        conn.close()
    return time.perf_counter() - started


def _warm_up(bag: Any) -> float:
    """Run `nichiro_digest` (one small task) through dag.test() first; its wall time.

    The first task instance of a dag.test() process pays for starting Airflow's in-process
    execution API and importing the task runner (several seconds here). A deployment pays
    that once, in its long-running api-server and workers, not per DAG run, so the timed
    run starts warm, as Airflow's import, also left out. The warm-up is reported
    (``warm_up_s``). dag.test() runs only DAGs of the DAG folder: hence our own digest DAG
    (it recomputes `daily_digest` for the last days: milliseconds).
    """
    started = time.perf_counter()
    bag.dags["nichiro_digest"].test()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="One timed nichiro_ingest dag.test() run.")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--init", action="store_true", help="create Airflow's schema first")
    args = parser.parse_args(argv)
    process_started = time.perf_counter()
    sys.path.insert(0, str(REPO / "plugins"))
    import_started = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag

    import_s = time.perf_counter() - import_started
    news_schema_s = None
    if args.init:
        from airflow.utils import db as airflow_db

        airflow_db.initdb()
        news_schema_s = _create_news_schema()
    bag = DagBag(dag_folder=str(REPO / "dags"))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags["nichiro_ingest"]
    warm_up_s = _warm_up(bag)
    records: list[dict[str, Any]] = []
    startup_hwm_kb = _status_kb(_HWM) or 0  # before the first reset: parse and start-up
    _instrument(records)
    idle = _IdleClock()
    profile = os.environ.get("BENCH_PROFILE")  # a path: cProfile the run into it
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    run = dag.test(run_conf={"fetch_all": True})
    wall = time.perf_counter() - started
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    result = {
        "run_id": run.run_id, "state": str(getattr(run.state, "value", run.state)),
        "wall_s": round(wall, 3),
        "dag_test_idle_s": round(idle.idle_s, 3),
        "airflow_import_s": round(import_s, 3),
        "warm_up_s": round(warm_up_s, 3),
        "news_schema_s": None if news_schema_s is None else round(news_schema_s, 3),
        "process_s": round(time.perf_counter() - process_started, 3),
        "tasks": records,
        "task_seconds": round(sum(r["seconds"] for r in records), 3),
        # ru_maxrss may miss peaks cleared by the per-task resets: take the largest figure.
        "process_peak_rss_mb": round(max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, startup_hwm_kb,
            *(int((r["peak_rss_mb"] or 0) * 1024) for r in records)) / 1024, 1),
        "news": _news_counts(run.run_id),
    }
    args.output.write_text(json.dumps(result, indent=1, default=str), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
