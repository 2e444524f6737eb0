"""Background passes: they survive failures (logged once), and stop waits for the one under way."""

from __future__ import annotations

import asyncio
import logging

import pytest

from integrations.repeating import Repeating
from tests.support import eventually


async def test_a_failing_pass_is_logged_once_and_the_passes_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    outcomes = [RuntimeError("database away")] * 3 + [None, RuntimeError("again")]
    done: list[object] = []

    async def work() -> None:
        outcome = outcomes.pop(0) if outcomes else None
        done.append(outcome)
        if outcome is not None:
            raise outcome

    passes = Repeating("test-passes", 0.001, work)
    passes.start()
    await eventually(lambda: _true(len(done) >= 6), what="six passes")
    await passes.stop()
    failures = [r for r in caplog.records if "a pass failed" in r.getMessage()]
    assert len(failures) == 2  # the first of each run of failures
    assert any("passes succeed again" in r.getMessage() for r in caplog.records)


async def test_stop_waits_for_the_pass_under_way(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    inside, release = asyncio.Event(), asyncio.Event()
    finished: list[bool] = []

    async def work() -> None:
        inside.set()
        await release.wait()
        finished.append(True)

    passes = Repeating("test-passes", 0.001, work)
    passes.start()
    await inside.wait()
    stopping = asyncio.create_task(passes.stop())
    await asyncio.sleep(0.02)
    assert not stopping.done()
    release.set()
    await stopping
    assert finished == [True]


async def _true(value: bool) -> bool:
    return value
