"""The dispatcher leases only what it can send now, keeps the leases of what it is sending, and
never lets one platform's backlog hold up the other. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import func, select

from bot.core.dispatcher import Dispatcher
from bot.core.ports import SystemClock
from bot.core.routes import Routes
from bot.core.service import TicketService
from integrations.platforms import DISCORD
from storage import models as m
from storage.repository import SqlStorage
from tests.fakes import RecordingChannel, RecordingWorkspace
from tests.service.test_dispatcher import ANN, say
from tests.support import FakeClock, eventually


@pytest.fixture
def service(storage: SqlStorage, clock: FakeClock) -> TicketService:
    return TicketService(storage, clock)


def held() -> RecordingWorkspace:
    """An agents' side whose sends wait until the test releases them; it counts every start."""
    workspace = RecordingWorkspace()
    workspace.hold()
    return workspace


@asynccontextmanager
async def running(dispatcher: Dispatcher) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield
    finally:
        stop.set()
        dispatcher.wake()
        await asyncio.wait_for(task, 5)


async def until(condition: Callable[[], bool], what: str = "sends") -> None:
    async def holds() -> bool:
        return condition()

    await eventually(holds, what)


async def leased_count(storage: SqlStorage) -> int:
    async with storage.reading() as tx:
        d = m.deliveries
        query = select(func.count()).where(d.c.leased_until.is_not(None))
        return int((await tx._conn.execute(query)).scalar_one())


async def test_only_as_many_are_leased_as_can_be_sent(
    service: TicketService, storage: SqlStorage, clock: FakeClock
) -> None:
    slack = held()
    dispatcher = Dispatcher(storage, clock, Routes(slack, {}), concurrency=3)
    for i in range(8):
        await say(service, f"c{i}", f"m{i}", f"hello {i}")  # 8 cards are due at once
    async with running(dispatcher):
        await until(lambda: len(slack.started) == 3)
        await asyncio.sleep(0.2)  # time for the loop to lease more, were it to
        assert len(slack.started) == 3
        assert await leased_count(storage) == 3  # the other five stay free for another replica
        slack.release()
        await until(lambda: len(slack.seen) == 16)  # every card, then every message
    assert len(slack.started) == 16  # none twice


async def test_a_backlog_on_one_side_does_not_hold_up_the_other(
    service: TicketService, storage: SqlStorage, clock: FakeClock
) -> None:
    slack, discord = held(), RecordingChannel()
    dispatcher = Dispatcher(storage, clock, Routes(slack, {DISCORD: discord}), concurrency=2)
    for i in range(6):
        await say(service, f"c{i}", f"m{i}", f"hello {i}")
    async with running(dispatcher):
        # Slack is stuck on its first two cards; every customer still hears at once.
        await discord.wait_for(6)
        assert len(slack.started) == 2
        assert slack.seen == []
        assert sorted(line.split(" (")[0] for line in discord.lines()) == [
            f"told: #{number} opened" for number in range(1001, 1007)
        ]
        slack.release()


async def test_a_send_outliving_its_lease_is_not_started_again(
    service: TicketService, storage: SqlStorage, clock: FakeClock
) -> None:
    slack = held()
    dispatcher = Dispatcher(storage, clock, Routes(slack, {}), idle_poll_seconds=0.02)
    number = await say(service, "alice", "a1", "help")
    async with running(dispatcher):
        await until(lambda: len(slack.started) == 1)
        clock.advance(seconds=600)  # far past the lease, with the card still being sent
        dispatcher.wake()
        await asyncio.sleep(0.2)
        assert len(slack.started) == 1
        slack.release()
        await until(lambda: len(slack.started) == 2)  # then the message, once
    assert len(slack.started) == 2
    assert slack.lines() == [f"card #{number}: new", "customer wrote: help"]


async def test_leases_of_sends_in_flight_are_renewed(storage: SqlStorage, clock: FakeClock) -> None:
    # Real time: the renewal runs every third of a (here short) lease; a renewal late by up to
    # a whole second under load still keeps it.
    real = SystemClock()
    service = TicketService(storage, real)
    slack, other = held(), RecordingWorkspace()
    first = Dispatcher(storage, real, Routes(slack, {}), lease_seconds=1.5)
    second = Dispatcher(storage, real, Routes(other, {}), lease_seconds=1.5)
    number = await say(service, "alice", "a1", "help")
    async with running(first):
        await until(lambda: len(slack.started) == 1)
        for _ in range(20):  # a second replica keeps looking for twice the lease and more
            await second.run_once()
            await asyncio.sleep(0.2)
        assert other.seen == []  # the card is still held by the first
        slack.release()
        await until(lambda: len(slack.seen) == 2)
    assert other.seen == []
    await service.claim(number, ANN)  # and the queue still moves on afterwards
    assert await second.run_once() == 1
    assert other.lines() == [f"card #{number}: claimed (Ann)"]
