"""The DB-API connection the library is handed, as a small Protocol: mypy checks every call
the library makes without tying it to psycopg2's classes (tasks, CLIs and tests pass a
psycopg2 connection, which has these methods)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Cursor(Protocol):
    """What the library uses of a DB-API cursor."""

    @property
    def description(self) -> Any: ...

    @property
    def rowcount(self) -> int: ...

    itersize: int  # rows a named (server-side) cursor fetches per round trip

    def execute(self, query: Any, params: Any = None, /) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchmany(self, size: int = ..., /) -> list[Any]: ...

    def fetchall(self) -> list[Any]: ...

    def copy_expert(self, sql: str, file: Any, /) -> Any: ...  # PostgreSQL's COPY

    def __enter__(self) -> Cursor: ...

    def __exit__(self, *exc: object) -> Any: ...


class Connection(Protocol):
    """What the library uses of a DB-API connection: cursors and transaction control."""

    autocommit: bool

    def cursor(self, *args: Any, **kwargs: Any) -> Cursor: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


@contextmanager
def savepoint(conn: Connection, name: str = "one_row") -> Iterator[None]:
    """Run the block inside a savepoint: on an exception, only the block's writes are undone
    (and the exception propagates), so the transaction goes on for the other rows."""
    with conn.cursor() as cur:
        cur.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        with conn.cursor() as cur:
            cur.execute(f"ROLLBACK TO SAVEPOINT {name}")
        raise
    with conn.cursor() as cur:
        cur.execute(f"RELEASE SAVEPOINT {name}")
