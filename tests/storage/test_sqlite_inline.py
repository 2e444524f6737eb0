"""SQLite statements run on the event loop's thread, and waiting for another process's write lock
never stops the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.errors import StorageError
from storage import db
from storage.db import begin, create_engine


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


async def test_another_process_writing_is_waited_for_without_blocking(
    engine: AsyncEngine, tmp_path: Path
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
        async with begin(engine) as conn:
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


async def test_a_lock_held_too_long_is_a_clear_error(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_LOCK_WAIT_SECONDS", 0.2)
    other = sqlite3.connect(f"{tmp_path}/inline.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StorageError, match="database is locked"):
        async with begin(engine) as conn:
            await conn.execute(text("INSERT INTO notes VALUES ('ours')"))
    other.execute("ROLLBACK")
    other.close()
    async with begin(engine) as conn:  # and the engine is fine afterwards
        await conn.execute(text("INSERT INTO notes VALUES ('ours')"))


async def test_a_failed_transaction_rolls_back(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with begin(engine) as conn:
            await conn.execute(text("INSERT INTO notes VALUES ('lost')"))
            raise RuntimeError("use case failed")
    async with begin(engine, read_only=True) as conn:
        assert (await conn.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 0
