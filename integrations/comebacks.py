"""A platform back after an outage: what waited for it is sent at once.

A delivery that failed while a platform was away waits out a backoff that doubles with each
failure (to minutes, over a long outage), so without this the queue would drain long after the
platform is back. The same checks that `/healthz` runs are read every few seconds; a platform
that goes from down to up makes the dispatcher send what waits for a retry now.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from integrations.http import HEALTHY, HealthCheck, state_of
from integrations.repeating import Repeating

log = logging.getLogger(__name__)

EVERY = 2.0  # seconds between looks


class Comebacks:
    """Runs `back(name)` when the check `name` turns healthy again (not on the first look)."""

    def __init__(
        self, checks: Mapping[str, HealthCheck], back: Callable[[str], Awaitable[object]]
    ) -> None:
        self._checks = dict(checks)
        self._back = back
        self._up: dict[str, bool] = {}
        self.repeating = Repeating("comebacks", EVERY, self.look)

    async def look(self) -> list[str]:
        """One look; returns the names that came back."""
        returned = []
        for name, check in self._checks.items():
            up = await state_of(check) in HEALTHY
            if up and self._up.get(name) is False:
                log.info("%s is back: sending what waited for it", name)
                returned.append(name)
            self._up[name] = up
        for name in returned:
            await self._back(name)
        return returned
