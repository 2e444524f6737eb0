"""The customer's channel edits and deletes only the customer's copies of a reply: copies of
the same message in an agent workspace on Discord belong to that workspace."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.domain import Actor, Direction, Message, MessageId, MessageRef, TicketId
from integrations.discord.customer_channel import _discord_copies
from integrations.platforms import DISCORD, SLACK


def test_only_the_customer_side_copies_are_the_customer_s() -> None:
    reply = Message(
        id=MessageId(1),
        ticket_id=TicketId(1),
        direction=Direction.TO_CUSTOMER,
        author=Actor.system("Ann"),
        body="hello",
        created_at=datetime(2026, 3, 2, tzinfo=UTC),
        refs=(
            MessageRef(SLACK, "C0SUP:1.1", "main"),  # where the agent wrote it
            MessageRef(DISCORD, "111"),  # the pieces the customer was sent
            MessageRef(DISCORD, "333", "staff"),  # its copy in a staff channel on Discord
            MessageRef(DISCORD, "112"),
        ),
    )
    assert _discord_copies(reply) == [111, 112]
