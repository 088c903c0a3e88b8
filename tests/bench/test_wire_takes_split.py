"""bench/clusters.py's tune/test split of ../shared/datasets/wire-takes (read in place):
whole stories with their hard negatives on one side, the same split on every machine."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO, SHARED

ITEMS = SHARED / "datasets" / "wire-takes" / "items.jsonl"


def test_stories_and_their_hard_negatives_stay_on_one_side(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    from clusters import split_part  # bench/clusters.py

    items = [json.loads(line) for line in ITEMS.read_text("utf-8").splitlines() if line]
    parts = split_part(items)
    assert set(parts.values()) == {"tune", "test"}
    for item in items:
        for other in item.get("hard_negative_with") or []:
            assert parts[item["cluster"]] == parts[other], (item["cluster"], other)
    # fixed by the salt: the test part is the one docs/clusters.md reports on
    assert sum(parts[i["cluster"]] == "test" for i in items) == 47
    assert split_part(list(reversed(items))) == parts
