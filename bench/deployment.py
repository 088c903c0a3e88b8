"""What a deployment pays for a run: `nichiro_ingest` under the real scheduler.

Usage (``make bench`` runs it)::

    python bench/deployment.py                       # 200 and 2,000 sources x 5 entries
    python bench/deployment.py --sources 50 --entries 2 --latency-ms 10   # a quick look

For each catalog size, as `make run` starts Airflow (api-server, scheduler with the
LocalExecutor and parallelism 4, dag-processor, each its own process tree; task processes
forked by the scheduler), against throwaway databases on ``--pg`` and a throwaway
AIRFLOW_HOME:

1. bench/corpus.py writes ``N`` sources x ``--entries`` feeds and article pages; bench/server.py
   serves them on 127.0.0.1 with ``--latency-ms`` per response (all sources on one host, so
   the per-host spacing is 0 here: a real catalog spreads over many hosts);
2. a run triggered through the REST API with ``fetch_all``: wall time from trigger to the
   run's end, task instances, time per source, articles stored, and the peak resident
   memory of each component's largest process (sampled every 0.2 s from /proc);
3. the load of the first run against its floor: the seconds `load_run` reports in its task
   log, against a bare COPY of every row it wrote (already in COPY's text format, into
   UNLOGGED tables without indexes or constraints: the server's floor for its writes);
4. a second run, every feed unchanged (304): its wall time against the first.

Prints a table and writes ``bench/results/deployment-<UTC timestamp>.json``. Missed targets
are reported, not raised. Targets (issue 21): 2,000 sources under 10 minutes; cost per
source growing at most 20% from 200 to 2,000; an unchanged run under 10% of the first; the
load within 2x of the bare COPY of what it wrote.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg2

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from corpus import generate  # noqa: E402
from server import BenchServer  # noqa: E402

from tests.support import free_port  # noqa: E402
from tests.support.stack import DAG_ID, Stack  # noqa: E402

COMPONENTS = ("api-server", "scheduler", "dag-processor")


def _pids_by_group() -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        groups.setdefault(int(fields[2]), []).append(int(entry.name))
    return groups


def _rss_mb(pid: int) -> float:
    try:
        for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class MemorySampler(threading.Thread):
    """Peak RSS of each component's largest process, and of its whole process tree."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True)
        self.stack, self.stop_event = stack, threading.Event()
        self.peak_process = dict.fromkeys(COMPONENTS, 0.0)
        self.peak_tree = dict.fromkeys(COMPONENTS, 0.0)

    def run(self) -> None:
        while not self.stop_event.wait(0.2):
            groups = _pids_by_group()
            for name in COMPONENTS:
                rss = [_rss_mb(pid) for pid in groups.get(self.stack.procs[name].pid, [])]
                if rss:
                    self.peak_process[name] = max(self.peak_process[name], max(rss))
                    self.peak_tree[name] = max(self.peak_tree[name], sum(rss))


def _admin(pg: str, sql: str) -> None:
    conn = psycopg2.connect(f"{pg}/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def _run(stack: Stack, timeout: float) -> dict[str, Any]:
    """Trigger a run with fetch_all and wait for its end; its REST record and its tasks."""
    started = time.monotonic()
    r = stack.api("POST", f"/dags/{DAG_ID}/dagRuns",
                  json={"logical_date": None, "conf": {"fetch_all": True}})
    r.raise_for_status()
    run_id = r.json()["dag_run_id"]
    run = stack.wait(f"run {run_id}", lambda: (lambda j: j if j["state"] in (
        "success", "failed") else None)(stack.api(
            "GET", f"/dags/{DAG_ID}/dagRuns/{run_id}").json()), timeout=timeout, interval=1)
    wall = time.monotonic() - started
    tis: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances",
                         params={"limit": 100, "offset": offset}).json()["task_instances"]
        tis += page
        offset += len(page)
        if len(page) < 100:
            break
    return {"run_id": run_id, "state": run["state"], "wall_s": round(wall, 1),
            "task_instances": len(tis),
            "ran": sum(1 for ti in tis if ti["state"] in ("success", "failed")),
            "states": {s: sum(1 for ti in tis if ti["state"] == s)
                       for s in sorted({str(ti["state"]) for ti in tis})},
            "task_seconds": _task_seconds(tis)}


def _task_seconds(tis: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per task id, the instances that ran: how many, their summed and longest duration."""
    out: dict[str, dict[str, float]] = {}
    for ti in tis:
        if ti.get("duration") is None:
            continue
        task = out.setdefault(ti["task_id"], {"n": 0, "total_s": 0.0, "max_s": 0.0})
        task["n"] += 1
        task["total_s"] = round(task["total_s"] + ti["duration"], 2)
        task["max_s"] = round(max(task["max_s"], ti["duration"]), 2)
    return out


#: What load_run writes: (table, rows as a query). Staging rows and feed entries it only
#: marks, so their floor is the marks alone.
WRITTEN_ROWS = (
    ("articles", "SELECT * FROM articles"),
    ("article_urls", "SELECT * FROM article_urls"),
    ("article_tags", "SELECT * FROM article_tags"),
    ("raw_pages", "SELECT * FROM raw_pages"),
    ("article_minhash", "SELECT * FROM article_minhash"),
    ("article_lsh_bands", "SELECT * FROM article_lsh_bands"),
    ("story_clusters", "SELECT * FROM story_clusters"),
    ("article_event_evidence", "SELECT * FROM article_event_evidence"),
    ("event_threads", "SELECT * FROM event_threads"),
    ("staged_articles", "SELECT id, outcome, article_id, loaded_at FROM staged_articles "
                        "WHERE loaded_at IS NOT NULL"),
    ("feed_entries", "SELECT id, article_id FROM feed_entries WHERE article_id IS NOT NULL"),
)


def copy_written_rows(conn: Any) -> float:
    """Seconds to COPY every row the load wrote, already in COPY's text format, into UNLOGGED
    twins without indexes or constraints (compressed like the originals)."""
    data = {}
    with conn.cursor() as cur:
        for table, query in WRITTEN_ROWS:
            cur.execute(f"CREATE UNLOGGED TABLE bench_{table} AS {query} WITH NO DATA")
            cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                        "AND attcompression = 'l' AND attname IN (SELECT attname FROM "
                        "pg_attribute WHERE attrelid = %s::regclass)", (table, f"bench_{table}"))
            for (column,) in cur.fetchall():
                cur.execute(f"ALTER TABLE bench_{table} ALTER COLUMN {column} "
                            "SET COMPRESSION lz4")
            buf = io.BytesIO()
            cur.copy_expert(f"COPY ({query}) TO STDOUT", buf)
            data[table] = buf.getvalue()
    conn.commit()
    started = time.perf_counter()
    with conn.cursor() as cur:
        for table, _ in WRITTEN_ROWS:
            cur.copy_expert(f"COPY bench_{table} FROM STDIN", io.BytesIO(data[table]))
    conn.commit()
    elapsed = time.perf_counter() - started
    with conn.cursor() as cur:
        for table, _ in WRITTEN_ROWS:
            cur.execute(f"DROP TABLE bench_{table}")
    conn.commit()
    return elapsed


def load_seconds(airflow_home: Path, run_id: str) -> tuple[float | None, str]:
    """The seconds load_run reported for `run_id` in the load task's log, and its phases."""
    pattern = re.compile(
        rf"load {re.escape(run_id)}: \{{[^}}]*\}} in ([\d.]+) s.*?phases: ([^\n\"]*)")
    for log in (airflow_home / "logs").rglob("*.log"):
        if "task_id=load" in str(log):
            found = pattern.search(log.read_text("utf-8", "replace"))
            if found:
                return float(found[1]), found[2]
    return None, ""


def measure(sources: int, entries: int, latency_ms: float, pg: str,
            timeout: float) -> dict[str, Any]:
    tag = f"{os.getpid()}_{sources}"
    news, meta = f"nichiro_deploy_{tag}", f"nichiro_airflow_deploy_{tag}"
    work = Path(tempfile.mkdtemp(prefix="nichiro-deploy-"))
    stack = None
    server = None
    try:
        manifest = generate(work / "corpus", sources, entries)
        server = BenchServer(work / "corpus", latency_s=latency_ms / 1000).start()
        catalog = work / "catalog.toml"
        catalog.write_text((work / "corpus" / "catalog.toml").read_text("utf-8").replace(
            "__BASE_URL__", server.base_url), "utf-8")
        for db in (news, meta):
            _admin(pg, f"DROP DATABASE IF EXISTS {db}")
            _admin(pg, f"CREATE DATABASE {db}")
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(REPO),
            "AIRFLOW_HOME": str(work / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{pg}/{meta}".replace(
                "postgresql://", "postgresql+psycopg2://"),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",  # as scripts/env.sh sets it for `make run`
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": base_url, "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": "nichiro-bench-" + "k" * 64,
            "NICHIRO_DB_URL": f"{pg}/{news}", "AIRFLOW_CONN_NICHIRO_DB": f"{pg}/{news}",
            "NICHIRO_SOURCES": str(catalog), "NICHIRO_ALLOW_PRIVATE_HOSTS": "1",
            "NICHIRO_HOST_DELAY_SECONDS": "0", "NICHIRO_TASK_RETRIES": "0",
            "NICHIRO_SCHEDULE": "0 0 29 2 *",  # only the triggered runs
        }
        env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
        for step in (["-m", "airflow", "db", "migrate"], ["plugins/nichiro_pools.py"],
                     ["-m", "scrapers", "migrate"]):
            subprocess.run([sys.executable, *step], env=env, cwd=REPO, check=True,
                           capture_output=True, timeout=600)
        (work / "logs").mkdir()
        stack = Stack(base_url, env, work / "logs")
        stack.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(port),
                    "--workers", "1")
        stack.start("scheduler", "scheduler")
        stack.start("dag-processor", "dag-processor")
        stack.wait("the api-server", lambda: httpx.get(
            f"{base_url}/api/v2/monitor/health", timeout=2).status_code == 200, timeout=120)
        r = httpx.post(f"{base_url}/auth/token",
                       json={"username": "admin", "password": stack.password()}, timeout=30)
        stack.token = r.json()["access_token"]
        stack.wait("nichiro_ingest to be registered",
                   lambda: stack.api("GET", f"/dags/{DAG_ID}").status_code == 200, timeout=120)
        stack.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
        sampler = MemorySampler(stack)
        sampler.start()
        server.reset_counters()
        first = _run(stack, timeout)
        first["requests"] = server.counters()["requests"]
        sampler.stop_event.set()
        sampler.join()
        load_s, phases = load_seconds(work / "airflow", first["run_id"])
        with psycopg2.connect(f"{pg}/{news}") as conn:
            copy_s = copy_written_rows(conn)
        conn.close()
        first["load"] = {"load_run_s": load_s, "written_rows_copy_s": round(copy_s, 3),
                         "ratio": round(load_s / copy_s, 2) if load_s and copy_s else None,
                         "phases": phases}
        server.reset_counters()
        second = _run(stack, timeout)
        second["requests"] = server.counters()["requests"]
        with psycopg2.connect(f"{pg}/{news}") as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM articles")
            articles = cur.fetchone()[0]
            cur.execute("SELECT count(*), count(error_class) FROM feed_fetches WHERE run_id = %s",
                        (first["run_id"],))
            fetches, failed = cur.fetchone()
        conn.close()
        return {"sources": sources, "entries_per_feed": entries, "latency_ms": latency_ms,
                "databases": [news, meta],
                "pages": manifest.pages, "first": first, "second": second,
                "articles": articles, "feed_fetches": fetches, "failed_fetches": failed,
                "seconds_per_source": round(first["wall_s"] / sources, 3),
                "peak_rss_mb_largest_process": {k: round(v) for k, v in
                                                sampler.peak_process.items()},
                "peak_rss_mb_process_tree": {k: round(v) for k, v in
                                             sampler.peak_tree.items()}}
    finally:
        if stack is not None:
            stack.stop()
        if server is not None:
            server.stop()
        for db in (news, meta):
            _admin(pg, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--entries", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per run, seconds")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    results = [measure(n, args.entries, args.latency_ms, args.pg, args.timeout)
               for n in args.sources]
    print(f"{'sources':>8} {'wall s':>8} {'s/source':>9} {'TIs':>5} {'ran':>5} "
          f"{'2nd wall s':>10} {'2nd/1st':>8} {'articles':>9}  peak RSS MB (largest process)")
    for r in results:
        f, s = r["first"], r["second"]
        print(f"{r['sources']:>8} {f['wall_s']:>8} {r['seconds_per_source']:>9} "
              f"{f['task_instances']:>5} {f['ran']:>5} {s['wall_s']:>10} "
              f"{s['wall_s'] / f['wall_s']:>8.2f} {r['articles']:>9}  "
              f"{r['peak_rss_mb_largest_process']}")
    for r in results:
        load = r["first"]["load"]
        print(f"{r['sources']:>8} sources: load_run {load['load_run_s']} s, a bare COPY of every "
              f"row it wrote {load['written_rows_copy_s']} s: {load['ratio']}x (target: 2x)\n"
              f"{'':>8} phases: {load['phases']}")
    if len(results) >= 2:
        growth = results[-1]["seconds_per_source"] / results[0]["seconds_per_source"] - 1
        print(f"cost per source, {results[0]['sources']} -> {results[-1]['sources']}: "
              f"{growth:+.0%} (target: at most +20%)")
    out = args.output or REPO / "bench" / "results" / (
        f"deployment-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    out.write_text(json.dumps({"commit": commit, "cpus": os.cpu_count(),
                               "python": platform.python_version(), "results": results},
                              indent=1), "utf-8")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
