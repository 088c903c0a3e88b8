"""Small helpers shared by test modules (fixtures live in tests/conftest.py)."""

from __future__ import annotations

import socket
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rows_with_xmin(db: Any, *queries: str) -> list[Any]:
    """The rows of `queries` (each selecting ``xmin::text`` first), in one list: equal
    lists before and after a step mean the step wrote none of those rows."""
    rows: list[Any] = []
    with db.cursor() as cur:
        for query in queries:
            cur.execute(query)
            rows += cur.fetchall()
    return rows
