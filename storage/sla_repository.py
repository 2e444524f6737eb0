"""SLA clocks, the notifications sent about them, and the leads' daily digest.

A mixin of `SqlTransaction` (storage/repository.py). The sweeps may run on several replicas at
once, so what must happen once is claimed with an insert that a unique key lets through only
once (`claim_notification`, `claim_notifications`, `claim_digest`); a claimed digest that could
not be sent is given back with `forget_digest`. Only PostgreSQL locks due clocks
(`lock_due_clock`, `lock_due_clocks`, skipping rows another sweep holds): SQLite has no row
locks, and its writers take turns anyway (each write transaction begins IMMEDIATE). The
ticket's `due_at`, derived from its clocks, is written by `set_ticket_due` in
storage/tickets_repository.py.

A sweep handles its due clocks in batches, each in one transaction, with a fixed number of
statements whatever the batch's size: one read of the clocks (`lock_due_clocks`), one of their
tickets (`tickets_by_id`), one UPDATE of what the step changed (`save_steps`), one INSERT of the
notifications' keys (`claim_notifications`) and one of the deliveries of those it claimed
(`add_deliveries`). On PostgreSQL the UPDATE and the deliveries' INSERT take one array per
column; SQLite runs them once per row in its own C loop.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, cast, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.core.delivery import NewDelivery
from bot.core.domain import Ticket, TicketId
from bot.core.sla import STEP_FIELDS, ClockState, Metric, NotificationKey, SlaClock
from storage import models as m
from storage.deliveries_repository import delivery_values
from storage.prepared import Prepared
from storage.rows import Rows, ticket_row

# Built once: every message reads its ticket's clocks (see storage/messages_repository.py).
_CLOCKS_OF = Prepared(
    select(m.sla_clocks).where(m.sla_clocks.c.ticket_id == bindparam("ticket_id"))
)


class SlaRows(Rows):
    # --- SLA clocks ------------------------------------------------------------------

    async def get_clocks(self, ticket_id: TicketId) -> list[SlaClock]:
        found = await self._fetch(_CLOCKS_OF, {"ticket_id": ticket_id})
        return [_clock(r) for r in found.rows]

    async def save_clocks(self, clocks: Sequence[SlaClock]) -> None:
        if not clocks:
            return
        # One execution with a set of parameters per clock: run as one statement per clock, in
        # order (SQLite's executemany, asyncpg's prepared executemany), as a loop would.
        rows = [_clock_values(clock) for clock in clocks]
        await self._fetch_many(_SAVE_CLOCK[self._conn.dialect.name], rows)

    async def due_clocks(self, now: datetime, limit: int) -> list[SlaClock]:
        """Clocks a sweep has work for, earliest first, read without taking them (a sweep
        looks here before it takes a batch with `lock_due_clocks`)."""
        c = m.sla_clocks
        q = select(c).where(c.c.next_action_at <= now).order_by(c.c.next_action_at).limit(limit)
        return [_clock(row._mapping) for row in await self._conn.execute(q)]

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
        return _clock(row._mapping) if row else None

    async def lock_due_clocks(self, now: datetime, limit: int) -> list[SlaClock]:
        """Up to `limit` clocks with work due by `now`, earliest first; on PostgreSQL locked
        for this transaction, leaving out those another sweep holds (so two sweeps take
        different clocks and neither waits for the other)."""
        c = m.sla_clocks
        q = select(c).where(c.c.next_action_at <= now).order_by(c.c.next_action_at).limit(limit)
        if self._conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        return [_clock(row._mapping) for row in await self._conn.execute(q)]

    async def tickets_by_id(self, ticket_ids: Collection[TicketId]) -> dict[TicketId, Ticket]:
        """These tickets (those that exist), read at once."""
        if not ticket_ids:
            return {}
        t = m.tickets
        rows = await self._conn.execute(select(t).where(t.c.id.in_(list(ticket_ids))))
        return {TicketId(row.id): ticket_row(row) for row in rows}

    async def save_steps(self, clocks: Sequence[SlaClock]) -> None:
        """Write back what a sweep's step changed in these clocks (`STEP_FIELDS`), in one
        statement for all of them."""
        if not clocks:
            return
        rows = [{name: getattr(clock, name) for name in STEP_COLUMNS} for clock in clocks]
        if self._conn.dialect.name == "postgresql":
            await self._conn.execute(_PG_SAVE_STEPS, _columns(rows))
            return
        for row in rows:
            row["key_ticket_id"], row["key_metric"] = row.pop("ticket_id"), row.pop("metric")
        await self._conn.execute(_SAVE_STEP, rows)

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

    async def claim_notifications(
        self, keys: Sequence[NotificationKey], at: datetime
    ) -> set[NotificationKey]:
        """Take the right to send each of these notifications at once; returns the ones
        taken here (not those someone had taken before)."""
        if not keys:
            return set()
        rows = [
            {
                "ticket_id": key.ticket_id,
                "metric": key.metric,
                "kind": key.kind,
                "level": key.level,
                "due_version": key.due_version,
                "sent_at": at,
            }
            for key in dict.fromkeys(keys)
        ]
        # One statement with many rows of parameters: SQLAlchemy sends it as multi-row
        # INSERTs (its "insertmanyvalues"), built without compiling a statement per row.
        result = await self._conn.execute(self._claims(), rows)
        return {
            NotificationKey(TicketId(row.ticket_id), row.metric, row.kind, row.level, row.due)
            for row in result
        }

    def _claims(self) -> Any:
        n = m.notifications
        keys = ("ticket_id", "metric", "kind", "level", "due_version")
        return (
            self._insert()(n)
            .on_conflict_do_nothing(index_elements=list(keys))
            .returning(n.c.ticket_id, n.c.metric, n.c.kind, n.c.level, n.c.due_version.label("due"))
        )

    async def add_deliveries(self, news: Sequence[NewDelivery]) -> None:
        """Queue many deliveries at once, in the order given (which is the order they are sent
        in within each lane): `add_delivery`'s rows, without reading them back."""
        if not news:
            return
        rows = [delivery_values(new) for new in news]
        if self._conn.dialect.name == "postgresql":
            await self._conn.execute(_PG_ADD_DELIVERIES, _columns(rows))
            return
        await self._conn.execute(insert(m.deliveries), rows)

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


KEYS = ("ticket_id", "metric")
STEP_COLUMNS = (*KEYS, *STEP_FIELDS)
# What `_clock_values` writes: the whole clock.
CLOCK_COLUMNS = (
    *KEYS,
    "state",
    "started_at",
    "target_seconds",
    "banked_seconds",
    "running_since",
    "due_at",
    "due_version",
    "met_at",
    "breached_at",
    "breaches",
    "reminded_version",
    "escalations",
    "next_action_at",
)


def _save_clock(dialect_insert: Any) -> Any:
    """INSERT of one clock (`_clock_values`) that replaces the stored one of its key: built once
    per dialect (every message that changes a clock runs it), so the new values are taken from
    the row offered (`excluded`) rather than written into the statement."""
    stmt = dialect_insert(m.sla_clocks)
    return stmt.on_conflict_do_update(
        index_elements=list(KEYS),
        set_={name: stmt.excluded[name] for name in CLOCK_COLUMNS if name not in KEYS},
    )


_SAVE_CLOCK = {
    "sqlite": Prepared(_save_clock(sqlite_insert)),
    "postgresql": Prepared(_save_clock(postgresql_insert)),
}


def _save_step() -> Any:
    """UPDATE of one clock's `STEP_FIELDS` by its key, run with one set of parameters per
    clock (the key's parameters are renamed: a SET column and a WHERE parameter cannot share a
    name)."""
    c = m.sla_clocks
    return (
        update(c)
        .where(
            (c.c.ticket_id == bindparam("key_ticket_id")) & (c.c.metric == bindparam("key_metric"))
        )
        .values({name: bindparam(name) for name in STEP_FIELDS})
    )


_SAVE_STEP = _save_step()


# PostgreSQL takes a batch as one array per column, unnested into rows on the server: one
# statement with a handful of parameters, where a statement run once per row costs a round of
# parameter handling and an execution per row (about three times slower at 20,000 deliveries).
# SQLite runs the per-row form in its own C loop, with no trip per row.
DELIVERY_COLUMNS = (
    "ticket_id",
    "lane",
    "workspace",
    "kind",
    "schema_version",
    "message_id",
    "payload",
    "status",
    "attempts",
    "created_at",
    "next_attempt_at",
)


def _unnested(table: Table, names: Sequence[str]) -> Any:
    """`unnest(:all_a, :all_b, ...) WITH ORDINALITY AS v(a, b, ..., n)`: one array parameter
    per column of `table` named, as rows (`n`: each row's place in the arrays)."""
    arrays = [
        cast(bindparam(f"all_{name}", type_=ARRAY(table.c[name].type)), ARRAY(table.c[name].type))
        for name in names
    ]
    return func.unnest(*arrays).table_valued(*names, with_ordinality="n").render_derived("v")


def _pg_save_steps() -> Any:
    c, v = m.sla_clocks, _unnested(m.sla_clocks, STEP_COLUMNS)
    return (
        update(c)
        .where((c.c.ticket_id == v.c.ticket_id) & (c.c.metric == v.c.metric))
        .values({name: v.c[name] for name in STEP_FIELDS})
    )


def _pg_add_deliveries() -> Any:
    d, v = m.deliveries, _unnested(m.deliveries, DELIVERY_COLUMNS)
    # In the order given: ids, and so the order of sending within a lane, follow the list.
    rows = select(*(v.c[name] for name in DELIVERY_COLUMNS)).order_by(v.c.n)
    return insert(d).from_select(DELIVERY_COLUMNS, rows)


_PG_SAVE_STEPS = _pg_save_steps()
_PG_ADD_DELIVERIES = _pg_add_deliveries()


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows as one list per column, named as `_unnested` names their parameters."""
    return {f"all_{name}": [row[name] for row in rows] for name in rows[0]}


def _clock(r: Mapping[Any, Any]) -> SlaClock:
    """A clock off a mapping of its row's values by column name (see storage/rows.py)."""
    return SlaClock(
        ticket_id=TicketId(r["ticket_id"]),
        metric=Metric(r["metric"]),
        state=ClockState(r["state"]),
        started_at=r["started_at"],
        target=timedelta(seconds=r["target_seconds"]),
        running_since=r["running_since"],
        due_at=r["due_at"],
        banked=timedelta(seconds=r["banked_seconds"]),
        due_version=r["due_version"],
        met_at=r["met_at"],
        breached_at=r["breached_at"],
        breaches=r["breaches"],
        reminded_version=r["reminded_version"],
        escalations=r["escalations"],
        next_action_at=r["next_action_at"],
    )
