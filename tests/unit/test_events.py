"""scrapers.events.link_events: reports of one event in EN/JA/RU share an id."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from scrapers.events import link_events
from tests.support.groups import REPORTS, same_partition, timed_items


def reports() -> list[dict[str, Any]]:
    return timed_items(REPORTS)


def test_one_event_in_three_languages_and_a_neighbour_kept_apart() -> None:
    items = reports()
    got = link_events(items)
    assert same_partition(got, [i["event"] for i in items])
    assert got[0] == 1 and len(set(got)) == 2


@pytest.mark.parametrize("order", [[5, 4, 3, 2, 1, 0], [3, 0, 4, 1, 5, 2]])
def test_arrival_order_and_one_day_do_not_merge_the_neighbours(order: list[int]) -> None:
    """The two events share the official, the island and the protest, a day apart; on one
    day (the stress case) their dates and specifics still part them."""
    items = [reports()[i] for i in order]
    same_day = [{**i, "published_at": items[0]["published_at"]} for i in items]
    for batch in (items, same_day):
        assert same_partition(link_events(batch), [i["event"] for i in batch])


def test_reports_days_apart_are_other_events_and_times_must_be_aware() -> None:
    first, later = reports()[0], dict(reports()[1])
    later["published_at"] = first["published_at"] + timedelta(days=5)
    assert link_events([first, later]) == [1, 2]
    with pytest.raises(ValueError, match="timezone-aware"):
        link_events([{**first, "published_at": datetime(2026, 5, 12)}])
    assert link_events([]) == []
