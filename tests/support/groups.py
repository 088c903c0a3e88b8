"""Helpers for the story and event tests: fixture items with their times, and comparing
two groupings of the same items."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TAKES = FIXTURES / "stories" / "takes.jsonl"
REPORTS = FIXTURES / "events" / "reports.jsonl"


def timed_items(path: Path) -> list[dict[str, Any]]:
    """A JSON Lines fixture, each item's ``published_at`` parsed into an aware datetime."""
    items = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    for item in items:
        item["published_at"] = datetime.fromisoformat(item["published_at"])
    return items


def same_partition(got: Sequence[Any], labels: Sequence[Any]) -> bool:
    """Whether two groupings put the same pairs together (ids themselves may differ)."""
    return all((got[i] == got[j]) == (labels[i] == labels[j])
               for i in range(len(got)) for j in range(len(got)))
