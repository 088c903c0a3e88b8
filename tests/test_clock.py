"""The shifted-clock pass of `make test` really runs a year ahead.

`make test` runs the tests marked `clock` a second time under libfaketime with
NICHIRO_CLOCK_AHEAD_DAYS set. libfaketime shifts this process's clock but not PostgreSQL's
(another process), so the gap between the two is the shift: 0 in the ordinary pass.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import psycopg2
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.clock]


def test_this_process_runs_as_far_ahead_as_asked(news_db_url: str) -> None:
    days = float(os.environ.get("NICHIRO_CLOCK_AHEAD_DAYS") or 0)
    conn = psycopg2.connect(news_db_url)
    with conn.cursor() as cur:
        cur.execute("SELECT now()")
        server_now = cur.fetchone()[0]
    conn.close()
    ahead = (datetime.now(UTC) - server_now).total_seconds()
    assert abs(ahead - days * 86400) < 600, f"{ahead / 86400:.2f} days ahead, not {days}"
