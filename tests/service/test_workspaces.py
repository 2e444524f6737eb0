"""More than one agent workspace: "main" and "staff" are both told everything about every ticket,
each in a lane of its own, each with its own card; one that is slow, down or not connected holds
up neither the other nor the customer. Read as what each side sees (tests/fakes.py). Run on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from bot.core.delivery import MAIN_WORKSPACE, Delivery, DeliveryStatus, Lane
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Actor, MessageRef, Ticket
from bot.core.errors import NoTicketAt, PlatformError
from bot.core.events import AgentMessage, CardAt, CustomerMessage
from bot.core.routes import Routes
from bot.core.service import TicketService
from bot.core.sla_keeper import SlaKeeper
from bot.core.sweeps import Sweeps
from integrations.platforms import DISCORD, SLACK
from storage.repository import SqlStorage
from tests.fakes import RecordingChannel, RecordingWorkspace, Seen
from tests.service.test_dispatcher import drain
from tests.service.test_transcripts import ANN, BOB, POLICY, alice_writes
from tests.support import FakeClock

STAFF = "staff"
WORKSPACES = (MAIN_WORKSPACE, STAFF)


def in_main(ts: str) -> MessageRef:
    """Where an agent wrote a message: in the main workspace's thread (so the other is shown
    a copy of it)."""
    return MessageRef(SLACK, f"C0SUP:{ts}", MAIN_WORKSPACE)


@pytest.fixture
def staff() -> RecordingWorkspace:
    """The second agent workspace (the `workspace` fixture is the main one). Its ids are its
    own, as two Slack workspaces' would be."""
    return RecordingWorkspace(prefix="staff")


@pytest.fixture
def service(storage: SqlStorage, clock: FakeClock) -> TicketService:
    return TicketService(storage, clock, sla=SlaKeeper(POLICY), workspaces=WORKSPACES)


def both(main: RecordingWorkspace, staff: RecordingWorkspace, channel: RecordingChannel) -> Routes:
    return Routes({MAIN_WORKSPACE: main, STAFF: staff}, {DISCORD: channel})


@pytest.fixture
def dispatcher(
    storage: SqlStorage,
    clock: FakeClock,
    workspace: RecordingWorkspace,
    staff: RecordingWorkspace,
    channel: RecordingChannel,
) -> Dispatcher:
    return Dispatcher(storage, clock, both(workspace, staff, channel), WORKSPACES)


@dataclass
class Sides:
    """Sends what is queued and says what each side was shown since the last look."""

    dispatcher: Dispatcher
    main: RecordingWorkspace
    staff: RecordingWorkspace
    channel: RecordingChannel
    _looked: dict[str, int] = field(default_factory=dict)

    def _new(self, name: str, side: RecordingWorkspace | RecordingChannel) -> list[str]:
        lines = side.lines()[self._looked.get(name, 0) :]
        self._looked[name] = self._looked.get(name, 0) + len(lines)
        return lines

    async def shown(self) -> tuple[list[str], list[str], list[str]]:
        """(what main was shown, what staff was shown, what the customer was told), each
        since the last call."""
        await drain(self.dispatcher)
        return (
            self._new("main", self.main),
            self._new("staff", self.staff),
            self._new("customer", self.channel),
        )


@pytest.fixture
def sides(
    dispatcher: Dispatcher,
    workspace: RecordingWorkspace,
    staff: RecordingWorkspace,
    channel: RecordingChannel,
) -> Sides:
    return Sides(dispatcher, workspace, staff, channel)


async def queued(storage: SqlStorage, ticket: Ticket) -> list[Delivery]:
    async with storage.reading() as tx:
        return await tx.list_deliveries(ticket.id)


def cards(side: RecordingWorkspace) -> list[str]:
    """The platform ids of the cards a workspace made, oldest first."""
    return [s.id for s in side.seen if s.intent == "show_card" and s.id is not None]


def cards_carried(side: RecordingWorkspace) -> list[tuple[str, str | None]]:
    """What a workspace was shown, after its first card, by a delivery that did not name the
    card this workspace made last: (the line, the card its job named). Empty when every
    delivery went to the workspace's own latest card."""
    astray: list[tuple[str, str | None]] = []
    last: str | None = None
    for seen in side.seen:
        assert seen.job is not None
        if last is not None and seen.job.card != last:
            astray.append((seen.line, seen.job.card))
        if seen.intent == "show_card":
            last = seen.id
    return astray


def delivery_ids(seen: list[Seen]) -> list[int]:
    return [s.job.delivery.id for s in seen if s.job is not None]


# --- both workspaces see the whole ticket; the customer sees it once --------------------


async def test_both_workspaces_see_the_whole_ticket_and_the_customer_sees_it_once(
    service: TicketService,
    sides: Sides,
    workspace: RecordingWorkspace,
    staff: RecordingWorkspace,
    storage: SqlStorage,
    clock: FakeClock,
) -> None:
    ticket = await alice_writes(service, clock, "m1", "My printer is on fire")
    n = ticket.number
    main_saw, staff_saw, customer = await sides.shown()
    assert main_saw == staff_saw == [f"card #{n}: new", "customer wrote: My printer is on fire"]
    assert customer == [f"told: #{n} opened (answer due 10:00)"]

    # An alert: the first answer is late. Both workspaces' leads and threads hear of it.
    assert await Sweeps(service, POLICY).sla(clock.advance(hours=1, minutes=2)) == 1
    main_saw, staff_saw, customer = await sides.shown()
    assert (
        main_saw
        == staff_saw
        == [
            "to leads: breached: first_response due 10:00, 120s late",
            "breached: first_response due 10:00, 120s late",
        ]
    )
    assert customer == []

    await service.claim(n, ANN)
    main_saw, staff_saw, customer = await sides.shown()
    assert main_saw == staff_saw == [f"card #{n}: claimed (Ann)"]
    assert customer == ["told: claimed by Ann"]

    ref = MessageRef(SLACK, "C0SUP:1.1", MAIN_WORKSPACE)  # written in the main workspace
    reply = AgentMessage(ANN, "Have you tried turning it off?", False, clock.now(), ref)
    await service.add_agent_message(n, reply)
    main_saw, staff_saw, customer = await sides.shown()
    shown = [f"card #{n}: claimed (Ann)", "delivered: Have you tried turning it off?"]
    assert main_saw == shown
    assert staff_saw == ["Ann replied: Have you tried turning it off?", *shown]  # mirrored
    assert customer == ["reply: **Ann:** Have you tried turning it off?"]  # once, not twice

    await service.escalate(n, Actor.of_agent(ANN), "Needs hardware team")
    main_saw, staff_saw, customer = await sides.shown()
    assert (
        main_saw
        == staff_saw
        == [
            f"card #{n}: escalated",
            "escalated by Ann (tier 1 → 2): Needs hardware team",
            "to escalations: escalated by Ann (tier 1 → 2): Needs hardware team",
        ]
    )
    assert customer == []

    await service.claim(n, BOB)
    main_saw, staff_saw, customer = await sides.shown()
    assert main_saw == staff_saw == [f"card #{n}: claimed (Bob)"]
    assert customer == ["told: claimed by Bob"]

    await service.resolve(n, Actor.of_agent(BOB), "Replaced the fuser")
    main_saw, staff_saw, customer = await sides.shown()
    assert (
        main_saw
        == staff_saw
        == [f"card #{n}: resolved (Bob)", "resolved by Bob: Replaced the fuser"]
    )
    assert customer == ["told: resolved by Bob"]

    # In the queue: each agents' event once per workspace, each customer's event once.
    deliveries = await queued(storage, ticket)
    assert {d.status for d in deliveries} == {DeliveryStatus.DONE}
    by_outlet = {
        outlet: [d.event for d in deliveries if (d.lane, d.workspace) == outlet]
        for outlet in [(Lane.AGENTS, MAIN_WORKSPACE), (Lane.AGENTS, STAFF), (Lane.CUSTOMER, "")]
    }
    mirrored = [e for e in by_outlet[Lane.AGENTS, STAFF] if e.type == "agent_wrote"]
    assert len(mirrored) == 1
    assert by_outlet[Lane.AGENTS, MAIN_WORKSPACE] == [
        e for e in by_outlet[Lane.AGENTS, STAFF] if e.type != "agent_wrote"
    ]
    assert len(by_outlet[Lane.CUSTOMER, ""]) == len(sides.channel.seen) == 5
    assert len(deliveries) == sum(len(events) for events in by_outlet.values())

    # Each workspace's card is its own, and each delivery carried its own workspace's card.
    main_card, staff_card = cards(workspace)[-1], cards(staff)[-1]
    assert main_card != staff_card
    assert cards_carried(workspace) == cards_carried(staff) == []
    found = await service.ticket_at(staff_card, STAFF)
    assert found is not None
    assert found.id == ticket.id
    found = await service.ticket_at(main_card)
    assert found is not None
    assert found.id == ticket.id
    assert found.workspace_ref == main_card
    assert await service.ticket_at(staff_card) is None  # a staff card is no main card
    assert await service.ticket_at(main_card, STAFF) is None
    assert await service.ticket_at(staff_card, "elsewhere") is None


# --- what the dispatcher itself tells the agents reaches both workspaces ------------------


async def test_delivered_replies_and_failed_sends_are_shown_in_both_workspaces(
    service: TicketService,
    sides: Sides,
    workspace: RecordingWorkspace,
    staff: RecordingWorkspace,
    channel: RecordingChannel,
    storage: SqlStorage,
    clock: FakeClock,
) -> None:
    ticket = await alice_writes(service, clock, "m1", "help")
    await sides.shown()

    ref = MessageRef(SLACK, "C0SUP:1.2", MAIN_WORKSPACE)
    await service.add_agent_message(
        ticket.number, AgentMessage(ANN, "On it", False, clock.now(), ref)
    )
    main_saw, staff_saw, customer = await sides.shown()
    assert customer == ["reply: **Ann:** On it"]
    assert main_saw[-1] == staff_saw[-1] == "delivered: On it"
    for side in (workspace, staff):
        (mark,) = [s for s in side.seen if s.intent == "reply_delivered"]
        assert mark.job is not None
        assert mark.job.message is not None
        assert ref in mark.job.message.refs

    channel.fail(PlatformError("Cannot send messages to this user", retryable=False))
    hello = MessageRef(SLACK, "C0SUP:1.3", MAIN_WORKSPACE)
    await service.add_agent_message(
        ticket.number, AgentMessage(ANN, "Hello?", False, clock.now(), hello)
    )
    main_saw, staff_saw, customer = await sides.shown()
    assert customer == []
    deliveries = await queued(storage, ticket)
    (failed,) = [d for d in deliveries if d.status is DeliveryStatus.FAILED]
    assert (failed.lane, failed.workspace) == (Lane.CUSTOMER, "")
    notice = f"delivery {failed.id} failed (Hello?): Cannot send messages to this user"
    assert main_saw[-1] == staff_saw[-1] == notice
    assert main_saw.count(notice) == staff_saw.count(notice) == 1
    for side in (workspace, staff):
        (told,) = [s for s in side.seen if s.intent == "delivery_failed"]
        assert told.job is not None
        assert told.job.message is not None
        assert told.job.message.id == failed.message_id
    # One notice queued for each workspace, each sent in its own lane.
    notices = [d for d in deliveries if d.event.type == "delivery_failed"]
    assert sorted(d.workspace for d in notices) == [MAIN_WORKSPACE, STAFF]
    assert {d.status for d in notices} == {DeliveryStatus.DONE}


# --- a workspace that is slow or down holds up nobody else --------------------------------


@pytest.fixture
async def running(
    storage: SqlStorage,
    clock: FakeClock,
    service: TicketService,
    workspace: RecordingWorkspace,
    staff: RecordingWorkspace,
    channel: RecordingChannel,
) -> AsyncIterator[Dispatcher]:
    """The dispatcher's loop, woken by every enqueue (its idle poll is too slow to matter)."""
    dispatcher = Dispatcher(
        storage, clock, both(workspace, staff, channel), WORKSPACES, idle_poll_seconds=30
    )
    service.on_enqueued(dispatcher.wake)
    stop = asyncio.Event()
    loop = asyncio.create_task(dispatcher.run(stop))
    try:
        yield dispatcher
    finally:
        staff.release()
        stop.set()
        dispatcher.wake()
        await asyncio.wait_for(loop, timeout=5)


async def test_a_held_workspace_holds_up_neither_the_other_nor_the_customer(
    running: Dispatcher,
    service: TicketService,
    workspace: RecordingWorkspace,
    staff: RecordingWorkspace,
    channel: RecordingChannel,
    storage: SqlStorage,
    clock: FakeClock,
) -> None:
    staff.hold()
    ticket = await alice_writes(service, clock, "m1", "help")
    n = ticket.number
    await workspace.wait_for(2)
    await channel.wait_for(1)
    await service.claim(n, ANN)
    await workspace.wait_for(3)
    await channel.wait_for(2)
    await service.add_agent_message(
        n, AgentMessage(ANN, "On it", False, clock.now(), in_main("1.10"))
    )
    await workspace.wait_for(5)
    await channel.wait_for(3)
    await alice_writes(service, clock, "m2", "thanks")  # her next answer is due: a new card
    await workspace.wait_for(7)
    await service.resolve(n, Actor.of_agent(ANN))
    await workspace.wait_for(9)
    await channel.wait_for(4)

    main_lines = [
        f"card #{n}: new",
        "customer wrote: help",
        f"card #{n}: claimed (Ann)",
        f"card #{n}: claimed (Ann)",
        "delivered: On it",
        "customer wrote: thanks",
        f"card #{n}: claimed (Ann)",  # her new due time, after what she wrote
        f"card #{n}: resolved (Ann)",
        "resolved by Ann",
    ]
    assert workspace.lines() == main_lines
    assert channel.lines() == [
        f"told: #{n} opened (answer due 10:00)",
        "told: claimed by Ann",
        "reply: **Ann:** On it",
        "told: resolved by Ann",
    ]
    # All this while staff was sent its first card and nothing else: it is still waiting.
    assert staff.seen == []
    assert len(staff.started) == 1

    staff.release()
    await staff.wait_for(len(main_lines) + 1)
    # Its backlog in order (with the copy of Ann's reply, written in main). A card is drawn
    # when it is sent: the one held was drawn before the claim, the later ones after the
    # resolution.
    assert staff.lines() == [
        f"card #{n}: new",
        "customer wrote: help",
        f"card #{n}: resolved (Ann)",
        "Ann replied: On it",
        f"card #{n}: resolved (Ann)",
        "delivered: On it",
        "customer wrote: thanks",
        f"card #{n}: resolved (Ann)",
        f"card #{n}: resolved (Ann)",
        "resolved by Ann",
    ]
    copies = [s.intent for s in staff.seen if s.intent != "show_agent_message"]
    assert copies == [s.intent for s in workspace.seen]
    await asyncio.sleep(0.05)  # nothing more comes: nothing was sent twice
    assert len(staff.seen) == len(main_lines) + 1
    assert len(staff.started) == len(main_lines) + 1
    deliveries = await queued(storage, ticket)
    assert {d.status for d in deliveries} == {DeliveryStatus.DONE}
    assert delivery_ids(staff.seen) == [d.id for d in deliveries if d.workspace == STAFF]
    assert workspace.lines() == main_lines  # nobody else was told anything twice
    assert len(channel.seen) == 4


async def test_a_failing_workspace_gets_its_backlog_in_order_once_it_recovers(
    service: TicketService,
    dispatcher: Dispatcher,
    workspace: RecordingWorkspace,
    staff: RecordingWorkspace,
    channel: RecordingChannel,
    storage: SqlStorage,
    clock: FakeClock,
) -> None:
    staff.fail(PlatformError("staff is rate limited", retryable=True, retry_after=60), times=2)
    ticket = await alice_writes(service, clock, "m1", "help")
    n = ticket.number
    await drain(dispatcher)
    assert workspace.lines() == [f"card #{n}: new", "customer wrote: help"]
    assert channel.lines() == [f"told: #{n} opened (answer due 10:00)"]
    assert staff.seen == []

    clock.advance(seconds=30)  # staff is still waiting for its retry
    await service.claim(n, ANN)
    await service.add_agent_message(
        n, AgentMessage(ANN, "On it", False, clock.now(), in_main("1.11"))
    )
    await drain(dispatcher)
    main_lines = [
        f"card #{n}: new",
        "customer wrote: help",
        f"card #{n}: claimed (Ann)",
        f"card #{n}: claimed (Ann)",
        "delivered: On it",
    ]
    assert workspace.lines() == main_lines
    assert channel.lines()[1:] == ["told: claimed by Ann", "reply: **Ann:** On it"]
    assert staff.seen == []
    assert len(staff.started) == 1

    clock.advance(seconds=30)  # its retry fails again: still nothing shown, nothing lost
    await drain(dispatcher)
    assert staff.seen == []
    assert len(staff.started) == 2

    clock.advance(seconds=60)  # and then it recovers
    await drain(dispatcher)
    assert staff.lines() == [
        f"card #{n}: claimed (Ann)",
        "customer wrote: help",
        f"card #{n}: claimed (Ann)",
        "Ann replied: On it",  # the copy of what Ann wrote in main
        f"card #{n}: claimed (Ann)",
        "delivered: On it",
    ]
    assert len(staff.started) == len(staff.seen) + 2  # the two failures, then each once
    assert workspace.lines() == main_lines
    assert len(channel.seen) == 3
    deliveries = await queued(storage, ticket)
    assert {d.status for d in deliveries} == {DeliveryStatus.DONE}
    staff_ids = [d.id for d in deliveries if d.workspace == STAFF]
    assert delivery_ids(staff.seen) == staff_ids  # in the order queued, each once
    assert [d.attempts for d in deliveries if d.workspace == STAFF] == [3] + [1] * 5
    assert await drain(dispatcher) == 0


# --- a workspace configured but not connected: what waits for it is kept ------------------


async def test_what_waits_for_a_workspace_not_connected_is_kept_until_it_is(
    service: TicketService,
    workspace: RecordingWorkspace,
    staff: RecordingWorkspace,
    channel: RecordingChannel,
    storage: SqlStorage,
    clock: FakeClock,
) -> None:
    # This process connects only the main workspace, yet knows staff is configured.
    main_only = Routes({MAIN_WORKSPACE: workspace}, {DISCORD: channel})
    first = Dispatcher(storage, clock, main_only, WORKSPACES)
    ticket = await alice_writes(service, clock, "m1", "help")
    n = ticket.number
    await service.claim(n, ANN)
    await service.add_agent_message(
        n, AgentMessage(ANN, "On it", False, clock.now(), in_main("1.12"))
    )
    await drain(first)
    channel.fail(PlatformError("Cannot send messages to this user", retryable=False))
    await service.add_agent_message(
        n, AgentMessage(ANN, "Hello?", False, clock.now(), in_main("1.13"))
    )
    await drain(first)
    clock.advance(hours=1)
    await drain(first)

    deliveries = await queued(storage, ticket)
    (failed,) = [d for d in deliveries if d.status is DeliveryStatus.FAILED]
    main_lines = [
        f"card #{n}: claimed (Ann)",  # drawn when sent: the ticket as it then was
        "customer wrote: help",
        f"card #{n}: claimed (Ann)",
        f"card #{n}: claimed (Ann)",
        "delivered: On it",
        f"delivery {failed.id} failed (Hello?): Cannot send messages to this user",
    ]
    assert workspace.lines() == main_lines
    assert len(channel.seen) == 3
    waiting = [d for d in deliveries if d.workspace == STAFF]
    # Everything main was told waits for staff (and the copies of what Ann wrote in main), the
    # dispatcher's own notices too: untouched, not failed, not retried.
    assert [d.event for d in waiting if d.event.type != "agent_wrote"] == [
        d.event for d in deliveries if d.workspace == "main"
    ]
    assert [d.event.type for d in waiting].count("agent_wrote") == 2
    assert {(d.status, d.attempts, d.last_error) for d in waiting} == {
        (DeliveryStatus.PENDING, 0, None)
    }
    assert [d.lane for d in deliveries if d.status is DeliveryStatus.FAILED] == [Lane.CUSTOMER]
    assert staff.started == []

    # A later process connects staff too: it gets all of it, in order; nobody else is told twice.
    later = Dispatcher(storage, clock, both(workspace, staff, channel), WORKSPACES)
    await drain(later)
    assert [line for line in staff.lines() if not line.startswith("Ann replied")] == main_lines
    assert [line for line in staff.lines() if line.startswith("Ann replied")] == [
        "Ann replied: On it",
        "Ann replied: Hello?",
    ]
    assert delivery_ids(staff.seen) == [d.id for d in waiting]
    assert workspace.lines() == main_lines
    assert len(channel.seen) == 3
    after = await queued(storage, ticket)
    assert {d.status for d in after if d.workspace == STAFF} == {DeliveryStatus.DONE}
    assert await drain(later) == 0


# --- a card that moved in one workspace ---------------------------------------------------


async def test_a_card_moved_in_one_workspace_is_where_its_later_deliveries_go(
    service: TicketService,
    dispatcher: Dispatcher,
    workspace: RecordingWorkspace,
    staff: RecordingWorkspace,
    clock: FakeClock,
) -> None:
    ticket = await alice_writes(service, clock, "m1", "help")
    await drain(dispatcher)
    (main_card,) = cards(workspace)
    (staff_card,) = cards(staff)
    before_main, before_staff = len(workspace.seen), len(staff.seen)

    await service.move_card(ticket.id, "C0STAFF:9.9", STAFF)
    found = await service.ticket_at("C0STAFF:9.9", STAFF)
    assert found is not None
    assert found.id == ticket.id
    assert found.workspace_ref == main_card  # main's card did not move
    assert await service.ticket_at(staff_card, STAFF) is None
    assert await service.ticket_at("C0STAFF:9.9") is None
    assert await service.ticket_at(main_card) is not None

    await alice_writes(service, clock, "m2", "still there?")
    await service.escalate(ticket.number, Actor.system("Bot"), "too slow")
    await drain(dispatcher)
    staff_after = staff.seen[before_staff:]
    main_after = workspace.seen[before_main:]
    # Up to and with the card the escalation redrew, staff's deliveries go to the moved card.
    assert [s.line for s in staff_after[:2]] == [
        "customer wrote: still there?",
        f"card #{ticket.number}: escalated",
    ]
    assert [s.job.card for s in staff_after[:2] if s.job is not None] == ["C0STAFF:9.9"] * 2
    assert [s.job.card for s in main_after[:2] if s.job is not None] == [main_card] * 2
    # Only those two went to the moved card in staff: after the card it redrew, the dispatcher
    # recorded that card's place, and main's deliveries never left main's card.
    assert cards_carried(staff) == [
        ("customer wrote: still there?", "C0STAFF:9.9"),
        (f"card #{ticket.number}: escalated", "C0STAFF:9.9"),
    ]
    assert cards_carried(workspace) == []


async def test_only_the_workspaces_configured_are_queued_for(
    storage: SqlStorage, clock: FakeClock
) -> None:
    """The default is the main workspace alone; a deployment's list is taken as given."""
    alone = TicketService(storage, clock, sla=SlaKeeper(POLICY))
    three = TicketService(storage, clock, sla=SlaKeeper(POLICY), workspaces=(*WORKSPACES, "night"))
    first = await alice_writes(alone, clock, "m1", "help")
    bob = CustomerMessage(DISCORD, "m2", "1002", "Bob", "me too", clock.now())
    second = (await three.receive_customer_message(bob)).ticket
    agents = {
        t.number: sorted({d.workspace for d in await queued(storage, t) if d.lane is Lane.AGENTS})
        for t in (first, second)
    }
    assert agents == {
        first.number: [MAIN_WORKSPACE],
        second.number: sorted([MAIN_WORKSPACE, STAFF, "night"]),
    }


# --- what an agent writes in one workspace is shown in the other --------------------------


async def test_replies_and_notes_written_in_one_workspace_are_mirrored_into_the_other(
    service: TicketService, sides: Sides, clock: FakeClock
) -> None:
    ticket = await alice_writes(service, clock, "m1", "help")
    n = ticket.number
    await sides.shown()
    in_staff = MessageRef(SLACK, "S:1", STAFF)

    await service.add_agent_message(
        n, AgentMessage(BOB, "checking the logs", True, clock.now(), in_staff)
    )
    main_saw, staff_saw, customer = await sides.shown()
    assert main_saw == ["Bob noted: checking the logs"]
    assert (staff_saw, customer) == ([], [])  # a note: never the customer's
    noted = await service.message_at(in_staff)
    assert noted is not None
    assert [r.workspace for r in noted.refs] == [STAFF, MAIN_WORKSPACE]  # its copy in main

    await service.edit_message(in_staff, "checking the server logs")
    main_saw, staff_saw, customer = await sides.shown()
    assert main_saw == ["edited: checking the server logs"]
    assert (staff_saw, customer) == ([], [])

    reply_ref = MessageRef(SLACK, "S:2", STAFF)
    await service.add_agent_message(n, AgentMessage(BOB, "Fixed?", False, clock.now(), reply_ref))
    main_saw, staff_saw, customer = await sides.shown()
    assert customer == ["reply: **Bob:** Fixed?"]  # once
    assert main_saw == ["Bob replied: Fixed?", f"card #{n}: new", "delivered: Fixed?"]
    assert staff_saw == [f"card #{n}: new", "delivered: Fixed?"]

    await service.edit_message(reply_ref, "Fixed now?")
    main_saw, staff_saw, customer = await sides.shown()
    assert main_saw == ["edited: Fixed now?"]
    assert staff_saw == []
    assert customer == ["reply edited: Fixed now?"]

    await service.delete_message(reply_ref)
    main_saw, staff_saw, customer = await sides.shown()
    assert main_saw == ["deleted: Fixed now?"]
    assert staff_saw == []
    assert len(customer) == 1

    # Written nowhere (a resolution note from a dialog): shown in both workspaces.
    note = AgentMessage(BOB, "All done.", False, clock.now())
    await service.resolve(n, Actor.of_agent(BOB), note_for_customer=note)
    main_saw, staff_saw, customer = await sides.shown()
    assert "Bob replied: All done." in main_saw
    assert "Bob replied: All done." in staff_saw
    assert customer.count("reply: **Bob:** All done.") == 1


async def test_a_message_written_where_no_card_is_records_nothing(
    service: TicketService, clock: FakeClock
) -> None:
    ticket = await alice_writes(service, clock, "m1", "Help")
    ref = in_main("2.000000")
    with pytest.raises(NoTicketAt):
        await service.add_agent_message(
            CardAt("C1:1.000000"), AgentMessage(ANN, "Hello", False, clock.now(), ref)
        )
    assert await service.message_at(ref) is None
    assert [m.body for m in (await service.ticket_detail(ticket.number)).messages] == ["Help"]
