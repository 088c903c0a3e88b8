"""The DB-API connection the library is handed, as a small Protocol: mypy checks every call
the library makes without tying it to psycopg2's classes (tasks, CLIs and tests pass a
psycopg2 connection, which has these methods)."""

from __future__ import annotations

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
