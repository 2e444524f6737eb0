"""What a start needs to find missed messages, on SQLite and on PostgreSQL: the stored gateway
checkpoint, and each recently active customer with the last message recorded from them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.core.domain import (
    Actor,
    Direction,
    MessageRef,
    NewMessage,
    NewTicket,
    Priority,
    Status,
    TicketId,
)
from bot.core.inbound import GatewayCheckpoint
from integrations.platforms import DISCORD, SLACK
from storage.repository import SqlStorage, SqlTransaction

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _customer_with_ticket(
    tx: SqlTransaction, external_id: str, at: datetime, messages: list[str]
) -> TicketId:
    customer = await tx.upsert_customer(DISCORD, external_id, external_id, at)
    ticket = await tx.create_ticket(NewTicket(customer.id, "Help", Priority.NORMAL, 1, at))
    for i, platform_id in enumerate(messages):
        await tx.add_message(
            NewMessage(
                ticket.id,
                Direction.FROM_CUSTOMER,
                Actor.system(external_id),
                f"message {i}",
                at,
                refs=(MessageRef(DISCORD, platform_id),),
            )
        )
    return ticket.id


async def test_gateway_checkpoints_are_stored_replaced_and_cleared(storage: SqlStorage) -> None:
    first = GatewayCheckpoint("s1", "wss://gateway.example/resume", 41)
    async with storage.transaction() as tx:
        assert await tx.load_gateway_checkpoint("discord") is None
        await tx.save_gateway_checkpoint("discord", first, T0)
        await tx.save_gateway_checkpoint("discord", replace(first, seq=2**40), T0)
        await tx.save_gateway_checkpoint("other", first, T0)
    async with storage.reading() as tx:
        assert await tx.load_gateway_checkpoint("discord") == replace(first, seq=2**40)
    async with storage.transaction() as tx:
        await tx.clear_gateway_checkpoint("discord")
        assert await tx.load_gateway_checkpoint("discord") is None
        assert await tx.load_gateway_checkpoint("other") == first


async def test_recent_conversations_are_open_or_recently_changed_newest_first(
    storage: SqlStorage,
) -> None:
    async with storage.transaction() as tx:
        await _customer_with_ticket(tx, "open-old", T0 - timedelta(days=30), ["11", "12"])
        closed_recent = await _customer_with_ticket(tx, "closed-recent", T0, ["21"])
        closed_old = await _customer_with_ticket(tx, "closed-old", T0 - timedelta(days=30), [])
        await _customer_with_ticket(tx, "silent", T0 + timedelta(hours=1), [])
        for ticket_id, at in ((closed_recent, T0), (closed_old, T0 - timedelta(days=30))):
            ticket = await tx.get_ticket_by_id(ticket_id)
            assert ticket is not None
            await tx.save_ticket(replace(ticket, status=Status.CLOSED, updated_at=at))
    since = T0 - timedelta(days=7)
    async with storage.reading() as tx:
        found = await tx.recent_conversations(DISCORD, since, 10)
        assert [(c.external_id, last) for c, last in found] == [
            ("silent", None),
            ("closed-recent", "21"),
            ("open-old", "12"),
        ]
        assert len(await tx.recent_conversations(DISCORD, since, 2)) == 2
        assert await tx.recent_conversations(SLACK, since, 10) == []
