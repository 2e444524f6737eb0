"""One APScheduler `AsyncIOScheduler` ticking the jobs every `jobs.interval`.

APScheduler only rings the bell: the sweeps run in a task of Threadline's own, one tick at a
time, and ticks that arrive while one runs coalesce into one. All due state is in the database,
so a restart picks up where the last sweep stopped. (APScheduler's executor cancels running
coroutines at shutdown; a sweep cut off mid-transaction would lose nothing, but shutdown waits
for the current one to finish instead.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from bot.ports import Clock
from bot.sweeps import Sweeps
from jobs import autoclose, csat, digest, sla

log = logging.getLogger(__name__)

Job = Callable[[Sweeps, datetime], Awaitable[int]]
JOBS: dict[str, Job] = {
    "sla": sla.run,
    "csat": csat.run,
    "autoclose": autoclose.run,
    "digest": digest.run,
}


async def run_once(sweeps: Sweeps, now: datetime) -> dict[str, int]:
    """Every job once, at `now`; what each did. A job that fails is logged and counted -1,
    and the others still run."""
    done: dict[str, int] = {}
    for name, job in JOBS.items():
        try:
            done[name] = await job(sweeps, now)
        except Exception:
            log.exception("Job %s failed; it runs again at the next tick", name)
            done[name] = -1
    return done


class JobScheduler:
    def __init__(self, sweeps: Sweeps, interval: timedelta, clock: Clock) -> None:
        self._sweeps = sweeps
        self._interval = interval
        self._clock = clock
        self._due = asyncio.Event()
        self._stopping = False
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._worker: asyncio.Task[None] | None = None
        self.ticks = 0

    def start(self) -> None:
        self._scheduler.add_job(
            self._due.set,
            "interval",
            seconds=self._interval.total_seconds(),
            id="threadline-jobs",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),  # a first sweep right at start
        )
        self._scheduler.start()
        self._worker = asyncio.create_task(self._work(), name="threadline-jobs")

    async def _work(self) -> None:
        while True:
            await self._due.wait()
            self._due.clear()
            if self._stopping:
                return
            done = await run_once(self._sweeps, self._clock.now())
            self.ticks += 1
            if any(done.values()):
                log.info("Jobs: %s", ", ".join(f"{k} {v}" for k, v in done.items() if v))

    async def stop(self) -> None:
        self._stopping = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._due.set()
        if self._worker is not None:
            await self._worker
