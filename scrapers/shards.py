"""The fetch work of a run in shards: a bounded number of mapped task instances, whatever
the catalog's size, each fetching its sources on a few threads.

With one mapped task instance per source, a run paid Airflow's per-task start and
bookkeeping once per source under the real scheduler, and Airflow maps a bounded number of
copies (`max_map_length`): a large catalog could not be fetched within one cycle, or at
all (docs/benchmarks.md, "What a deployment pays"). A shard is a slice of
the due sources; `run_each` fetches its sources concurrently, each on its own database
connection and HTTP client, so one source's failure is its own: it is recorded, backed
off and listed by the pipeline, and the shard's other sources go on. Per-source state,
health and results stay per source in PostgreSQL; per-host politeness is kept there
too, so it holds across threads, shards and workers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from scrapers import config

#: Source names a shard's label shows before "+N".
LABEL_NAMES = 2


def shard_sources(sources: Sequence[Mapping[str, Any]], max_shards: int | None = None,
                  min_sources: int | None = None) -> list[dict[str, Any]]:
    """The due sources in slices whose sizes differ by one at most, in their order:
    one slice per `min_sources` (`config.shard_min_sources()`, 25) due sources, at most
    `max_shards` (`config.max_shards()`, 16) of them, and one when fewer are due.

    :returns: ``{"label": "shard 3/16: TASS, NHK, +10", "sources": [...]}`` per shard.
    """
    if not sources:
        return []
    limit = config.max_shards() if max_shards is None else max_shards
    least = config.shard_min_sources() if min_sources is None else min_sources
    count = max(1, min(limit, len(sources) // max(1, least)))
    size, larger = divmod(len(sources), count)
    bounds = [n * size + min(n, larger) for n in range(count + 1)]
    chunks = [list(sources[a:b]) for a, b in itertools.pairwise(bounds)]
    return [{"label": shard_label(n, len(chunks), chunk), "sources": [dict(s) for s in chunk]}
            for n, chunk in enumerate(chunks, start=1)]


def shard_label(number: int, count: int, sources: Sequence[Mapping[str, Any]]) -> str:
    """How the grid names a shard: its number and the first sources' names."""
    names = [str(s["name"]) for s in sources]
    more = len(names) - LABEL_NAMES
    return f"shard {number}/{count}: " + ", ".join(names[:LABEL_NAMES]) + (
        f", +{more}" if more > 0 else "")


@dataclass(frozen=True)
class SourceOutcome:
    """What `run_each` did for one source: the step's result, or the exception it raised."""

    source: Mapping[str, Any]
    result: Any = None
    error: BaseException | None = None


def run_each(sources: Sequence[Mapping[str, Any]], step: Callable[[Mapping[str, Any]], Any],
             threads: int | None = None) -> list[SourceOutcome]:
    """`step(source)` for every source, at most `threads` (`config.shard_threads()`, 4) at
    a time; in the sources' order.

    An exception is that source's outcome, not the shard's: the others run to the end.
    """
    if not sources:
        return []
    limit = config.shard_threads() if threads is None else threads
    with ThreadPoolExecutor(max_workers=max(1, min(limit, len(sources))),
                            thread_name_prefix="source") as pool:
        futures = [(source, pool.submit(step, source)) for source in sources]
        outcomes = []
        for source, future in futures:
            error = future.exception()
            outcomes.append(SourceOutcome(source, None if error else future.result(), error))
    return outcomes


class ShardFailedError(Exception):
    """Every source of a shard failed: the shard's task fails, and is retried when the
    last of them is due again (`due_in_s`, for the task's retry policy)."""

    def __init__(self, failures: Sequence[SourceOutcome]) -> None:
        names = ", ".join(f"{o.source['name']}: {type(o.error).__name__}: {o.error}"
                          for o in failures)
        super().__init__(f"all {len(failures)} sources failed: {names}"[:2000])
        errors = [o.error for o in failures]
        self.retryable = any(getattr(e, "retryable", True) for e in errors)
        dues = [getattr(e, "due_in_s", None) for e in errors]
        self.due_in_s = max(d for d in dues if d is not None) if None not in dues else None


def shard_failure(outcomes: Sequence[SourceOutcome]) -> BaseException | None:
    """The exception a shard's task raises: its one source's own when it has one source and
    that failed; `ShardFailedError` when all of several failed; None while any succeeded."""
    failures = [o for o in outcomes if o.error is not None]
    if not failures or len(failures) < len(outcomes):
        return None
    if len(failures) == 1:
        return failures[0].error
    return ShardFailedError(failures)
