"""scrapers.clusters.cluster_texts: the load's story decision over a list of texts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from scrapers.clusters import cluster_texts
from tests.support.groups import TAKES, same_partition, timed_items


def takes() -> list[dict[str, Any]]:
    return timed_items(TAKES)


def test_takes_of_one_story_share_a_group_and_others_do_not() -> None:
    items = takes()
    got = cluster_texts(items)
    assert same_partition(got, [i["story"] for i in items])
    assert got[0] == 1  # numbered from 1 in order of first appearance
    assert sorted(set(got)) == list(range(1, len(set(got)) + 1))


@pytest.mark.parametrize("order", [[1, 0, 2, 3, 4, 5], [2, 1, 3, 5, 4, 0], [5, 4, 3, 2, 1, 0]])
def test_the_arrival_order_does_not_change_the_stories(order: list[int]) -> None:
    items = [takes()[i] for i in order]
    assert same_partition(cluster_texts(items), [i["story"] for i in items])


def test_copies_beyond_the_time_window_are_another_story() -> None:
    first, later = takes()[0], dict(takes()[0])
    later["published_at"] = first["published_at"] + timedelta(days=8)
    assert cluster_texts([first, later]) == [1, 2]
    later["published_at"] = first["published_at"] + timedelta(days=6)
    assert cluster_texts([first, later]) == [1, 1]


def test_naive_times_and_empty_texts() -> None:
    item = takes()[0]
    with pytest.raises(ValueError, match="timezone-aware"):
        cluster_texts([{**item, "published_at": item["published_at"].replace(tzinfo=None)}])
    empty = {**item, "title": "", "text": ""}
    assert cluster_texts([empty, empty]) == [1, 2]  # nothing to match on
    assert cluster_texts([]) == []
