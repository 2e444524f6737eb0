"""KeyedLocks: one key's holders go one at a time in arrival order; other keys run alongside."""

from __future__ import annotations

import asyncio

from integrations.slack.ordering import KeyedLocks


async def test_one_key_in_order_other_keys_alongside() -> None:
    locks = KeyedLocks()
    log: list[str] = []
    gate = asyncio.Event()

    async def work(key: str, name: str, wait: bool) -> None:
        async with locks.hold(key):
            log.append(f"start {name}")
            if wait:
                await gate.wait()
            log.append(f"end {name}")

    first = asyncio.create_task(work("a", "a1", wait=True))
    second = asyncio.create_task(work("a", "a2", wait=False))
    other = asyncio.create_task(work("b", "b1", wait=False))
    await other
    assert log == ["start a1", "start b1", "end b1"]  # b did not wait for a
    gate.set()
    await asyncio.gather(first, second)
    assert log[3:] == ["end a1", "start a2", "end a2"]
    assert len(locks) == 0  # nothing is kept once nobody holds or waits
