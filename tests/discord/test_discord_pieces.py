"""Discord pieces on their own: who may close a ticket, how replies are signed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.core.domain import (
    Actor,
    ActorKind,
    CustomerId,
    Direction,
    Message,
    MessageId,
    Platform,
    Priority,
    Status,
    Ticket,
    TicketId,
    TicketNumber,
)
from bot.core.events import CustomerMessage
from bot.core.service import TicketService
from integrations.discord.texts import notice, signed
from integrations.discord.views import CLOSE_TEMPLATE, UNKNOWN_TEMPLATE, close_for
from storage.repository import SqlStorage
from tests.support import FakeClock

SENT = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def test_only_the_ticket_s_customer_can_close_it(
    storage: SqlStorage, clock: FakeClock
) -> None:
    service = TicketService(storage, clock)
    intake = await service.receive_customer_message(
        CustomerMessage(Platform.DISCORD, "m1", "111", "Alice", "Help", SENT)
    )
    number = intake.ticket.number
    assert (
        await close_for(service, number, "222") == "This button belongs to someone else's ticket."
    )
    assert await close_for(service, TicketNumber(99999), "111") == "Ticket #99999 does not exist."
    assert (await service.get_ticket(number)).status is Status.NEW
    assert await close_for(service, number, "111") == (
        f"Your ticket #{number} is closed. Write here any time to open a new one."
    )
    assert (await service.get_ticket(number)).status is Status.CLOSED
    assert "is closed; it cannot be closed" in await close_for(service, number, "111")


def test_replies_are_signed_by_the_agent_or_the_team() -> None:
    message = Message(
        MessageId(1),
        TicketId(1),
        Direction.TO_CUSTOMER,
        Actor(ActorKind.AGENT, "U1", "Alex"),
        "On it",
        SENT,
    )
    assert signed(message, None) == "**Alex:** On it"
    assert signed(message, "Acme Support") == "**Acme Support:** On it"


def test_notices_name_the_ticket() -> None:
    ticket = Ticket(
        TicketId(1),
        TicketNumber(1042),
        CustomerId(1),
        "Printer",
        Status.CLAIMED,
        Priority.NORMAL,
        1,
        SENT,
        SENT,
    )
    assert notice(ticket, {"event": "claimed", "agent": "Alex"}) == (
        "Alex is looking into your ticket #1042."
    )
    assert "#1042" in notice(ticket, {"event": "resolved"})


def test_every_button_id_is_answered_by_exactly_one_handler() -> None:
    close, unknown = re.compile(CLOSE_TEMPLATE), re.compile(UNKNOWN_TEMPLATE)
    for custom_id, closes in [
        ("threadline:close:1042", True),
        ("threadline:close:", False),
        ("threadline:close:1042x", False),
        ("threadline:reopen:1042", False),
        ("something-else", False),
    ]:
        assert bool(close.fullmatch(custom_id)) is closes, custom_id
        assert bool(unknown.fullmatch(custom_id)) is not closes, custom_id
