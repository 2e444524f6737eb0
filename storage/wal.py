"""SQLite's WAL checkpoints on a worker thread, not inside a commit on the event loop.

Left to itself, SQLite checkpoints inside whichever commit takes the write-ahead log past
`wal_autocheckpoint` pages: that call copies the log into the database file and syncs it. The
running bot's connections run on the event loop's thread (storage/sqlite_inline.py), so such a
commit stopped the loop for as long as the disk took, every few thousand messages: a relayed
message's worst latencies. The bot's engine turns automatic checkpoints off (`create_engine`'s
`checkpoints_elsewhere`) and runs `WalCheckpoints` instead: a PASSIVE checkpoint every second
on a connection of its own, in a thread (sqlite3 releases the GIL while it works), which waits
for no reader or writer and is simply tried again later when it cannot finish. Any other
process on the same file (a CLI command) keeps SQLite's own checkpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

EVERY_SECONDS = 1.0


class WalCheckpoints:
    """Checkpoints one SQLite database's write-ahead log, off the event loop."""

    def __init__(self, url: URL, every: float = EVERY_SECONDS) -> None:
        args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(url)
        self._database = str(args[0])
        self._options: dict[str, Any] = {**kwargs, "timeout": 0.0, "check_same_thread": False}
        self._every = every
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one checkpoint at a time, and none after `close`
        # The last checkpoint's answer: (1 if it could not finish, frames in the log, frames
        # copied into the database), as `PRAGMA wal_checkpoint` gives it.
        self.last: tuple[int, int, int] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Checkpoint every `every` seconds until `stop` is set."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._every)
            await self.checkpoint()

    async def checkpoint(self) -> None:
        """One PASSIVE checkpoint, on a worker thread; a failure is logged and left for the
        next one (the log only grows meanwhile)."""
        try:
            await asyncio.to_thread(self._checkpoint)
        except sqlite3.Error as exc:
            log.warning("SQLite checkpoint failed; trying again shortly: %s", exc)

    def _checkpoint(self) -> None:
        with self._lock:
            if self._conn is None:
                self._conn = sqlite3.connect(self._database, **self._options)
            [(busy, frames, copied)] = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self.last = (int(busy), int(frames), int(copied))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def in_memory(url: URL) -> bool:
    """Whether the URL names an in-memory database (no file, no write-ahead log)."""
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database
