"""Discord pieces on their own: who may close a ticket, which button is whose."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.core.domain import Status, TicketNumber
from bot.core.events import CustomerMessage
from bot.core.service import TicketService
from integrations.discord.views import CLOSE_TEMPLATE, UNKNOWN_TEMPLATE, close_for
from integrations.platforms import DISCORD
from storage.repository import SqlStorage
from tests.support import FakeClock

SENT = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def test_only_the_ticket_s_customer_can_close_it(
    storage: SqlStorage, clock: FakeClock
) -> None:
    service = TicketService(storage, clock)
    intake = await service.receive_customer_message(
        CustomerMessage(DISCORD, "m1", "111", "Alice", "Help", SENT)
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
