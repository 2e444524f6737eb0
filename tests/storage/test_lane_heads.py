"""A delivery queued as its lane's head is leased to the process that queued it, on both
databases (`add_lane_head`): only when nothing is pending before it in its lane, as a claim
would lease it, and never two heads of one lane at once, even from two transactions at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from bot.core.delivery import MAIN_WORKSPACE, DeliveryStatus, Lane, NewDelivery
from bot.core.domain import NewTicket, Priority, Ticket
from bot.core.outbound import CardChanged, CustomerWrote, TicketOpened
from integrations.platforms import DISCORD
from storage.repository import SqlStorage

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UNTIL = T0 + timedelta(seconds=20)


async def a_ticket(storage: SqlStorage, who: str = "alice") -> Ticket:
    async with storage.transaction() as tx:
        customer = await tx.upsert_customer(DISCORD, who, who.title(), T0)
        return await tx.create_ticket(NewTicket(customer.id, "Help", Priority.NORMAL, 1, T0))


def to_agents(ticket: Ticket) -> NewDelivery:
    return NewDelivery(ticket.id, Lane.AGENTS, CustomerWrote(), T0, workspace=MAIN_WORKSPACE)


async def test_a_head_is_leased_and_what_follows_it_is_not(storage: SqlStorage) -> None:
    ticket = await a_ticket(storage)
    async with storage.transaction() as tx:
        head, held = await tx.add_lane_head(to_agents(ticket), UNTIL)
        second, second_held = await tx.add_lane_head(to_agents(ticket), UNTIL)
        # Another lane of the same ticket has a head of its own.
        other = NewDelivery(ticket.id, Lane.CUSTOMER, TicketOpened(due_at=None), T0)
        _, customer_held = await tx.add_lane_head(other, UNTIL)
    assert (held, second_held, customer_held) == (True, False, True)
    assert (head.claims, head.maybe_sent, second.claims) == (1, False, 0)
    async with storage.transaction() as tx:
        # Held: a claim finds nothing (the head is leased; the second waits behind it) ...
        assert await tx.claim_due_deliveries(T0, Lane.AGENTS, MAIN_WORKSPACE, 10, 20) == []
        await tx.finish_delivery(head.id, DeliveryStatus.DONE, T0)
        # ... until the head is done.
        [claimed] = await tx.claim_due_deliveries(T0, Lane.AGENTS, MAIN_WORKSPACE, 10, 20)
    assert claimed.id == second.id


async def test_a_head_whose_holder_stopped_is_claimed_after_its_lease_as_maybe_sent(
    storage: SqlStorage,
) -> None:
    ticket = await a_ticket(storage)
    async with storage.transaction() as tx:
        head, _ = await tx.add_lane_head(to_agents(ticket), UNTIL)
    async with storage.transaction() as tx:
        before = await tx.claim_due_deliveries(UNTIL, Lane.AGENTS, MAIN_WORKSPACE, 10, 20)
        [after] = await tx.claim_due_deliveries(
            UNTIL + timedelta(seconds=1), Lane.AGENTS, MAIN_WORKSPACE, 10, 20
        )
    assert before == []
    assert (after.id, after.maybe_sent) == (head.id, True)


async def test_a_delivery_behind_an_unleased_pending_one_is_not_a_head(
    storage: SqlStorage,
) -> None:
    ticket = await a_ticket(storage)
    async with storage.transaction() as tx:
        await tx.add_delivery(
            NewDelivery(ticket.id, Lane.AGENTS, CardChanged(), T0, workspace=MAIN_WORKSPACE)
        )
        _, held = await tx.add_lane_head(to_agents(ticket), UNTIL)
    assert not held


async def race(storage: SqlStorage, ticket: Ticket, first: list[NewDelivery]) -> list[object]:
    """Two transactions at once: the first queues `first` (answering whether it holds the last
    one) and waits while the second queues a head of the ticket's agents' lane."""
    started = asyncio.Event()

    async def queue(deliveries: list[NewDelivery]) -> bool:
        held = False
        async with storage.transaction() as tx:
            if not deliveries:
                await started.wait()
                _, held = await tx.add_lane_head(to_agents(ticket), UNTIL)
                return held
            for new in deliveries:
                _, held = await tx.add_lane_head(new, UNTIL)
            started.set()
            await asyncio.sleep(0.2)  # the other transaction tries meanwhile
            return held

    return await asyncio.gather(queue(first), queue([]), return_exceptions=True)


async def test_two_transactions_at_once_never_both_hold_a_lane(storage: SqlStorage) -> None:
    ticket = await a_ticket(storage)
    results = await race(storage, ticket, [to_agents(ticket)])
    held = [r for r in results if r is True]
    assert len(held) == 1, results
    async with storage.reading() as tx:
        rows = await tx.list_deliveries(ticket.id)
    assert len(rows) == sum(1 for r in results if isinstance(r, bool))


async def test_a_transaction_takes_its_tickets_lane_lock_once_and_holds_it(
    storage: SqlStorage,
) -> None:
    """PostgreSQL: a message and the card it redraws are queued in one transaction, for one
    ticket; its lane lock is taken once (a round trip fewer) and still held for the second."""
    ticket = await a_ticket(storage)
    locks: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if "pg_advisory_xact_lock" in sql:
            locks.append(sql)

    # The first takes the ticket's lock for its customer lane, and holds it for its agents'.
    first = [
        NewDelivery(ticket.id, Lane.CUSTOMER, TicketOpened(due_at=None), T0),
        to_agents(ticket),
    ]
    event.listen(storage.engine.sync_engine, "before_cursor_execute", count)
    try:
        results = await race(storage, ticket, first)
    finally:
        event.remove(storage.engine.sync_engine, "before_cursor_execute", count)
    assert [r for r in results if r is True] == [True], results
    expected = 0 if storage.engine.dialect.name == "sqlite" else 2  # one per transaction
    assert len(locks) == expected
