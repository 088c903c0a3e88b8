"""scrapers.db.connection.savepoint on real PostgreSQL: one failing row is undone alone."""

from __future__ import annotations

from typing import Any

import psycopg2
import pytest

from scrapers.db.connection import savepoint

pytestmark = pytest.mark.integration


def test_a_failing_block_is_undone_and_the_transaction_goes_on(db: Any) -> None:
    with db.cursor() as cur:
        cur.execute("CREATE TEMP TABLE t (x text NOT NULL)")
        cur.execute("INSERT INTO t VALUES ('before')")
    with pytest.raises(psycopg2.errors.NotNullViolation), savepoint(db):
        with db.cursor() as cur:
            cur.execute("INSERT INTO t VALUES ('inside')")
            cur.execute("INSERT INTO t VALUES (NULL)")
    with savepoint(db):
        with db.cursor() as cur:
            cur.execute("INSERT INTO t VALUES ('after')")
    with db.cursor() as cur:
        cur.execute("SELECT x FROM t ORDER BY x")
        assert [r[0] for r in cur.fetchall()] == ["after", "before"]
    db.rollback()
