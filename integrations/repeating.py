"""Background work that runs again and again (retrying failed events), and never dies of one
failure."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Repeating:
    """`work` every `seconds` until `stop()`.

    A pass that fails is logged (once, until a pass succeeds again: a database that is away for
    an hour is not an error every two seconds) and the next pass tries again. `stop()` lets the
    pass under way finish, so a transaction is never cut off in the middle.
    """

    def __init__(self, name: str, seconds: float, work: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self.seconds = seconds  # read before each wait: tests may shorten it
        self._work = work
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.seconds)
            if self._stopping.is_set():
                return
            await self._pass()

    async def _pass(self) -> None:
        try:
            await self._work()
        except Exception:
            if not self._failing:
                log.exception(
                    "%s: a pass failed; trying again every %.0f s", self.name, self.seconds
                )
            self._failing = True
            return
        if self._failing:
            log.info("%s: passes succeed again", self.name)
        self._failing = False

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
