"""Work in progress on the Slack side, so that shutdown can wait for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

DRAIN_SECONDS = 10.0  # how long shutdown waits for work in progress


class ShuttingDown(Exception):
    """Work that arrives once shutdown has begun is refused, so it is never acknowledged and
    Slack delivers it again to the next connection."""


class WorkInProgress:
    def __init__(self) -> None:
        self._count = 0
        self._closed = False
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextlib.asynccontextmanager
    async def counted(self) -> AsyncIterator[None]:
        if self._closed:
            raise ShuttingDown("Threadline is shutting down; Slack will deliver this again")
        self._count += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._count -= 1
            if not self._count:
                self._quiet.set()

    async def drain(self) -> None:
        """Refuse new work and wait until nothing is being handled (call it after the
        connection is closed)."""
        self._closed = True
        async with asyncio.timeout(DRAIN_SECONDS):
            await self._quiet.wait()
