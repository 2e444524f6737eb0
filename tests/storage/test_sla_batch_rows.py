"""The SLA sweep's batch statements on SQLite and PostgreSQL: due clocks taken many at a time,
notifications claimed exactly once however many sweepers run, and a batch that fails leaving
everything as it was."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.delivery import Lane, NewDelivery, for_agents
from bot.core.domain import NewTicket, Priority, TicketId
from bot.core.outbound import Audience, SlaBreached, SlaReminder
from bot.core.sla import Metric, NotificationKey, SlaClock, started
from bot.core.sla_policy import SlaPolicy
from integrations.platforms import DISCORD
from storage.repository import SqlStorage, SqlTransaction
from storage.sla_repository import CLOCK_COLUMNS, _clock_values

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)
CAL = SlaPolicy().calendar(Priority.URGENT)  # always open
WORKSPACES = ("main",)


async def seed(storage: SqlStorage, count: int) -> list[SlaClock]:
    """`count` tickets, each with a first-response clock that was due an hour before NOW."""
    clocks = []
    async with storage.transaction() as tx:
        for i in range(count):
            customer = await tx.upsert_customer(DISCORD, f"c{i}", f"Customer {i}", T0)
            ticket = await tx.create_ticket(NewTicket(customer.id, "Help", Priority.URGENT, 1, T0))
            clock = started(ticket.id, Metric.FIRST_RESPONSE, T0, timedelta(hours=1), CAL)
            clocks.append(dataclasses.replace(clock, next_action_at=clock.due_at))
        await tx.save_clocks(clocks)
    return clocks


def breach_key(clock: SlaClock) -> NotificationKey:
    return NotificationKey(clock.ticket_id, clock.metric, "breach", 0, clock.due_version)


def breach_news(clock: SlaClock) -> list[NewDelivery]:
    events = [
        SlaBreached(clock.metric, clock.due_at, 3600, audience=Audience.LEADS),
        SlaBreached(clock.metric, clock.due_at, 3600),
    ]
    return [new for e in events for new in for_agents(WORKSPACES, clock.ticket_id, e, NOW)]


def stepped(clock: SlaClock) -> SlaClock:
    """The clock after a sweep sent its breach notice: nothing more due before NOW."""
    return dataclasses.replace(
        clock,
        breached_at=clock.due_at,
        breaches=clock.breaches + 1,
        reminded_version=clock.due_version,
        next_action_at=NOW + timedelta(hours=1),
    )


async def batch(tx: SqlTransaction, limit: int) -> set[NotificationKey]:
    """One sweep's batch, as the use case runs it: take, step, claim, queue."""
    clocks = await tx.lock_due_clocks(NOW, limit)
    await asyncio.sleep(0)  # let another sweeper's statements in between
    await tx.save_steps([stepped(clock) for clock in clocks])
    claimed = await tx.claim_notifications([breach_key(clock) for clock in clocks], NOW)
    await asyncio.sleep(0)
    await tx.add_deliveries(
        [new for clock in clocks if breach_key(clock) in claimed for new in breach_news(clock)]
    )
    return claimed


async def sweep(storage: SqlStorage, limit: int) -> list[NotificationKey]:
    """Batches until one comes back empty; every key it claimed."""
    claimed: list[NotificationKey] = []
    while True:
        async with storage.transaction() as tx:
            mine = await batch(tx, limit)
        if not mine:
            return claimed
        claimed += mine


async def counts(storage: SqlStorage) -> tuple[int, int, int]:
    """(clocks still due, notifications, deliveries)."""
    async with storage.reading() as tx:
        due = len(await tx.due_clocks(NOW, 10_000))
        return due, await tx.count("notifications"), await tx.count("deliveries")


async def test_due_clocks_are_taken_earliest_first_up_to_the_limit(storage: SqlStorage) -> None:
    clocks = await seed(storage, 5)
    later = [
        dataclasses.replace(c, next_action_at=T0 + timedelta(minutes=10 - i))
        for i, c in enumerate(clocks)
    ]
    async with storage.transaction() as tx:
        await tx.save_steps(later)
        taken = await tx.lock_due_clocks(NOW, 3)
    assert [c.ticket_id for c in taken] == [c.ticket_id for c in reversed(later)][:3]
    assert taken == list(reversed(later))[:3]


async def test_clocks_updated_in_one_statement_read_back_as_written(storage: SqlStorage) -> None:
    clocks = await seed(storage, 3)
    after = [stepped(clock) for clock in clocks]
    async with storage.transaction() as tx:
        await tx.save_steps(after)
    async with storage.reading() as tx:
        assert [(await tx.get_clocks(c.ticket_id))[0] for c in clocks] == after
        assert await tx.lock_due_clocks(NOW, 10) == []


async def test_tickets_are_read_at_once_by_id(storage: SqlStorage) -> None:
    clocks = await seed(storage, 3)
    ids = [c.ticket_id for c in clocks]
    async with storage.reading() as tx:
        found = await tx.tickets_by_id([*ids, TicketId(999_999)])
        one = await tx.get_ticket_by_id(ids[1])
        assert await tx.tickets_by_id([]) == {}
    assert sorted(found) == sorted(ids)
    assert found[ids[1]] == one


async def test_a_notification_is_claimed_once_whoever_asks_again(storage: SqlStorage) -> None:
    clocks = await seed(storage, 4)
    keys = [breach_key(clock) for clock in clocks]
    async with storage.transaction() as tx:
        assert await tx.claim_notifications(keys[:2], NOW) == set(keys[:2])
        # Taken before, taken now, and a key given twice: each is claimed once.
        again = await tx.claim_notifications([*keys, keys[3]], NOW)
        assert await tx.claim_notification(keys[0], NOW) is False
        assert await tx.claim_notifications([], NOW) == set()
    assert again == set(keys[2:])
    assert (await counts(storage))[1] == 4


async def test_two_transactions_claiming_the_same_keys_at_once_take_each_once(
    storage: SqlStorage,
) -> None:
    clocks = await seed(storage, 20)
    keys = [breach_key(clock) for clock in clocks]
    other = SqlStorage(storage.engine)  # a second replica: its own storage over the database
    first_claimed, second_started = asyncio.Event(), asyncio.Event()

    async def first() -> set[NotificationKey]:
        async with storage.transaction() as tx:
            mine = await tx.claim_notifications(keys[::2] + keys[1::2], NOW)
            first_claimed.set()
            await second_started.wait()
            for _ in range(5):  # the second's INSERT reaches the database and waits on ours
                await asyncio.sleep(0)
            return mine

    async def second() -> set[NotificationKey]:
        await first_claimed.wait()
        second_started.set()
        async with other.transaction() as tx:
            return await tx.claim_notifications(list(reversed(keys)), NOW)

    one, two = await asyncio.gather(first(), second())
    assert one == set(keys)
    assert two == set()
    assert (await counts(storage))[1] == 20


@pytest.mark.parametrize("limit", [3, 500])
async def test_two_sweepers_at_once_claim_and_queue_each_notice_once(
    storage: SqlStorage, limit: int
) -> None:
    clocks = await seed(storage, 25)
    other = SqlStorage(storage.engine)
    one, two = await asyncio.gather(sweep(storage, limit), sweep(other, limit))
    assert sorted(one + two, key=lambda k: k.ticket_id) == [breach_key(c) for c in clocks]
    assert await counts(storage) == (0, 25, 50)
    async with storage.reading() as tx:
        for clock in clocks:
            queued = await tx.list_deliveries(clock.ticket_id)
            assert [d.event for d in queued] == [n.event for n in breach_news(clock)]


async def test_clocks_one_sweeper_holds_are_not_taken_by_another(storage: SqlStorage) -> None:
    clocks = await seed(storage, 6)
    other = SqlStorage(storage.engine)

    async def second() -> list[SlaClock]:
        async with other.transaction() as tx:
            return await tx.lock_due_clocks(NOW, 10)

    async with storage.transaction() as tx:
        held = await tx.lock_due_clocks(NOW, 4)
        await tx.save_steps([stepped(clock) for clock in held])
        taking = asyncio.create_task(second())
        if storage.engine.dialect.name == "postgresql":
            # It skips the rows this transaction holds and takes the others without waiting.
            await asyncio.wait_for(asyncio.shield(taking), timeout=10)
        # SQLite's second writer waits for this one to commit: then these are no longer due.
    rest = await taking
    assert len(held) == 4
    assert sorted(c.ticket_id for c in rest) == sorted(c.ticket_id for c in clocks if c not in held)


async def test_a_batch_that_fails_leaves_every_clock_due_and_nothing_claimed(
    storage: SqlStorage,
) -> None:
    clocks = await seed(storage, 7)

    class Crash(Exception):
        pass

    with pytest.raises(Crash):
        async with storage.transaction() as tx:
            assert await batch(tx, 5)  # stepped, claimed and queued: five of seven
            raise Crash
    assert await counts(storage) == (7, 0, 0)
    async with storage.reading() as tx:
        assert [(await tx.get_clocks(c.ticket_id))[0] for c in clocks] == clocks
    # Nothing was lost: the next sweep does all of it.
    assert len(await sweep(storage, 5)) == 7
    assert await counts(storage) == (0, 7, 14)


async def test_deliveries_queued_at_once_are_add_deliverys_rows_in_order(
    storage: SqlStorage,
) -> None:
    (clock,) = await seed(storage, 1)
    reminder = SlaReminder(clock.metric, clock.due_at, "U0ANN")
    news: Sequence[NewDelivery] = [
        *for_agents(("main", "second"), clock.ticket_id, reminder, NOW),
        *breach_news(clock),
        NewDelivery(clock.ticket_id, Lane.CUSTOMER, reminder, NOW),
    ]
    async with storage.transaction() as tx:
        await tx.add_deliveries(news)
        await tx.add_deliveries([])
    async with storage.transaction() as tx:
        one_by_one = [await tx.add_delivery(new) for new in news]
    async with storage.reading() as tx:
        queued = await tx.list_deliveries(clock.ticket_id)
    assert len(queued) == 2 * len(news)
    strip = [
        dataclasses.replace(d, id=one_by_one[0].id) for d in (*queued[: len(news)], *one_by_one)
    ]
    assert strip[: len(news)] == strip[len(news) :]
    assert [d.id for d in queued] == sorted(d.id for d in queued)


async def test_saving_a_clock_again_replaces_every_value_it_has(storage: SqlStorage) -> None:
    """`save_clocks`' statement, built once, names the columns it replaces: all of them."""
    [clock] = await seed(storage, 1)
    assert set(CLOCK_COLUMNS) == set(_clock_values(clock))
    changed = dataclasses.replace(
        stepped(clock), banked=timedelta(minutes=7), escalations=2, met_at=NOW
    )
    async with storage.transaction() as tx:
        await tx.save_clocks([changed])
    async with storage.reading() as tx:
        assert await tx.get_clocks(clock.ticket_id) == [changed]
