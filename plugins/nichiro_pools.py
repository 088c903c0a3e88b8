"""The Airflow pool every fetch task takes a slot of: one cap on the web requests in flight.

Both fetch tasks (`fetch_feed` and `fetch_articles`, every mapped copy, every run) draw on
one pool, so at most its slot count of them run at once. `max_active_tis_per_dag` would
cap each task on its own: twice the intended number.

A task that names a pool the metadata database does not have is never scheduled, and
Airflow says so only in the scheduler's log. So every set-up step creates it, after
`airflow db migrate`: `make db`, the compose file's `airflow-init`, and the tests' session
database (`python plugins/nichiro_pools.py`, or `ensure_http_pool()`). An existing pool is
left as it is: an operator may have resized it in the UI (Admin > Pools).
"""

from __future__ import annotations

import os

#: The pool's name, as the DAG's fetch tasks name it.
HTTP_POOL = "nichiro_http"
#: Its size when it is first created (NICHIRO_HTTP_CONCURRENCY).
DEFAULT_HTTP_SLOTS = 4


def http_slots() -> int:
    return int(os.environ.get("NICHIRO_HTTP_CONCURRENCY", DEFAULT_HTTP_SLOTS))


def ensure_http_pool() -> tuple[int, bool]:
    """Create the pool if it is missing; returns (its slots, whether it was created)."""
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        pool = session.scalar(select(Pool).where(Pool.pool == HTTP_POOL))
        if pool is not None:
            return int(pool.slots), False
        slots = http_slots()
        session.add(Pool(pool=HTTP_POOL, slots=slots, include_deferred=False,
                         description="Nichiro: fetch tasks running at once "
                                     "(NICHIRO_HTTP_CONCURRENCY when created)"))
    return slots, True


if __name__ == "__main__":
    count, created = ensure_http_pool()
    print(f"pool {HTTP_POOL}: {count} slots ({'created' if created else 'kept as it was'})")
