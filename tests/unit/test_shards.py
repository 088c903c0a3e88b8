"""shards: a run's sources in a bounded number of shards, each source's failure its own."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from scrapers.shards import ShardFailedError, run_each, shard_failure, shard_label, shard_sources


def sources(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"Source {i}"} for i in range(1, n + 1)]


@pytest.mark.parametrize(("due", "least", "shards", "largest"), [
    (0, 25, 0, 0), (1, 25, 1, 1), (24, 25, 1, 24), (49, 25, 1, 49), (50, 25, 2, 25),
    (200, 25, 8, 25), (1100, 25, 16, 69), (2000, 25, 16, 125),
    (5, 1, 5, 1), (64, 1, 16, 4), (65, 1, 16, 5),
])
def test_shards_stay_bounded_and_cover_every_source_once(due: int, least: int, shards: int,
                                                         largest: int) -> None:
    got = shard_sources(sources(due), max_shards=16, min_sources=least)
    assert len(got) == shards <= 16
    assert max((len(s["sources"]) for s in got), default=0) == largest
    assert [src["id"] for s in got for src in s["sources"]] == list(range(1, due + 1))


def test_labels_name_the_shard_and_its_first_sources() -> None:
    got = shard_sources(sources(7), max_shards=2, min_sources=1)
    assert [s["label"] for s in got] == ["shard 1/2: Source 1, Source 2, +2",
                                         "shard 2/2: Source 5, Source 6, +1"]
    assert shard_label(3, 16, [{"name": "TASS"}]) == "shard 3/16: TASS"


def test_one_source_failing_leaves_the_others_and_the_order() -> None:
    def step(source: dict[str, Any]) -> int:
        if source["id"] == 2:
            raise ConnectionError("refused")
        return int(source["id"]) * 10

    outcomes = run_each(sources(4), step, threads=2)
    assert [(o.source["id"], o.result, type(o.error).__name__ if o.error else None)
            for o in outcomes] == [(1, 10, None), (2, None, "ConnectionError"), (3, 30, None),
                                   (4, 40, None)]
    assert shard_failure(outcomes) is None  # the shard goes on


def test_at_most_the_given_threads_run_at_once() -> None:
    active, most, lock = 0, 0, threading.Lock()

    def step(source: dict[str, Any]) -> None:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        time.sleep(0.02)
        with lock:
            active -= 1

    run_each(sources(12), step, threads=3)
    assert 1 < most <= 3


def test_a_shard_fails_only_when_every_source_failed() -> None:
    class LateError(ConnectionError):
        retryable = True

        def __init__(self, due: int) -> None:
            super().__init__(f"503, due in {due} s")
            self.due_in_s = due

    one = run_each(sources(1), lambda s: (_ for _ in ()).throw(LateError(300)))
    assert isinstance(shard_failure(one), LateError)  # a shard of one: the source's own error
    several = run_each(sources(3), lambda s: (_ for _ in ()).throw(LateError(100 * s["id"])))
    failure = shard_failure(several)
    assert isinstance(failure, ShardFailedError)
    assert failure.due_in_s == 300 and failure.retryable  # retried when all are due again
    assert "Source 1: LateError: 503, due in 100 s" in str(failure)
