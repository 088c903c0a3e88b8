"""The pipeline's steps for one run, as a process the outage tests can SIGKILL.

    python -m tests.integration.outage_worker --db URL --run-id ID --state FILE
        [--resume] [--stall-after-pages N] [--app-name NAME]

Runs what the `nichiro_ingest` DAG runs for the catalog in `NICHIRO_SOURCES`
(sync_catalog with fetch_all, then fetch_feed and fetch_articles per source, then
load_run), without Airflow. After each step returns, a JSON line is appended to the
state file: it plays the part of Airflow's record of finished task instances and their
XCom. `--resume` reads it back and runs only the steps that did not finish, reusing
finished steps' results (a killed task retried by Airflow, its upstream tasks kept).
`--stall-after-pages N` makes the first HTTP request after the N-th staged page wait
(through the Fetcher's throttle seam), so a test can kill the process at a known point
between two pages.

The tests also import `Progress` and `stage_run` to run the same steps in-process.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapers import pipeline
from scrapers.catalog import load_catalog
from scrapers.config import LOOPBACK_ONLY, HttpSettings
from scrapers.db import staging
from scrapers.db.loader import load_run
from scrapers.fetch.http import Fetcher, HTTPStatusError

STALL_S = 300.0

@dataclass
class Progress:
    """The steps of a run that finished, and what they returned (Airflow's XCom)."""

    path: Path | None = None
    sources: list[dict[str, Any]] | None = None
    feeds: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    articles: set[int] = field(default_factory=set)
    load: dict[str, int] | None = None

    @classmethod
    def read(cls, path: Path) -> Progress:
        progress = cls(path)
        if path.exists():
            # Only newline-terminated lines count: a kill may cut the last one short.
            *lines, _partial = path.read_text("utf-8").split("\n")
            for line in lines:
                progress._apply(json.loads(line))
        return progress

    def record(self, step: str, **data: Any) -> None:
        event = {"step": step, **data}
        self._apply(event)
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")

    def _apply(self, event: dict[str, Any]) -> None:
        step = event["step"]
        if step == "sync_catalog":
            self.sources = event["sources"]
        elif step == "fetch_feed":
            self.feeds[event["source_id"]] = event["feed"]  # None: failed, retries exhausted
        elif step == "fetch_articles":
            self.articles.add(event["source_id"])
        elif step == "load_run":
            self.load = event["counts"]


def stage_run(conn: Any, run_id: str, fetcher: Fetcher, progress: Progress | None = None) -> None:
    """sync_catalog, fetch_feed and fetch_articles for every due source, skipping finished ones.

    A feed that answers with an HTTP error status (the sample site's "Broken Feed") fails
    alone and its fetch_articles is skipped, as in the DAG.
    """
    progress = progress if progress is not None else Progress()
    if progress.sources is None:
        progress.record("sync_catalog",
                        sources=pipeline.sync_catalog(conn, load_catalog(), fetch_all=True))
    assert progress.sources is not None
    for source in progress.sources:
        source_id = source["id"]
        if source_id not in progress.feeds:
            try:
                fetched = pipeline.fetch_feed(conn, source_id, run_id, fetcher)
            except HTTPStatusError:
                fetched = None
            progress.record("fetch_feed", source_id=source_id, feed=fetched)
        feed = progress.feeds[source_id]
        if feed is not None and source_id not in progress.articles:
            counts = pipeline.fetch_articles(conn, source_id, run_id, feed["fetch_id"], fetcher)
            progress.record("fetch_articles", source_id=source_id, counts=counts)


def fetcher(stall_after_pages: int = 0) -> Fetcher:
    """The sample site is on 127.0.0.1: private hosts allowed.

    With `stall_after_pages` = n, the first HTTP request after the n-th page was staged
    (and committed) stalls for STALL_S, far longer than any test waits: the process sits
    between two pages until it is killed. Pages are counted by wrapping
    `staging.stage_article` (in this process only), so the point does not move when the
    pipeline adds requests of its own, such as robots.txt.
    """
    settings = HttpSettings(allowed_private_hosts=LOOPBACK_ONLY, connect_timeout_s=5,
                            read_timeout_s=10)
    if stall_after_pages <= 0:
        return Fetcher(settings)
    staged = 0
    stage_article = staging.stage_article

    def counting_stage_article(conn: Any, values: dict[str, Any]) -> None:
        nonlocal staged
        stage_article(conn, values)
        staged += 1

    def throttle(_url: str) -> None:
        if staged >= stall_after_pages:
            time.sleep(STALL_S)

    staging.stage_article = counting_stage_article
    return Fetcher(settings, throttle=throttle)


def main(argv: list[str] | None = None) -> int:
    import psycopg2

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="libpq URL of the news database")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--state", required=True, type=Path, help="JSON-lines progress file")
    parser.add_argument("--resume", action="store_true",
                        help="skip the steps the state file says finished")
    parser.add_argument("--stall-after-pages", type=int, default=0, metavar="N",
                        help="stall at the first HTTP request after N staged pages")
    parser.add_argument("--app-name", default="nichiro-outage-worker",
                        help="application_name of the database session")
    args = parser.parse_args(argv)
    progress = Progress.read(args.state) if args.resume else Progress(args.state)
    conn = psycopg2.connect(args.db, connect_timeout=5, application_name=args.app_name)
    try:
        with fetcher(args.stall_after_pages) as http:
            stage_run(conn, args.run_id, http, progress)
        if progress.load is None:
            progress.record("load_run", counts=load_run(conn, args.run_id))
    finally:
        conn.close()
    print(json.dumps({"load": progress.load}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
