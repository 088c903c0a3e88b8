"""scrapers.alerts, the pure part: spikes against a baseline, a source's rhythm, silence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scrapers.alerts import Alert, is_silent, spike, usual_gap

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_a_spike_is_far_above_its_own_baseline() -> None:
    usual = [2, 3, 1, 2, 2, 3, 2] * 4  # 28 days, about two a day
    found = spike(9, usual)
    assert found is not None and found.count == 9 and round(found.z, 1) == 6.9  # spread 1
    assert spike(3, usual) is None  # an ordinary day
    assert spike(4, [0] * 28) is None  # under the minimum, however new the tag
    new = spike(6, [0] * 28)
    assert new is not None and new.z == 6.0  # the spread is at least 1: z stays finite
    busy = [20, 30] * 14  # a busy tag's ordinary jitter is no spike
    assert spike(31, busy) is None and spike(45, busy) is not None


def test_a_sources_rhythm_is_its_median_gap_and_silence_is_several_of_them() -> None:
    seen = [NOW - timedelta(hours=h) for h in (30, 28, 26, 24, 12)]
    assert usual_gap(seen) == timedelta(hours=2)
    assert usual_gap(seen[:2]) is None  # one gap says nothing yet
    gap = timedelta(hours=6)
    assert not is_silent(NOW - timedelta(hours=20), gap, NOW)  # 20 h < one day
    assert is_silent(NOW - timedelta(hours=25), gap, NOW)  # 4 x 6 h, and a day
    assert not is_silent(NOW - timedelta(hours=90), timedelta(days=1), NOW)
    assert is_silent(NOW - timedelta(hours=97), timedelta(days=1), NOW)
    assert not is_silent(None, gap, NOW) and not is_silent(NOW, None, NOW)


@pytest.mark.parametrize(("details", "text"), [
    ((), "Spike: x"), (("a", "b"), "Spike: x\n- a\n- b")])
def test_an_alert_reads_as_plain_text(details: tuple[str, ...], text: str) -> None:
    assert Alert("spike", "k", "Spike: x", details).text() == text
