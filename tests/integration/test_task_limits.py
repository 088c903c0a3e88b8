"""What a fetch task's limits leave behind: a memory bomb fails inside the task, and a task
killed mid-fetch (SIGKILL, as the OOM killer or a timeout does) still counts as the
source's failure on its next attempt. Real processes, PostgreSQL and loopback servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from scrapers import pipeline
from scrapers.config import LOOPBACK_ONLY, HttpSettings
from scrapers.fetch.http import Fetcher
from scrapers.models import Source
from tests.conftest import REPO

pytestmark = pytest.mark.integration


def test_a_memory_bomb_fails_inside_the_limited_task_process() -> None:
    code = ("import sys, time; sys.path.insert(0, 'plugins')\n"
            "from nichiro_limits import limit_task_memory\n"
            "limit_task_memory(1024)\n"
            "start = time.monotonic()\n"
            "try:\n    blob = bytearray(3 << 30)\n"
            "except MemoryError:\n    print('MemoryError', round(time.monotonic() - start, 3))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    word, seconds = done.stdout.split()
    assert word == "MemoryError" and float(seconds) < 1.0


@pytest.fixture
def silent_server() -> Any:
    """Accepts connections and never answers: a fetch waits until it is killed."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    listener.close()
    for conn in held:
        conn.close()


def test_a_killed_fetch_counts_as_the_sources_failure_next_time(
        db: Any, news_db_url: str, site: Any, silent_server: str) -> None:
    [row] = pipeline.sync_catalog(db, [Source(name="Hanging Wire", url=silent_server,
                                              language="en")])
    code = ("import sys, psycopg2\n"
            "from scrapers import pipeline\n"
            "from scrapers.config import LOOPBACK_ONLY, HttpSettings\n"
            "from scrapers.fetch.http import Fetcher\n"
            "conn = psycopg2.connect(sys.argv[1])\n"
            "with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as f:\n"
            "    pipeline.fetch_feed(conn, int(sys.argv[2]), 'r1', f)\n")
    task = subprocess.Popen([sys.executable, "-c", code, news_db_url, str(row["id"])],
                            cwd=REPO, env={**os.environ})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until the attempt is on record, then kill it
        with db.cursor() as cur:
            cur.execute("SELECT count(*) FROM feed_fetches WHERE source_id = %s", (row["id"],))
            started = cur.fetchone()[0]
        db.rollback()
        if started:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    task.send_signal(signal.SIGKILL)
    task.wait(timeout=10)
    with db.cursor() as cur:
        cur.execute("SELECT consecutive_failures FROM sources WHERE id = %s", (row["id"],))
        assert cur.fetchone() == (0,)  # the kill itself wrote nothing
    db.rollback()

    # The next attempt (the feed now answers 500) records the killed one first.
    with db.cursor() as cur:
        cur.execute("UPDATE sources SET url = %s WHERE id = %s",
                    (f"{site.base_url}/status/500", row["id"]))
    db.commit()
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher, \
            pytest.raises(Exception, match="500"):
        pipeline.fetch_feed(db, row["id"], "r2", fetcher)
    with db.cursor() as cur:
        cur.execute("SELECT run_id, error_class FROM feed_fetches WHERE source_id = %s "
                    "ORDER BY id", (row["id"],))
        assert cur.fetchall() == [("r1", "TaskKilled"), ("r2", "HTTPStatusError")]
        cur.execute("SELECT consecutive_failures, next_fetch_at > now() FROM sources "
                    "WHERE id = %s", (row["id"],))
        assert cur.fetchone() == (2, True)
