"""Airflow's components as subprocesses, each in its own process group, for tests that
meet the stack as an operator does (tests/e2e)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import free_port

#: The checkout. Not imported from tests.conftest: importing it sets the test session's
#: environment (no task memory cap, a shard per source, ...) in whatever process imports
#: this module, and `make bench` (bench/deployment.py) must run as `make run` does.
REPO = Path(__file__).resolve().parents[2]


class Stack:
    """Airflow's components, each in its own process group, logging to files."""

    def __init__(self, base_url: str, env: dict[str, str], logs: Path) -> None:
        self.base_url = base_url
        self.env = env
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.token = ""

    def start(self, name: str, *args: str) -> None:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen([sys.executable, "-m", "airflow", *args],
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, cwd=REPO)
        log.close()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # whatever is left of the group (task supervisors, gunicorn/uvicorn workers)
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def tail(self, n: int = 40) -> str:
        out = []
        for name in self.procs:
            lines = (self.logs / f"{name}.log").read_text("utf-8", "replace").splitlines()
            out.append(f"--- {name} (last {n} lines) ---\n" + "\n".join(lines[-n:]))
        return "\n".join(out)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                pytest.fail(f"airflow {name} exited with {proc.returncode}:\n{self.tail()}")

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.base_url}/api/v2{path}", timeout=30,
                             headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def password(self) -> str:
        path = Path(self.env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
        return str(json.loads(path.read_text("utf-8"))["admin"])

    def wait(self, what: str, check: Any, timeout: float, interval: float = 1.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            try:
                value = check()
            except httpx.HTTPError:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}:\n{self.tail()}")
            time.sleep(interval)


DAG_ID = "nichiro_ingest"
RUN_TIMEOUT = 180
#: The summary task's service user's password, as `make run` sets one up (scripts/run.sh).
SERVICE_PASSWORD = "e2e-service-password"


@contextmanager
def running_stack(site: Any, tmp_path: Path, extra_env: dict[str, str] | None = None,
                  workers: dict[str, tuple[str, ...]] | None = None) -> Iterator[Stack]:
    """api-server, scheduler and dag-processor (and `workers`: name -> airflow arguments) on
    a free port, against this session's metadata and news databases, with the sample site's
    catalog; logged in as admin. `extra_env` overrides the environment (the executor)."""

    # Earlier tests in the session may have registered nichiro_ingest with its real schedule;
    # the scheduler would then start a scheduled run from that stale next-run date. Start
    # from a clean slate so this stack registers the DAG with the test schedule below.
    # An earlier stack stopped while a task of its ran (the digest its last ingest
    # triggered, say) leaves that task instance "running" with no process behind it, and
    # Airflow refuses to delete a DAG with running tasks: it is marked failed first.
    from airflow.api.common.delete_dag import delete_dag
    from airflow.exceptions import DagNotFound
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import update

    dag_ids = ("nichiro_ingest", "nichiro_digest")
    with create_session() as session:
        session.execute(update(TaskInstance)
                        .where(TaskInstance.dag_id.in_(dag_ids),
                               TaskInstance.state == TaskInstanceState.RUNNING)
                        .values(state=TaskInstanceState.FAILED)
                        .execution_options(synchronize_session=False))
    for dag_id in dag_ids:
        try:
            delete_dag(dag_id)
        except DagNotFound:
            pass
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,  # AIRFLOW_HOME, metadata DB, news DB, NICHIRO_SOURCES (site), JWT secret
        "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        # the hourly alerts check would start a run of its own beside the one under test
        "NICHIRO_ALERTS_SCHEDULE": "",
        # real task processes, so the deployment's memory cap per fetch task applies
        "NICHIRO_TASK_MEMORY_MB": "4096",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,nichiro:user",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        # the summary task's service user, as `make run` sets it up (scripts/run.sh)
        "AIRFLOW_CONN_NICHIRO_AIRFLOW_API": json.dumps({
            "conn_type": "http", "host": "127.0.0.1", "port": port, "login": "nichiro",
            "password": SERVICE_PASSWORD}),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "NICHIRO_ALLOW_PRIVATE_HOSTS": "1",
        "NICHIRO_TASK_RETRIES": "0",
        "NICHIRO_HOST_DELAY_SECONDS": "0",
        # Only the triggered run. With catchup=False a cron DAG gets one run for its latest
        # past tick as soon as it is unpaused (max(previous tick, first tick after
        # start_date)); Feb 29 has no tick between start_date (2026-01-01) and 2028, so no
        # scheduled run can take the sample's news before the triggered one.
        "NICHIRO_SCHEDULE": "0 0 29 2 *",
    }
    env.update(extra_env or {})
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    assert env.get("NICHIRO_SOURCES") == str(site.catalog)
    passwords = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
    known = json.loads(passwords.read_text("utf-8")) if passwords.exists() else {}
    passwords.write_text(json.dumps({**known, "nichiro": SERVICE_PASSWORD}), "utf-8")
    logs = tmp_path / "logs"
    logs.mkdir()
    s = Stack(base_url, env, logs)
    try:
        s.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1")
        s.start("scheduler", "scheduler")
        s.start("dag-processor", "dag-processor")
        for name, args in (workers or {}).items():
            s.start(name, *args)
        s.wait("the api-server's health endpoint",
               lambda: httpx.get(f"{base_url}/api/v2/monitor/health", timeout=2).status_code
               == 200, timeout=90, interval=0.5)
        r = httpx.post(f"{base_url}/auth/token",
                       json={"username": "admin", "password": s.password()}, timeout=30)
        assert r.status_code == 201 or r.status_code == 200, r.text
        s.token = r.json()["access_token"]
        yield s
    finally:
        s.stop()




def unpause_when_registered(stack: Stack) -> None:
    """Wait for *this* stack's parse of nichiro_ingest (its test schedule, 29 Feb), then
    unpause it: an earlier test in the session may have serialized the DAG with its real
    schedule, and unpausing that version would start a scheduled run."""
    def registered() -> bool:
        r = stack.api("GET", f"/dags/{DAG_ID}")
        return r.status_code == 200 and r.json().get("timetable_summary") == "0 0 29 2 *"

    stack.wait("the dag-processor to register nichiro_ingest with the test schedule",
               registered, timeout=90)
    r = stack.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
    assert r.status_code == 200 and r.json()["is_paused"] is False, r.text


def run_to_the_end(stack: Stack) -> tuple[dict[str, Any], dict[tuple[str, str | None], str]]:
    """Trigger a run through the REST API and wait for its end: the run, and the state of
    each task instance by (task id, source name or None): with five sources, each shard
    is one source, labelled "shard i/5: <name>"."""
    r = stack.api("POST", f"/dags/{DAG_ID}/dagRuns",
                  json={"logical_date": None, "conf": {"fetch_all": True}})
    assert r.status_code == 200, r.text
    run_id = r.json()["dag_run_id"]
    run = stack.wait(f"run {run_id} to finish",
                     lambda: (lambda j: j if j["state"] in ("success", "failed") else None)(
                         stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}").json()),
                     timeout=RUN_TIMEOUT, interval=2)
    tis = stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances",
                    params={"limit": 100}).json()["task_instances"]
    # fetch_feed and fetch_articles share one expansion: map index i is the same source in
    # both (an instance that never ran, upstream_failed or skipped, has no label of its own)
    names = {ti["map_index"]: ti["rendered_map_index"].split(": ", 1)[1] for ti in tis
             if ti["task_id"] == "shard.fetch_feed"}
    return run, {(ti["task_id"], names[ti["map_index"]] if ti["map_index"] >= 0 else None):
                 ti["state"] for ti in tis}
