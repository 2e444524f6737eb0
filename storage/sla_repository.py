"""SLA clocks, the notifications sent about them, and the leads' daily digest.

A mixin of `SqlTransaction` (storage/repository.py). The sweeps may run on several replicas at
once, so what must happen once is claimed with an insert that a unique key lets through only
once (`claim_notification`, `claim_digest`); a claimed digest that could not be sent is given
back with `forget_digest`. Only PostgreSQL locks a due clock (`lock_due_clock`, skipping rows
another sweep holds): SQLite has no row locks, and its writers take turns anyway. The ticket's
`due_at`, derived from its clocks, is written by `set_ticket_due` in
storage/tickets_repository.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, func, select

from bot.core.domain import TicketId
from bot.core.sla import ClockState, Metric, NotificationKey, SlaClock
from storage import models as m
from storage.rows import Rows


class SlaRows(Rows):
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

    async def next_action_at(self) -> datetime | None:
        c = m.sla_clocks
        # min() keeps the column's type, so the value comes back timezone-aware like the rest.
        found: datetime | None = await self._conn.scalar(select(func.min(c.c.next_action_at)))
        return found

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

    # --- notifications -----------------------------------------------------------------

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
