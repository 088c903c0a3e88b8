"""When a failed feed fetch is tried again: when its source is due, not on Airflow's clock.

A failed fetch records the source's backoff (exponential in its failure streak, never
shorter than the server's Retry-After: `scrapers.fetch.schedule.backoff_s`) and the
exception carries the seconds until then (`due_in_s`). Airflow's own retry delay knows
neither: a 503 with `Retry-After: 3600` would be asked again a minute later. This policy
retries when the source is due, and not within the run at all when that is further off
than `longest`: the task fails now (its retries are not spent waiting), and a later run
fetches the source when `load_sources` finds it due.

An exception without `due_in_s` (the database, a bug) gets Airflow's usual retries.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context


class RetryWhenSourceIsDue(RetryPolicy):
    """Retry after the source's backoff; fail at once when that is beyond `longest`."""

    def __init__(self, longest: timedelta) -> None:
        self.longest = longest

    def evaluate(self, exception: BaseException, try_number: int, max_tries: int,
                 context: Context | None = None) -> RetryDecision:
        due_in_s = getattr(exception, "due_in_s", None)
        if due_in_s is None:
            return RetryDecision.default()
        if due_in_s > self.longest.total_seconds():
            return RetryDecision.fail(
                f"the source is due again in {due_in_s} s (backoff, Retry-After), beyond "
                f"{int(self.longest.total_seconds())} s: a later run fetches it")
        return RetryDecision.retry(
            timedelta(seconds=due_in_s),
            reason=f"retry when the source is due again, in {due_in_s} s (backoff, Retry-After)")

    def serialize(self) -> dict[str, Any]:
        return {"longest_s": self.longest.total_seconds()}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> RetryWhenSourceIsDue:
        return cls(timedelta(seconds=data["longest_s"]))
