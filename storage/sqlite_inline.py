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

This keeps aiosqlite's API (SQLAlchemy's aiosqlite dialect drives it) and replaces only its hand-off
queue. That queue is aiosqlite's own (`Connection._tx`, also used by SQLAlchemy's adapter), so
pyproject pins aiosqlite below its next minor release and `tests/storage/test_sqlite_inline.py`
fails if the calls stop running inline.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL

Job = tuple["asyncio.Future[Any] | None", Callable[[], Any]]


class _RunNow:
    """Stands in for aiosqlite's queue to its worker thread: runs each call as it is queued."""

    def put_nowait(self, job: Job) -> None:
        future, function = job
        try:
            result = function()
        except BaseException as error:  # handed back to the awaiting caller, as aiosqlite does
            if future is not None and not future.done():
                future.set_exception(error)
        else:
            if future is not None and not future.done():
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection without the worker thread (awaiting a finished future returns at
    once, so a statement never leaves the event loop's thread)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no thread to start


def inline_creator(url: URL) -> Callable[[], InlineConnection]:
    """An `async_creator` for SQLAlchemy: the URL's own connect arguments (file, `uri`, ...),
    with no busy wait and no driver-side transactions (BEGIN is issued by `storage.db`)."""
    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(url)
    database = str(args[0])  # the file (or URI), as the dialect reads it off the URL
    options: dict[str, Any] = {
        **kwargs,
        "timeout": 0.0,
        "isolation_level": None,
        "check_same_thread": False,
    }

    def connect() -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(database, **options)
        return connection

    return lambda: InlineConnection(connect)
