"""APScheduler runs each job on its own schedule: the sweeps every `jobs.interval`, the digest
by a cron trigger at `jobs.digest_at` in `jobs.digest_timezone`.

Every job runs once right at start too (a digest whose hour passed while the bot was down is
still sent that day: the database's daily claim keeps it single). A job never overlaps itself
(`max_instances=1`), runs that piled up while one ran or while the loop was busy become one
(`coalesce`), and one that could not start within `MISFIRE_GRACE` of its time is skipped for
the next. All due state is in the database, so a restart picks up where the last run stopped.

APScheduler's executor cancels running coroutines at shutdown; a run cut off mid-transaction
would lose nothing but could leave a database connection half-open. So each run is a task of
our own, shielded from that cancel, and `stop()` waits for the runs under way.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from bot.core.ports import Clock
from bot.core.sla_policy import Jobs
from bot.core.sweeps import Sweeps
from jobs import autoclose, csat, digest, sla

log = logging.getLogger(__name__)

Job = Callable[[Sweeps, datetime], Awaitable[int]]
JOBS: dict[str, Job] = {
    "sla": sla.run,
    "csat": csat.run,
    "autoclose": autoclose.run,
    "digest": digest.run,
}
SWEEPS = ("sla", "csat", "autoclose")  # on the interval; the digest has its cron trigger
MISFIRE_GRACE = timedelta(minutes=5)


async def run_once(sweeps: Sweeps, now: datetime) -> dict[str, int]:
    """Every job once, at `now`; what each did. A job that fails is logged and counted -1,
    and the others still run."""
    return {name: await _run(name, sweeps, now) for name in JOBS}


async def _run(name: str, sweeps: Sweeps, now: datetime) -> int:
    try:
        return await JOBS[name](sweeps, now)
    except Exception:
        log.exception("Job %s failed; it runs again at its next time", name)
        return -1


def digest_trigger(policy: Jobs) -> CronTrigger:
    """Every day at `digest_at` in `digest_timezone` (DST handled by the zone)."""
    at = time.fromisoformat(policy.digest_at)
    return CronTrigger(hour=at.hour, minute=at.minute, timezone=ZoneInfo(policy.digest_timezone))


class JobScheduler:
    def __init__(self, sweeps: Sweeps, policy: Jobs, clock: Clock) -> None:
        self._sweeps = sweeps
        self._policy = policy
        self._clock = clock
        self._stopping = False
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: set[asyncio.Task[int]] = set()
        self.runs: Counter[str] = Counter()  # finished runs, by job

    def start(self) -> None:
        first = datetime.now(UTC)  # every job once right at start
        every = IntervalTrigger(seconds=self._policy.interval.total_seconds(), timezone=UTC)
        for name in SWEEPS:
            self._add(name, every, first)
        self._add("digest", digest_trigger(self._policy), first)
        self._scheduler.start()

    def _add(self, name: str, trigger: object, first: datetime) -> None:
        self._scheduler.add_job(
            self._runner(name),
            trigger,
            id=name,
            name=f"threadline {name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(MISFIRE_GRACE.total_seconds()),
            next_run_time=first,
        )

    def _runner(self, name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if self._stopping:
                return
            task = asyncio.create_task(_run(name, self._sweeps, self._clock.now()))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            try:
                done = await asyncio.shield(task)
            except asyncio.CancelledError:
                # APScheduler's shutdown: the run itself goes on and stop() waits for it.
                task.add_done_callback(lambda _: self.runs.update([name]))
                return
            self.runs[name] += 1
            if done > 0:
                log.info("Job %s: %d", name, done)
            else:
                log.debug("Job %s: nothing due", name)

        return run

    def job(self, name: str) -> object:
        """APScheduler's job of this name (for inspection)."""
        return self._scheduler.get_job(name)

    async def stop(self) -> None:
        """No new runs; the ones under way finish."""
        self._stopping = True
        if self._scheduler.running:
            # Runs APScheduler has handed to the loop but that have not started yet would be
            # cancelled by its shutdown, which logs each as an error: let them start (they
            # return at once) before shutting it down.
            self._scheduler.pause()
            for _ in range(3):
                await asyncio.sleep(0)
            self._scheduler.shutdown(wait=False)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
