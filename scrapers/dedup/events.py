"""Events, the pure part: language-neutral evidence of what a report is about, and the
decision that links reports of one event across outlets and languages.

Stories (scrapers.dedup.minhash) join copies of one text; an event joins different texts,
in any language, that report the same happening. No translation is needed because the
evidence is written the same way in all three languages:

- **tags** of the shared vocabulary (scrapers/relevance/rules/tags.toml): people, places,
  organisations, themes and actions (`Relevance.event_tags`);
- **numbers** as digits, thousands separators removed (1,500 / 1500人 / 1 500 человек),
  except the report's own year and numbers glued to letters (G7, Tu-95);
- **dates** in the text: a month and day (June 7 / 6月7日 / 7 июня), and the day alone,
  which is how Japanese reports name the day of the news (7日).

Two reports are scored by weighted Jaccard over their evidence (specific kinds weigh
more than generic ones), and a pair whose texts both name days of the month but share
none is scored 0: same actors and action on a different day is a different event. A
report joins the event whose members within `WINDOW_DAYS` it matches best on average, if
that average reaches `THRESHOLD`; every member is checked, so no chain of pairwise links
can pull two different events together. Figures and the tuning are in docs/events.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

#: Evidence weight per kind: specifics (who, which organisation, numbers, dates) count
#: more than what many events share (themes, the islands as a whole).
KIND_WEIGHTS: Mapping[str, float] = {
    "person": 3.0, "org": 3.0, "place": 2.0, "action": 2.0, "theme": 1.0,
    "num": 2.0, "md": 3.0, "day": 2.0,
}
#: Tags nearly every report of the relationship carries: they count little.
GENERIC: Mapping[str, float] = {"place:kuril_islands": 0.5, "theme:kuril_islands": 0.5}
#: Mean pair score with an event's members at or above which a report joins it.
THRESHOLD = 0.25
#: Reports of one event are at most this many days apart (by publication time).
WINDOW_DAYS = 3
#: Names the method in `article_event_evidence.params`; a change means re-linking.
METHOD = "evidence1"

Evidence = dict[str, float]

_EN_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
              "dec")
_RU_MONTHS = ("январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр",
              "октябр", "ноябр", "декабр")
_EN_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_RU_MONTH = r"(январ|феврал|март|апрел|ма[яй]|июн|июл|август|сентябр|октябр|ноябр|декабр)\w*"
_JA_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})日")
_JA_DAY = re.compile(r"(?<![\d月])(\d{1,2})日")
_EN_MONTH_DAY = re.compile(rf"\b{_EN_MONTH}\s+(\d{{1,2}})\b")
_EN_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})\s+{_EN_MONTH}")
_RU_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})\s+{_RU_MONTH}")
_NUMBER = re.compile(r"(?<![A-Za-z0-9.,\-])(\d{1,3}(?:[,\s]\d{3})+|\d+)(?!\d)")


def evidence(tags: Sequence[str], title: str, text: str, year: int | None) -> Evidence:
    """A report's evidence: feature -> weight.

    :param tags: the report's `Relevance.event_tags`.
    :param year: the year of its publication (its mentions are no evidence), or None.
    """
    found: Evidence = {}
    for tag in tags:
        kind = tag.split(":", 1)[0]
        found[tag] = GENERIC.get(tag, KIND_WEIGHTS.get(kind, 1.0))
    normal = unicodedata.normalize("NFKC", f"{title}\n{text}")
    lower = normal.casefold()
    days: set[int] = set()

    def month_day(month: int, day: int) -> None:
        if 1 <= month <= 12 and 1 <= day <= 31:
            found[f"md:{month}-{day}"] = KIND_WEIGHTS["md"]
            days.add(day)

    for m in _JA_MONTH_DAY.finditer(normal):
        month_day(int(m[1]), int(m[2]))
    for m in _JA_DAY.finditer(normal):
        if 1 <= int(m[1]) <= 31:
            days.add(int(m[1]))
    for m in _EN_MONTH_DAY.finditer(lower):
        month_day(_EN_MONTHS.index(m[1]) + 1, int(m[2]))
    for m in _EN_DAY_MONTH.finditer(lower):
        month_day(_EN_MONTHS.index(m[2]) + 1, int(m[1]))
    for m in _RU_DAY_MONTH.finditer(lower):
        stem = "ма" if m[2].startswith("ма") else m[2]
        month_day(_RU_MONTHS.index(stem) + 1, int(m[1]))
    for day in days:
        found[f"day:{day}"] = KIND_WEIGHTS["day"]
    for m in _NUMBER.finditer(normal):
        number = int(re.sub(r"[,\s]", "", m[1]))
        if number >= 3 and number != year and number not in days:
            found[f"num:{number}"] = KIND_WEIGHTS["num"]
    return found


def pair_score(a: Evidence, b: Evidence) -> float:
    """Weighted Jaccard of two reports' evidence; 0 when both name days and share none."""
    return float(LinkedReports([Member(0, 0, _EPOCH, b)]).scores(a)[0])


def shared_evidence(a: Evidence, b: Evidence) -> list[str]:
    """What two reports have in common, most specific first (for the record)."""
    return sorted(a.keys() & b.keys(), key=lambda k: (-min(a[k], b[k]), k))


@dataclass(frozen=True)
class Member:
    """A report already linked: its event, its time and its evidence."""

    article_id: int
    event_id: int
    at: datetime  # aware
    evidence: Evidence


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(at: datetime) -> int:
    """Microseconds since the epoch, exact: a window's edge is compared without rounding."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    return (at - _EPOCH) // _MICROSECOND


class _Column:
    """A growable numpy array: appending is amortised O(1), reading a view is free."""

    def __init__(self, dtype: type) -> None:
        self._data: npt.NDArray[Any] = np.zeros(16, dtype=dtype)
        self._size = 0

    def append(self, value: float) -> None:
        if self._size == len(self._data):
            self._data = np.resize(self._data, 2 * self._size)
        self._data[self._size] = value
        self._size += 1

    def view(self) -> npt.NDArray[Any]:
        return self._data[:self._size]


class LinkedReports:
    """The reports linked so far, as arrays a decision reads in bulk.

    A load decides each new report against every report in its window, so the pair scores
    are computed for all of them at once: an inverted index from evidence key to the
    reports carrying it (with their weights) gives the shared weight of every pair in a
    few array operations per key, instead of one set intersection per pair. Weights are
    multiples of 0.5, so the sums are exact whatever their order.
    """

    def __init__(self, members: Iterable[Member] = ()) -> None:
        self.members: list[Member] = []
        self._postings: dict[str, tuple[_Column, _Column]] = {}
        self._micros = _Column(np.int64)
        self._totals = _Column(np.float64)
        self._has_days = _Column(np.bool_)
        self._event_index = _Column(np.int64)
        self._events: list[int] = []
        self._event_positions: dict[int, int] = {}
        for member in members:
            self.add(member)

    def add(self, member: Member) -> None:
        """Index a report that has been linked to `member.event_id`."""
        position = len(self.members)
        self.members.append(member)
        for key, weight in member.evidence.items():
            if key not in self._postings:
                self._postings[key] = (_Column(np.int64), _Column(np.float64))
            positions, weights = self._postings[key]
            positions.append(position)
            weights.append(weight)
        self._micros.append(_micros(member.at))
        self._totals.append(sum(member.evidence.values()))
        self._has_days.append(any(k.startswith("day:") for k in member.evidence))
        if member.event_id not in self._event_positions:
            self._event_positions[member.event_id] = len(self._events)
            self._events.append(member.event_id)
        self._event_index.append(self._event_positions[member.event_id])

    def scores(self, found: Evidence) -> npt.NDArray[np.float64]:
        """`found`'s pair score with every member, in order: weighted Jaccard (the union's
        weight is both totals less the shared weight), rounded to 4 places; 0 when both
        name days of the month and share none."""
        count = len(self.members)
        shared = np.zeros(count)
        days_shared = np.zeros(count, dtype=np.int64)
        for key, weight in found.items():
            if key in self._postings:
                positions, weights = (column.view() for column in self._postings[key])
                shared[positions] += np.minimum(weights, weight)
                if key.startswith("day:"):
                    days_shared[positions] += 1
        union = sum(found.values()) + self._totals.view() - shared
        scores = np.divide(shared, union, out=np.zeros(count), where=union > 0)
        np.round(scores, 4, out=scores)
        if any(k.startswith("day:") for k in found):
            scores[self._has_days.view() & (days_shared == 0)] = 0.0
        return scores

    def within(self, micros: int, window_days: int) -> npt.NDArray[np.bool_]:
        """Which members are at most `window_days` from `micros` (microseconds)."""
        within: npt.NDArray[np.bool_] = (np.abs(self._micros.view() - micros)
                                          <= window_days * 86_400_000_000)
        return within

    def event_means(self, scores: npt.NDArray[np.float64], window: npt.NDArray[np.bool_],
                    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The events with a member in `window`, and the mean of `scores` over those
        members per event (summed in member order), rounded to 4 places."""
        events = self._event_index.view()[window]
        sums = np.bincount(events, weights=scores[window], minlength=len(self._events))
        counts = np.bincount(events, minlength=len(self._events))
        present = counts > 0
        return (np.array(self._events, dtype=np.int64)[present],
                np.round(sums[present] / counts[present], 4))

    def positions(self, event_id: int, window: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
        """The positions of `event_id`'s members in `window`."""
        index = self._event_positions[event_id]
        return np.flatnonzero(window & (self._event_index.view() == index))


@dataclass(frozen=True)
class EventDecision:
    """Where a report goes: an existing event (with the best-matching member and the
    mean score) or, with `event_id` None, a new one."""

    event_id: int | None
    score: float | None = None
    matched_article_id: int | None = None
    shared: tuple[str, ...] = ()


def decide_event(found: Evidence, at: datetime, linked: LinkedReports,
                 threshold: float = THRESHOLD, window_days: int = WINDOW_DAYS) -> EventDecision:
    """The event a report joins, given the reports linked before it.

    Only members within `window_days` of `at` count, and an event is scored by the mean
    of the report's pair scores with its members there. The best event at or above
    `threshold` wins (ties: the lower event id); none: a new event.
    """
    micros = _micros(at)
    if not linked.members:
        return EventDecision(None)
    scores = linked.scores(found)
    window = linked.within(micros, window_days)
    ids, means = linked.event_means(scores, window)
    eligible = means >= threshold
    if not eligible.any():
        return EventDecision(None)
    best = means[eligible].max()
    event_id = int(ids[eligible & (means == best)].min())
    top = max(linked.positions(event_id, window),
              key=lambda i: (scores[i], -linked.members[i].article_id))
    matched = linked.members[int(top)]
    return EventDecision(event_id, float(best), matched.article_id,
                         tuple(shared_evidence(found, matched.evidence)))
