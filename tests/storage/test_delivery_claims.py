"""Which deliveries may have been sent already, on both databases: one taken up again after its
holder stopped mid-attempt, or retried after an attempt that got no answer (`maybe_sent`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.delivery import MAIN_WORKSPACE, Delivery, DeliveryStatus, Lane, NewDelivery
from bot.core.domain import NewTicket, Priority
from bot.core.outbound import CardChanged
from integrations.platforms import DISCORD
from storage.repository import SqlStorage

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = 20.0


async def queued(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        customer = await tx.upsert_customer(DISCORD, "alice", "Alice", T0)
        ticket = await tx.create_ticket(NewTicket(customer.id, "Help", Priority.NORMAL, 1, T0))
        new = NewDelivery(ticket.id, Lane.AGENTS, CardChanged(), T0, workspace=MAIN_WORKSPACE)
        await tx.add_delivery(new)


async def claim(storage: SqlStorage, at: datetime) -> list[Delivery]:
    async with storage.transaction() as tx:
        return await tx.claim_due_deliveries(at, Lane.AGENTS, MAIN_WORKSPACE, 10, LEASE)


async def test_a_first_claim_is_not_maybe_sent(storage: SqlStorage) -> None:
    await queued(storage)
    [first] = await claim(storage, T0)
    assert (first.claims, first.attempts, first.maybe_sent) == (1, 0, False)


async def test_a_claim_after_the_holder_stopped_mid_attempt_is_maybe_sent(
    storage: SqlStorage,
) -> None:
    await queued(storage)
    await claim(storage, T0)  # its holder is killed: no outcome is recorded
    assert await claim(storage, T0 + timedelta(seconds=LEASE / 2)) == []  # still leased
    [again] = await claim(storage, T0 + timedelta(seconds=LEASE + 1))
    assert again.maybe_sent
    # It stays so: a clean failure of the look-and-send does not make the post go away.
    async with storage.transaction() as tx:
        await tx.retry_delivery(again.id, T0 + timedelta(seconds=30), "429", unsure=False)
    [later] = await claim(storage, T0 + timedelta(seconds=31))
    assert later.maybe_sent


async def test_a_clean_retry_is_not_maybe_sent(storage: SqlStorage) -> None:
    await queued(storage)
    [first] = await claim(storage, T0)
    async with storage.transaction() as tx:
        await tx.retry_delivery(first.id, T0 + timedelta(seconds=1), "ratelimited", unsure=False)
    [again] = await claim(storage, T0 + timedelta(seconds=1))
    assert (again.attempts, again.maybe_sent) == (1, False)


async def test_a_retry_after_no_answer_is_maybe_sent(storage: SqlStorage) -> None:
    await queued(storage)
    [first] = await claim(storage, T0)
    async with storage.transaction() as tx:
        await tx.retry_delivery(first.id, T0 + timedelta(seconds=1), "HTTP 500", unsure=True)
    [again] = await claim(storage, T0 + timedelta(seconds=1))
    assert again.maybe_sent
    async with storage.transaction() as tx:
        await tx.finish_delivery(again.id, DeliveryStatus.DONE, T0 + timedelta(seconds=2))
    assert await claim(storage, T0 + timedelta(minutes=5)) == []


async def test_hastening_makes_only_deliveries_waiting_out_a_retry_due(
    storage: SqlStorage,
) -> None:
    await queued(storage)  # a first attempt, not due yet
    async with storage.transaction() as tx:
        customer = await tx.upsert_customer(DISCORD, "bob", "Bob", T0)
        ticket = await tx.create_ticket(NewTicket(customer.id, "Later", Priority.NORMAL, 1, T0))
        later = T0 + timedelta(hours=1)
        await tx.add_delivery(
            NewDelivery(ticket.id, Lane.AGENTS, CardChanged(), later, workspace=MAIN_WORKSPACE)
        )
    [first] = await claim(storage, T0)
    async with storage.transaction() as tx:
        await tx.retry_delivery(first.id, T0 + timedelta(minutes=5), "Slack is down", unsure=False)
    assert await claim(storage, T0 + timedelta(seconds=30)) == []
    async with storage.transaction() as tx:
        assert await tx.hasten_retries(T0 + timedelta(seconds=30)) == 1
    [again] = await claim(storage, T0 + timedelta(seconds=30))
    assert again.id == first.id  # the one queued for later was left alone
