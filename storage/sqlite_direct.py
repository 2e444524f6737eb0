"""The repository's transactions on an SQLite file, run on SQLAlchemy's synchronous Connection.

SQLAlchemy's asyncio extension runs every statement in a greenlet and through an adapter that
turns each driver call into an awaitable: on the event loop's own thread, with a driver that never
waits (`storage.sqlite_inline`), that machinery was all it did, some 40 µs a statement and more
for each BEGIN and COMMIT, against SQLite's few µs. A customer's message runs about ten of them.
So the repository (`storage.repository.SqlStorage`) runs its transactions on an SQLite file through
a synchronous engine of the same file, the same Core statements on the same dialect, and
`DirectConnection` gives it the part of `AsyncConnection`'s interface it uses. The statements never
wait either (busy_timeout 0: see `storage.db`), so running them straight from a coroutine stops the
event loop no longer than running them inline did. Everything else (migrations, the metrics'
reads, the write-ahead log's checkpoints) keeps the asyncio engine, and an in-memory database
(one per connection) has no direct engine: its transactions keep the asyncio engine too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Never, TypeVar, TypeVarTuple, cast, overload

from sqlalchemy import URL, CursorResult, Executable, create_engine
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql.selectable import TypedReturnsRows

from storage.sqlite_inline import sqlite_connector

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")
Options = Mapping[str, Any] | None


def direct_engine(url: URL) -> Engine:
    """A synchronous engine on the asyncio engine's file, connecting as it does (the caller
    gives it the same connect event; its BEGIN is `storage.db._begin_direct`)."""
    return create_engine(
        url.set(drivername="sqlite+pysqlite"),
        creator=sqlite_connector(url),
        # Never block the event loop waiting for a pooled connection: past the five kept,
        # another is opened (SQLite connections are cheap) rather than waited for.
        poolclass=QueuePool,
        max_overflow=-1,
        # Every transaction ends in an explicit COMMIT or ROLLBACK (`storage.db`).
        pool_reset_on_return=None,
    )


class DirectConnection:
    """The part of `AsyncConnection` the repository uses, on a synchronous Connection."""

    def __init__(self, connection: Connection) -> None:
        self.sync_connection = connection

    @property
    def dialect(self) -> Dialect:
        return self.sync_connection.dialect

    @property
    def driver(self) -> sqlite3.Connection:
        """The sqlite3 connection underneath, in this transaction: what `storage.prepared`
        runs its statements on."""
        # `sqlite_connector` made it; SQLAlchemy types it as any driver's connection.
        return cast(sqlite3.Connection, self.sync_connection.connection.dbapi_connection)

    @overload
    async def execute(
        self,
        statement: TypedReturnsRows[*_Ts],
        parameters: Any = None,
        *,
        execution_options: Options = None,
    ) -> CursorResult[*_Ts]: ...

    @overload
    async def execute(
        self,
        statement: Executable,
        parameters: Any = None,
        *,
        execution_options: Options = None,
    ) -> CursorResult[*tuple[Any, ...]]: ...

    async def execute(
        self,
        statement: Executable,
        parameters: Any = None,
        *,
        execution_options: Options = None,
    ) -> CursorResult[*tuple[Any, ...]]:
        return self.sync_connection.execute(
            statement, parameters, execution_options=execution_options
        )

    @overload
    async def scalar(self, statement: TypedReturnsRows[Never]) -> Any | None: ...

    @overload
    async def scalar(self, statement: TypedReturnsRows[_T]) -> _T | None: ...

    @overload
    async def scalar(self, statement: Executable) -> Any: ...

    async def scalar(self, statement: Executable) -> Any:
        return self.sync_connection.scalar(statement)

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        """A savepoint: released when the block ends, rolled back when it raises."""
        with self.sync_connection.begin_nested():
            yield
