"""Events for a list of reports, without a database: the decision the load makes.

`link_events` gives reports of one happening (in English, Japanese or Russian, from any
outlet) one event id. It runs the same pure functions as the database path
(`scrapers.dedup.events.decide_event` over the reports linked before), so reports that
arrive in this order, each at its `published_at`, end in the same events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scrapers.dedup.events import (
    THRESHOLD,
    WINDOW_DAYS,
    LinkedReports,
    Member,
    decide_event,
    evidence,
)
from scrapers.relevance.scoring import score_relevance


def report_evidence(title: str, text: str, language: str | None,
                    year: int | None) -> dict[str, float]:
    """A report's evidence from its text: the vocabulary's tags, numbers and dates."""
    tags = score_relevance(title, text, language).event_tags
    return evidence(tags, title, text, year)


def link_events(items: Sequence[Mapping[str, Any]], threshold: float = THRESHOLD,
                window_days: int = WINDOW_DAYS) -> list[int]:
    """One event id per item, in order; reports of one event share it.

    :param items: dicts with ``title``, ``text``, ``language`` (``en``/``ja``/``ru``) and
        ``published_at`` (an aware datetime), in the order they arrive.
    :returns: event ids numbered from 1 in order of first appearance.
    :raises ValueError: if a ``published_at`` is naive.
    """
    linked = LinkedReports()
    out: list[int] = []
    events = 0
    for number, item in enumerate(items):
        at = item["published_at"]
        if at.tzinfo is None:
            raise ValueError(f"item {number}: published_at must be timezone-aware")
        title, text = item.get("title") or "", item.get("text") or ""
        found = report_evidence(title, text, item.get("language"), at.year)
        decision = decide_event(found, at, linked, threshold, window_days)
        event_id = decision.event_id
        if event_id is None:
            events += 1
            event_id = events
        linked.add(Member(number, event_id, at, found))
        out.append(event_id)
    return out
