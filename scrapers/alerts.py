"""Alerts about the news, the pure part: which counts are spikes, which sources went silent.

Analysts want to hear when coverage of a topic jumps, when both sides report a new event,
and when a source stops bringing anything. The database side (`scrapers.db.alerts`)
gathers the counts; this module decides, so the rules are tested without a database and
"now" is always a parameter. Each alert has a `key`: the same key is not sent twice
(issue 24).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

#: A day's count is a spike when it is this many standard deviations above its baseline.
SPIKE_Z = 3.0
#: ... and at least this many articles: three articles on a quiet tag are not news.
SPIKE_MIN_ARTICLES = 5
#: Days of baseline a spike is measured against.
BASELINE_DAYS = 28
#: The spread a baseline is given at least: a tag never seen before, or seen exactly as
#: often every day, would otherwise make any change infinitely unusual.
MIN_SPREAD = 1.0
#: A source is silent when its last new entry is this many of its usual gaps ago ...
SILENT_GAPS = 4.0
#: ... and at least this long ago.
SILENT_AT_LEAST = timedelta(days=1)


@dataclass(frozen=True)
class Alert:
    """One thing to tell analysts: its kind, what it is about (`key`, unique per kind and
    occurrence), a one-line title and detail lines (the articles behind it, say)."""

    kind: str  # spike | both_sides | wide_coverage | silent_source | disabled_source |
    #            watch | failures | digest
    key: str
    title: str
    details: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """Plain text for a chat message or an e-mail body."""
        return "\n".join([self.title, *(f"- {line}" for line in self.details)])


@dataclass(frozen=True)
class Spike:
    """A count far above its own baseline."""

    count: int
    mean: float
    spread: float

    @property
    def z(self) -> float:
        return (self.count - self.mean) / self.spread


def spike(count: int, baseline: Sequence[int], z: float = SPIKE_Z,
          min_count: int = SPIKE_MIN_ARTICLES) -> Spike | None:
    """The spike `count` is against its daily `baseline` counts, or None when it is not one.

    z-score over the baseline days (each day counted, zeros included), the spread at
    least `MIN_SPREAD`.
    """
    if count < min_count or not baseline:
        return None
    mean = sum(baseline) / len(baseline)
    spread = max(math.sqrt(sum((n - mean) ** 2 for n in baseline) / len(baseline)),
                 MIN_SPREAD)
    found = Spike(count, mean, spread)
    return found if found.z >= z else None


def usual_gap(times: Sequence[datetime]) -> timedelta | None:
    """The median gap between consecutive times (sorted or not), or None with fewer than
    three: a source's usual rhythm of bringing something new."""
    ordered = sorted(times)
    gaps = sorted(b - a for a, b in zip(ordered, ordered[1:], strict=False))
    if len(gaps) < 2:
        return None
    middle = len(gaps) // 2
    return gaps[middle] if len(gaps) % 2 else (gaps[middle - 1] + gaps[middle]) / 2


def is_silent(last_new: datetime | None, gap: timedelta | None, now: datetime,
              gaps: float = SILENT_GAPS, at_least: timedelta = SILENT_AT_LEAST) -> bool:
    """Whether a source that used to bring something every `gap` has brought nothing for
    `gaps` of them (and at least `at_least`). A source without a rhythm yet is not."""
    if last_new is None or gap is None:
        return False
    return now - last_new >= max(gap * gaps, at_least)
