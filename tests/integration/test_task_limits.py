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


# The page step of one source in a task process whose memory cap leaves `margin` MiB above
# what it uses once its modules are imported (the cap itself is the deployment's
# NICHIRO_TASK_MEMORY_MB; a tight margin makes the big page hit it on a small machine).
CAPPED_PAGES = """
import json, sys
sys.path.insert(0, "plugins")
import psycopg2
import scrapers.db.loader, scrapers.extract.body, scrapers.relevance.scoring  # noqa: F401
from nichiro_limits import limit_task_memory
from scrapers import pipeline
from scrapers.config import LOOPBACK_ONLY, HttpSettings
from scrapers.fetch.http import Fetcher

source_id, fetch_id, margin = map(int, sys.argv[2:5])
conn = psycopg2.connect(sys.argv[1])
with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
    in_use = next(int(line.split()[1]) // 1024 for line in open("/proc/self/status")
                  if line.startswith("VmSize"))
    limit_task_memory(in_use + margin)
    counts = pipeline.fetch_articles(conn, source_id, "r1", fetch_id, fetcher)
print(json.dumps(counts))
"""


@pytest.mark.parametrize(("margin_mb", "big_page"), [(48, "error"), (400, "extracted")])
def test_a_page_too_big_for_the_tasks_memory_fails_alone(
        db: Any, news_db_url: str, site: Any, margin_mb: int, big_page: str) -> None:
    """A 1.5 MiB page of small blocks takes the extractor some 60 MB: under a cap that
    leaves less, it raises MemoryError deep in lxml. That page is staged as an error (so
    its attempt limit applies) and the source's next page is extracted; with room to
    spare, both are."""
    unit = ("<div><p>Japan and Russia talk peace in Tokyo today, ministers said.</p>"
            "<span>x</span></div>")
    (site.root / "big.html").write_text(
        "<html><head><title>Japan and Russia resume peace treaty talks</title></head><body>"
        f"<article>{unit * (1536 * 1024 // len(unit))}</article></body></html>", "utf-8")
    (site.root / "small.html").write_text(
        "<html><head><title>Japan and Russia agree on fishing quotas</title></head><body>"
        "<article>" + "<p>Japan and Russia agreed on fishing quotas near the Kuril Islands on "
        "Friday, the foreign ministries said after talks in Tokyo.</p>" * 5
        + "</article></body></html>", "utf-8")
    (site.root / "big.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Big Wire</title>'
        + "".join(f"<item><title>{title}</title><link>{site.base_url}/{page}</link></item>"
                  for title, page in (("Japan and Russia resume peace treaty talks", "big.html"),
                                      ("Japan and Russia agree on fishing quotas near the "
                                       "Kurils", "small.html")))
        + "</channel></rss>", "utf-8")
    [row] = pipeline.sync_catalog(db, [Source(name="Big Wire", url=f"{site.base_url}/big.xml",
                                              language="en")])
    with Fetcher(HttpSettings(allowed_private_hosts=LOOPBACK_ONLY)) as fetcher:
        feed = pipeline.fetch_feed(db, row["id"], "r1", fetcher)
    assert feed["page_work"]
    task = subprocess.run(
        [sys.executable, "-c", CAPPED_PAGES, news_db_url, str(row["id"]), str(feed["fetch_id"]),
         str(margin_mb)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert task.returncode == 0, task.stderr[-3000:]
    with db.cursor() as cur:
        cur.execute("SELECT split_part(url, '/', 4), status, reason_code FROM staged_articles "
                    "ORDER BY 1")
        staged = cur.fetchall()
    db.rollback()
    assert staged == [("big.html", big_page, "MemoryError" if big_page == "error" else None),
                      ("small.html", "extracted", None)], task.stderr[-2000:]
