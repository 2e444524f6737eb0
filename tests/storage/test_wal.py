"""The running bot's SQLite connections never checkpoint the write-ahead log inside a commit (on
the event loop); `WalCheckpoints` does it on a worker thread instead (storage/wal.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage.db import create_engine, dispose
from storage.wal import WalCheckpoints, in_memory

BLOB = "x" * 100_000  # about 25 pages of the log a row
ROWS = 60  # about 1,500 pages: past SQLite's automatic checkpoint at 1,000


async def _write(url: str, *, checkpoints_elsewhere: bool) -> None:
    engine = create_engine(url, checkpoints_elsewhere=checkpoints_elsewhere)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE IF NOT EXISTS t (body TEXT)"))
        for _ in range(ROWS):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (body) VALUES (:b)"), {"b": BLOB})
        checkpoints = WalCheckpoints(engine.url)
        try:
            await checkpoints.checkpoint()
            assert checkpoints.last is not None
            busy, frames, copied = checkpoints.last
            if checkpoints_elsewhere:
                # Every commit's pages are still in the log: none checkpointed on its own ...
                assert frames > 1_000
                # ... until this checkpoint copied them all, off the loop.
                assert (busy, copied) == (0, frames)
            else:
                assert frames < 1_000  # SQLite checkpointed inside some commit
        finally:
            checkpoints.close()
    finally:
        await dispose(engine)


async def test_the_bots_connections_leave_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    await _write(f"sqlite+aiosqlite:///{tmp_path}/bot.db", checkpoints_elsewhere=True)


async def test_other_connections_keep_sqlites_own_checkpoints(tmp_path: Path) -> None:
    await _write(f"sqlite+aiosqlite:///{tmp_path}/cli.db", checkpoints_elsewhere=False)


def test_an_in_memory_database_has_no_log_to_checkpoint() -> None:
    assert in_memory(create_engine("sqlite+aiosqlite://").url)
    assert in_memory(create_engine("sqlite+aiosqlite:///:memory:").url)
    assert not in_memory(create_engine("sqlite+aiosqlite:////tmp/bot.db").url)
