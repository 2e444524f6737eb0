"""Work in progress on the Slack side, so that shutdown can wait for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

DRAIN_SECONDS = 10.0  # how long shutdown waits for work in progress


class WorkInProgress:
    def __init__(self) -> None:
        self._count = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextlib.asynccontextmanager
    async def counted(self) -> AsyncIterator[None]:
        self._count += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._count -= 1
            if not self._count:
                self._quiet.set()

    async def drain(self) -> None:
        """Wait until nothing is being handled (call it after the connection is closed)."""
        async with asyncio.timeout(DRAIN_SECONDS):
            await self._quiet.wait()
