"""Satisfaction surveys: at most one per ticket, and the ratings they bring back.

A mixin of `SqlTransaction` (storage/repository.py). A ticket's survey row also records the
decision not to send one (outcome SKIPPED), so that the ticket is not considered again;
`last_survey_at` ignores those, as no survey reached the customer. The rating shown on the
ticket's card is a copy, written by `set_ticket_rating` in storage/tickets_repository.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, select, update

from bot.core.domain import CustomerId, Status, TicketId
from bot.core.survey import Survey, SurveyOutcome
from storage import models as m
from storage.rows import Rows


class SurveyRows(Rows):
    async def unsurveyed_resolved(self, resolved_before: datetime, limit: int) -> list[TicketId]:
        t, s = m.tickets, m.surveys
        q = (
            select(t.c.id)
            .outerjoin(s, s.c.ticket_id == t.c.id)
            .where(
                (t.c.status == Status.RESOLVED)
                & (t.c.resolved_at <= resolved_before)
                & s.c.id.is_(None)
            )
            .order_by(t.c.resolved_at)
            .limit(limit)
        )
        return [TicketId(row.id) for row in await self._conn.execute(q)]

    async def last_survey_at(self, customer_id: CustomerId) -> datetime | None:
        s = m.surveys
        q = select(func.max(s.c.sent_at)).where(
            (s.c.customer_id == customer_id) & (s.c.outcome != SurveyOutcome.SKIPPED)
        )
        value: datetime | None = (await self._conn.execute(q)).scalar_one()
        return m.UTCDateTime().process_result_value(value, self._conn.dialect)

    async def add_survey(
        self,
        ticket_id: TicketId,
        customer_id: CustomerId,
        outcome: SurveyOutcome,
        at: datetime,
        expires_after: timedelta,
    ) -> Survey | None:
        """Record a survey (or the decision not to send one); None if the ticket has one."""
        stmt = (
            self._insert()(m.surveys)
            .values(
                ticket_id=ticket_id,
                customer_id=customer_id,
                outcome=outcome,
                sent_at=at,
                expires_at=at + expires_after,
            )
            .on_conflict_do_nothing(index_elements=["ticket_id"])
        )
        result = await self._conn.execute(stmt)
        if not result.rowcount:
            return None
        return await self.get_survey(ticket_id)

    async def get_survey(self, ticket_id: TicketId) -> Survey | None:
        s = m.surveys
        row = (await self._conn.execute(select(s).where(s.c.ticket_id == ticket_id))).first()
        return _survey(row) if row else None

    async def answer_survey(
        self, survey_id: int, rating: int | None, comment: str | None, at: datetime
    ) -> None:
        s = m.surveys
        values: dict[str, Any] = {"outcome": SurveyOutcome.ANSWERED, "answered_at": at}
        if rating is not None:
            values["rating"] = rating
        if comment is not None:
            values["comment"] = comment
        await self._conn.execute(update(s).where(s.c.id == survey_id).values(**values))

    async def ratings_since(self, since: datetime) -> list[int]:
        s = m.surveys
        q = select(s.c.rating).where(and_(s.c.answered_at >= since, s.c.rating.is_not(None)))
        return [int(row.rating) for row in await self._conn.execute(q)]


def _survey(row: Row[Any]) -> Survey:
    return Survey(
        id=row.id,
        ticket_id=TicketId(row.ticket_id),
        customer_id=CustomerId(row.customer_id),
        outcome=SurveyOutcome(row.outcome),
        sent_at=row.sent_at,
        expires_at=row.expires_at,
        rating=row.rating,
        comment=row.comment,
        answered_at=row.answered_at,
    )
