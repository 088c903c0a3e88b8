"""When to fetch a source next: adaptive cadence on success, capped backoff on failure.

Pure functions of the source's state and `now`, so the policy is tested without a clock.
A source that publishes something new is fetched more often, a quiet one less often,
within the configured bounds; failures back off exponentially (Retry-After respected)
up to a cap; 410 Gone or a long failure streak disables the source, with the reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from scrapers.config import FetchSchedule

SPEED_UP = 0.5  # new entries: halve the interval
SLOW_DOWN = 1.5  # nothing new: stretch it by half


def next_interval(current_s: int | None, new_entries: int, schedule: FetchSchedule) -> int:
    """The cadence after a successful fetch that found `new_entries` new entries."""
    current = current_s if current_s is not None else schedule.min_interval_s * 2
    proposed = current * (SPEED_UP if new_entries > 0 else SLOW_DOWN)
    return int(min(max(proposed, schedule.min_interval_s), schedule.max_interval_s))


def backoff_s(failures: int, retry_after_s: int | None, schedule: FetchSchedule) -> int:
    """Wait after the `failures`-th consecutive failure: exponential, capped, >= Retry-After."""
    exponential = schedule.backoff_base_s * 2 ** max(failures - 1, 0)
    wait = min(exponential, schedule.backoff_cap_s)
    if retry_after_s is not None:
        wait = max(wait, min(retry_after_s, schedule.backoff_cap_s))
    return int(wait)


def disable_reason(
    failures: int, http_status: int | None, error: str, schedule: FetchSchedule
) -> str | None:
    """Why the source should stop being fetched, or None to keep trying."""
    if http_status == 410:
        return f"410 Gone: the feed was removed ({error})"
    if failures >= schedule.disable_after_failures:
        return f"{failures} consecutive failures; last: {error}"
    return None


def next_fetch_after_success(
    now: datetime, current_s: int | None, new_entries: int, schedule: FetchSchedule
) -> tuple[datetime, int]:
    interval = next_interval(current_s, new_entries, schedule)
    return now + timedelta(seconds=interval), interval
