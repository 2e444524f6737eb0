"""What the scheduled jobs read and write: SLA clocks, claimed notifications, surveys, digests.

A mixin of `SqlTransaction` (storage/repository.py): every method runs in the caller's
transaction on `self._conn`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.domain import CustomerId, Status, TicketId
from bot.core.sla import ClockState, Metric, NotificationKey, SlaClock
from bot.core.survey import Survey, SurveyOutcome
from storage import models as m


class JobRows:
    _conn: AsyncConnection

    def _insert(self) -> Any:
        return sqlite_insert if self._conn.dialect.name == "sqlite" else postgresql_insert

    # --- SLA clocks ------------------------------------------------------------------

    async def get_clocks(self, ticket_id: TicketId) -> list[SlaClock]:
        c = m.sla_clocks
        rows = await self._conn.execute(select(c).where(c.c.ticket_id == ticket_id))
        return [_clock(row) for row in rows]

    async def save_clocks(self, clocks: Sequence[SlaClock]) -> None:
        for clock in clocks:
            values = _clock_values(clock)
            stmt = self._insert()(m.sla_clocks).values(**values)
            await self._conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["ticket_id", "metric"],
                    set_={k: v for k, v in values.items() if k not in ("ticket_id", "metric")},
                )
            )

    async def due_clocks(self, now: datetime, limit: int) -> list[SlaClock]:
        """Clocks a sweep has work for, earliest first (each is then taken with
        `lock_due_clock` in a transaction of its own)."""
        c = m.sla_clocks
        q = select(c).where(c.c.next_action_at <= now).order_by(c.c.next_action_at).limit(limit)
        return [_clock(row) for row in await self._conn.execute(q)]

    async def lock_due_clock(
        self, ticket_id: TicketId, metric: Metric, now: datetime
    ) -> SlaClock | None:
        """The clock if it is still due; on PostgreSQL locked for this transaction, and None
        while another sweep holds it."""
        c = m.sla_clocks
        q = select(c).where(
            (c.c.ticket_id == ticket_id) & (c.c.metric == metric) & (c.c.next_action_at <= now)
        )
        if self._conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        row = (await self._conn.execute(q)).first()
        return _clock(row) if row else None

    async def set_ticket_due(self, ticket_id: TicketId, due_at: datetime | None) -> None:
        """The ticket's earliest running deadline: derived from its clocks, so not a decision
        about the ticket and not version-checked."""
        t = m.tickets
        await self._conn.execute(update(t).where(t.c.id == ticket_id).values(due_at=due_at))

    async def claim_notification(self, key: NotificationKey, at: datetime) -> bool:
        """Take the right to send one notification; False if someone (a sweep before a
        restart, another replica) already has it."""
        stmt = (
            self._insert()(m.notifications)
            .values(
                ticket_id=key.ticket_id,
                metric=key.metric,
                kind=key.kind,
                level=key.level,
                due_version=key.due_version,
                sent_at=at,
            )
            .on_conflict_do_nothing(
                index_elements=["ticket_id", "metric", "kind", "level", "due_version"]
            )
        )
        result = await self._conn.execute(stmt)
        return bool(result.rowcount)

    async def count_notifications(self, ticket_id: TicketId, kind: str | None = None) -> int:
        n = m.notifications
        q = select(func.count()).select_from(n).where(n.c.ticket_id == ticket_id)
        if kind is not None:
            q = q.where(n.c.kind == kind)
        return int((await self._conn.execute(q)).scalar_one())

    # --- tickets the jobs act on -------------------------------------------------------

    async def idle_tickets(self, status: Status, before: datetime, limit: int) -> list[TicketId]:
        """Resolved tickets resolved before `before`, or pending ones untouched since then."""
        t = m.tickets
        stamp = t.c.resolved_at if status is Status.RESOLVED else t.c.updated_at
        q = (
            select(t.c.id)
            .where((t.c.status == status) & (stamp <= before))
            .order_by(stamp)
            .limit(limit)
        )
        return [TicketId(row.id) for row in await self._conn.execute(q)]

    # --- surveys ---------------------------------------------------------------------

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

    async def set_ticket_rating(self, ticket_id: TicketId, rating: int) -> None:
        """The customer's rating, kept on the ticket for its card (not version-checked)."""
        t = m.tickets
        await self._conn.execute(update(t).where(t.c.id == ticket_id).values(csat_rating=rating))

    async def ratings_since(self, since: datetime) -> list[int]:
        s = m.surveys
        q = select(s.c.rating).where(and_(s.c.answered_at >= since, s.c.rating.is_not(None)))
        return [int(row.rating) for row in await self._conn.execute(q)]

    # --- the leads' digest ---------------------------------------------------------------

    async def claim_digest(self, day: date, at: datetime) -> bool:
        stmt = (
            self._insert()(m.digests)
            .values(day=day, sent_at=at)
            .on_conflict_do_nothing(index_elements=["day"])
        )
        return bool((await self._conn.execute(stmt)).rowcount)

    async def forget_digest(self, day: date) -> None:
        await self._conn.execute(delete(m.digests).where(m.digests.c.day == day))


def _seconds(value: timedelta) -> float:
    return value.total_seconds()


def _clock_values(clock: SlaClock) -> dict[str, Any]:
    return {
        "ticket_id": clock.ticket_id,
        "metric": clock.metric,
        "state": clock.state,
        "started_at": clock.started_at,
        "target_seconds": _seconds(clock.target),
        "banked_seconds": _seconds(clock.banked),
        "running_since": clock.running_since,
        "due_at": clock.due_at,
        "due_version": clock.due_version,
        "met_at": clock.met_at,
        "breached_at": clock.breached_at,
        "breaches": clock.breaches,
        "reminded_version": clock.reminded_version,
        "escalations": clock.escalations,
        "next_action_at": clock.next_action_at,
    }


def _clock(row: Row[Any]) -> SlaClock:
    return SlaClock(
        ticket_id=TicketId(row.ticket_id),
        metric=Metric(row.metric),
        state=ClockState(row.state),
        started_at=row.started_at,
        target=timedelta(seconds=row.target_seconds),
        running_since=row.running_since,
        due_at=row.due_at,
        banked=timedelta(seconds=row.banked_seconds),
        due_version=row.due_version,
        met_at=row.met_at,
        breached_at=row.breached_at,
        breaches=row.breaches,
        reminded_version=row.reminded_version,
        escalations=row.escalations,
        next_action_at=row.next_action_at,
    )


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
