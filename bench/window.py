"""Cluster time window benchmark: does a load's candidate look-up grow with the archive?

Usage::

    python bench/window.py                      # archive 200 x 100 entries, run 20 x 100
    python bench/window.py --archive-sources 2 --archive-entries 5 --sources 2 --entries 5

The same run of the pipeline benchmark's corpus (bench/corpus.py, seed 8) is loaded by
`scrapers.db.loader.load_run` into three databases that differ only in what they already hold:

- **empty**: nothing;
- **archive inside**: an archive of another corpus (seed 9: other stories on the same
  subject, so its articles share LSH bands by chance with the run's as real archives do),
  staged and loaded by the pipeline's own steps, then moved `--inside-days` into the past,
  within `scrapers.dedup.minhash.WINDOW_DAYS`;
- **archive outside**: the same archive moved `--outside-days` into the past, beyond it.

Everything is built by the pipeline's own `fetch_feed`, `fetch_articles` (pages read from
disk) and `load_run`. Each figure is the best of `--repeat` loads, each on a fresh copy of
the prepared database; `load_run`'s own phase timer gives the candidate look-up. Writes
``bench/results/window-<UTC timestamp>.json`` (or ``--output``) and drops its databases.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
for _p in (str(REPO), str(BENCH)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from corpus import generate  # noqa: E402
from pipeline import (  # noqa: E402
    DiskFetcher,
    _db_url,
    clear_caller_settings,
    corpus_catalog,
    default_server,
    git_commit,
    log,
    machine,
    recreate_database,
    stage_corpus,
    write_result,
)
from pipeline import timed as timed_pass  # noqa: E402

#: Base URLs of the two corpora: distinct hosts, so no URL of the run is already stored.
RUN_BASE = "http://run.bench.invalid"
ARCHIVE_BASE = "http://archive.bench.invalid"
RUN_ID = "bench-window"


def stage(url: str, root: Path, base: str, run_id: str) -> int:
    """The corpus's feeds and pages into `staged_articles` of `url`'s database, by the
    pipeline's own steps; returns how many pages were staged."""
    import psycopg2

    from scrapers.db.migrate import migrate

    catalog = corpus_catalog(root, base, root.parent / f"{root.name}-catalog.toml")
    conn = psycopg2.connect(url)
    try:
        migrate(conn)
        stage_corpus(conn, catalog, run_id, DiskFetcher(root, base))
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM staged_articles WHERE run_id = %s", (run_id,))
            staged = int(cur.fetchone()[0])
    finally:
        conn.close()
    return staged


def load(url: str, run_id: str) -> tuple[float, dict[str, float], dict[str, int]]:
    """load_run on `url`'s database: (seconds, phases, outcomes)."""
    import psycopg2

    from scrapers.db.loader import load_run
    from scrapers.timing import PhaseTimer

    conn = psycopg2.connect(url)
    try:
        timer = PhaseTimer()
        seconds, counts = timed_pass(lambda: load_run(conn, run_id, timer=timer))
        return seconds, dict(timer.seconds), counts
    finally:
        conn.close()


def move_into_the_past(url: str, days: int) -> dict[str, int]:
    """Every stored article (and its cluster, bands, fetch times) `days` earlier: an
    archive gathered before the run. Returns what it holds."""
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("""UPDATE articles SET
                               first_seen_at = first_seen_at - make_interval(days => %(d)s),
                               fetched_at = fetched_at - make_interval(days => %(d)s)""",
                        {"d": days})
            cur.execute("""UPDATE story_clusters SET
                               first_seen_at = first_seen_at - make_interval(days => %(d)s),
                               last_seen_at = last_seen_at - make_interval(days => %(d)s)""",
                        {"d": days})
            cur.execute("UPDATE article_lsh_bands SET seen_day = seen_day - %s", (days,))
            cur.execute("SELECT count(*) FROM articles")
            articles = int(cur.fetchone()[0])
            cur.execute("SELECT count(*) FROM article_lsh_bands")
            bands = int(cur.fetchone()[0])
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:  # steady state, as autovacuum would leave it
            cur.execute("VACUUM ANALYZE articles, story_clusters, article_lsh_bands")
    finally:
        conn.close()
    return {"articles": articles, "band_rows": bands}


def best_load(prepared: str, scratch: str, repeat: int) -> dict[str, Any]:
    """The best of `repeat` loads of the run, each on a fresh copy of `prepared`."""
    passes = []
    for _ in range(max(1, repeat)):
        recreate_database(scratch, template=prepared)
        passes.append(load(scratch, RUN_ID))
    seconds, phases, counts = min(passes, key=lambda p: p[0])
    return {"load_s": round(seconds, 4),
            "candidates_s": round(min(p[1].get("cluster candidates", 0.0) for p in passes), 4),
            "passes_s": [round(p[0], 4) for p in passes],
            "phases_s": {k: round(v, 4) for k, v in sorted(phases.items(), key=lambda kv: -kv[1])},
            "outcomes": counts}


def run(args: argparse.Namespace, tmp: Path, urls: dict[str, str]) -> dict[str, Any]:
    from scrapers.dedup.minhash import WINDOW_DAYS

    def timed(label: str, fn: Callable[[], Any]) -> Any:
        seconds, out = timed_pass(fn)
        log(f"{label}: {seconds:.1f} s")
        return out

    os.environ["NICHIRO_MAX_ARTICLES_PER_SOURCE"] = str(10**6)
    run_root, archive_root = tmp / "run", tmp / "archive"
    timed("corpora", lambda: (generate(run_root, args.sources, args.entries, seed=8),
                              generate(archive_root, args.archive_sources,
                                       args.archive_entries, seed=9,
                                       guid_prefix="archive")))
    result: dict[str, Any] = {"window_days": WINDOW_DAYS, "cases": {}}

    recreate_database(urls["empty"])
    result["staged"] = timed("stage the run (empty)",
                             lambda: stage(urls["empty"], run_root, RUN_BASE, RUN_ID))
    recreate_database(urls["archive"])
    result["archive_staged"] = timed(
        "stage the archive", lambda: stage(urls["archive"], archive_root, ARCHIVE_BASE,
                                           "bench-archive"))
    result["archive_load"] = timed("load the archive",
                                   lambda: load(urls["archive"], "bench-archive")[2])
    for case, days in (("archive_inside", args.inside_days),
                       ("archive_outside", args.outside_days)):
        recreate_database(urls[case], template=urls["archive"])
        held = move_into_the_past(urls[case], days)
        timed(f"stage the run ({case})", lambda c=case: stage(urls[c], run_root, RUN_BASE,
                                                              RUN_ID))
        result["cases"][case] = {"days_before": days, **held}
    result["cases"]["empty"] = {"days_before": None, "articles": 0, "band_rows": 0}
    for case in ("empty", "archive_inside", "archive_outside"):
        result["cases"][case].update(timed(f"load ({case})", lambda c=case: best_load(
            urls[c], urls["scratch"], args.repeat)))
    return result


def format_table(result: dict[str, Any]) -> str:
    lines = [f"cluster time window benchmark  commit {result['commit']}  "
             f"window {result['window_days']} days",
             f"run: {result['staged']} staged pages; archive: {result['archive_staged']} "
             f"staged, loaded {result['archive_load']}", "",
             f"  {'stored before the run':32s} {'articles':>9s} {'band rows':>10s} "
             f"{'load_run s':>11s} {'candidates s':>13s}  outcomes"]
    labels = {"empty": "nothing",
              "archive_inside": "archive, {} days old (inside)",
              "archive_outside": "archive, {} days old (outside)"}
    for case in ("empty", "archive_inside", "archive_outside"):
        c = result["cases"][case]
        label = labels[case].format(c["days_before"])
        lines.append(f"  {label:32s} {c['articles']:9d} {c['band_rows']:10d} "
                     f"{c['load_s']:11.3f} {c['candidates_s']:13.3f}  {c['outcomes']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--archive-sources", type=int, default=200)
    parser.add_argument("--archive-entries", type=int, default=100)
    parser.add_argument("--inside-days", type=int, default=10)
    parser.add_argument("--outside-days", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3, help="loads per case (best kept)")
    parser.add_argument("--pg", default=default_server())
    parser.add_argument("--output", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the prepared databases")
    args = parser.parse_args(argv)
    clear_caller_settings()
    started = datetime.now(UTC)
    pid = os.getpid()
    urls = {case: _db_url(args.pg, f"nichiro_bench_window_{case}_{pid}")
            for case in ("empty", "archive", "archive_inside", "archive_outside", "scratch")}
    with tempfile.TemporaryDirectory(prefix="nichiro-window-") as tmp:
        try:
            result = run(args, Path(tmp), urls)
        finally:
            for case, url in urls.items():
                if not args.keep or case == "scratch":
                    recreate_database(url, create=False)
    result.update(benchmark="window", commit=git_commit(), machine=machine(),
                  databases=[urlsplit(u).path.lstrip("/") for u in urls.values()],
                  started_at=started.isoformat(), config=vars(args) | {"output": None},
                  duration_s=round((datetime.now(UTC) - started).total_seconds(), 1))
    write_result(result, args.output, "window", started, format_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
