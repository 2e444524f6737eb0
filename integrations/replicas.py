"""Which other replicas are alive: several `threadline run` on one PostgreSQL database.

Each replica keeps a row of its own in `leases` (`replica:<id>`, storage/leases_repository.py),
renewed every EVERY seconds and run out after TTL; counting the others' live rows tells whether
this process is alone. Only while it is not does the Slack desk read a thread back before every
agent's message (integrations/slack/in_doubt.py: a thread's events may reach different
replicas); a lone process on PostgreSQL pays that look only after a start or a failure, as on
SQLite. A replica that vanished may have held Slack events it never acknowledged, which Slack
sends again after newer ones: the listeners hear of it (`on_change`) and treat it as a restart.

A replica that starts while others run waits NOTICE seconds before it takes any events, so that
every other one has counted it by then: none of them relays a thread's message while an earlier
one of the same thread may already be at the newcomer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import timedelta

from bot.core.ports import Clock, Storage, SystemClock

log = logging.getLogger(__name__)

PREFIX = "replica:"
TTL = 10.0  # seconds a replica's row outlives it: how long a vanished one is counted
EVERY = 1.5  # seconds between renewals (and counts of the others)
NOTICE = 2 * EVERY + 0.5  # a newcomer's wait: two counts of every other replica, and a margin

Change = Callable[[int, int], None]  # (others before, others now)


def holder_id() -> str:
    """This process among the replicas: host, process id and a random part (a restarted
    process with the same pid is someone else)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Replicas:
    """This replica's row, renewed; the others counted at each renewal."""

    def __init__(
        self,
        storage: Storage,
        on_change: Change,
        *,
        holder: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._storage = storage
        self._on_change = on_change
        self.holder = holder or holder_id()
        self._name = PREFIX + self.holder
        # Wall-clock time, shared with the other replicas through the rows.
        self._clock = clock or SystemClock()
        self.others = 0
        self._running: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Be counted, count the others, and keep doing so; when others run, wait until they
        have counted this one. Returns how many others run."""
        self.others = await self._count()
        self._running = asyncio.create_task(self._keep(), name="replicas")
        if self.others:
            log.info("%d other replica(s) share the database; joining them", self.others)
            await asyncio.sleep(NOTICE)
        return self.others

    async def stop(self) -> None:
        if self._running is not None:
            self._running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._running
            self._running = None
        try:
            async with self._storage.transaction() as tx:
                await tx.release_lease(self._name, self.holder)
        except Exception as exc:  # it runs out by itself within TTL
            log.warning("Could not give up this replica's row: %s", exc)

    async def check(self) -> int:
        """Renew this replica's row and count the others once; tell `on_change` of a change."""
        before, self.others = self.others, await self._count()
        if self.others != before:
            log.info("Other replicas sharing the database: %d (were %d)", self.others, before)
            self._on_change(before, self.others)
        return self.others

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(EVERY)
            try:
                await self.check()
            except Exception as exc:  # the database away: counted again at the next round
                log.warning("Could not count the other replicas: %s", exc)

    async def _count(self) -> int:
        now = self._clock.now()
        async with self._storage.transaction() as tx:
            await tx.take_lease(self._name, self.holder, now, now + timedelta(seconds=TTL))
            return await tx.count_leases(PREFIX, now, besides=self._name)
