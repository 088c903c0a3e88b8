"""Fixtures shared by the relevance tests."""

from __future__ import annotations

import pytest

from scrapers.relevance.rules import RULES_ENV


@pytest.fixture(autouse=True)
def _packaged_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test scores with the packaged rules unless it points elsewhere itself."""
    monkeypatch.delenv(RULES_ENV, raising=False)
