"""A use case hands the lane heads it queued to the running dispatcher, leased, so they are sent
as soon as their transaction commits, with no claim; anything else keeps its turn. Run on
SQLite and PostgreSQL.

The dispatchers here poll every 30 s and are not woken by the service: whatever is sent within
a few seconds was handed over (or followed a send in its lane)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.core.delivery import DeliveryStatus
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Agent, AgentId, TicketNumber
from bot.core.errors import PlatformError
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.routes import Routes
from bot.core.service import TicketService
from integrations.platforms import DISCORD
from storage.repository import SqlStorage
from tests.fakes import RecordingChannel, RecordingWorkspace
from tests.support import FakeClock

ANN = Agent(AgentId("U0ANN"), "Ann")
SENT = datetime(2026, 3, 2, 9, tzinfo=UTC)
SLOW_POLL = 30.0


async def say(service: TicketService, message_id: str, body: str) -> TicketNumber:
    intake = await service.receive_customer_message(
        CustomerMessage(DISCORD, message_id, "alice", "Alice", body, SENT)
    )
    return intake.ticket.number


@pytest.fixture
def slow(
    storage: SqlStorage,
    clock: FakeClock,
    workspace: RecordingWorkspace,
    channel: RecordingChannel,
) -> Dispatcher:
    routes = Routes(workspace, {DISCORD: channel})
    return Dispatcher(storage, clock, routes, idle_poll_seconds=SLOW_POLL)


@pytest.fixture
async def handing(
    storage: SqlStorage, clock: FakeClock, slow: Dispatcher
) -> AsyncIterator[TicketService]:
    """A service that hands its lane heads to `slow`, running, and never wakes it."""
    service = TicketService(storage, clock)
    service.hand_off_to(slow)
    stop = asyncio.Event()
    running = asyncio.create_task(slow.run(stop))
    await asyncio.sleep(0.1)  # its first claim (of nothing) is done: it waits for the poll
    yield service
    stop.set()
    slow.wake()
    await asyncio.wait_for(running, timeout=5)


async def test_new_lane_heads_are_sent_without_a_claim(
    handing: TicketService,
    workspace: RecordingWorkspace,
    channel: RecordingChannel,
    storage: SqlStorage,
) -> None:
    number = await say(handing, "a1", "help")
    # The card was handed over, the message behind it followed its send.
    await workspace.wait_for(2)
    await handing.claim(number, ANN)
    await workspace.wait_for(3)  # the card again
    await handing.add_agent_message(number, AgentMessage(ANN, "On it", False, SENT))
    await channel.wait_for(3)  # "opened", "claimed", the reply: each handed over
    await workspace.wait_for_line("delivered: On it")  # queued when the reply was sent
    await say(handing, "a2", "thanks")
    await workspace.wait_for_line("customer wrote: thanks")
    assert channel.lines()[-1] == "reply: **Ann:** On it"
    detail = await handing.ticket_detail(number)
    async with storage.reading() as tx:
        rows = await tx.list_deliveries(detail.ticket.id)
    # Each was taken up once: handed (a first claim) or claimed, never both.
    assert {(row.status, row.claims) for row in rows} == {(DeliveryStatus.DONE, 1)}


async def test_a_message_behind_a_waiting_delivery_keeps_its_turn(
    handing: TicketService,
    slow: Dispatcher,
    workspace: RecordingWorkspace,
    clock: FakeClock,
) -> None:
    workspace.fail(PlatformError("ratelimited", retryable=True, retry_after=30))
    number = await say(handing, "a1", "first")  # the card is handed over and fails
    await asyncio.sleep(0.2)
    await say(handing, "a2", "second")  # behind the card's retry: not handed over
    await asyncio.sleep(0.2)
    assert workspace.seen == []
    clock.advance(seconds=30)
    slow.wake()
    await workspace.wait_for(3)
    assert workspace.lines(number) == [
        f"card #{number}: new",
        "customer wrote: first",
        "customer wrote: second",
    ]


async def test_a_dispatcher_that_is_not_running_is_handed_nothing(
    storage: SqlStorage, clock: FakeClock, slow: Dispatcher, workspace: RecordingWorkspace
) -> None:
    service = TicketService(storage, clock)
    service.hand_off_to(slow)
    number = await say(service, "a1", "help")
    # Queued as usual, not leased: any dispatcher (this one, once it runs) claims it at once.
    while await slow.run_once():
        pass
    assert workspace.lines(number) == [f"card #{number}: new", "customer wrote: help"]
