"""Waiting for an emulator to reach a state, without polling (shared by both emulators)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Notifier:
    """Wakes waiters whenever the state they watch may have changed.

    Every state change calls `notify()`; `wait_for()` re-checks its predicate after each one.
    `revision` counts the changes, so an observer (the playground) can tell whether anything
    changed since it last looked, and `changed()` waits for the next one.
    """

    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self._waiters = 0
        self.revision = 0

    def notify(self) -> None:
        """Something changed: count it and wake every waiter so it re-checks its predicate."""
        self.revision += 1
        if self._waiters:
            self._changed.set()
            self._changed = asyncio.Event()

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float,  # noqa: ASYNC109 - a deadline for a state, not for one awaited call
    ) -> T:
        """Return the first truthy value of `predicate()`; raise TimeoutError after `timeout` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._waiters += 1
        try:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s")
                changed = self._changed
                try:
                    await asyncio.wait_for(changed.wait(), remaining)
                except TimeoutError:
                    continue
        finally:
            self._waiters -= 1

    async def changed(self, after: int) -> int:
        """Wait until `revision` passes `after` (at once if it already has); the new revision."""
        self._waiters += 1
        try:
            while self.revision <= after:
                await self._changed.wait()
        finally:
            self._waiters -= 1
        return self.revision
