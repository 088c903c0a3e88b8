"""Wall time per named phase of a step: where its time goes, for its log line and the bench.

A step that wants its phases known takes an optional `PhaseTimer`; callers that pass none
get `NO_TIMER`, which measures nothing, so the step's code reads the same either way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class PhaseTimer:
    """Seconds per phase, summed over every time the phase ran (a load runs per batch)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def summary(self) -> str:
        """'name 0.123 s, ...', longest first: one log line."""
        ranked = sorted(self.seconds.items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{name} {seconds:.3f} s" for name, seconds in ranked)


class _NoTimer(PhaseTimer):
    """Measures nothing (the default of steps whose caller wants no phases)."""

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        yield

    def add(self, name: str, seconds: float) -> None:
        return None


NO_TIMER: PhaseTimer = _NoTimer()
