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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

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


@dataclass(frozen=True)
class _Profile:
    """What scoring needs of a report's evidence besides the weights, computed once: its
    keys, their total weight and its days of the month."""

    keys: frozenset[str]
    total: float
    days: frozenset[str]

    @classmethod
    def of(cls, found: Evidence) -> _Profile:
        return cls(frozenset(found), sum(found.values()),
                   frozenset(k for k in found if k.startswith("day:")))


def _score(a: Evidence, pa: _Profile, b: Evidence, pb: _Profile) -> float:
    """`pair_score` from the two reports' profiles. The union's weight is the two totals
    less the shared weight (the sum of the mins plus the sum of the maxes is the sum of
    both), so only the shared keys are walked: a load links each new report against every
    report in its window. Weights are multiples of 0.5, so the sums are exact and the
    result is the one the union would give."""
    if pa.days and pb.days and not pa.days & pb.days:
        return 0.0
    shared = sum(min(a[k], b[k]) for k in pa.keys & pb.keys)
    union = pa.total + pb.total - shared
    return round(shared / union, 4) if union else 0.0


def pair_score(a: Evidence, b: Evidence) -> float:
    """Weighted Jaccard of two reports' evidence; 0 when both name days and share none."""
    return _score(a, _Profile.of(a), b, _Profile.of(b))


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
    #: Computed from `evidence`: each member is scored against every later report.
    profile: _Profile = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "profile", _Profile.of(self.evidence))


@dataclass(frozen=True)
class EventDecision:
    """Where a report goes: an existing event (with the best-matching member and the
    mean score) or, with `event_id` None, a new one."""

    event_id: int | None
    score: float | None = None
    matched_article_id: int | None = None
    shared: tuple[str, ...] = ()


def decide_event(found: Evidence, at: datetime, members: Sequence[Member],
                 threshold: float = THRESHOLD, window_days: int = WINDOW_DAYS) -> EventDecision:
    """The event a report joins, given the reports linked before it.

    Only members within `window_days` of `at` count, and an event is scored by the mean
    of the report's pair scores with its members there. The best event at or above
    `threshold` wins (ties: the lower event id); none: a new event.
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    window = window_days * 86400
    profile = _Profile.of(found)
    per_event: dict[int, list[tuple[float, Member]]] = {}
    for member in members:
        if abs((member.at - at).total_seconds()) <= window:
            score = _score(found, profile, member.evidence, member.profile)
            per_event.setdefault(member.event_id, []).append((score, member))
    best: tuple[float, int] | None = None
    for event_id, scored in per_event.items():
        mean = round(sum(s for s, _ in scored) / len(scored), 4)
        if mean >= threshold and (best is None or (-mean, event_id) < (-best[0], best[1])):
            best = (mean, event_id)
    if best is None:
        return EventDecision(None)
    mean, event_id = best
    top = max(per_event[event_id], key=lambda sm: (sm[0], -sm[1].article_id))[1]
    return EventDecision(event_id, mean, top.article_id,
                         tuple(shared_evidence(found, top.evidence)))
