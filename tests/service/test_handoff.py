"""A use case hands the lane heads it queued to the running dispatcher, leased, so they are sent
as soon as their transaction commits, with no claim; anything else keeps its turn. Run on
SQLite and PostgreSQL.

The dispatchers here poll every 30 s: whatever is sent within a few seconds was handed over,
followed a send in its lane or was claimed when the service woke the dispatcher (counted)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.delivery import DeliveryJob, DeliveryStatus, Lane
from bot.core.delivery_watch import Unwatched
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Agent, AgentId, TicketNumber
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


class Recorded(Unwatched):
    """Counts the deliveries recorded sent (told after their transaction commits)."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = asyncio.Condition()

    def done(self, lane: Lane, workspace: str, waited: timedelta) -> None:
        self.count += 1
        asyncio.get_running_loop().create_task(self._tell())

    async def _tell(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, count: int, within: float = 5.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.count >= count), within)


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


@pytest.fixture
def begun() -> list[DeliveryJob]:
    """The order sends began in, across both sides."""
    return []


@pytest.fixture
def workspace(begun: list[DeliveryJob]) -> RecordingWorkspace:
    return RecordingWorkspace(begun=begun)


@pytest.fixture
def channel(begun: list[DeliveryJob]) -> RecordingChannel:
    return RecordingChannel(begun=begun)


@pytest.fixture
def slow(
    storage: SqlStorage,
    clock: FakeClock,
    workspace: RecordingWorkspace,
    channel: RecordingChannel,
    recorded: Recorded,
) -> Dispatcher:
    routes = Routes(workspace, {DISCORD: channel})
    return Dispatcher(storage, clock, routes, idle_poll_seconds=SLOW_POLL, watcher=recorded)


class Handing:
    """A service that hands its lane heads to `slow`, running, and counts its wakes."""

    def __init__(self, storage: SqlStorage, clock: FakeClock, dispatcher: Dispatcher) -> None:
        self.wakes = 0
        self.service = TicketService(storage, clock, on_enqueued=self._wake)
        self.service.hand_off_to(dispatcher)
        self._dispatcher = dispatcher

    def _wake(self) -> None:
        self.wakes += 1
        self._dispatcher.wake()


@pytest.fixture
async def handing(
    storage: SqlStorage, clock: FakeClock, slow: Dispatcher
) -> AsyncIterator[Handing]:
    running = Handing(storage, clock, slow)
    stop = asyncio.Event()
    task = asyncio.create_task(slow.run(stop))
    yield running
    stop.set()
    slow.wake()
    await asyncio.wait_for(task, timeout=5)


async def test_new_lane_heads_are_sent_without_a_claim(
    handing: Handing,
    recorded: Recorded,
    workspace: RecordingWorkspace,
    channel: RecordingChannel,
    storage: SqlStorage,
) -> None:
    service = handing.service
    number = await say(service, "a1", "help")
    await workspace.wait_for(2)  # the card, then the message that waited for it
    await service.claim(number, ANN)
    # All five recorded: the card, "opened", the message, the card again, "claimed".
    await recorded.wait_for(5)
    # A reply with its lanes free goes with no wake at all: the reply, the card showing the
    # first response, then "delivered", each handed over, none claimed.
    wakes = handing.wakes
    await service.add_agent_message(number, AgentMessage(ANN, "On it", False, SENT))
    await channel.wait_for_line("reply: **Ann:** On it")
    await workspace.wait_for_line("delivered: On it")
    assert handing.wakes == wakes
    detail = await service.ticket_detail(number)
    async with storage.reading() as tx:
        rows = await tx.list_deliveries(detail.ticket.id)
    # Each was taken up once: handed (a first claim) or claimed, never both.
    assert {(row.status, row.claims) for row in rows} == {(DeliveryStatus.DONE, 1)}


async def test_a_message_behind_a_delivery_in_flight_keeps_its_turn(
    handing: Handing, workspace: RecordingWorkspace
) -> None:
    workspace.hold()
    number = await say(handing.service, "a1", "first")  # the card is handed over, and held
    await say(handing.service, "a2", "second")
    # Behind the card: neither message was handed over or claimed.
    assert [job.event.type for job in workspace.started] == ["card_changed"]
    workspace.release()
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


async def test_a_reply_is_started_before_the_card_it_redraws(
    handing: Handing,
    workspace: RecordingWorkspace,
    channel: RecordingChannel,
    begun: list[DeliveryJob],
) -> None:
    # A first reply moves the card's due time: the card (agents' lane) and the reply (the
    # customer's) are handed over together, and the reply, what a person waits for, begins
    # first, whatever the order they were queued in.
    number = await say(handing.service, "a1", "help")
    await workspace.wait_for(2)
    await channel.wait_for(1)
    begun.clear()
    await handing.service.add_agent_message(number, AgentMessage(ANN, "On it", False, SENT))
    await channel.wait_for_line("reply: **Ann:** On it")
    await workspace.wait_for_line("delivered: On it")
    began = [job.event.type for job in begun]
    assert began == ["agent_replied", "card_changed", "reply_delivered"]
