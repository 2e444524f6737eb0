"""A transaction remembers the tickets and customers it read or wrote, as stored, so that the
jobs of the deliveries it queues carry them without a read (`DeliveryRows.jobs_for`). Whatever
the transaction writes to either afterwards, a job still carries them exactly as the database
has them. Run on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.core.delivery import MAIN_WORKSPACE, Delivery, Lane, NewDelivery
from bot.core.domain import MessageRef, NewTicket, Priority, Status, Triage
from bot.core.outbound import CardChanged
from integrations.platforms import DISCORD
from storage import deliveries_repository
from storage.prepared import Prepared
from storage.repository import SqlStorage, SqlTransaction

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TRIAGE = Triage("billing", 0.9, Priority.HIGH, 0.8, "neutral", 0.7, "en", "Refund", by_model=True)


async def test_a_job_carries_the_ticket_and_customer_as_stored_after_every_write(
    storage: SqlStorage,
) -> None:
    async with storage.transaction() as tx:
        customer = await tx.upsert_customer(DISCORD, "c1", "Zoë", AT)
        ticket = await tx.create_ticket(NewTicket(customer.id, "Help", Priority.NORMAL, 1, AT))
        delivery = await tx.add_delivery(NewDelivery(ticket.id, Lane.CUSTOMER, CardChanged(), AT))
        saved = await tx.save_ticket(replace(ticket, status=Status.CLAIMED, updated_at=AT))
        writes: list[Callable[[SqlTransaction], Awaitable[object]]] = [
            lambda tx: tx.get_ticket_by_id(ticket.id),
            lambda tx: tx.set_ticket_due(ticket.id, AT + timedelta(hours=2)),
            lambda tx: tx.set_card(ticket.id, MAIN_WORKSPACE, "C1/1.0"),
            lambda tx: tx.set_ticket_rating(ticket.id, 4),
            lambda tx: tx.set_ticket_triage(ticket.id, TRIAGE),
            lambda tx: tx.set_translate_replies(ticket.id, True),
            lambda tx: tx.set_auto_answer_stopped(ticket.id, True),
            lambda tx: tx.find_ticket_by_card(MAIN_WORKSPACE, "C1/1.0"),
            lambda tx: tx.customer_writing(DISCORD, "c1", MessageRef(DISCORD, "m9"), AT),
            lambda tx: tx.upsert_customer(DISCORD, "c1", "Zoë Renamed", AT),
            lambda tx: tx.set_customer_blocked(customer.id, AT),
            lambda tx: tx.claim_customer_contact(customer.id, "D42"),
            lambda tx: tx.save_ticket(replace(saved, status=Status.PENDING, updated_at=AT)),
        ]
        for write in writes:
            await write(tx)
            await agrees(tx, delivery)


async def agrees(tx: SqlTransaction, delivery: Delivery) -> None:
    """The job's ticket and customer are the database's (read afresh, after the job)."""
    [job] = await tx.jobs_for([delivery])
    assert job is not None
    stored = await tx.get_ticket_by_id(delivery.ticket_id)
    assert stored is not None
    assert job.ticket == stored
    assert job.customer == await tx.get_customer(stored.customer_id)


async def test_a_use_cases_own_ticket_is_not_read_again_for_its_jobs(
    storage: SqlStorage, prepared_runs: list[Prepared]
) -> None:
    async with storage.transaction() as tx:
        customer = await tx.upsert_customer(DISCORD, "c1", "Zoë", AT)
        ticket = await tx.create_ticket(NewTicket(customer.id, "Help", Priority.NORMAL, 1, AT))
        await tx.set_card(ticket.id, MAIN_WORKSPACE, "C1/1.0")
    async with storage.transaction() as tx:
        # An agent's reply, as the desk records it: the ticket is found by its card.
        found = await tx.find_ticket_by_card(MAIN_WORKSPACE, "C1/1.0")
        assert found is not None
        queued, _ = await tx.add_lane_head(
            NewDelivery(found.id, Lane.CUSTOMER, CardChanged(), AT), AT + timedelta(seconds=20)
        )
        prepared_runs.clear()
        [job] = await tx.jobs_for([queued])
    assert job is not None
    assert (job.ticket, job.customer) == (found, customer)
    assert deliveries_repository._ONE_TICKET not in prepared_runs
    assert prepared_runs == []  # nor anything else: the job's ticket and customer were known
