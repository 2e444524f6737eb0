"""What waits behind a lane's head, and leasing it with the head, on both databases: the
dispatcher sends a ticket's consecutive waiting customer's messages as one post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.delivery import MAIN_WORKSPACE, DeliveryId, Lane, NewDelivery
from bot.core.domain import NewTicket, Priority, TicketId
from bot.core.outbound import CardChanged, CustomerWrote, OutboundEvent
from integrations.platforms import DISCORD
from storage.repository import SqlStorage

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=20)


async def ticket_with(storage: SqlStorage, who: str, events: list[OutboundEvent]) -> TicketId:
    async with storage.transaction() as tx:
        customer = await tx.upsert_customer(DISCORD, who, who.title(), T0)
        ticket = await tx.create_ticket(NewTicket(customer.id, "Help", Priority.NORMAL, 1, T0))
        for event in events:
            await tx.add_delivery(
                NewDelivery(ticket.id, Lane.AGENTS, event, T0, workspace=MAIN_WORKSPACE)
            )
        # The customer's lane is another lane: never behind an agents' head.
        await tx.add_delivery(NewDelivery(ticket.id, Lane.CUSTOMER, CardChanged(), T0))
    return ticket.id


async def test_what_waits_behind_each_head_in_its_own_lane(storage: SqlStorage) -> None:
    alice = await ticket_with(storage, "alice", [CustomerWrote()] * 4)
    bob = await ticket_with(storage, "bob", [CustomerWrote(), CardChanged(), CustomerWrote()])
    carol = await ticket_with(storage, "carol", [CustomerWrote()])
    async with storage.transaction() as tx:
        heads = await tx.claim_due_deliveries(T0, Lane.AGENTS, MAIN_WORKSPACE, 10, 20)
        behind = await tx.waiting_behind(heads, 2)
    by_ticket = {head.ticket_id: behind[head.id] for head in heads}
    assert [len(by_ticket[alice]), len(by_ticket[carol])] == [2, 0]  # at most `most` each
    assert [type(d.event) for d in by_ticket[bob]] == [CardChanged, CustomerWrote]
    for head in heads:
        waiting = behind[head.id]
        assert [d.id for d in waiting] == sorted(d.id for d in waiting)
        assert all(d.id > head.id and d.ticket_id == head.ticket_id for d in waiting)
        assert all(d.lane is Lane.AGENTS for d in waiting)


async def test_riders_are_leased_with_their_head_and_counted_as_claimed(
    storage: SqlStorage,
) -> None:
    await ticket_with(storage, "alice", [CustomerWrote()] * 3)
    async with storage.transaction() as tx:
        [head] = await tx.claim_due_deliveries(T0, Lane.AGENTS, MAIN_WORKSPACE, 10, 20)
        waiting = (await tx.waiting_behind([head], 9))[head.id]
        ids = [d.id for d in waiting]
        leased = await tx.lease_deliveries(ids, T0, T0 + LEASE)
        assert [d.id for d in leased] == ids
        assert all((d.claims, d.maybe_sent) == (1, False) for d in leased)
        # Held: a second holder gets none of them until the lease runs out.
        assert await tx.lease_deliveries(ids, T0 + LEASE / 2, T0 + LEASE * 2) == []
        again = await tx.lease_deliveries(ids, T0 + LEASE * 2, T0 + LEASE * 3)
    # Taken up after a holder stopped mid-attempt: the post may have been made.
    assert all(d.maybe_sent for d in again)


async def test_nothing_is_leased_for_nothing(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        assert await tx.lease_deliveries([], T0, T0 + LEASE) == []
        assert await tx.lease_deliveries([DeliveryId(999)], T0, T0 + LEASE) == []
        assert await tx.waiting_behind([], 9) == {}
