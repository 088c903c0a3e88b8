"""Pipeline benchmark: where a `nichiro_ingest` run spends its time, against floors.

Usage (``make bench-stages`` runs the first line)::

    python bench/pipeline.py
    python bench/pipeline.py --sources 2 --entries 5 --skip-scale   # a tiny smoke run

One run, one process tree, no network beyond 127.0.0.1:

1. **corpus**: bench/corpus.py writes ``--sources`` x ``--entries`` (default 20 x 100) feeds
   and article pages to a temporary directory; bench/server.py serves it on 127.0.0.1 with
   ``--latency-ms`` per response (default 5), ETag/Last-Modified and gzip, counting bytes.
2. **end to end**: throwaway databases ``nichiro_bench_<pid>`` (news) and
   ``nichiro_airflow_bench_<pid>`` (Airflow) on ``--pg`` (default
   ``postgresql://postgres@127.0.0.1:5432``) and a throwaway AIRFLOW_HOME; bench/dagrun.py runs
   ``dag.test()`` of ``nichiro_ingest`` in a fresh interpreter (all sources due, per-host delay
   0, retries 0, every candidate's page fetched: ``NICHIRO_MAX_ARTICLES_PER_SOURCE`` =
   entries). Wall time of the run, articles/s, and per task instance its time and the peak RSS
   of the process while it ran (tasks run in that one process: an upper bound per task).
3. **second run**, feeds unchanged, same databases: bytes sent by the server and wall time,
   against the first run.
4. **stages**, in this process, on the same corpus read from disk, each timed over the same
   inputs (best of ``--repeat`` passes) and, where a floor exists, divided by it:
   feed parsing (``scrapers.feeds.parse_feed_detailed`` / ``feedparser.parse`` alone);
   relevance (title+summary of every entry, and title+body of every fetched page);
   extraction (``scrapers.extract.body.extract_article`` / ``trafilatura.extract`` alone, same
   pages); cleaning (``scrapers.extract.clean.clean_text`` on trafilatura's raw text); dedup and
   clustering sketches (content hash, entry fingerprint, shingle set + anchor keys /
   Python's own set of the same shingle strings); database load
   (``scrapers.db.loader.load_run`` over the staged rows of the corpus, built in a third
   database by the pipeline's own ``fetch_feed``/``fetch_articles`` reading pages from disk,
   / a bare ``COPY`` of the same article rows into an UNLOGGED table).
5. **parse and import**: per DAG file, ``DagBag`` in a fresh interpreter (Airflow's own
   per-file parse duration, and the process wall time), the modules the DAG file imports
   beyond ``airflow.sdk`` (no heavy library may appear); ``import scrapers`` in a fresh
   interpreter (``-X importtime``).
6. **scaling**: end to end again on ``--scale-sources`` x ``--scale-entries`` (default 200 x
   100 = 20,000 entries) into an emptied news database; cost per entry against step 2.

Prints a table, writes ``bench/results/<name>-<UTC timestamp>.json`` (``--output`` to choose)
with the machine (CPU count, Python, platform, load average) and the git commit, then drops
its databases and temporary files. Exits 0 unless the benchmark itself failed: missed targets
are reported, not raised (timed assertions do not belong in tests).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
for _p in (str(REPO), str(BENCH)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from corpus import PLACEHOLDER, generate  # noqa: E402
from deployment import copy_written_rows  # noqa: E402
from server import BenchServer  # noqa: E402

RUN_TIMEOUT_S = 1800  # one DAG run; the 20,000-entry run takes about 4 minutes here
HEAVY_MODULES = ("trafilatura", "lxml", "feedparser", "psycopg2", "bs4",
                 "scrapers", "httpx", "numpy", "nichiro_db")
TARGETS = {
    "stage_ratio_max": 1.5,
    "load_rows_per_s_min": 5000,
    "second_run_bytes_share_max": 0.05,
    "second_run_wall_share_max": 0.20,
    "dag_parse_s_max": 0.5,
    "task_peak_rss_mb_max": 500,
    "cost_per_entry_growth_max": 0.20,
}


# ----------------------------------------------------------------------------- helpers

def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def _db_url(server: str, name: str) -> str:
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(url: str, create: bool = True, template: str | None = None) -> None:
    """Drop (after ending its sessions) and optionally re-create one database, empty or as
    a copy of the `template` URL's database (no one may be connected to that one)."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            if create and template:
                cur.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name),
                    sql.Identifier(urlsplit(template).path.lstrip("/"))))
            elif create:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        admin.close()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds of one call and its result. A full garbage collection first: the garbage the
    driver's earlier work left (parsed feeds, extracted pages, other passes) is not the
    timed call's to collect. The call's own garbage still is."""
    gc.collect()
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """The shortest of `repeat` timed calls, and the last call's result."""
    best, result = float("inf"), None
    for _ in range(max(1, repeat)):
        seconds, result = timed(fn)
        best = min(best, seconds)
    return best, result


def paired(repeat: int, ours: Callable[[], Any],
           floor: Callable[[], Any]) -> tuple[float, float, Any]:
    """Best-of-`repeat` times of a stage and its floor, passes interleaved (ours, floor,
    ours, ...) so that a neighbour's burst of CPU on a shared machine hits both alike."""
    best_ours, best_floor, result = float("inf"), float("inf"), None
    for _ in range(max(1, repeat)):
        seconds, result = timed(ours)
        best_ours = min(best_ours, seconds)
        best_floor = min(best_floor, timed(floor)[0])
    return best_ours, best_floor, result


def rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else 0.0


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                             text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out + ("+dirty" if dirty.strip() else "")


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(), "python": platform.python_version(),
        "platform": platform.platform(), "machine": platform.machine(),
    }
    with contextlib.suppress(OSError):
        info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    with contextlib.suppress(OSError):
        cpu = Path("/proc/cpuinfo").read_text()
        model = re.search(r"model name\s*:\s*(.+)", cpu)
        info["cpu_model"] = model.group(1).strip() if model else None
        mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        info["memory_gb"] = round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None
    return info


# ----------------------------------------------------------------------------- end to end

class Workspace:
    """Temporary directory, databases and environment of one benchmark run."""

    def __init__(self, pg: str, keep: bool = False) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="nichiro-bench-"))
        self.keep = keep
        suffix = os.getpid()
        self.news_url = _db_url(pg, f"nichiro_bench_{suffix}")
        self.airflow_url = _db_url(pg, f"nichiro_airflow_bench_{suffix}")
        self.stage_url = _db_url(pg, f"nichiro_bench_stages_{suffix}")
        self.load_url = _db_url(pg, f"nichiro_bench_load_{suffix}")
        self.airflow_home = self.tmp / "airflow-home"
        self.airflow_home.mkdir()
        self.airflow_ready = False

    def env(self, catalog: Path, entries: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AIRFLOW", "NICHIRO_"))}
        env.update({
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":
                self.airflow_url.replace("postgresql://", "postgresql+psycopg2://"),
            "AIRFLOW__API_AUTH__JWT_SECRET": "nichiro-bench-" + "k" * 64,
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW_CONN_NICHIRO_DB": self.news_url,
            "NICHIRO_DB_URL": self.news_url,
            "NICHIRO_SOURCES": str(catalog),
            "NICHIRO_ALLOW_PRIVATE_HOSTS": "1",
            "NICHIRO_HOST_DELAY_SECONDS": "0",
            "NICHIRO_TASK_RETRIES": "0",
            "NICHIRO_MAX_ARTICLES_PER_SOURCE": str(max(entries, 1)),
            "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")]),
        })
        return env

    def close(self) -> None:
        if self.keep:
            log(f"kept {self.tmp} and the databases (--keep)")
            return
        for url in (self.news_url, self.airflow_url, self.stage_url, self.load_url):
            try:
                recreate_database(url, create=False)
            except Exception as exc:  # noqa: BLE001 - clean-up must not hide the result
                log(f"could not drop {url}: {exc}")
        shutil.rmtree(self.tmp, ignore_errors=True)


def corpus_catalog(root: Path, base_url: str, path: Path) -> Path:
    """The corpus's catalog with its sources' real URLs (under `base_url`), written to
    `path`."""
    path.write_text((root / "catalog.toml").read_text("utf-8").replace(PLACEHOLDER, base_url),
                    "utf-8")
    return path


@contextlib.contextmanager
def served_corpus(
    ws: Workspace, name: str, sources: int, entries: int, latency_s: float, seed: int,
) -> Iterator[tuple[BenchServer, Path, Path, dict[str, Any]]]:
    """Generate a corpus, serve it; yields (server, root, catalog with real URLs, manifest)."""
    root = ws.tmp / name
    started = time.perf_counter()
    manifest = generate(root, sources, entries, seed=seed).as_dict()
    manifest["generate_s"] = round(time.perf_counter() - started, 2)
    server = BenchServer(root, latency_s=latency_s)
    server.start()
    catalog = corpus_catalog(root, server.base_url, ws.tmp / f"{name}-catalog.toml")
    try:
        yield server, root, catalog, manifest
    finally:
        server.stop()


def dag_run(ws: Workspace, server: BenchServer, catalog: Path, entries: int,
            label: str) -> dict[str, Any]:
    """One dag.test() run of nichiro_ingest in a fresh interpreter; its JSON report."""
    out = ws.tmp / f"run-{label}.json"
    cmd = [sys.executable, str(BENCH / "dagrun.py"), "--output", str(out)]
    if not ws.airflow_ready:
        cmd.append("--init")
    server.reset_counters()
    logfile = ws.tmp / f"run-{label}.log"
    started = time.perf_counter()
    with logfile.open("w") as fh:
        proc = subprocess.run(cmd, env=ws.env(catalog, entries), cwd=REPO, stdout=fh,
                              stderr=subprocess.STDOUT, check=False, timeout=RUN_TIMEOUT_S)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0 or not out.exists():
        tail = logfile.read_text("utf-8", "replace")[-4000:]
        raise RuntimeError(f"dag run {label} failed (exit {proc.returncode}):\n{tail}")
    ws.airflow_ready = True
    result: dict[str, Any] = json.loads(out.read_text("utf-8"))
    result["subprocess_s"] = round(elapsed, 2)
    result["http"] = server.counters()
    result["task_totals"] = _task_totals(result["tasks"])
    peaks = [t["peak_rss_mb"] for t in result["tasks"] if t["peak_rss_mb"] is not None]
    result["max_task_peak_rss_mb"] = max(peaks) if peaks else None
    failed = [t for t in result["tasks"] if "success" not in t["state"]
              and "skipped" not in t["state"]]
    result["tasks_not_successful"] = [f"{t['task_id']}[{t['map_index']}]: {t['state']}"
                                      for t in failed]
    return result


def _task_totals(tasks: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    totals: dict[str, dict[str, Any]] = {}
    for t in tasks:
        row = totals.setdefault(t["task_id"], {"count": 0, "seconds": 0.0, "max_s": 0.0,
                                               "peak_rss_mb": 0.0})
        row["count"] += 1
        row["seconds"] = round(row["seconds"] + t["seconds"], 3)
        row["max_s"] = max(row["max_s"], t["seconds"])
        row["peak_rss_mb"] = max(row["peak_rss_mb"], t["peak_rss_mb"] or 0.0)
    return totals


def end_to_end_summary(run: dict[str, Any], entries: int) -> dict[str, Any]:
    news = run["news"]
    new = int(news["outcomes"].get("new", 0))
    return {
        "entries": entries, "wall_s": run["wall_s"], "entries_per_s": rate(entries, run["wall_s"]),
        "dag_test_idle_s": run.get("dag_test_idle_s"),
        "articles_new": new, "articles_per_s": rate(new, run["wall_s"]),
        "ms_per_entry": round(1000 * run["wall_s"] / entries, 3) if entries else None,
        "pages_staged": sum(news["staged"].values()),
        "bytes_sent": run["http"]["bytes_sent"], "requests": run["http"]["requests"],
    }


# ----------------------------------------------------------------------------- stages

class DiskFetcher:
    """Stands in for scrapers.fetch.http.Fetcher: answers from the corpus directory, no sockets.

    Used to build the load stage's staging rows with the pipeline's own fetch_feed and
    fetch_articles without timing HTTP again. Answers conditional requests like the server
    (ETag = a hash of the body; a matching If-None-Match gets a 304), so a second pass over
    unchanged feeds shows what the pipeline itself costs when nothing changed.
    """

    def __init__(self, root: Path, base_url: str) -> None:
        from scrapers.config import HttpSettings

        self.root = root
        self.base_url = base_url
        self.settings = HttpSettings.from_env()
        self.requests = 0

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
              accept: str = "*/*") -> Any:
        import hashlib

        from scrapers.fetch.http import HTTPStatusError
        from scrapers.models import FetchResult

        self.requests += 1
        path = self.root / urlsplit(url).path.lstrip("/")
        if not path.is_file():
            raise HTTPStatusError(url, 404, "Not Found")
        body = path.read_bytes().replace(PLACEHOLDER.encode(), self.base_url.encode())
        tag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        kind = "text/html" if path.suffix == ".html" else "application/xml"
        if etag == tag:
            return FetchResult(url=url, final_url=url, status=304, body=b"", etag=tag)
        return FetchResult(url=url, final_url=url, status=200, body=body, content_type=kind,
                           etag=tag)


def _corpus_inputs(root: Path, base_url: str) -> tuple[list[tuple[str, bytes]],
                                                        list[tuple[str, bytes]]]:
    feeds = [(f"{base_url}/feeds/{p.name}",
              p.read_bytes().replace(PLACEHOLDER.encode(), base_url.encode()))
             for p in sorted((root / "feeds").iterdir())]
    pages = [(f"{base_url}/{p.relative_to(root).as_posix()}",
              p.read_bytes().replace(PLACEHOLDER.encode(), base_url.encode()))
             for p in sorted(root.glob("s*/2026/*.html"))]
    return feeds, pages


def stage_benchmarks(root: Path, base_url: str, catalog: Path, ws: Workspace,
                     repeat: int) -> dict[str, Any]:
    """Each stage over the corpus, in this process; see the module docstring."""
    import feedparser
    import trafilatura

    from scrapers.dedup import minhash
    from scrapers.dedup.hashes import content_hash, entry_fingerprint
    from scrapers.extract.body import extract_article, main_text, parse_html
    from scrapers.extract.clean import clean_text
    from scrapers.extract.metadata import PageMetadata
    from scrapers.feeds import parse_feed_detailed
    from scrapers.relevance.scoring import is_fetch_candidate, score_relevance

    feeds, all_pages = _corpus_inputs(root, base_url)
    stages: dict[str, Any] = {}

    # Feed parsing.
    parse_s, floor_s, parsed = paired(
        repeat, lambda: [parse_feed_detailed(b, u) for u, b in feeds],
        lambda: [feedparser.parse(io.BytesIO(b)) for _, b in feeds])
    entries = [(e, lang) for p, (u, _) in zip(parsed, feeds, strict=True)
               for e, lang in ((e, _feed_language(u)) for e in p.entries)]
    stages["feed_parsing"] = _stage(len(entries), parse_s, floor_s, "feedparser.parse alone")

    # Relevance, stage 1 (feed entries), and the candidates whose pages are fetched.
    def stage1() -> list[bool]:
        return [is_fetch_candidate(score_relevance(e.title, "", lang, summary=e.summary), lang)
                for e, lang in entries]
    rel1_s, flags = best_of(repeat, stage1)
    candidate_urls = {urlsplit(e.url).path for (e, _), f in zip(entries, flags, strict=True) if f}
    pages = [(u, b) for u, b in all_pages if urlsplit(u).path in candidate_urls]
    log(f"stages: {len(feeds)} feeds, {len(entries)} entries, {len(pages)} candidate pages")

    # Extraction: ours (decode, one tree, trafilatura, metadata, cleaning) / trafilatura alone.
    ext_s, traf_s, articles = paired(
        repeat, lambda: [extract_article(b, u, "text/html") for u, b in pages],
        lambda: [trafilatura.extract(b, url=u) for u, b in pages])
    stages["extraction"] = _stage(len(pages), ext_s, traf_s, "trafilatura.extract alone")

    # Relevance stage 2 (title + body of each fetched page); both stages reported together.
    rel2_s, _ = best_of(repeat, lambda: [score_relevance(a.title, a.text, a.language or "en")
                                         for a in articles])
    stages["relevance"] = {**_stage(len(entries) + len(articles), rel1_s + rel2_s, None,
                                    "none (our rules engine; no library does this)"),
                           "stage1_entries_per_s": rate(len(entries), rel1_s),
                           "stage2_pages_per_s": rate(len(articles), rel2_s)}

    # Cleaning on trafilatura's raw text of the same pages (prepared untimed).
    raw = []
    for u, b in pages:
        tree = parse_html(b, "text/html")
        meta = PageMetadata(tree, u)
        site = meta.site_name()
        raw.append((main_text(tree, u), meta.title(site), site, meta.captions()))
    clean_s, _ = best_of(repeat, lambda: [clean_text(t, title=ti, site_name=s, known_captions=c)
                                          for t, ti, s, c in raw])
    stages["cleaning"] = _stage(len(raw), clean_s, None, "none (our rules; part of extraction)")

    # Dedup and clustering sketches: content hash, fingerprint, shingle set, anchor keys.
    def dedup() -> int:
        for e, _ in entries:
            entry_fingerprint(e)
        for a in articles:
            content_hash(a.title, a.text)
            values, count = minhash.sketch(a.title, a.text, a.language)
            minhash.article_band_keys(values, count)
        return len(articles)

    def shingle_floor() -> None:
        for a in articles:
            minhash.shingles(minhash.article_text(a.title, a.text), a.language)
    dedup_s, floor_s, _ = paired(repeat, dedup, shingle_floor)
    stages["dedup_clustering"] = _stage(len(articles), dedup_s, floor_s,
                                        "Python's set of the same shingle strings")
    stages["load"] = load_benchmark(root, base_url, catalog, ws, repeat)
    return stages


def _feed_language(url: str) -> str:
    """The language bench/corpus.py gave the source of this feed URL."""
    from corpus import LANGUAGES

    match = re.search(r"/s(\d+)\.", url)
    return LANGUAGES[int(match.group(1)) % len(LANGUAGES)] if match else "en"


def _stage(n: int, seconds: float, floor_s: float | None, floor: str) -> dict[str, Any]:
    return {"n": n, "seconds": round(seconds, 4), "per_s": rate(n, seconds),
            "floor": floor, "floor_seconds": round(floor_s, 4) if floor_s else None,
            "floor_per_s": rate(n, floor_s) if floor_s else None,
            "ratio": round(seconds / floor_s, 2) if floor_s else None}


def stage_corpus(conn: Any, catalog: Path, run_id: str, fetcher: Any) -> tuple[float, float]:
    """Every source of `catalog` through the pipeline's own `fetch_feed` and
    `fetch_articles` (pages from `fetcher`) into `staged_articles`, then ANALYZE; returns
    the seconds of each step."""
    from scrapers import pipeline
    from scrapers.catalog import load_catalog

    started = time.perf_counter()
    due = pipeline.sync_catalog(conn, load_catalog(catalog), fetch_all=True)
    fetches = [pipeline.fetch_feed(conn, s["id"], run_id, fetcher) for s in due]
    feed_s = time.perf_counter() - started
    started = time.perf_counter()
    for f in fetches:
        pipeline.fetch_articles(conn, f["source_id"], run_id, f["fetch_id"], fetcher)
    articles_s = time.perf_counter() - started
    with conn.cursor() as cur:
        cur.execute("ANALYZE")
    conn.commit()
    return feed_s, articles_s


def load_benchmark(root: Path, base_url: str, catalog: Path, ws: Workspace,
                   repeat: int) -> dict[str, Any]:
    """load_run over the corpus's staged rows, against a bare COPY of the same rows.

    The staging rows are made once by the pipeline's own steps in a database of their own
    (``fetch_feed`` and ``fetch_articles`` with a DiskFetcher), timed too. That database
    is then the template of `repeat` fresh copies: on each, load_run and then the floor,
    best of each kept (like the other stages). The last copy then gets a second pass of
    all three steps with unchanged feeds.
    """
    import psycopg2

    from scrapers.db.loader import load_run
    from scrapers.db.migrate import migrate
    from scrapers.db.search import index_pending
    from scrapers.db.store import run_article_ids
    from scrapers.timing import PhaseTimer

    os.environ["NICHIRO_MAX_ARTICLES_PER_SOURCE"] = str(10**6)
    fetcher: Any = DiskFetcher(root, base_url)  # duck-types scrapers.fetch.http.Fetcher

    def load(conn: Any, run_id: str,
             timer: PhaseTimer) -> tuple[float, dict[str, int], int, float]:
        load_s, counts = timed(lambda: load_run(conn, run_id, timer=timer))
        started = time.perf_counter()  # what the load task does next, after its commit
        indexed = index_pending(conn, article_ids=run_article_ids(conn, run_id))
        conn.commit()
        return load_s, counts, indexed, time.perf_counter() - started

    recreate_database(ws.stage_url)
    conn = psycopg2.connect(ws.stage_url)
    try:
        migrate(conn)
        feed_s, articles_s = stage_corpus(conn, catalog, "bench-load-1", fetcher)
    finally:
        conn.close()
    requests_first = fetcher.requests
    # (load_run s, floor s, indexed COPY s, counts, search rows, search s, phases,
    #  bare COPY of every row written s)
    passes = []
    for _ in range(max(1, repeat)):
        recreate_database(ws.load_url, template=ws.stage_url)
        conn = psycopg2.connect(ws.load_url)
        timer = PhaseTimer()
        try:
            load_s, counts, indexed, index_s = load(conn, "bench-load-1", timer)
            copy_s, indexed_s = _copy_floor(conn)
            written_s = copy_written_rows(conn)
        finally:
            conn.close()
        passes.append((load_s, copy_s, indexed_s, counts, indexed, index_s, timer.seconds,
                       written_s))
    conn = psycopg2.connect(ws.load_url)
    try:
        with conn.cursor() as cur:  # the floor's tables must not weigh on the second pass
            cur.execute("DROP TABLE bench_copy_floor, bench_copy_indexed")
        conn.commit()
        feed2_s, articles2_s = stage_corpus(conn, catalog, "bench-load-2", fetcher)
        load2_s, _, indexed2, index2_s = load(conn, "bench-load-2", PhaseTimer())
    finally:
        conn.close()
    load_s = min(p[0] for p in passes)
    copy_s = min(p[1] for p in passes)
    indexed_s = min(p[2] for p in passes)
    counts = passes[0][3]
    if any(p[3] != counts for p in passes):
        raise RuntimeError(f"load outcomes differ between passes: {[p[3] for p in passes]}")
    first_index = min(passes, key=lambda p: p[5])
    fastest = min(passes, key=lambda p: p[0])
    written_s = min(p[7] for p in passes)
    rows = sum(counts.values())
    first_total = feed_s + articles_s + passes[0][0]
    second_total = feed2_s + articles2_s + load2_s
    return {
        "n": rows, "seconds": round(load_s, 4), "per_s": rate(rows, load_s),
        "floor": "COPY of the same article rows into an UNLOGGED table",
        "floor_seconds": round(copy_s, 4), "floor_per_s": rate(rows, copy_s),
        "ratio": round(load_s / copy_s, 2) if copy_s else None, "outcomes": counts,
        "passes": [{"load_s": round(p[0], 4), "floor_s": round(p[1], 4),
                    "indexed_copy_s": round(p[2], 4)} for p in passes],
        "indexed_copy_seconds": round(indexed_s, 4),
        "indexed_copy_per_s": rate(rows, indexed_s),
        "ratio_to_indexed_copy": round(load_s / indexed_s, 2) if indexed_s else None,
        "phases_s": {k: round(v, 4) for k, v in
                     sorted(fastest[6].items(), key=lambda kv: -kv[1])},
        "written_rows_copy_seconds": round(written_s, 4),
        "ratio_to_written_rows_copy": round(load_s / written_s, 2) if written_s else None,
        "pipeline_fetch_feed_s": round(feed_s, 3),
        "pipeline_fetch_articles_s": round(articles_s, 3),
        "pipeline_first_pass_s": round(first_total, 3),
        "pipeline_unchanged_pass_s": round(second_total, 3),
        "pipeline_unchanged_share": round(second_total / first_total, 4) if first_total else None,
        "pipeline_requests": [requests_first, fetcher.requests - requests_first],
        "search_index": {"rows": first_index[4], "seconds": round(first_index[5], 4),
                         "per_s": rate(first_index[4], first_index[5]),
                         "unchanged_rows": indexed2,
                         "unchanged_seconds": round(index2_s, 4)},
        "note": "pipeline_*: the pipeline's own steps (no Airflow) with pages read from disk "
                "(no HTTP): fetch_feed = parse+score+store entries, fetch_articles = "
                "extract+stage pages; unchanged pass = all three steps again, feeds unchanged; "
                "load, floor and indexed COPY: best of the passes, each on a fresh copy of "
                "the staged database",
    }


def _unlogged_twin(cur: Any, twin: str, query: str, source: str) -> None:
    """An UNLOGGED table of `query`'s columns, no index or constraint, whose columns
    compress like the `source` table's (V015's lz4): a floor pays what the load pays to
    compress the text."""
    cur.execute(f"CREATE UNLOGGED TABLE {twin} AS {query} WITH NO DATA")
    cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attcompression = 'l' AND attname IN (SELECT attname FROM pg_attribute "
                "WHERE attrelid = %s::regclass)", (source, twin))
    for (column,) in cur.fetchall():
        cur.execute(f"ALTER TABLE {twin} ALTER COLUMN {column} SET COMPRESSION lz4")


def _copy_floor(conn: Any) -> tuple[float, float]:
    """COPY the rows load_run stored, column for column: (into an UNLOGGED table without
    indexes, the issue's floor; into a twin of `articles` with all its indexes, generated
    search vector and constraints: what the schema alone costs)."""
    from scrapers.db.store import ARTICLE_CONTENT_COLUMNS

    names = [*ARTICLE_CONTENT_COLUMNS, "first_seen_at"]
    cols = ", ".join(names)
    with conn.cursor() as cur:
        _unlogged_twin(cur, "bench_copy_floor", f"SELECT {cols} FROM articles", "articles")
        cur.execute("CREATE TABLE bench_copy_indexed (LIKE articles INCLUDING ALL)")
        cur.execute(f"SELECT {cols} FROM articles")
        rows = cur.fetchall()
    conn.commit()
    arrays = {"authors", "tags", "captions"}

    def cell(name: str, value: Any) -> str:
        if value is None:
            return "\\N"
        if name in arrays:
            return "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"')
                                  + '"' for v in value) + "}"
        if name == "matched_terms":
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value)

    def serialise_and_copy(table: str) -> None:
        buf = io.StringIO()
        writer = csv.writer(buf)
        for row in rows:
            writer.writerow([cell(n, v) for n, v in zip(names, row, strict=True)])
        buf.seek(0)
        with conn.cursor() as cur:
            cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                            buf)
        conn.commit()

    def copy_into(table: str) -> float:
        elapsed, _ = timed(lambda: serialise_and_copy(table))
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {table}")
            copied = cur.fetchone()[0]
        if copied != len(rows):
            raise RuntimeError(f"COPY into {table} copied {copied} of {len(rows)} rows")
        return elapsed

    return copy_into("bench_copy_floor"), copy_into("bench_copy_indexed")


# ----------------------------------------------------------------------------- parse/import

_PARSE_CODE = r"""
import json, sys, time
t0 = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
import airflow.sdk
t1 = time.perf_counter()
before = set(sys.modules)
t = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
bag_s = time.perf_counter() - t
new = set(sys.modules) - before
heavy = sorted({m.split('.')[0] for m in new} & set(sys.argv[2].split(',')))
stats = [s.duration.total_seconds() if hasattr(s.duration, 'total_seconds') else s.duration
         for s in bag.dagbag_stats]
print(json.dumps({"airflow_import_s": t1 - t0, "dagbag_s": bag_s,
                  "dagbag_stat_s": stats[0] if stats else None, "dags": sorted(bag.dags),
                  "import_errors": {k: str(v)[:300] for k, v in bag.import_errors.items()},
                  "heavy_imports": heavy}))
"""


#: What each task of nichiro_ingest imports from `scrapers` when it runs (the imports in its
#: function in dags/nichiro_ingest.py, and the modules its step imports where it uses them).
TASK_IMPORTS = {
    "migrate": "from scrapers.db.migrate import migrate",
    "load_sources": "from scrapers.catalog import load_catalog\n"
                    "from scrapers.pipeline import sync_catalog",
    "fetch_feed": "from scrapers.fetch.http import Fetcher\n"
                  "from scrapers.pipeline import fetch_feed\n"
                  "from scrapers.fetch.politeness import HostThrottle",
    "fetch_articles": "from scrapers.fetch.http import Fetcher\n"
                      "from scrapers.pipeline import fetch_articles\n"
                      "from scrapers.fetch.politeness import HostThrottle\n"
                      "import scrapers.extract.body, scrapers.db.loader",
    "load": "from scrapers.pipeline import load\nimport scrapers.db.loader",
    "summary": "from scrapers.report import format_summary, run_note, summary_lines\n"
               "from scrapers.db.store import run_summary",
}


def _import_wall_s(code: str, env: dict[str, str]) -> float:
    """Best wall time of a fresh interpreter running `code` (best of 3)."""
    return best_of(3, lambda: subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO,
                                             check=True))[0]


def parse_and_import(env: dict[str, str]) -> dict[str, Any]:
    """DAG parse time per file, `import scrapers` time, and what each task's imports from
    `scrapers` cost a fresh process (every task runs in a process of its own)."""
    files = {}
    for path in sorted((REPO / "dags").glob("*.py")):
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _PARSE_CODE, str(path),
                               ",".join(HEAVY_MODULES)], env=env, cwd=REPO,
                              capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"parsing {path.name} failed:\n{proc.stderr[-3000:]}")
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        if data["import_errors"]:
            raise RuntimeError(f"{path.name} has import errors: {data['import_errors']}")
        data = {k: round(v, 4) if isinstance(v, float) else v for k, v in data.items()}
        files[path.name] = {**data, "process_wall_s": round(wall, 3)}
    env_plain = {k: v for k, v in env.items()}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import scrapers"],
                          env=env_plain, cwd=REPO, capture_output=True, text=True, check=True)
    cumulative = None
    for line in proc.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == "scrapers":
            cumulative = int(parts[1]) / 1e6
    bare = _import_wall_s("pass", env_plain)
    package = _import_wall_s("import scrapers", env_plain)
    tasks = {task: round(_import_wall_s(code, env_plain) - bare, 3)
             for task, code in TASK_IMPORTS.items()}
    return {"dag_files": files,
            "scrapers_import": {"importtime_cumulative_s": cumulative,
                                "wall_s": round(package, 3),
                                "wall_minus_bare_interpreter_s": round(package - bare, 3)},
            "task_imports_s": tasks}


# ----------------------------------------------------------------------------- report

def evaluate(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue #8 with the measured figure and whether it is met."""
    t = TARGETS
    checks: list[dict[str, Any]] = []

    def add(name: str, target: str, value: Any, met: bool | None) -> None:
        checks.append({"target": name, "goal": target, "value": value, "met": met})

    for name, stage in result.get("stages", {}).items():
        if stage.get("ratio") is not None:
            add(f"stage {name} vs floor", f"<= {t['stage_ratio_max']}x", stage["ratio"],
                stage["ratio"] <= t["stage_ratio_max"])
    load = result.get("stages", {}).get("load")
    if load:
        add("load rows/s", f">= {t['load_rows_per_s_min']}", load["per_s"],
            load["per_s"] >= t["load_rows_per_s_min"])
    second = result.get("second_run")
    if second:
        add("2nd run bytes share", f"< {t['second_run_bytes_share_max']:.0%}",
            second["bytes_share"], second["bytes_share"] < t["second_run_bytes_share_max"])
        add("2nd run wall share", f"< {t['second_run_wall_share_max']:.0%}",
            second["wall_share"], second["wall_share"] < t["second_run_wall_share_max"])
    for name, f in result.get("parse", {}).get("dag_files", {}).items():
        parse_s = f["dagbag_stat_s"] if f["dagbag_stat_s"] is not None else f["dagbag_s"]
        add(f"parse {name}", f"< {t['dag_parse_s_max']} s", parse_s,
            parse_s < t["dag_parse_s_max"])
        add(f"heavy imports {name}", "none", f["heavy_imports"], not f["heavy_imports"])
    peaks = {"": result.get("end_to_end", {}).get("max_task_peak_rss_mb"),
             ", large run": result.get("scaling", {}).get("large", {})
             .get("max_task_peak_rss_mb")}
    for label, peak in peaks.items():
        if peak is not None:
            add(f"task peak RSS (MB){label}", f"<= {t['task_peak_rss_mb_max']}", peak,
                peak <= t["task_peak_rss_mb_max"])
    scale = result.get("scaling")
    if scale and scale.get("growth") is not None:
        add("cost/entry growth small->large", f"<= {t['cost_per_entry_growth_max']:.0%}",
            scale["growth"], scale["growth"] <= t["cost_per_entry_growth_max"])
    return checks


def format_table(result: dict[str, Any]) -> str:
    lines: list[str] = []
    e2e = result.get("end_to_end", {})
    c = result["config"]
    lines.append(f"Nichiro pipeline benchmark  commit {result['commit']}  "
                 f"{result['machine']['cpu_count']} CPUs  python {result['machine']['python']}")
    lines.append(f"corpus {c['sources']} sources x {c['entries']} entries, "
                 f"latency {c['latency_ms']} ms")
    lines.append("")
    lines.append("end to end (dag.test, one process, tasks in series)")
    if e2e:
        lines.append(f"  run 1: {e2e['wall_s']:.1f} s  {e2e['entries']} entries "
                     f"({e2e['entries_per_s']:.0f}/s)  {e2e['articles_new']} articles "
                     f"({e2e['articles_per_s']:.1f}/s)  {e2e['bytes_sent'] / 1e6:.1f} MB sent, "
                     f"{e2e['requests']} requests")
        lines.append(f"  (dag.test()'s own idle waits, included: {e2e['dag_test_idle_s']} s)")
        lines.append(f"  (not timed: Airflow's import; the news schema, {e2e['news_schema_s']:.1f}"
                     f" s; a warm-up dag.test() of nichiro_digest, {e2e['warm_up_s']:.1f} s)")
        lines.append(f"  peak RSS: max over tasks {e2e['max_task_peak_rss_mb']} MB "
                     f"(process, upper bound per task); whole process "
                     f"{e2e['process_peak_rss_mb']} MB")
        lines.append(f"  {'task':<24}{'count':>6}{'total s':>10}{'max s':>8}{'peak MB':>9}")
        for name, row in e2e["task_totals"].items():
            lines.append(f"  {name:<24}{row['count']:>6}{row['seconds']:>10.2f}"
                         f"{row['max_s']:>8.2f}{row['peak_rss_mb']:>9.0f}")
    second = result.get("second_run")
    if second:
        lines.append(f"  run 2 (unchanged): {second['wall_s']:.1f} s "
                     f"({second['wall_share']:.0%} of run 1), {second['bytes_sent']} bytes "
                     f"({second['bytes_share']:.2%}), {second['requests']} requests "
                     f"{second['statuses']}; dag.test()'s own idle waits, included: "
                     f"{second['dag_test_idle_s']} s")
    lines.append("")
    lines.append(f"  {'stage':<18}{'n':>7}{'per s':>10}{'floor per s':>13}{'ratio':>7}  floor")
    for name, s in result.get("stages", {}).items():
        floor_rate = f"{s['floor_per_s']:.0f}" if s.get("floor_per_s") else "-"
        ratio = f"{s['ratio']:.2f}" if s.get("ratio") is not None else "-"
        lines.append(f"  {name:<18}{s['n']:>7}{s['per_s']:>10.0f}{floor_rate:>13}{ratio:>7}  "
                     f"{s['floor']}")
    load = result.get("stages", {}).get("load")
    if load:
        lines.append(f"  (load: COPY into a twin of `articles` with its indexes "
                     f"{load['indexed_copy_per_s']:.0f} rows/s, load_run "
                     f"{load['ratio_to_indexed_copy']}x that)")
        lines.append(f"  (load: a bare COPY of every row load_run writes, already in COPY "
                     f"format, into UNLOGGED tables: {load['written_rows_copy_seconds']:.3f} s, "
                     f"load_run {load['ratio_to_written_rows_copy']}x that)")
        lines.append("  (load_run phases, fastest pass: " + ", ".join(
            f"{k} {v:.3f}" for k, v in load["phases_s"].items()) + " s)")
        si = load["search_index"]
        lines.append(f"  (search rows written after the load's commit, same task: {si['rows']} "
                     f"in {si['seconds']:.2f} s = {si['per_s']:.0f}/s; nothing pending: "
                     f"{si['unchanged_seconds'] * 1000:.0f} ms)")
        lines.append(f"  (load outcomes {load['outcomes']}; pipeline steps without Airflow "
                     f"or HTTP: fetch_feed {load['pipeline_fetch_feed_s']:.2f} s, "
                     f"fetch_articles {load['pipeline_fetch_articles_s']:.2f} s, "
                     f"load {load['seconds']:.2f} s; the same with feeds unchanged "
                     f"{load['pipeline_unchanged_pass_s']:.3f} s = "
                     f"{load['pipeline_unchanged_share']:.1%})")
    parse = result.get("parse")
    if parse:
        lines.append("")
        for name, f in parse["dag_files"].items():
            lines.append(f"  parse {name:<20} DagBag {f['dagbag_stat_s']:.3f} s (file), "
                         f"DagBag() call {f['dagbag_s']:.3f} s, "
                         f"process {f['process_wall_s']:.1f} s, "
                         f"heavy imports: {f['heavy_imports'] or 'none'}")
        si = parse["scrapers_import"]
        lines.append(f"  import scrapers: {si['importtime_cumulative_s']:.3f} s (-X importtime), "
                     f"{si['wall_minus_bare_interpreter_s']:.3f} s over a bare interpreter")
        lines.append("  a task's imports from scrapers, over a bare interpreter: " + ", ".join(
            f"{task} {seconds:.2f} s" for task, seconds in parse["task_imports_s"].items()))
    scale = result.get("scaling")
    if scale:
        lines.append("")
        lines.append(f"  scaling  {'entries':>8}{'wall s':>9}{'ms/entry':>10}{'articles':>10}")
        for row in scale["runs"]:
            lines.append(f"           {row['entries']:>8}{row['wall_s']:>9.1f}"
                         f"{row['ms_per_entry']:>10.2f}{row['articles_new']:>10}")
        lines.append(f"  cost per entry growth: {scale['growth']:+.1%}")
    lines.append("")
    lines.append("targets")
    for check in result.get("targets", []):
        mark = {True: "met", False: "MISSED", None: "-"}[check["met"]]
        lines.append(f"  {check['target']:<36}{check['goal']:>12}  {str(check['value']):>12}"
                     f"  {mark}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main

def write_result(result: dict[str, Any], output: Path | None, name: str, started: datetime,
                 table: str) -> None:
    """The result as JSON (`output`, else bench/results/<name>-<UTC start>.json), and its
    table on stdout."""
    output = output or BENCH / "results" / f"{name}-{started:%Y%m%dT%H%M%SZ}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str), "utf-8")
    print()
    print(table)
    print(f"\nwritten {output} ({result['duration_s']:.0f} s)")


def clear_caller_settings() -> None:
    """Drop the caller's NICHIRO_* settings (a test run, `make` targets) but the bench's own
    server: a benchmark sets what its runs need, and its stages read none."""
    for key in [k for k in os.environ if k.startswith("NICHIRO_") and k != "NICHIRO_BENCH_PG"]:
        del os.environ[key]


def default_server() -> str:
    if os.environ.get("NICHIRO_BENCH_PG"):
        return os.environ["NICHIRO_BENCH_PG"]
    if os.environ.get("NICHIRO_DB_URL"):
        return urlunsplit(urlsplit(os.environ["NICHIRO_DB_URL"])._replace(path=""))
    return "postgresql://postgres@127.0.0.1:5432"


def compile_bytecode() -> float:
    """Byte-compile the venv and the repo, as pip does at install time (uv does not).

    Without it every fresh interpreter (each DAG run, each parse) would compile Airflow's
    sources again when PYTHONDONTWRITEBYTECODE is set, and the figures would measure the
    compiler. A no-op when the .pyc files are current.
    """
    import sysconfig

    started = time.perf_counter()
    targets = [sysconfig.get_paths()["purelib"], *(str(REPO / d) for d in
                                                   ("scrapers", "dags", "plugins", "bench"))]
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", *targets],
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--scale-sources", type=int, default=200)
    parser.add_argument("--scale-entries", type=int, default=100)
    parser.add_argument("--skip-scale", action="store_true", help="no 20,000-entry run")
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3, help="passes per stage (best kept)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--pg", default=default_server(),
                        help="PostgreSQL server URL without a database (default: "
                             "NICHIRO_BENCH_PG, else the server of NICHIRO_DB_URL, else "
                             "postgresql://postgres@127.0.0.1:5432)")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip byte-compiling the venv and the repo first")
    parser.add_argument("--name", default="pipeline")
    parser.add_argument("--output", type=Path, help="JSON path (default bench/results/...)")
    parser.add_argument("--keep", action="store_true", help="keep databases and files")
    args = parser.parse_args(argv)

    clear_caller_settings()
    started = datetime.now(UTC)
    compile_s = None if args.no_compile else round(compile_bytecode(), 1)
    result: dict[str, Any] = {
        "benchmark": "pipeline", "started_at": started.isoformat(), "commit": git_commit(),
        "machine": machine(),
        "config": {"sources": args.sources, "entries": args.entries,
                   "scale_sources": None if args.skip_scale else args.scale_sources,
                   "scale_entries": None if args.skip_scale else args.scale_entries,
                   "latency_ms": args.latency_ms, "repeat": args.repeat, "seed": args.seed},
        "targets_spec": TARGETS,
        "bytecode_compile_s": compile_s,
    }
    ws = Workspace(args.pg, keep=args.keep)
    result["databases"] = [urlsplit(u).path.lstrip("/")
                           for u in (ws.news_url, ws.airflow_url, ws.stage_url,
                                     ws.load_url)]
    total = args.sources * args.entries
    try:
        recreate_database(ws.news_url)
        recreate_database(ws.airflow_url)
        with served_corpus(ws, "corpus", args.sources, args.entries, args.latency_ms / 1000,
                           args.seed) as (server, root, catalog, manifest):
            result["corpus"] = manifest
            log(f"corpus: {manifest['entries']} entries, {manifest['pages']} pages "
                f"({manifest['page_bytes'] / 1e6:.1f} MB) at {server.base_url}")
            log("end to end: run 1")
            run1 = dag_run(ws, server, catalog, args.entries, "1")
            e2e = end_to_end_summary(run1, total)
            e2e.update(process_peak_rss_mb=max(run1["process_peak_rss_mb"],
                                               run1["max_task_peak_rss_mb"] or 0),
                       max_task_peak_rss_mb=run1["max_task_peak_rss_mb"],
                       task_totals=run1["task_totals"],
                       airflow_import_s=run1["airflow_import_s"],
                       warm_up_s=run1["warm_up_s"], news_schema_s=run1["news_schema_s"],
                       tasks_not_successful=run1["tasks_not_successful"],
                       news=run1["news"], state=run1["state"])
            result["end_to_end"] = e2e
            result["end_to_end_tasks"] = run1["tasks"]
            log(f"run 1: {run1['wall_s']:.1f} s, {e2e['articles_new']} new articles")
            log("end to end: run 2 (feeds unchanged)")
            run2 = dag_run(ws, server, catalog, args.entries, "2")
            result["second_run"] = {
                "wall_s": run2["wall_s"], "bytes_sent": run2["http"]["bytes_sent"],
                "requests": run2["http"]["requests"], "statuses": run2["http"]["statuses"],
                "wall_share": round(run2["wall_s"] / run1["wall_s"], 4),
                "dag_test_idle_s": run2.get("dag_test_idle_s"),
                "bytes_share": round(run2["http"]["bytes_sent"] / max(1, e2e["bytes_sent"]), 5),
                "task_totals": run2["task_totals"], "news": run2["news"],
                "warm_up_s": run2["warm_up_s"],
                "max_task_peak_rss_mb": run2["max_task_peak_rss_mb"],
            }
            result["second_run_tasks"] = run2["tasks"]
            log(f"run 2: {run2['wall_s']:.1f} s, {run2['http']['bytes_sent']} bytes")
            log("stages")
            result["stages"] = stage_benchmarks(root, server.base_url, catalog, ws, args.repeat)
            env = ws.env(catalog, args.entries)
        log("DAG parse and scrapers import")
        result["parse"] = parse_and_import(env)
        if not args.skip_scale:
            scale_total = args.scale_sources * args.scale_entries
            recreate_database(ws.news_url)
            with served_corpus(ws, "corpus-scale", args.scale_sources, args.scale_entries,
                               args.latency_ms / 1000, args.seed) as (server, _, catalog, m):
                log(f"scaling: {m['entries']} entries, {m['pages']} pages")
                run3 = dag_run(ws, server, catalog, args.scale_entries, "scale")
            big = end_to_end_summary(run3, scale_total)
            big.update(max_task_peak_rss_mb=run3["max_task_peak_rss_mb"],
                       task_totals=run3["task_totals"],
                       tasks_not_successful=run3["tasks_not_successful"])
            small = {k: e2e[k] for k in ("entries", "wall_s", "ms_per_entry", "articles_new")}
            result["scaling"] = {
                "runs": [small, {k: big[k] for k in small}], "large": big,
                "growth": round(big["ms_per_entry"] / e2e["ms_per_entry"] - 1, 4),
            }
            log(f"scaling: {run3['wall_s']:.1f} s for {scale_total} entries")
    finally:
        ws.close()
    result["finished_at"] = datetime.now(UTC).isoformat()
    result["duration_s"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    result["targets"] = evaluate(result)
    write_result(result, args.output, args.name, started, format_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
