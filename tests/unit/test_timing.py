"""PhaseTimer: phases add up over repeats; NO_TIMER records nothing."""

from __future__ import annotations

import pytest

from scrapers.timing import NO_TIMER, PhaseTimer


def test_a_phase_run_twice_adds_its_times() -> None:
    timer = PhaseTimer()
    timer.add("tags", 0.25)
    timer.add("articles", 0.5)
    timer.add("tags", 0.5)
    assert timer.seconds == {"tags": 0.75, "articles": 0.5}
    assert timer.summary() == "tags 0.750 s, articles 0.500 s"


def test_a_phase_that_raises_is_still_counted() -> None:
    timer = PhaseTimer()
    with pytest.raises(ValueError), timer.phase("resolve"):
        raise ValueError("boom")
    with timer.phase("resolve"):
        pass
    assert list(timer.seconds) == ["resolve"] and timer.seconds["resolve"] >= 0


def test_no_timer_records_nothing() -> None:
    with NO_TIMER.phase("articles"):
        NO_TIMER.add("tags", 1.0)
    assert NO_TIMER.seconds == {} and NO_TIMER.summary() == ""
