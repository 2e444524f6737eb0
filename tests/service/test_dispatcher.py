"""The delivery queue: in order per ticket lane, retried, never lost, failures shown to agents.
Run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.delivery import DeliveryJob, DeliveryKind, DeliveryStatus, Lane
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Actor, Agent, AgentId, MessageRef, Platform, Priority, TicketNumber
from bot.core.errors import PlatformError
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.service import TicketService
from storage.repository import SqlStorage
from tests.support import FakeClock

ANN = Agent(AgentId("U0ANN"), "Ann")
SENT = datetime(2026, 3, 2, 9, tzinfo=UTC)


class Recorder:
    """A handler that records what it delivered and can be told to fail."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.sent: list[DeliveryJob] = []
        self.failures: list[PlatformError] = []
        self.copies: dict[int, str] = {}  # delivery id -> the id it was delivered as
        self.changed = asyncio.Condition()

    async def deliver(self, job: DeliveryJob) -> str | None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(job)
        copy = self.copies[job.delivery.id] = f"{self.platform}-copy-{len(self.sent)}"
        async with self.changed:
            self.changed.notify_all()
        return copy

    async def wait_for_count(self, count: int) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: len(self.sent) >= count), 5)

    def bodies(self, number: int | None = None) -> list[str]:
        return [_label(j) for j in self.sent if number is None or j.ticket.number == number]

    def replies(self) -> list[DeliveryJob]:
        return [j for j in self.sent if j.delivery.kind is DeliveryKind.AGENT_REPLY]


def _label(job: DeliveryJob) -> str:
    if job.delivery.kind is DeliveryKind.CUSTOMER_NOTICE:
        return f"notice:{job.delivery.payload['event']}"
    return job.message.body if job.message else str(job.delivery.kind)


@pytest.fixture
def slack() -> Recorder:
    return Recorder(Platform.SLACK)


@pytest.fixture
def discord() -> Recorder:
    return Recorder(Platform.DISCORD)


@pytest.fixture
def dispatcher(
    storage: SqlStorage, clock: FakeClock, slack: Recorder, discord: Recorder
) -> Dispatcher:
    return Dispatcher(
        storage,
        clock,
        {Lane.AGENTS: (Platform.SLACK, slack), Lane.CUSTOMER: (Platform.DISCORD, discord)},
    )


@pytest.fixture
def service(storage: SqlStorage, clock: FakeClock) -> TicketService:
    return TicketService(storage, clock)


async def say(service: TicketService, customer: str, message_id: str, body: str) -> TicketNumber:
    intake = await service.receive_customer_message(
        CustomerMessage(Platform.DISCORD, message_id, customer, customer.title(), body, SENT)
    )
    return intake.ticket.number


async def drain(dispatcher: Dispatcher) -> int:
    total = 0
    while sent := await dispatcher.run_once():
        total += sent
    return total


async def test_each_ticket_lane_is_delivered_in_order(
    service: TicketService, dispatcher: Dispatcher, slack: Recorder, storage: SqlStorage
) -> None:
    a = b = TicketNumber(0)
    for i in range(5):
        a = await say(service, "alice", f"a{i}", f"alice {i}")
        b = await say(service, "bob", f"b{i}", f"bob {i}")
    assert await drain(dispatcher) == 14  # 2 cards, 10 messages, 2 "ticket opened" notices
    assert slack.bodies(a) == ["ticket_card"] + [f"alice {i}" for i in range(5)]
    assert slack.bodies(b) == ["ticket_card"] + [f"bob {i}" for i in range(5)]

    detail = await service.ticket_detail(a)
    (card,) = [j for j in slack.sent if j.ticket.number == a and j.message is None]
    assert detail.ticket.workspace_ref == slack.copies[card.delivery.id]
    # Each relayed message remembers its copy on the agents' side.
    assert all(any(ref.platform is Platform.SLACK for ref in m.refs) for m in detail.messages)
    async with storage.transaction() as tx:
        states = {d.status for d in await tx.list_deliveries(detail.ticket.id)}
    assert states == {DeliveryStatus.DONE}


async def test_agent_replies_go_to_the_customer_lane(
    service: TicketService, dispatcher: Dispatcher, discord: Recorder, slack: Recorder
) -> None:
    number = await say(service, "alice", "a1", "help")
    await service.claim(number, ANN)
    await service.add_agent_message(number, AgentMessage(ANN, "On it", False, SENT))
    await service.add_agent_message(number, AgentMessage(ANN, "secret note", True, SENT))
    await drain(dispatcher)
    assert discord.bodies() == ["notice:opened", "notice:claimed", "On it"]
    assert "secret note" not in slack.bodies()
    detail = await service.ticket_detail(number)
    reply = detail.messages[1]
    (job,) = discord.replies()
    assert MessageRef(Platform.DISCORD, discord.copies[job.delivery.id]) in reply.refs


async def test_a_retryable_failure_waits_and_holds_the_lane(
    service: TicketService, dispatcher: Dispatcher, slack: Recorder, clock: FakeClock
) -> None:
    slack.failures.append(PlatformError("ratelimited", retryable=True, retry_after=30))
    number = await say(service, "alice", "a1", "first")
    await say(service, "alice", "a2", "second")
    # The card failed and nothing behind it may overtake; the customer's lane went on.
    assert await drain(dispatcher) == 2
    assert slack.sent == []
    clock.advance(seconds=29)
    assert await drain(dispatcher) == 0
    clock.advance(seconds=1)
    assert await drain(dispatcher) == 3
    assert slack.bodies(number) == ["ticket_card", "first", "second"]


async def test_backoff_grows_without_retry_after(
    service: TicketService,
    dispatcher: Dispatcher,
    slack: Recorder,
    clock: FakeClock,
    storage: SqlStorage,
) -> None:
    for _ in range(3):
        slack.failures.append(PlatformError("Slack is down", retryable=True))
    number = await say(service, "alice", "a1", "hello")
    waits = []
    for _ in range(3):
        await dispatcher.run_once()
        async with storage.transaction() as tx:
            ticket = await tx.get_ticket(number)
            assert ticket is not None
            head = (await tx.list_deliveries(ticket.id))[0]
        waits.append(head.next_attempt_at - clock.now())
        clock.current = head.next_attempt_at
    assert waits == [timedelta(seconds=1), timedelta(seconds=2), timedelta(seconds=4)]
    await drain(dispatcher)
    assert slack.bodies(number) == ["ticket_card", "hello"]


async def test_a_permanent_failure_is_shown_to_the_agents(
    service: TicketService,
    dispatcher: Dispatcher,
    discord: Recorder,
    slack: Recorder,
    storage: SqlStorage,
) -> None:
    number = await say(service, "alice", "a1", "help")
    await drain(dispatcher)
    discord.failures.append(PlatformError("Cannot send messages to this user", retryable=False))
    await service.add_agent_message(number, AgentMessage(ANN, "Hello?", False, SENT))
    await drain(dispatcher)
    notice = slack.sent[-1]
    assert notice.delivery.kind is DeliveryKind.NOTICE
    assert notice.delivery.payload["reason"] == "Cannot send messages to this user"
    assert notice.delivery.payload["warning"] is True
    detail = await service.ticket_detail(number)
    async with storage.transaction() as tx:
        failed = [
            d
            for d in await tx.list_deliveries(detail.ticket.id)
            if d.status is DeliveryStatus.FAILED
        ]
    assert [d.kind for d in failed] == [DeliveryKind.AGENT_REPLY]
    assert failed[0].last_error == "Cannot send messages to this user"
    assert notice.delivery.message_id == failed[0].message_id
    assert notice.message is not None
    assert notice.message.body == "Hello?"


async def test_retries_give_up_after_a_day(
    service: TicketService,
    dispatcher: Dispatcher,
    discord: Recorder,
    slack: Recorder,
    clock: FakeClock,
) -> None:
    number = await say(service, "alice", "a1", "help")
    await drain(dispatcher)
    await service.add_agent_message(number, AgentMessage(ANN, "Hello?", False, SENT))
    discord.failures.append(PlatformError("Discord is down", retryable=True))
    await drain(dispatcher)
    clock.advance(hours=24, seconds=1)
    discord.failures.append(PlatformError("Discord is still down", retryable=True))
    await drain(dispatcher)
    assert discord.replies() == []
    assert slack.sent[-1].delivery.payload["reason"] == "Discord is still down"


async def test_two_dispatchers_never_send_one_delivery_twice(
    service: TicketService, storage: SqlStorage, clock: FakeClock
) -> None:
    agents = Recorder(Platform.SLACK)
    lanes = {Lane.AGENTS: (Platform.SLACK, agents)}
    first, second = Dispatcher(storage, clock, lanes), Dispatcher(storage, clock, lanes)
    for i in range(10):
        await say(service, f"c{i}", f"m{i}", f"hello {i}")
    for _ in range(4):
        await asyncio.gather(first.run_once(), second.run_once())
    ids = [job.delivery.id for job in agents.sent]
    assert len(ids) == len(set(ids)) == 20


async def test_a_lease_left_by_a_crash_expires(
    service: TicketService,
    storage: SqlStorage,
    clock: FakeClock,
    dispatcher: Dispatcher,
    slack: Recorder,
) -> None:
    number = await say(service, "alice", "a1", "help")
    async with storage.transaction() as tx:
        ticket = await tx.get_ticket(number)
        assert ticket is not None
        head = (await tx.list_deliveries(ticket.id))[0]
        leased = await tx.claim_due_deliveries(clock.now(), [Lane.AGENTS], 1, 120)
        assert [d.id for d in leased] == [head.id]  # and then its holder dies
    assert await drain(dispatcher) == 1  # only the customer's lane moves
    clock.advance(seconds=121)
    assert await drain(dispatcher) == 2
    assert slack.bodies(number) == ["ticket_card", "help"]


async def test_status_changes_refresh_the_card(
    service: TicketService, dispatcher: Dispatcher, slack: Recorder
) -> None:
    number = await say(service, "alice", "a1", "help")
    await service.claim(number, ANN)
    await drain(dispatcher)
    assert slack.bodies(number) == ["ticket_card", "help", "ticket_card"]
    assert slack.sent[-1].ticket.assignee == ANN


async def test_the_loop_wakes_on_enqueue_and_stops(
    storage: SqlStorage, clock: FakeClock, slack: Recorder
) -> None:
    dispatcher = Dispatcher(
        storage, clock, {Lane.AGENTS: (Platform.SLACK, slack)}, idle_poll_seconds=30
    )
    service = TicketService(storage, clock, on_enqueued=dispatcher.wake)
    stop = asyncio.Event()
    loop = asyncio.create_task(dispatcher.run(stop))
    await say(service, "alice", "a1", "help")
    await slack.wait_for_count(2)  # well before the 30 s poll: the enqueue woke it
    assert slack.bodies() == ["ticket_card", "help"]
    stop.set()
    dispatcher.wake()
    await asyncio.wait_for(loop, timeout=5)


async def test_deliveries_survive_a_restart(
    service: TicketService, storage: SqlStorage, clock: FakeClock
) -> None:
    await say(service, "alice", "a1", "sent while the bot was down")
    # A new process: a new dispatcher on the same database finds what was queued.
    restarted = Recorder(Platform.SLACK)
    await drain(Dispatcher(storage, clock, {Lane.AGENTS: (Platform.SLACK, restarted)}))
    assert restarted.bodies() == ["ticket_card", "sent while the bot was down"]


async def test_a_delivered_reply_is_marked_on_the_agents_side(
    service: TicketService, dispatcher: Dispatcher, slack: Recorder, discord: Recorder
) -> None:
    number = await say(service, "alice", "a1", "help")
    ref = MessageRef(Platform.SLACK, "C0SUP:1.2")
    await service.add_agent_message(number, AgentMessage(ANN, "On it", False, SENT, ref))
    await drain(dispatcher)
    mark = slack.sent[-1]
    assert mark.delivery.kind is DeliveryKind.REPLY_DELIVERED
    assert mark.message is not None
    assert ref in mark.message.refs  # the handler finds the agent's own message to mark
    detail = await service.ticket_detail(number)
    assert len(detail.messages[1].refs) == 2  # the agent's original and the customer's copy


async def test_edits_and_deletes_follow_to_the_other_side(
    service: TicketService,
    dispatcher: Dispatcher,
    slack: Recorder,
    discord: Recorder,
    clock: FakeClock,
) -> None:
    number = await say(service, "alice", "a1", "helo")
    ref = MessageRef(Platform.SLACK, "C0SUP:1.2")
    await service.add_agent_message(number, AgentMessage(ANN, "On it", False, SENT, ref))
    await service.add_agent_message(
        number, AgentMessage(ANN, ";; note", True, SENT, MessageRef(Platform.SLACK, "C0SUP:1.3"))
    )
    await drain(dispatcher)

    edited = await service.edit_message(MessageRef(Platform.DISCORD, "a1"), "hello", clock.now())
    assert edited is not None
    assert (edited.body, edited.edited_at) == ("hello", clock.now())
    await service.delete_message(ref, clock.now())
    await service.edit_message(MessageRef(Platform.SLACK, "C0SUP:1.3"), ";; note!", clock.now())
    assert await service.edit_message(MessageRef(Platform.SLACK, "nope"), "x", clock.now()) is None
    await drain(dispatcher)

    assert slack.sent[-1].delivery.kind is DeliveryKind.COPY_EDIT
    assert slack.sent[-1].message is not None
    assert slack.sent[-1].message.body == "hello"
    assert discord.sent[-1].delivery.kind is DeliveryKind.COPY_DELETE
    assert [j.delivery.kind for j in discord.sent].count(DeliveryKind.COPY_EDIT) == 0
    # A deleted message is not deleted twice.
    assert await service.delete_message(ref, clock.now()) is None


async def test_the_ticket_is_found_by_its_card(
    service: TicketService, dispatcher: Dispatcher, slack: Recorder
) -> None:
    number = await say(service, "alice", "a1", "help")
    assert await service.ticket_at("anything") is None
    await drain(dispatcher)
    (card,) = [j for j in slack.sent if j.message is None]
    found = await service.ticket_at(slack.copies[card.delivery.id])
    assert found is not None
    assert found.number == number


async def test_the_customer_is_told_where_their_ticket_stands(
    service: TicketService, dispatcher: Dispatcher, discord: Recorder
) -> None:
    number = await say(service, "alice", "a1", "help")
    await service.claim(number, ANN)
    await service.set_priority(number, Actor.of_agent(ANN), Priority.HIGH)  # not for the customer
    await service.resolve(number, Actor.of_agent(ANN))
    await say(service, "alice", "a2", "it broke again")  # reopens it
    await service.close(number, Actor.of_agent(ANN))
    await drain(dispatcher)
    notices = [j.delivery.payload for j in discord.sent]
    assert [n["event"] for n in notices] == ["opened", "claimed", "resolved", "reopened", "closed"]
    assert notices[1]["agent"] == "Ann"


async def test_a_customer_closing_their_own_ticket_is_not_told_twice(
    service: TicketService, dispatcher: Dispatcher, discord: Recorder, storage: SqlStorage
) -> None:
    number = await say(service, "alice", "a1", "help")
    detail = await service.ticket_detail(number)
    await service.close(number, Actor.of_customer(detail.customer))
    await drain(dispatcher)
    assert discord.bodies() == ["notice:opened"]


class Pieces:
    """A handler that sends a message in three pieces and can break after the second."""

    def __init__(self) -> None:
        self.posted: list[str] = []
        self.break_after: int | None = 2

    async def deliver(self, job: DeliveryJob) -> str | None:
        if job.delivery.kind is not DeliveryKind.CUSTOMER_MESSAGE:
            return "card"
        steps = job.steps_done
        for piece in ["one", "two", "three"][len(steps) :]:
            if self.break_after is not None and len(steps) == self.break_after:
                self.break_after = None
                raise PlatformError("connection reset", retryable=True)
            self.posted.append(piece)
            steps.append(f"id-{piece}")
            await job.step_done(steps, 3)
        return steps[0]


async def test_a_retried_split_message_does_not_repeat_its_pieces(
    service: TicketService, storage: SqlStorage, clock: FakeClock
) -> None:
    pieces = Pieces()
    dispatcher = Dispatcher(storage, clock, {Lane.AGENTS: (Platform.SLACK, pieces)})
    number = await say(service, "alice", "a1", "a long message")
    await drain(dispatcher)
    assert pieces.posted == ["one", "two"]
    clock.advance(seconds=2)
    await drain(dispatcher)
    assert pieces.posted == ["one", "two", "three"]
    detail = await service.ticket_detail(number)
    assert MessageRef(Platform.SLACK, "id-one") in detail.messages[0].refs
