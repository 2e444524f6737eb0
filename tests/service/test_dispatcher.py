"""The delivery queue: in order per ticket lane, retried, never lost, failures shown to agents.
Read as what each side sees (tests/fakes.py). Run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.delivery import MAIN_WORKSPACE, DeliveryJob, DeliveryStatus, Lane
from bot.core.dispatcher import Dispatcher, joined
from bot.core.domain import Actor, Agent, AgentId, MessageRef, Priority, TicketNumber
from bot.core.errors import PlatformError
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.routes import Routes
from bot.core.service import TicketService
from integrations.platforms import DISCORD, SLACK
from storage.repository import SqlStorage
from tests.fakes import RecordingChannel, RecordingWorkspace
from tests.support import FakeClock

ANN = Agent(AgentId("U0ANN"), "Ann")
SENT = datetime(2026, 3, 2, 9, tzinfo=UTC)
OPENED = "told: #{} opened (answer due 17:00)"  # the first deadline of the default SLA
ANN_REPLY = MessageRef(SLACK, "C0SUP:1.2")  # where Ann's reply (`answered`) is in Slack


@pytest.fixture
def service(storage: SqlStorage, clock: FakeClock) -> TicketService:
    return TicketService(storage, clock)


async def say(service: TicketService, customer: str, message_id: str, body: str) -> TicketNumber:
    intake = await service.receive_customer_message(
        CustomerMessage(DISCORD, message_id, customer, customer.title(), body, SENT)
    )
    return intake.ticket.number


async def drain(dispatcher: Dispatcher) -> int:
    total = 0
    while sent := await dispatcher.run_once():
        total += sent
    return total


async def answered(service: TicketService, dispatcher: Dispatcher) -> TicketNumber:
    """Alice's ticket, with Ann's reply (from Slack) sent to her."""
    number = await say(service, "alice", "a1", "help")
    await service.add_agent_message(number, AgentMessage(ANN, "On it", False, SENT, ANN_REPLY))
    await drain(dispatcher)
    return number


def agents_only(storage: SqlStorage, clock: FakeClock, workspace: RecordingWorkspace) -> Dispatcher:
    return Dispatcher(storage, clock, Routes(workspace, {}))


async def test_each_ticket_lane_is_delivered_in_order(
    service: TicketService,
    dispatcher: Dispatcher,
    workspace: RecordingWorkspace,
    storage: SqlStorage,
) -> None:
    a = b = TicketNumber(0)
    for i in range(5):
        a = await say(service, "alice", f"a{i}", f"alice {i}")
        b = await say(service, "bob", f"b{i}", f"bob {i}")
    assert await drain(dispatcher) == 14  # 2 cards, 10 messages, 2 "ticket opened" notices
    assert workspace.lines(a) == [f"card #{a}: new"] + [
        f"customer wrote: alice {i}" for i in range(5)
    ]
    assert workspace.lines(b) == [f"card #{b}: new"] + [
        f"customer wrote: bob {i}" for i in range(5)
    ]

    detail = await service.ticket_detail(a)
    (card,) = [s for s in workspace.seen if s.ticket == a and s.intent == "show_card"]
    assert detail.ticket.workspace_ref == card.id
    # Each relayed message remembers its copy on the agents' side.
    assert all(any(ref.platform == SLACK for ref in m.refs) for m in detail.messages)
    async with storage.transaction() as tx:
        states = {d.status for d in await tx.list_deliveries(detail.ticket.id)}
    assert states == {DeliveryStatus.DONE}


async def test_agent_replies_go_to_the_customer_lane(
    service: TicketService,
    dispatcher: Dispatcher,
    channel: RecordingChannel,
    workspace: RecordingWorkspace,
) -> None:
    number = await say(service, "alice", "a1", "help")
    await service.claim(number, ANN)
    await service.add_agent_message(number, AgentMessage(ANN, "On it", False, SENT))
    await service.add_agent_message(number, AgentMessage(ANN, "secret note", True, SENT))
    await drain(dispatcher)
    assert channel.lines() == [
        OPENED.format(number),
        "told: claimed by Ann",
        "reply: **Ann:** On it",
    ]
    assert not any("secret note" in line for line in workspace.lines() + channel.lines())
    detail = await service.ticket_detail(number)
    reply = detail.messages[1]
    (sent,) = [s for s in channel.seen if s.intent == "send_reply"]
    assert sent.id is not None
    assert MessageRef(DISCORD, sent.id) in reply.refs


async def test_a_retryable_failure_waits_and_holds_the_lane(
    service: TicketService, dispatcher: Dispatcher, workspace: RecordingWorkspace, clock: FakeClock
) -> None:
    workspace.fail(PlatformError("ratelimited", retryable=True, retry_after=30))
    number = await say(service, "alice", "a1", "first")
    await say(service, "alice", "a2", "second")
    # The card failed and nothing behind it may overtake; the customer's lane went on.
    assert await drain(dispatcher) == 2
    assert workspace.seen == []
    clock.advance(seconds=29)
    assert await drain(dispatcher) == 0
    clock.advance(seconds=1)
    assert await drain(dispatcher) == 3
    assert workspace.lines(number) == [
        f"card #{number}: new",
        "customer wrote: first",
        "customer wrote: second",
    ]


async def test_backoff_grows_without_retry_after(
    service: TicketService,
    dispatcher: Dispatcher,
    workspace: RecordingWorkspace,
    clock: FakeClock,
    storage: SqlStorage,
) -> None:
    workspace.fail(PlatformError("Slack is down", retryable=True), times=3)
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
    assert workspace.lines(number) == [f"card #{number}: new", "customer wrote: hello"]


async def test_a_permanent_failure_is_shown_to_the_agents(
    service: TicketService,
    dispatcher: Dispatcher,
    channel: RecordingChannel,
    workspace: RecordingWorkspace,
    storage: SqlStorage,
) -> None:
    number = await say(service, "alice", "a1", "help")
    await drain(dispatcher)
    channel.fail(PlatformError("Cannot send messages to this user", retryable=False))
    await service.add_agent_message(number, AgentMessage(ANN, "Hello?", False, SENT))
    await drain(dispatcher)
    detail = await service.ticket_detail(number)
    async with storage.transaction() as tx:
        failed = [
            d
            for d in await tx.list_deliveries(detail.ticket.id)
            if d.status is DeliveryStatus.FAILED
        ]
    assert [(d.lane, d.message_id) for d in failed] == [(Lane.CUSTOMER, detail.messages[1].id)]
    assert failed[0].last_error == "Cannot send messages to this user"
    # The customer never got the reply; the agents' thread shows which message did not go.
    assert channel.lines() == [OPENED.format(number)]
    assert workspace.lines()[-1] == (
        f"delivery {failed[0].id} failed (Hello?): Cannot send messages to this user"
    )
    (notice,) = [s for s in workspace.seen if s.intent == "delivery_failed"]
    assert notice.job is not None
    assert notice.job.message is not None
    assert notice.job.message.id == failed[0].message_id


async def test_retries_give_up_after_a_day(
    service: TicketService,
    dispatcher: Dispatcher,
    channel: RecordingChannel,
    workspace: RecordingWorkspace,
    clock: FakeClock,
) -> None:
    number = await say(service, "alice", "a1", "help")
    await drain(dispatcher)
    await service.add_agent_message(number, AgentMessage(ANN, "Hello?", False, SENT))
    channel.fail(PlatformError("Discord is down", retryable=True))
    await drain(dispatcher)
    clock.advance(hours=24, seconds=1)
    channel.fail(PlatformError("Discord is still down", retryable=True))
    await drain(dispatcher)
    assert channel.lines(intents=("send_reply",)) == []
    assert workspace.lines()[-1].endswith("failed (Hello?): Discord is still down")


async def test_two_dispatchers_never_send_one_delivery_twice(
    service: TicketService, storage: SqlStorage, clock: FakeClock
) -> None:
    agents = RecordingWorkspace()
    first, second = agents_only(storage, clock, agents), agents_only(storage, clock, agents)
    for i in range(10):
        await say(service, f"c{i}", f"m{i}", f"hello {i}")
    for _ in range(4):
        await asyncio.gather(first.run_once(), second.run_once())
    ids = [s.job.delivery.id for s in agents.seen if s.job is not None]
    assert len(ids) == len(set(ids)) == 20


async def test_a_lease_left_by_a_crash_expires(
    service: TicketService,
    storage: SqlStorage,
    clock: FakeClock,
    dispatcher: Dispatcher,
    workspace: RecordingWorkspace,
) -> None:
    number = await say(service, "alice", "a1", "help")
    async with storage.transaction() as tx:
        ticket = await tx.get_ticket(number)
        assert ticket is not None
        head = (await tx.list_deliveries(ticket.id))[0]
        leased = await tx.claim_due_deliveries(clock.now(), Lane.AGENTS, MAIN_WORKSPACE, 1, 120)
        assert [d.id for d in leased] == [head.id]  # and then its holder dies
    assert await drain(dispatcher) == 1  # only the customer's lane moves
    clock.advance(seconds=121)
    assert await drain(dispatcher) == 2
    assert workspace.lines(number) == [f"card #{number}: new", "customer wrote: help"]


async def test_status_changes_refresh_the_card(
    service: TicketService, dispatcher: Dispatcher, workspace: RecordingWorkspace
) -> None:
    number = await say(service, "alice", "a1", "help")
    await drain(dispatcher)
    await service.claim(number, ANN)
    await drain(dispatcher)
    assert workspace.lines(number) == [
        f"card #{number}: new",
        "customer wrote: help",
        f"card #{number}: claimed (Ann)",
    ]


async def test_the_loop_wakes_on_enqueue_and_stops(
    storage: SqlStorage, clock: FakeClock, workspace: RecordingWorkspace
) -> None:
    dispatcher = Dispatcher(storage, clock, Routes(workspace, {}), idle_poll_seconds=30)
    service = TicketService(storage, clock, on_enqueued=dispatcher.wake)
    stop = asyncio.Event()
    loop = asyncio.create_task(dispatcher.run(stop))
    number = await say(service, "alice", "a1", "help")
    await workspace.wait_for(2)  # well before the 30 s poll: the enqueue woke it
    assert workspace.lines() == [f"card #{number}: new", "customer wrote: help"]
    stop.set()
    dispatcher.wake()
    await asyncio.wait_for(loop, timeout=5)


async def test_deliveries_survive_a_restart(
    service: TicketService, storage: SqlStorage, clock: FakeClock
) -> None:
    number = await say(service, "alice", "a1", "sent while the bot was down")
    # A new process: a new dispatcher on the same database finds what was queued.
    restarted = RecordingWorkspace()
    await drain(agents_only(storage, clock, restarted))
    assert restarted.lines() == [
        f"card #{number}: new",
        "customer wrote: sent while the bot was down",
    ]


async def test_a_delivered_reply_is_marked_on_the_agents_side(
    service: TicketService,
    dispatcher: Dispatcher,
    workspace: RecordingWorkspace,
    channel: RecordingChannel,
) -> None:
    number = await answered(service, dispatcher)
    assert channel.lines()[-1] == "reply: **Ann:** On it"
    assert workspace.lines()[-1] == "delivered: On it"
    mark = workspace.seen[-1]
    assert mark.job is not None
    assert mark.job.message is not None
    assert ANN_REPLY in mark.job.message.refs  # the workspace finds the agent's own message to mark
    detail = await service.ticket_detail(number)
    assert len(detail.messages[1].refs) == 2  # the agent's original and the customer's copy


async def test_edits_and_deletes_follow_to_the_other_side(
    service: TicketService,
    dispatcher: Dispatcher,
    workspace: RecordingWorkspace,
    channel: RecordingChannel,
    clock: FakeClock,
) -> None:
    number = await say(service, "alice", "a1", "helo")
    ref = MessageRef(SLACK, "C0SUP:1.2")
    await service.add_agent_message(number, AgentMessage(ANN, "On it", False, SENT, ref))
    await service.add_agent_message(
        number, AgentMessage(ANN, ";; note", True, SENT, MessageRef(SLACK, "C0SUP:1.3"))
    )
    await drain(dispatcher)
    told_before = len(channel.seen)

    edited = await service.edit_message(MessageRef(DISCORD, "a1"), "hello", clock.now())
    assert edited is not None
    assert (edited.body, edited.edited_at) == ("hello", clock.now())
    await service.delete_message(ref, clock.now())
    await service.edit_message(MessageRef(SLACK, "C0SUP:1.3"), ";; note!", clock.now())
    assert await service.edit_message(MessageRef(SLACK, "nope"), "x", clock.now()) is None
    await drain(dispatcher)

    assert workspace.lines()[-1] == "edited: hello"
    # The customer's copy of the reply goes; an edited note reaches nobody.
    assert channel.lines()[told_before:] == ["reply deleted: On it"]
    assert not any("note" in line for line in workspace.lines() + channel.lines())
    # A deleted message is not deleted twice.
    assert await service.delete_message(ref, clock.now()) is None


async def test_the_ticket_is_found_by_its_card(
    service: TicketService, dispatcher: Dispatcher, workspace: RecordingWorkspace
) -> None:
    number = await say(service, "alice", "a1", "help")
    assert await service.ticket_at("anything") is None
    await drain(dispatcher)
    (card,) = [s for s in workspace.seen if s.intent == "show_card"]
    assert card.id is not None
    found = await service.ticket_at(card.id)
    assert found is not None
    assert found.number == number


async def test_the_customer_is_told_where_their_ticket_stands(
    service: TicketService, dispatcher: Dispatcher, channel: RecordingChannel
) -> None:
    number = await say(service, "alice", "a1", "help")
    await service.claim(number, ANN)
    await service.set_priority(number, Actor.of_agent(ANN), Priority.HIGH)  # not for the customer
    await service.resolve(number, Actor.of_agent(ANN))
    await say(service, "alice", "a2", "it broke again")  # reopens it
    await service.close(number, Actor.of_agent(ANN))
    await drain(dispatcher)
    assert channel.lines() == [
        OPENED.format(number),
        "told: claimed by Ann",
        "told: resolved by Ann",
        "told: reopened by Ann",
        "told: closed",
    ]


async def test_a_customer_closing_their_own_ticket_is_not_told_twice(
    service: TicketService, dispatcher: Dispatcher, channel: RecordingChannel
) -> None:
    number = await say(service, "alice", "a1", "help")
    detail = await service.ticket_detail(number)
    await service.close(number, Actor.of_customer(detail.customer))
    await drain(dispatcher)
    assert channel.lines() == [OPENED.format(number)]


class Pieces(RecordingWorkspace):
    """A workspace that shows a customer's message in three pieces and can break after the
    second."""

    def __init__(self) -> None:
        super().__init__()
        self.posted: list[str] = []
        self.break_after: int | None = 2

    async def show_customer_message(self, job: DeliveryJob) -> str | None:
        steps = job.steps_done
        for piece in ["one", "two", "three"][len(steps) :]:
            if self.break_after is not None and len(steps) == self.break_after:
                self.break_after = None
                raise PlatformError("connection reset", retryable=True)
            self.posted.append(piece)
            steps.append(f"id-{piece}")
            await job.step_done(steps, 3)
        return joined(steps)


async def test_a_retried_split_message_does_not_repeat_its_pieces(
    service: TicketService, storage: SqlStorage, clock: FakeClock
) -> None:
    pieces = Pieces()
    dispatcher = agents_only(storage, clock, pieces)
    number = await say(service, "alice", "a1", "a long message")
    await drain(dispatcher)
    assert pieces.posted == ["one", "two"]
    clock.advance(seconds=2)
    await drain(dispatcher)
    assert pieces.posted == ["one", "two", "three"]
    detail = await service.ticket_detail(number)
    slack = [r.external_id for r in detail.messages[0].refs if r.platform == SLACK]
    assert slack == ["id-one", "id-two", "id-three"]


async def test_a_follow_up_is_posted_before_the_card_it_redraws(
    service: TicketService,
    dispatcher: Dispatcher,
    workspace: RecordingWorkspace,
) -> None:
    # The customer writing again after a reply starts the next-response clock: the card shows
    # the new due time, but the message is what the agents wait for, so it goes first.
    number = await answered(service, dispatcher)
    seen = len(workspace.lines(number))
    await say(service, "alice", "a2", "thanks, still broken")
    await drain(dispatcher)
    assert workspace.lines(number)[seen:] == [
        "customer wrote: thanks, still broken",
        f"card #{number}: new",
    ]
