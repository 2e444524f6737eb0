"""Shutdown waits for Slack work in progress and refuses what arrives after it began."""

from __future__ import annotations

import asyncio

import pytest

from integrations.slack.work import ShuttingDown, WorkInProgress


async def test_drain_waits_for_work_then_refuses_more() -> None:
    work = WorkInProgress()
    release = asyncio.Event()
    finished: list[str] = []

    async def handler() -> None:
        async with work.counted():
            await release.wait()
            finished.append("handled")

    running = asyncio.create_task(handler())
    await asyncio.sleep(0)
    draining = asyncio.create_task(work.drain())
    await asyncio.sleep(0.01)
    assert not draining.done()  # still waiting for the handler
    release.set()
    await draining
    await running
    assert finished == ["handled"]
    with pytest.raises(ShuttingDown):
        async with work.counted():
            pass
