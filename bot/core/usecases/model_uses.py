"""What the AI features spent on models, and whether today's budget allows another call."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from bot.core.domain import TicketId
from bot.core.model_use import ModelUse, Spent, within_budget
from bot.core.usecases.base import UseCaseBase


def utc_day(day: date) -> tuple[datetime, datetime]:
    """The instants a UTC calendar day starts and ends (budgets are per UTC day, like most
    providers' billing)."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


class ModelUseCases(UseCaseBase):
    async def record_model_use(self, use: ModelUse) -> None:
        """Keep one model call's tokens (in a transaction of its own: a failed write loses the
        count, never the work it was for)."""
        async with self._storage.transaction() as tx:
            await tx.record_model_use(use)

    async def spent_on(self, day: date) -> Spent:
        """Tokens spent on the UTC day `day`."""
        start, end = utc_day(day)
        async with self._storage.reading() as tx:
            return await tx.spent_between(start, end)

    async def spent_on_ticket(self, ticket_id: TicketId) -> Spent:
        async with self._storage.reading() as tx:
            return await tx.spent_on_ticket(ticket_id)

    async def may_use_model(self, daily_tokens: int | None) -> bool:
        """Whether the day's budget (None: no budget) leaves room for another call now."""
        if daily_tokens is None:
            return True
        return within_budget(await self.spent_on(self.now().astimezone(UTC).date()), daily_tokens)
