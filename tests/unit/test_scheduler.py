"""The scheduler: each job its own APScheduler job (the digest on a cron trigger), a run never
overlapping itself, and stop waiting for the runs under way."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from bot.core.sla_policy import Jobs
from bot.core.sweeps import Sweeps
from jobs.scheduler import MISFIRE_GRACE, JobScheduler, digest_trigger, run_once
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


HOURLY = Jobs(interval=timedelta(hours=1), digest_at="08:30", digest_timezone="Europe/Berlin")


async def test_run_once_runs_every_job_and_a_failure_does_not_stop_the_others() -> None:
    sweeps = Recording()
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    done = await run_once(cast(Sweeps, sweeps), now)
    assert done == {"sla": 2, "csat": -1, "autoclose": 0, "digest": 0}
    assert [name for name, _ in sweeps.seen] == ["sla", "autoclose", "digest"]
    assert all(at == now for _, at in sweeps.seen)


async def test_each_job_is_its_own_apscheduler_job_and_the_digest_is_a_cron_job() -> None:
    scheduler = JobScheduler(cast(Sweeps, Recording()), HOURLY, FakeClock())
    scheduler.start()
    try:
        for name in ("sla", "csat", "autoclose", "digest"):
            job: Any = scheduler.job(name)
            assert (job.max_instances, job.coalesce) == (1, True)
            assert job.misfire_grace_time == MISFIRE_GRACE.total_seconds()
        sweep: Any = scheduler.job("sla")
        assert sweep.trigger.interval == timedelta(hours=1)
    finally:
        await scheduler.stop()


def test_the_digest_fires_at_its_hour_in_its_time_zone_across_dst() -> None:
    trigger = digest_trigger(HOURLY)
    berlin = ZoneInfo("Europe/Berlin")
    # The night summer time begins (29 March 2026): 08:30 in Berlin is 06:30 UTC after it.
    before = datetime(2026, 3, 28, 9, 0, tzinfo=berlin)
    first = trigger.get_next_fire_time(None, before)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    assert first.astimezone(UTC) == datetime(2026, 3, 29, 6, 30, tzinfo=UTC)
    assert second.astimezone(UTC) == datetime(2026, 3, 30, 6, 30, tzinfo=UTC)
    assert (first.astimezone(berlin).hour, second.astimezone(berlin).minute) == (8, 30)


async def test_every_job_runs_at_start_and_stop_waits_for_a_run_under_way() -> None:
    sweeps = Recording()
    sweeps.release.clear()  # the first SLA sweep is still running when stop is asked for
    clock = FakeClock()
    scheduler = JobScheduler(cast(Sweeps, sweeps), HOURLY, clock)
    scheduler.start()

    async def others_ran() -> bool:
        return {"csat", "autoclose", "digest"} <= set(scheduler.runs)

    await eventually(others_ran, what="the first run of each job")
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # the SLA sweep is not cut off mid-transaction
    sweeps.release.set()
    await stopping
    assert ("sla", clock.now()) in sweeps.seen
    assert scheduler.runs["sla"] == 1


async def test_a_job_never_overlaps_itself(caplog: pytest.LogCaptureFixture) -> None:
    sweeps = Recording()
    scheduler = JobScheduler(cast(Sweeps, sweeps), HOURLY, FakeClock())
    scheduler.start()
    await eventually(lambda: _ran(scheduler, "sla", 1), what="the first SLA sweep")
    sweeps.release.clear()
    job: Any = scheduler.job("sla")
    job.modify(next_run_time=datetime.now(UTC))  # due again: one run starts and waits
    await eventually(lambda: _under_way(scheduler), what="the second SLA sweep to start")
    caplog.set_level(logging.WARNING, logger="apscheduler")
    for _ in range(3):  # due again and again while it runs: skipped, not stacked
        job.modify(next_run_time=datetime.now(UTC))
        await asyncio.sleep(0.02)
    sweeps.release.set()
    await eventually(lambda: _ran(scheduler, "sla", 2), what="the second SLA sweep")
    await asyncio.sleep(0.05)
    await scheduler.stop()
    assert scheduler.runs["sla"] == 2
    assert "maximum number of running instances reached" in caplog.text


async def _ran(scheduler: JobScheduler, name: str, runs: int) -> bool:
    return scheduler.runs[name] >= runs


async def _under_way(scheduler: JobScheduler) -> bool:
    return bool(scheduler._running)


async def _ran(scheduler: JobScheduler, name: str, runs: int) -> bool:
    return scheduler.runs[name] >= runs


async def _under_way(scheduler: JobScheduler) -> bool:
    return bool(scheduler._running)


async def test_stopping_right_after_start_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    scheduler = JobScheduler(cast(Sweeps, Recording()), HOURLY, FakeClock())
    scheduler.start()
    await asyncio.sleep(0)  # the first runs are handed to the loop, not started yet
    await scheduler.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
