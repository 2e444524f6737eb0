"""SQLite statements run on the event loop's thread, and waiting for another process's write lock
never stops the event loop: for the asyncio engine (`begin`) and for the repository's
transactions on its synchronous twin (`begin_statements`, storage/sqlite_direct.py)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.errors import StorageError
from storage import db
from storage.db import Statements, begin, begin_statements, connections_in_use, create_engine
from storage.migrate import upgrade
from storage.repository import SqlStorage
from storage.sqlite_direct import DirectConnection

Opener = Callable[..., AbstractAsyncContextManager[Statements]]
OPENERS = [pytest.param(begin, id="asyncio"), pytest.param(begin_statements, id="direct")]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/inline.db")
    async with begin(engine) as conn:
        await conn.execute(text("CREATE TABLE notes (body TEXT)"))
    yield engine
    await engine.dispose()


async def test_statements_run_on_the_callers_thread(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _whoami(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("whoami", 0, threading.get_ident)

    await engine.dispose()  # new connections get the function
    async with begin(engine, read_only=True) as conn:
        runs_on = (await conn.execute(text("SELECT whoami()"))).scalar_one()
    assert runs_on == threading.get_ident()  # no worker thread in between


@pytest.mark.parametrize("opener", OPENERS)
async def test_another_process_writing_is_waited_for_without_blocking(
    engine: AsyncEngine, tmp_path: Path, opener: Opener
) -> None:
    other = sqlite3.connect(f"{tmp_path}/inline.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    other.execute("INSERT INTO notes VALUES ('theirs')")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with opener(engine) as conn:
            await conn.execute(text("INSERT INTO notes VALUES ('ours')"))

    ticking = asyncio.create_task(tick())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not writing.done()  # waiting for the lock…
    assert ticks >= 10  # …while the event loop goes on
    other.execute("COMMIT")
    await asyncio.wait_for(writing, 5)
    ticking.cancel()
    async with begin(engine, read_only=True) as conn:
        bodies = (await conn.execute(text("SELECT body FROM notes"))).scalars().all()
    assert bodies == ["theirs", "ours"]
    other.close()


@pytest.mark.parametrize("opener", OPENERS)
async def test_a_lock_held_too_long_is_a_clear_error(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opener: Opener
) -> None:
    monkeypatch.setattr(db, "SQLITE_LOCK_WAIT_SECONDS", 0.2)
    other = sqlite3.connect(f"{tmp_path}/inline.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StorageError, match="database is locked"):
        async with opener(engine) as conn:
            await conn.execute(text("INSERT INTO notes VALUES ('ours')"))
    assert connections_in_use(engine) == 0
    other.execute("ROLLBACK")
    other.close()
    async with opener(engine) as conn:  # and the engine is fine afterwards
        await conn.execute(text("INSERT INTO notes VALUES ('ours')"))


@pytest.mark.parametrize("opener", OPENERS)
async def test_a_failed_transaction_rolls_back(engine: AsyncEngine, opener: Opener) -> None:
    with pytest.raises(RuntimeError):
        async with opener(engine) as conn:
            await conn.execute(text("INSERT INTO notes VALUES ('lost')"))
            raise RuntimeError("use case failed")
    async with begin(engine, read_only=True) as conn:
        assert (await conn.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 0


async def test_the_repository_runs_on_the_synchronous_twin(engine: AsyncEngine) -> None:
    async with begin_statements(engine) as conn:
        assert isinstance(conn, DirectConnection)
        assert connections_in_use(engine) == 1  # counted, for the warning at shutdown
        await conn.execute(text("INSERT INTO notes VALUES ('kept')"))
        with pytest.raises(RuntimeError):
            async with conn.begin_nested():  # a savepoint undoes its own part only
                await conn.execute(text("INSERT INTO notes VALUES ('undone')"))
                raise RuntimeError("one part failed")
    assert connections_in_use(engine) == 0
    async with begin_statements(engine, read_only=True) as conn:
        assert await conn.scalar(text("SELECT group_concat(body) FROM notes")) == "kept"


async def test_a_read_only_transaction_takes_no_write_lock(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    other = sqlite3.connect(f"{tmp_path}/inline.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is writing: reading needs no wait
    async with begin_statements(engine, read_only=True) as conn:
        assert await conn.scalar(text("SELECT count(*) FROM notes")) == 0
    other.execute("ROLLBACK")
    other.close()


async def test_disposing_of_the_engine_closes_the_twins_connections(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with begin_statements(engine) as conn:
        await conn.execute(text("INSERT INTO notes VALUES ('ours')"))
    assert (tmp_path / "inline.db-wal").exists()
    await engine.dispose()
    # SQLite removes the write-ahead log when its last connection closes: none is left open.
    assert not (tmp_path / "inline.db-wal").exists()


async def test_an_in_memory_database_keeps_the_asyncio_engine() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        await upgrade(engine)
        storage = SqlStorage(engine)
        async with begin_statements(engine) as conn:
            assert not isinstance(conn, DirectConnection)  # the twin would be another database
        async with storage.transaction() as tx:
            assert await tx.count("tickets") == 0
    finally:
        await engine.dispose()
