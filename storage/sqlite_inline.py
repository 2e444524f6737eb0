"""SQLite connections that answer on the caller's thread.

aiosqlite gives every sqlite3 call to a worker thread and waits for its answer: a statement
through SQLAlchemy is several such calls (cursor, execute, fetch, close), so a use case of about
ten statements made some 80 thread round trips, and those cost far more than SQLite's own work on
a local file (an intake measured 13.6 ms p50 that way, 2.4 ms run here). SQLite in WAL mode answers
in microseconds and this process already queues its writers (`SqlStorage`), so the worker thread
bought nothing but the hand-offs.

The one thing that could block the event loop for long is waiting for another process's write
lock, so the connection never waits inside SQLite (busy_timeout 0): `storage.db.begin` retries a
locked BEGIN IMMEDIATE with asyncio sleeps instead.

How: SQLAlchemy's aiosqlite dialect drives whatever connection the engine's `async_creator`
returns through aiosqlite's documented interface (awaitable `cursor()`, `execute`, `fetchall`,
`commit`, ...). `InlineConnection` and `InlineCursor` offer that interface over a plain sqlite3
connection, each call run at once. They borrow nothing from aiosqlite (whose classes, and the
worker thread, are not used at all), so no aiosqlite release can change them. The dialect itself
reads one attribute beyond that interface, `_connection` (whether the connection is open, before a
commit or a rollback): it is kept here under that name for that reason.
`tests/storage/test_sqlite_inline.py` fails if the calls stop running inline.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL


class InlineCursor:
    """aiosqlite's cursor interface over a sqlite3 cursor, each call run at once."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        if size is None:
            return self._cursor.fetchmany()
        return self._cursor.fetchmany(size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def setinputsizes(self, *_: object) -> None:
        return None  # as sqlite3's: nothing to set

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """aiosqlite's connection interface over a sqlite3 connection, each call run at once."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        # Named as aiosqlite names it: SQLAlchemy's dialect reads it (see the module's docstring).
        self._connection: sqlite3.Connection | None = connection

    @property
    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")  # what the dialect expects of a closed one
        return self._connection

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._open.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._open.commit()

    async def rollback(self) -> None:
        self._open.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate): nothing runs elsewhere to wait for."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._open.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._open.in_transaction

    @property
    def total_changes(self) -> int:
        return self._open.total_changes


def sqlite_connector(url: URL) -> Callable[[], sqlite3.Connection]:
    """A plain sqlite3 connection to the URL's database: its own connect arguments (file,
    `uri`, ...), with no busy wait and no driver-side transactions (BEGIN is issued by
    `storage.db`). Both the engine here and `storage.sqlite_direct`'s connect this way."""
    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(url)
    database = str(args[0])  # the file (or URI), as the dialect reads it off the URL
    options: dict[str, Any] = {
        **kwargs,
        "timeout": 0.0,
        "isolation_level": None,
        # Connections wait in SQLAlchemy's pool between uses; they are used on the event loop's
        # thread, but a pool may be disposed of from another (the test suites' teardown).
        "check_same_thread": False,
    }

    def connect() -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(database, **options)
        return connection

    return connect


def inline_creator(url: URL) -> Callable[[], Awaitable[InlineConnection]]:
    """An `async_creator` for SQLAlchemy over `sqlite_connector`."""
    connector = sqlite_connector(url)

    async def connect() -> InlineConnection:
        return InlineConnection(connector())

    return connect
