"""TicketService, read like transcripts: customers write, agents act, history is kept."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import CustomerPolicy
from bot.core.domain import (
    Action,
    Actor,
    Agent,
    AgentId,
    Attachment,
    Direction,
    MessageRef,
    Priority,
    Status,
    TicketNumber,
)
from bot.core.errors import (
    AlreadyClaimed,
    CustomerRefused,
    DomainError,
    IllegalTransition,
    TicketNotFound,
)
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.service import TicketService, subject_of
from integrations.platforms import DISCORD, SLACK
from storage.repository import SqlStorage
from tests.support import FakeClock

ANN = Agent(AgentId("U0ANN"), "Ann")
BOB = Agent(AgentId("U0BOB"), "Bob")
LEAD = Actor.of_agent(Agent(AgentId("U0LEAD"), "Lea"))
SENT = datetime(2026, 3, 2, 8, 59, tzinfo=UTC)


def from_alice(message_id: str, body: str, **kw: object) -> CustomerMessage:
    return CustomerMessage(DISCORD, message_id, "1000000000000000005", "Alice", body, SENT, **kw)  # type: ignore[arg-type]


@pytest.fixture
def service(storage: SqlStorage, clock: FakeClock) -> TicketService:
    return TicketService(storage, clock)


async def test_a_first_message_opens_a_ticket(service: TicketService, clock: FakeClock) -> None:
    intake = await service.receive_customer_message(
        from_alice("m1", "My printer is on fire\nIt smells of toast.")
    )
    assert intake.opened
    assert not intake.duplicate
    ticket = intake.ticket
    assert ticket.number == 1001
    assert ticket.subject == "My printer is on fire"
    assert (ticket.status, ticket.priority, ticket.tier) == (Status.NEW, Priority.NORMAL, 1)
    assert ticket.created_at == clock.now()
    assert intake.customer.display_name == "Alice"
    detail = await service.ticket_detail(ticket.number)
    assert [(m.direction, m.body) for m in detail.messages] == [
        (Direction.FROM_CUSTOMER, "My printer is on fire\nIt smells of toast.")
    ]
    assert detail.messages[0].refs == (MessageRef(DISCORD, "m1"),)
    assert [e.action for e in detail.events] == [Action.OPEN]


async def test_follow_ups_join_the_open_ticket(service: TicketService) -> None:
    first = await service.receive_customer_message(from_alice("m1", "Hello"))
    second = await service.receive_customer_message(from_alice("m2", "Anyone there?"))
    assert not second.opened
    assert second.ticket.number == first.ticket.number
    detail = await service.ticket_detail(first.ticket.number)
    assert [m.body for m in detail.messages] == ["Hello", "Anyone there?"]


async def test_a_redelivered_message_is_recognised_and_dropped(service: TicketService) -> None:
    await service.receive_customer_message(from_alice("m1", "Hello"))
    again = await service.receive_customer_message(from_alice("m1", "Hello"))
    assert again.duplicate
    detail = await service.ticket_detail(again.ticket.number)
    assert len(detail.messages) == 1


async def test_a_message_delivered_twice_at_once_is_recorded_once(
    service: TicketService,
) -> None:
    opened = await service.receive_customer_message(from_alice("m1", "Hello"))
    # On PostgreSQL the two transactions overlap: one of them finds the other's copy of the
    # message when it stores its own, and takes its message back.
    both = await asyncio.gather(
        *(service.receive_customer_message(from_alice("m2", "Again")) for _ in range(2))
    )
    assert sorted(intake.duplicate for intake in both) == [False, True]
    detail = await service.ticket_detail(opened.ticket.number)
    assert [m.body for m in detail.messages] == ["Hello", "Again"]


async def test_empty_messages_are_refused(service: TicketService) -> None:
    with pytest.raises(DomainError, match="empty message"):
        await service.receive_customer_message(from_alice("m1", "  \n "))
    assert await service.list_tickets() == []


async def test_an_attachment_alone_is_a_message(service: TicketService) -> None:
    shot = Attachment("screenshot.png", "https://cdn.example/s.png", 2048, "image/png")
    intake = await service.receive_customer_message(from_alice("m1", "", attachments=(shot,)))
    assert intake.ticket.subject == "Attachment: screenshot.png"
    assert intake.message is not None
    assert intake.message.attachments == (shot,)


async def test_the_life_of_a_ticket(service: TicketService, clock: FakeClock) -> None:
    number = (await service.receive_customer_message(from_alice("m1", "Help"))).ticket.number

    clock.advance(minutes=3)
    claimed = await service.claim(number, ANN)
    assert (claimed.status, claimed.assignee) == (Status.CLAIMED, ANN)

    reply = await service.add_agent_message(
        number,
        AgentMessage(
            ANN,
            "Have you tried turning it off?",
            False,
            clock.now(),
            MessageRef(SLACK, "C0SUP:1.1"),
        ),
    )
    note = await service.add_agent_message(
        number, AgentMessage(ANN, "Third time this week", True, clock.now())
    )
    assert reply is not None
    assert reply.direction is Direction.TO_CUSTOMER
    assert note is not None
    assert note.direction is Direction.NOTE

    pending = await service.wait_on_customer(number, Actor.of_agent(ANN))
    assert pending.status is Status.PENDING
    clock.advance(minutes=10)
    woken = await service.receive_customer_message(from_alice("m2", "Yes, still burning"))
    assert woken.reopened
    assert woken.ticket.status is Status.CLAIMED

    escalated = await service.escalate(number, Actor.of_agent(ANN), "Needs hardware team")
    assert (escalated.status, escalated.tier, escalated.assignee) == (Status.ESCALATED, 2, None)
    await service.claim(number, BOB)
    await service.set_priority(number, LEAD, Priority.URGENT)
    resolved = await service.resolve(number, Actor.of_agent(BOB), "Replaced the fuser")
    assert resolved.resolved_at == clock.now()

    clock.advance(hours=2)
    reopened = await service.receive_customer_message(from_alice("m3", "It's back on fire"))
    assert reopened.reopened
    assert not reopened.opened
    assert reopened.ticket.status is Status.CLAIMED  # Bob still holds it
    assert reopened.ticket.assignee == BOB
    await service.resolve(number, Actor.of_agent(BOB))
    closed = await service.close(number, Actor.system())
    assert closed.status is Status.CLOSED

    detail = await service.ticket_detail(number)
    assert detail.ticket.first_response_at == clock.now().replace(hour=9, minute=3)
    assert [(e.action, e.from_status, e.to_status) for e in detail.events] == [
        (Action.OPEN, Status.NEW, Status.NEW),
        (Action.CLAIM, Status.NEW, Status.CLAIMED),
        (Action.PEND, Status.CLAIMED, Status.PENDING),
        (Action.CUSTOMER_REPLY, Status.PENDING, Status.CLAIMED),
        (Action.ESCALATE, Status.CLAIMED, Status.ESCALATED),
        (Action.CLAIM, Status.ESCALATED, Status.CLAIMED),
        (Action.SET_PRIORITY, Status.CLAIMED, Status.CLAIMED),
        (Action.RESOLVE, Status.CLAIMED, Status.RESOLVED),
        (Action.REOPEN, Status.RESOLVED, Status.CLAIMED),
        (Action.RESOLVE, Status.CLAIMED, Status.RESOLVED),
        (Action.CLOSE, Status.RESOLVED, Status.CLOSED),
    ]
    assert detail.events[4].reason == "Needs hardware team"
    assert detail.events[4].detail == "tier 1 → 2"
    assert detail.events[6].actor == LEAD


async def test_after_close_a_new_message_opens_a_new_ticket(service: TicketService) -> None:
    first = (await service.receive_customer_message(from_alice("m1", "Help"))).ticket
    await service.close(first.number, Actor.system())
    second = await service.receive_customer_message(from_alice("m2", "Help again"))
    assert second.opened
    assert second.ticket.number == first.number + 1


async def test_an_illegal_move_changes_nothing(service: TicketService) -> None:
    number = (await service.receive_customer_message(from_alice("m1", "Help"))).ticket.number
    before = await service.ticket_detail(number)
    with pytest.raises(IllegalTransition, match="#1001 is new; it cannot be reopened"):
        await service.reopen(number, LEAD)
    after = await service.ticket_detail(number)
    assert after == before


async def test_a_second_claim_names_the_holder(service: TicketService) -> None:
    number = (await service.receive_customer_message(from_alice("m1", "Help"))).ticket.number
    await service.claim(number, ANN)
    with pytest.raises(AlreadyClaimed, match="Ann already holds it"):
        await service.claim(number, BOB)


async def test_unknown_tickets_are_reported(service: TicketService) -> None:
    with pytest.raises(TicketNotFound, match="#4242 does not exist"):
        await service.claim(TicketNumber(4242), ANN)
    with pytest.raises(TicketNotFound):
        await service.ticket_detail(TicketNumber(4242))
    with pytest.raises(TicketNotFound):
        await service.add_agent_message(TicketNumber(4242), AgentMessage(ANN, "hi", False, SENT))


async def test_closed_tickets_take_notes_but_no_replies(service: TicketService) -> None:
    number = (await service.receive_customer_message(from_alice("m1", "Help"))).ticket.number
    await service.close(number, Actor.system())
    with pytest.raises(IllegalTransition, match=r"closed; it cannot be replied to\. Closed"):
        await service.add_agent_message(number, AgentMessage(ANN, "hi", False, SENT))
    note = await service.add_agent_message(number, AgentMessage(ANN, "for the record", True, SENT))
    assert note is not None


async def test_an_agent_message_seen_before_is_dropped(service: TicketService) -> None:
    number = (await service.receive_customer_message(from_alice("m1", "Help"))).ticket.number
    ref = MessageRef(SLACK, "C0SUP:1.1")
    msg = AgentMessage(ANN, "On it", False, SENT, ref)
    assert await service.add_agent_message(number, msg) is not None
    assert await service.add_agent_message(number, msg) is None
    detail = await service.ticket_detail(number)
    assert [m.body for m in detail.messages] == ["Help", "On it"]
    # Seen again once the ticket is closed: still dropped, not refused as a reply to a closed
    # ticket (the agent replied while it was open).
    await service.close(number, Actor.system())
    assert await service.add_agent_message(number, msg) is None


async def test_policy_defaults_apply_to_new_tickets(storage: SqlStorage, clock: FakeClock) -> None:
    service = TicketService(storage, clock, default_priority=Priority.HIGH, default_tier=2)
    ticket = (await service.receive_customer_message(from_alice("m1", "Help"))).ticket
    assert (ticket.priority, ticket.tier) == (Priority.HIGH, 2)


async def test_list_filters_by_status(service: TicketService) -> None:
    a = (await service.receive_customer_message(from_alice("m1", "Help"))).ticket.number
    await service.claim(a, ANN)
    b = (
        await service.receive_customer_message(
            CustomerMessage(DISCORD, "x1", "999", "Xavier", "Hi", SENT)
        )
    ).ticket.number
    assert [t.number for t in await service.list_tickets()] == [b, a]
    assert [t.number for t in await service.list_tickets(Status.CLAIMED)] == [a]


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        ("  \n  Printer   on fire \n more", "Printer on fire"),
        ("x" * 200, "x" * 79 + "…"),
        ("", "(no subject)"),
    ],
)
def test_subject_of(body: str, subject: str) -> None:
    assert subject_of(body) == subject


async def test_raw_events_are_stored_once_and_found_again_after_a_crash(
    service: TicketService, clock: FakeClock
) -> None:
    body = {"event_id": "Ev1", "event": {"type": "message", "text": "hi"}}
    assert await service.record_inbound(SLACK, "Ev1", body)
    assert await service.record_inbound(SLACK, "Ev1", body)  # not processed yet
    assert await service.record_inbound(SLACK, "Ev3", {"event_id": "Ev3"})
    await service.mark_processed(SLACK, "Ev3")
    assert not await service.record_inbound(SLACK, "Ev3", {})  # a redelivery
    assert await service.record_inbound(SLACK, "Ev2", {"event_id": "Ev2"})
    await service.mark_processed(SLACK, "Ev2")
    assert await service.unprocessed(SLACK, timedelta(seconds=30)) == []
    clock.advance(seconds=31)
    assert await service.unprocessed(SLACK, timedelta(seconds=30)) == [("Ev1", body)]


async def test_a_customer_renamed_is_renamed_by_their_next_message(
    service: TicketService,
) -> None:
    first = CustomerMessage(DISCORD, "m1", "42", "Alice", "hi", SENT)
    opened = await service.receive_customer_message(first)
    renamed = await service.receive_customer_message(
        replace(first, message_id="m2", customer_name="Alice B.", body="still me")
    )
    assert renamed.customer.id == opened.customer.id
    assert renamed.customer.display_name == "Alice B."
    assert renamed.ticket.id == opened.ticket.id
    assert (await service.customer_of(renamed.ticket)).display_name == "Alice B."
    # The first message again (a redelivery), under the old name: recognised, nothing recorded.
    again = await service.receive_customer_message(first)
    assert again.message is None
    assert again.ticket.id == opened.ticket.id
    detail = await service.ticket_detail(opened.ticket.number)
    assert [m.body for m in detail.messages] == ["hi", "still me"]


async def test_customer_avatars_are_kept(service: TicketService) -> None:
    msg = CustomerMessage(
        DISCORD,
        "m1",
        "42",
        "Alice",
        "hi",
        SENT,
        customer_avatar_url="https://cdn.example/a.png",
    )
    intake = await service.receive_customer_message(msg)
    assert intake.customer.avatar_url == "https://cdn.example/a.png"
    again = await service.receive_customer_message(
        replace(msg, message_id="m2", customer_avatar_url=None)
    )
    assert again.customer.avatar_url == "https://cdn.example/a.png"
    assert (await service.customer_of(again.ticket)).avatar_url == "https://cdn.example/a.png"


async def test_only_a_customer_visible_reply_stamps_the_first_response(
    service: TicketService, clock: FakeClock
) -> None:
    number = (await service.receive_customer_message(from_alice("m1", "Help"))).ticket.number
    clock.advance(minutes=5)
    await service.add_agent_message(number, AgentMessage(ANN, "looking", True, clock.now()))
    assert (await service.get_ticket(number)).first_response_at is None
    clock.advance(minutes=5)
    await service.add_agent_message(number, AgentMessage(ANN, "Hi!", False, clock.now()))
    first = clock.now()
    clock.advance(minutes=5)
    await service.add_agent_message(number, AgentMessage(ANN, "Again", False, clock.now()))
    assert (await service.get_ticket(number)).first_response_at == first


async def test_a_late_follow_up_opens_a_new_ticket_linked_to_the_old(
    service: TicketService, clock: FakeClock
) -> None:
    first = (await service.receive_customer_message(from_alice("m1", "Help"))).ticket
    await service.resolve(first.number, Actor.of_agent(ANN))
    clock.advance(days=6, hours=23)
    within = await service.receive_customer_message(from_alice("m2", "Still broken"))
    assert within.reopened
    assert within.ticket.number == first.number
    await service.resolve(first.number, Actor.of_agent(ANN))
    clock.advance(days=7, minutes=1)
    later = await service.receive_customer_message(from_alice("m3", "Broken again"))
    assert later.opened
    assert later.ticket.number == first.number + 1
    old = await service.ticket_detail(first.number)
    assert old.ticket.status is Status.CLOSED
    new = await service.ticket_detail(later.ticket.number)
    assert new.events[0].detail == f"follows up on #{first.number}"
    assert [m.body for m in new.messages] == ["Broken again"]


async def test_a_blocked_customer_is_dropped_unanswered(service: TicketService) -> None:
    blocked = await service.set_blocked(DISCORD, "1000000000000000005", True)
    assert blocked.blocked
    with pytest.raises(CustomerRefused) as refused:
        await service.receive_customer_message(from_alice("m1", "spam"))
    assert refused.value.reply is None
    assert await service.list_tickets() == []
    await service.set_blocked(DISCORD, "1000000000000000005", False)
    assert (await service.receive_customer_message(from_alice("m2", "sorry"))).opened


async def test_new_tickets_per_hour_are_limited(storage: SqlStorage, clock: FakeClock) -> None:
    service = TicketService(storage, clock, limits=CustomerPolicy(new_tickets_per_hour=2))
    for i in range(2):
        number = (await service.receive_customer_message(from_alice(f"m{i}", "hi"))).ticket.number
        await service.close(number, Actor.system())
    with pytest.raises(CustomerRefused) as refused:
        await service.receive_customer_message(from_alice("m9", "hi again"))
    assert refused.value.reply is not None
    assert "several tickets in the last hour" in refused.value.reply
    clock.advance(hours=1, seconds=1)
    assert (await service.receive_customer_message(from_alice("m10", "hi"))).opened


async def test_messages_per_minute_are_limited(storage: SqlStorage, clock: FakeClock) -> None:
    service = TicketService(storage, clock, limits=CustomerPolicy(messages_per_minute=3))
    for i in range(3):
        await service.receive_customer_message(
            replace(from_alice(f"m{i}", f"msg {i}"), sent_at=clock.now())
        )
    with pytest.raises(CustomerRefused) as refused:
        await service.receive_customer_message(
            replace(from_alice("m3", "more"), sent_at=clock.now())
        )
    assert "faster than we can read" in str(refused.value.reply)
    clock.advance(minutes=1, seconds=1)
    await service.receive_customer_message(replace(from_alice("m4", "later"), sent_at=clock.now()))


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (6, "at most 5 files"),
        (1, "of up to 25 MB"),
    ],
)
async def test_attachment_limits_get_a_clear_reply(
    service: TicketService, files: int, expected: str
) -> None:
    size = 1024 if files > 1 else 30 * 1024 * 1024
    attachments = tuple(
        Attachment(f"f{i}.bin", f"https://cdn.example/{i}", size) for i in range(files)
    )
    with pytest.raises(CustomerRefused) as refused:
        await service.receive_customer_message(from_alice("m1", "files", attachments=attachments))
    assert expected in str(refused.value.reply)
    assert await service.list_tickets() == []


async def test_whitespace_gets_a_polite_reply(service: TicketService) -> None:
    with pytest.raises(CustomerRefused) as refused:
        await service.receive_customer_message(from_alice("m1", "   \n\t "))
    assert refused.value.reply == (
        "I couldn't read that message: please write some text or attach a file."
    )
