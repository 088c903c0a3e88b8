"""Scheduling policy: adaptive cadence, capped backoff, disabling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scrapers.config import FetchSchedule
from scrapers.fetch.http import parse_retry_after
from scrapers.fetch.schedule import (
    backoff_s,
    disable_reason,
    next_fetch_after_success,
    next_interval,
)

pytestmark = pytest.mark.clock

S = FetchSchedule(min_interval_s=900, max_interval_s=21600, backoff_base_s=300,
                  backoff_cap_s=86400, disable_after_failures=5)


def test_busy_sources_speed_up_quiet_ones_slow_down_within_bounds() -> None:
    assert next_interval(3600, new_entries=4, schedule=S) == 1800
    assert next_interval(3600, new_entries=0, schedule=S) == 5400
    assert next_interval(1000, new_entries=9, schedule=S) == 900  # floor
    assert next_interval(20000, new_entries=0, schedule=S) == 21600  # ceiling
    assert next_interval(None, new_entries=0, schedule=S) == 2700  # first fetch: 2 x min x 1.5


def test_next_fetch_time_after_success() -> None:
    now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    at, interval = next_fetch_after_success(now, 3600, 1, S)
    assert (at, interval) == (now + timedelta(seconds=1800), 1800)


@pytest.mark.parametrize(("failures", "expected"), [
    (1, 300), (2, 600), (3, 1200), (9, 76800), (10, 86400), (30, 86400),
])
def test_exponential_backoff_is_capped(failures: int, expected: int) -> None:
    assert backoff_s(failures, None, S) == expected


def test_retry_after_is_respected_but_capped() -> None:
    assert backoff_s(1, 7200, S) == 7200
    assert backoff_s(5, 60, S) == 4800  # the longer of the two
    assert backoff_s(1, 10**9, S) == 86400


def test_disable_reasons() -> None:
    assert disable_reason(1, 410, "HTTP 410", S) is not None
    assert disable_reason(4, 500, "HTTP 500", S) is None
    reason = disable_reason(5, 500, "HTTP 500", S)
    assert reason is not None and "5 consecutive failures" in reason


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Fri, 27 Nov 2026 06:10:00 GMT", now) == 600
    assert parse_retry_after("Fri, 27 Nov 2026 05:00:00 GMT", now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
