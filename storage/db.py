"""Engines and transactions for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, Transaction, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncTransaction,
    create_async_engine,
)

from bot.core.errors import ConfigError, StorageError
from storage.sqlite_direct import DirectConnection, direct_engine
from storage.sqlite_inline import inline_creator
from storage.wal import in_memory

log = logging.getLogger(__name__)

# How long a writer waits for another process's write lock on an SQLite file before giving up.
SQLITE_LOCK_WAIT_SECONDS = 10.0
SUPPORTED = ("sqlite+aiosqlite", "postgresql+asyncpg")


def normalise_url(raw: str) -> str:
    """Accept the URL forms people paste and name the async driver Threadline uses."""
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL: not a database URL ({exc})") from None
    driver = url.drivername
    if driver in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+asyncpg")
    elif driver in ("sqlite", "sqlite+pysqlite"):
        url = url.set(drivername="sqlite+aiosqlite")
    if url.drivername not in SUPPORTED:
        raise ConfigError(
            f"DATABASE_URL: unsupported database '{driver}'; expected sqlite+aiosqlite:///FILE "
            "or postgresql+asyncpg://USER@HOST/DB"
        )
    return url.render_as_string(hide_password=False)


def describe(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(
    raw_url: str, *, checkpoints_elsewhere: bool = False, **kwargs: Any
) -> AsyncEngine:
    """`checkpoints_elsewhere`: SQLite's connections never checkpoint the write-ahead log
    themselves; the caller runs `storage.wal.WalCheckpoints` (the running bot does)."""
    url = make_url(normalise_url(raw_url))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, checkpoints_elsewhere, **kwargs)
    # No ping before each checkout: it is a round trip to the server for every transaction. A
    # connection the server dropped (a restart) fails its first statement instead; SQLAlchemy
    # then discards every pooled connection older than the failure, and the caller retries as it
    # does for any unreachable database (bench/chaos.py's postgres scenario).
    return create_async_engine(url, **kwargs)


def _sqlite_engine(url: URL, checkpoints_elsewhere: bool, **kwargs: Any) -> AsyncEngine:
    engine = create_async_engine(
        url,
        async_creator=inline_creator(url),  # statements run on the loop's thread: see there
        # Every transaction ends in an explicit COMMIT or ROLLBACK; another rollback when the
        # connection returns to the pool would only cost one more trip to its thread.
        pool_reset_on_return=None,
        **kwargs,
    )
    _set_pragmas_on_connect(engine.sync_engine, checkpoints_elsewhere)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        reading = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql(_begin_sql(reading))

    if not in_memory(url):  # a memory database is one per connection: no second engine on it
        direct = direct_engine(url)
        _set_pragmas_on_connect(direct, checkpoints_elsewhere)  # its BEGIN: `_begin_direct`
        _DIRECT[engine] = direct

        @event.listens_for(engine.sync_engine, "engine_disposed")
        def _on_disposed(_engine: Any) -> None:
            direct.dispose()  # whoever disposes of the engine closes its twin's connections

    return engine


def _set_pragmas_on_connect(engine: Engine, checkpoints_elsewhere: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver never begins a transaction by itself (`sqlite_connector` connects with
        # isolation_level None): BEGIN is ours (`_begin_sql`).
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # In WAL mode NORMAL syncs at checkpoints rather than at every commit: a crashed or
        # killed process loses nothing; only a power cut may lose the last moments.
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Never wait for a lock inside SQLite: that would stop the event loop. `begin` waits
        # for another process's write lock asynchronously instead.
        cursor.execute("PRAGMA busy_timeout=0")
        if checkpoints_elsewhere:
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # see storage/wal.py
        cursor.close()


def _begin_sql(read_only: bool) -> str:
    # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
    # fails with SQLITE_BUSY when another writer went first, whereas this one fails (if at all)
    # before it read anything, so `begin` can wait and try again. Read-only transactions need no
    # lock (WAL).
    return "BEGIN" if read_only else "BEGIN IMMEDIATE"


# An SQLite file's asyncio engine → the synchronous engine its repository transactions run on
# (storage/sqlite_direct.py). Weak: the pair goes when the engine does.
_DIRECT: WeakKeyDictionary[AsyncEngine, Engine] = WeakKeyDictionary()

READ_ONLY = "threadline_read_only"


@asynccontextmanager
async def begin(engine: AsyncEngine, *, read_only: bool = False) -> AsyncIterator[AsyncConnection]:
    """A transaction; an unreachable database becomes a StorageError naming it."""
    conn, trans = await _begin_waiting(engine, lambda: _begin_async(engine, read_only))
    try:
        yield conn
    except BaseException:
        await trans.rollback()
        raise
    else:
        await trans.commit()
    finally:
        await conn.close()


# What the repository's transactions run on: see `begin_statements`.
Statements = AsyncConnection | DirectConnection


@asynccontextmanager
async def begin_statements(
    engine: AsyncEngine, *, read_only: bool = False
) -> AsyncIterator[Statements]:
    """`begin`, for the repository: on an SQLite file, on its synchronous twin
    (storage/sqlite_direct.py), where a statement costs a fraction of the asyncio engine's."""
    direct = _DIRECT.get(engine)
    if direct is None:
        async with begin(engine, read_only=read_only) as conn:
            yield conn
        return
    sync, trans = await _begin_waiting(engine, lambda: _begin_direct(engine, direct, read_only))
    try:
        yield DirectConnection(sync)
    except BaseException:
        trans.rollback()
        raise
    else:
        trans.commit()
    finally:
        sync.close()


_Begun = TypeVar("_Begun")


async def _begin_waiting(engine: AsyncEngine, attempt: Callable[[], Awaitable[_Begun]]) -> _Begun:
    """Connect and begin; while another process holds SQLite's write lock, wait without
    blocking the event loop (the connection itself never waits: see `_sqlite_engine`)."""
    waited, pause = 0.0, 0.002
    while True:
        try:
            return await attempt()
        except (OperationalError, sqlite3.OperationalError) as exc:  # the latter: `_begin_direct`
            if not _locked(exc) or waited >= SQLITE_LOCK_WAIT_SECONDS:
                raise unreachable(engine, exc) from None
        await asyncio.sleep(pause)
        waited += pause
        pause = min(pause * 2, 0.1)


async def _begin_async(
    engine: AsyncEngine, read_only: bool
) -> tuple[AsyncConnection, AsyncTransaction]:
    conn = await _connect(engine, read_only)
    try:
        return conn, await conn.begin()
    except BaseException:
        await conn.close()  # a failed BEGIN leaves the wrapper unusable; the pool is fine
        raise


async def _begin_direct(
    engine: AsyncEngine, direct: Engine, read_only: bool
) -> tuple[Connection, Transaction]:
    try:
        conn = direct.connect()
    except (OSError, DBAPIError) as exc:
        raise _refused(engine, exc) from None
    try:
        trans = conn.begin()  # SQLAlchemy's bookkeeping: the driver itself begins nothing
        # BEGIN straight on the driver's connection: through SQLAlchemy (an event running the
        # statement, as the asyncio engine's does) it cost several times SQLite's own work.
        driver = conn.connection.dbapi_connection
        assert driver is not None  # checked out just now
        driver.execute(_begin_sql(read_only))
        return conn, trans
    except BaseException:
        conn.close()
        raise


async def _connect(engine: AsyncEngine, read_only: bool) -> AsyncConnection:
    try:
        conn = await engine.connect()
        if read_only:
            await conn.execution_options(**{READ_ONLY: True})
    except (OSError, DBAPIError) as exc:
        raise _refused(engine, exc) from None
    return conn


def _refused(engine: AsyncEngine, exc: OSError | DBAPIError) -> StorageError:
    """A failure to connect, as the caller should see it."""
    if isinstance(exc, OSError | OperationalError | InterfaceError):
        return unreachable(engine, exc)
    return StorageError(f"The database at {describe(str(engine.url))} refused: {exc.orig}")


def _locked(exc: OperationalError | sqlite3.OperationalError) -> bool:
    """SQLite's 'database is locked': another process is writing."""
    driver = exc.orig if isinstance(exc, OperationalError) else exc
    code = getattr(driver, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_BUSY or "database is locked" in str(driver)


def connections_in_use(engine: AsyncEngine) -> int:
    pools = [engine.pool]
    if (direct := _DIRECT.get(engine)) is not None:
        pools.append(direct.pool)
    return sum(int(pool.checkedout()) for pool in pools if hasattr(pool, "checkedout"))


async def dispose(engine: AsyncEngine) -> None:
    """Close the engine's connections. One still checked out here belongs to work that outlived
    its shutdown: it would never be closed, so say so."""
    in_use = connections_in_use(engine)
    if in_use:
        log.warning("%d database connection(s) still in use at shutdown", in_use)
    await engine.dispose()


def unreachable(engine: AsyncEngine, exc: BaseException) -> StorageError:
    reason = getattr(exc, "orig", None) or exc
    where = engine.url.render_as_string(hide_password=True)
    return StorageError(f"Cannot reach the database at {where}: {reason}")
