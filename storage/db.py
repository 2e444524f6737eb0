"""Engines and transactions for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.errors import ConfigError, StorageError

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
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


def create_engine(raw_url: str, **kwargs: Any) -> AsyncEngine:
    url = make_url(normalise_url(raw_url))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_engine(url: URL, **kwargs: Any) -> AsyncEngine:
    engine = create_async_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        # Every transaction ends in an explicit COMMIT or ROLLBACK; another rollback when the
        # connection returns to the pool would only cost one more trip to its thread.
        pool_reset_on_return=None,
        **kwargs,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that BEGIN is ours (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # In WAL mode NORMAL syncs at checkpoints rather than at every commit: a crashed or
        # killed process loses nothing; only a power cut may lose the last moments.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
        # writes fails at once with SQLITE_BUSY when another writer went first, whereas this one
        # waits its turn and then reads fresh rows. Read-only transactions need no lock (WAL).
        reading = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


READ_ONLY = "threadline_read_only"


@asynccontextmanager
async def begin(engine: AsyncEngine, *, read_only: bool = False) -> AsyncIterator[AsyncConnection]:
    """A transaction; an unreachable database becomes a StorageError naming it."""
    try:
        conn = await engine.connect()
        if read_only:
            await conn.execution_options(**{READ_ONLY: True})
    except (OSError, OperationalError, InterfaceError) as exc:
        raise unreachable(engine, exc) from None
    except DBAPIError as exc:
        raise StorageError(
            f"The database at {describe(str(engine.url))} refused: {exc.orig}"
        ) from None
    try:
        async with conn.begin():
            yield conn
    finally:
        await conn.close()


def connections_in_use(engine: AsyncEngine) -> int:
    pool = engine.pool
    return int(pool.checkedout()) if hasattr(pool, "checkedout") else 0


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
