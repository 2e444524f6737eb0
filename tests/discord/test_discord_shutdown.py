"""Shutdown waits for discord.py's handler tasks, so none is cut off holding the database."""

from __future__ import annotations

import asyncio

import pytest

from integrations.discord import runtime


async def test_shutdown_waits_for_handlers_still_at_work() -> None:
    done: list[str] = []

    async def on_message() -> None:
        await asyncio.sleep(0.05)
        done.append("recorded")

    handler = asyncio.create_task(on_message(), name="discord.py: on_message")
    unrelated = asyncio.create_task(asyncio.sleep(10), name="something else")
    await runtime.handlers_done()
    assert handler.done()
    assert done == ["recorded"]
    assert not unrelated.done()  # only discord.py's handlers are waited for
    unrelated.cancel()


async def test_a_handler_that_hangs_is_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "DRAIN_SECONDS", 0.05)
    stuck = asyncio.create_task(asyncio.sleep(10), name="discord-ui-view-dispatch-1")
    await runtime.handlers_done()
    assert stuck.cancelled()
