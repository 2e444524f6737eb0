"""What the AI features spend on models, in storage and through the service, on both
databases: tokens per call summed per ticket and per UTC day, and the daily budget."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bot.core.domain import NewTicket, Priority, Ticket, TicketId
from bot.core.model_use import ModelUse, Spent, within_budget
from bot.core.service import TicketService
from integrations.platforms import DISCORD
from storage.repository import SqlStorage, SqlTransaction
from tests.support import FakeClock

T0 = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)


async def a_ticket(tx: SqlTransaction, customer: str = "alice") -> Ticket:
    found = await tx.upsert_customer(DISCORD, customer, customer.title(), T0)
    return await tx.create_ticket(NewTicket(found.id, "Refund", Priority.NORMAL, 1, T0))


def use(at: datetime, ticket: TicketId | None, prompt: int, completion: int) -> ModelUse:
    return ModelUse("triage", "gpt-4o-mini", prompt, completion, at, ticket)


async def test_spending_is_summed_per_ticket_and_per_utc_day(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        first, second = await a_ticket(tx), await a_ticket(tx, "bob")
        await tx.record_model_use(use(T0, first.id, 100, 20))
        await tx.record_model_use(use(T0 + timedelta(minutes=29), first.id, 50, 5))
        await tx.record_model_use(use(T0 + timedelta(minutes=30), second.id, 7, 3))  # next day
        await tx.record_model_use(use(T0 + timedelta(minutes=31), None, 1, 1))  # no ticket
    service = TicketService(storage, FakeClock(T0))
    assert await service.spent_on_ticket(first.id) == Spent(150, 25, 2)
    assert await service.spent_on_ticket(second.id) == Spent(7, 3, 1)
    assert await service.spent_on(date(2026, 3, 2)) == Spent(150, 25, 2)
    assert await service.spent_on(date(2026, 3, 3)) == Spent(8, 4, 2)
    assert await service.spent_on(date(2026, 3, 4)) == Spent()


async def test_the_daily_budget_stops_calls_until_the_next_utc_day(storage: SqlStorage) -> None:
    clock = FakeClock(T0)
    service = TicketService(storage, clock)
    assert await service.may_use_model(None)
    assert await service.may_use_model(100)
    await service.record_model_use(use(clock.now(), None, 90, 10))  # exactly the budget
    assert not await service.may_use_model(100)
    assert await service.may_use_model(101)
    assert await service.may_use_model(None)  # no budget: never stopped
    clock.advance(minutes=30)  # midnight UTC: a new day's budget
    assert await service.may_use_model(100)


async def test_negative_counts_and_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        use(T0, None, -1, 0)
    with pytest.raises(ValueError, match="timezone"):
        use(datetime(2026, 3, 2, 9, 0), None, 1, 1)  # noqa: DTZ001 - the mistake under test
    assert within_budget(Spent(10, 0, 1), 11)
    assert not within_budget(Spent(10, 1, 1), 11)


async def test_a_ticket_that_does_not_exist_cannot_be_charged(storage: SqlStorage) -> None:
    with pytest.raises(IntegrityError):
        async with storage.transaction() as tx:
            await tx.record_model_use(use(T0, TicketId(999_999), 1, 1))
