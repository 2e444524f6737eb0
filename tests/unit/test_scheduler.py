"""The scheduler: APScheduler rings, the sweeps run one tick at a time, stop waits for them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from bot.sweeps import Sweeps
from jobs.scheduler import JobScheduler, run_once
from tests.support import FakeClock, eventually


class Recording:
    """Stands in for Sweeps: records the `now` of each sweep; `csat` fails."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, datetime]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def sla(self, now: datetime) -> int:
        await self.release.wait()
        self.seen.append(("sla", now))
        return 2

    async def csat(self, now: datetime) -> int:
        raise RuntimeError("the survey sweep broke")

    async def autoclose(self, now: datetime) -> int:
        self.seen.append(("autoclose", now))
        return 0

    async def digest(self, now: datetime) -> int:
        self.seen.append(("digest", now))
        return 0


async def test_run_once_runs_every_job_and_a_failure_does_not_stop_the_others() -> None:
    sweeps = Recording()
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    done = await run_once(cast(Sweeps, sweeps), now)
    assert done == {"sla": 2, "csat": -1, "autoclose": 0, "digest": 0}
    assert [name for name, _ in sweeps.seen] == ["sla", "autoclose", "digest"]
    assert all(at == now for _, at in sweeps.seen)


async def test_the_first_tick_comes_at_start_and_stop_waits_for_it() -> None:
    sweeps = Recording()
    sweeps.release.clear()  # the first sweep is still running when stop is asked for
    clock = FakeClock()
    scheduler = JobScheduler(cast(Sweeps, sweeps), timedelta(hours=1), clock)
    scheduler.start()
    job: Any = scheduler._scheduler.get_job("threadline-jobs")
    assert (job.max_instances, job.coalesce) == (1, True)
    assert job.trigger.interval == timedelta(hours=1)
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()
    sweeps.release.set()
    await stopping
    assert sweeps.seen[0] == ("sla", clock.now())
    assert scheduler.ticks == 1


async def test_ticks_that_arrive_during_a_sweep_coalesce() -> None:
    sweeps = Recording()
    scheduler = JobScheduler(cast(Sweeps, sweeps), timedelta(hours=1), FakeClock())
    scheduler.start()

    async def ticked() -> bool:
        return scheduler.ticks >= 1

    await eventually(ticked, what="the first tick")
    sweeps.release.clear()
    for _ in range(5):
        scheduler._due.set()  # APScheduler rings five times while one sweep runs
    await asyncio.sleep(0.05)
    sweeps.release.set()
    await eventually(lambda: _at_least(scheduler, 2), what="the coalesced tick")
    await asyncio.sleep(0.05)
    await scheduler.stop()
    assert scheduler.ticks == 2


async def _at_least(scheduler: JobScheduler, ticks: int) -> bool:
    return scheduler.ticks >= ticks
