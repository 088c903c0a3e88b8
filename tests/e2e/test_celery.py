"""Scale-out on Celery: one nichiro_ingest run over two real Celery workers (`airflow celery
worker`), the scheduler with the CeleryExecutor, Redis on 127.0.0.1:6379 as the broker
(started from Debian's redis-server if none answers), results in the metadata database.
Every source is fetched once and every story stored once, whichever worker ran it."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_AIRFLOW_DB_URL
from tests.support.stack import Stack, run_to_the_end, running_stack, unpause_when_registered

pytestmark = [pytest.mark.integration]

REDIS = ("127.0.0.1", 6379)
#: A Redis database of its own, emptied before the test: no other user's queue.
REDIS_DB = 11
SOURCES = ("Pacific Wire", "北海新報", "Восточный вестник", "Google News: Japan Russia (en)",
           "Broken Feed")


def _redis(*commands: tuple[str, ...]) -> bytes:
    """Commands on one connection, in Redis's wire protocol (RESP): the test needs no client
    library. Returns the replies' bytes."""
    with socket.create_connection(REDIS, timeout=2) as conn:
        for command in commands:
            conn.sendall(f"*{len(command)}\r\n".encode() + b"".join(
                f"${len(part.encode())}\r\n{part}\r\n".encode() for part in command))
        replies = b""
        while replies.count(b"\r\n") < len(commands):
            replies += conn.recv(1024)
        return replies


@pytest.fixture(scope="module")
def redis() -> Iterator[str]:
    """The machine's Redis, or one started for the test; yields the broker URL."""
    started = None
    try:
        _redis(("PING",))
    except OSError:
        server = shutil.which("redis-server")
        if server is None:
            pytest.fail("no Redis on 127.0.0.1:6379 and no redis-server to start "
                        "(Debian: redis-server)")
        started = subprocess.Popen([server, "--port", str(REDIS[1]), "--bind", REDIS[0],
                                    "--save", "", "--appendonly", "no"])
        deadline = time.monotonic() + 15
        while True:
            try:
                _redis(("PING",))
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("redis-server did not answer within 15 s")
                time.sleep(0.1)
    assert _redis(("SELECT", str(REDIS_DB))) == b"+OK\r\n"
    try:
        yield f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}"
    finally:
        if started is not None:
            started.terminate()
            started.wait(10)


@pytest.fixture
def celery_stack(airflow_db: None, db: Any, site: Any, tmp_path: Path,
                 redis: str) -> Iterator[Stack]:
    _redis(("SELECT", str(REDIS_DB)), ("FLUSHDB",))  # an empty queue to start
    backend = "db+" + TEST_AIRFLOW_DB_URL
    workers = {f"worker{n}": ("celery", "worker", "--concurrency", "2",
                              "--celery-hostname", f"nichiro-test-worker{n}@%h")
               for n in (1, 2)}
    with running_stack(site, tmp_path, workers=workers, extra_env={
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": redis,
            "AIRFLOW__CELERY__RESULT_BACKEND": backend}) as stack:
        yield stack


def test_one_run_over_two_celery_workers_fetches_each_source_once(
        celery_stack: Stack, db: Any, site: Any) -> None:
    stack = celery_stack
    for name in ("worker1", "worker2"):
        stack.wait(f"Celery {name} to be ready",
                   lambda n=name: "ready." in (stack.logs / f"{n}.log").read_text("utf-8",
                                                                                  "replace"),
                   timeout=90)
    unpause_when_registered(stack)
    run, states = run_to_the_end(stack)
    assert states[("shard.fetch_feed", "Broken Feed")] == "failed", states
    assert run["state"] == "success", (run, states)
    # each feed fetched once, by one worker: one attempt on record and one request
    with db.cursor() as cur:
        cur.execute("SELECT s.name, count(*) FROM feed_fetches f "
                    "JOIN sources s ON s.id = f.source_id WHERE f.run_id = %s GROUP BY 1",
                    (run["dag_run_id"],))
        assert dict(cur.fetchall()) == dict.fromkeys(SOURCES, 1)
        cur.execute("SELECT count(*), count(DISTINCT url), count(DISTINCT content_hash) "
                    "FROM articles")
        assert cur.fetchone() == (10, 10, 10)
        cur.execute("SELECT count(*), count(DISTINCT (source_id, url)) FROM staged_articles")
        staged, distinct = cur.fetchone()
        assert staged == distinct
    db.rollback()
    feed_requests = [path for path, _ in site.hits if path.startswith("/feeds/")]
    assert len(feed_requests) == len(set(feed_requests)) == 4  # Broken Feed is /status/500
    # both workers ran tasks, and no task was delivered twice
    received = {name: re.findall(r"Task execute_workload\[([0-9a-f-]+)\] received",
                                 (stack.logs / f"{name}.log").read_text("utf-8", "replace"))
                for name in ("worker1", "worker2")}
    assert all(received.values()), f"a worker ran nothing: {received}\n{stack.tail(30)}"
    every = received["worker1"] + received["worker2"]
    assert len(every) == len(set(every)), received
