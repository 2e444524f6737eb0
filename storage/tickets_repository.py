"""Tickets and their history of events.

A mixin of `SqlTransaction` (storage/repository.py). Public ticket numbers come from a row of
`counters`, drawn in the same savepoint as the insert so that a refused ticket leaves no gap.
`save_ticket` is version-checked (a stale write raises `ConcurrentUpdate`); the setters at the
end (`set_workspace_ref`, `set_ticket_due`, `set_ticket_rating`) are not: they record
bookkeeping derived from elsewhere (a delivery, the SLA clocks, a survey), not decisions about
the ticket. A text search in `query_tickets` matches message bodies as well as subjects. The
lookups every message makes are built once (see storage/messages_repository.py for why).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.core.delivery import MAIN_WORKSPACE
from bot.core.domain import (
    Action,
    Actor,
    ActorKind,
    CustomerId,
    NewTicket,
    Priority,
    Status,
    Ticket,
    TicketEvent,
    TicketId,
    TicketNumber,
    TicketOrder,
    TicketQuery,
)
from bot.core.errors import ConcurrentUpdate, OpenTicketExists
from storage import models as m
from storage.prepared import Prepared
from storage.rows import (
    CUSTOMER_COLUMNS,
    TICKETS_WITH_CUSTOMERS,
    Rows,
    customer_from,
    prefixed,
    ticket_from,
    ticket_row,
)

TICKET_COUNTER = "ticket_number"
_T = m.tickets
# A ticket is read with its customer: a delivery a use case queues for it then needs no read
# of either (`DeliveryRows.jobs_for`).
_WITH = TICKETS_WITH_CUSTOMERS
_BY_NUMBER = Prepared(_WITH.where(_T.c.number == bindparam("number")))
_BY_ID = Prepared(_WITH.where(_T.c.id == bindparam("id")))
_OPEN_OF = Prepared(_WITH.where((_T.c.customer_id == bindparam("customer_id")) & m.TICKET_OPEN))
_BY_CARD = Prepared(_WITH.where(_T.c.workspace_ref == bindparam("ref")))
# The writes a message may make are built once too (an opened ticket, a move, a new due time),
# their values bound per call. In an UPDATE the key's parameters are named apart from the
# columns (`key_*`): a SET column and a WHERE parameter cannot share a name.
_INSERT_TICKET = insert(_T).returning(_T)
_NEXT_NUMBER = (
    update(m.counters)
    .where(m.counters.c.name == TICKET_COUNTER)
    .values(value=m.counters.c.value + 1)
    .returning(m.counters.c.value)
)
_SAVED_FIELDS = (
    "subject",
    "status",
    "priority",
    "tier",
    "assignee_id",
    "assignee_name",
    "version",
    "updated_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "due_at",
)
_SAVE_TICKET = Prepared(
    update(_T)
    .where((_T.c.id == bindparam("key_id")) & (_T.c.version == bindparam("key_version")))
    .values({name: bindparam(name) for name in _SAVED_FIELDS})
    .returning(_T)
)
_SET_DUE = Prepared(
    update(_T).where(_T.c.id == bindparam("key_id")).values(due_at=bindparam("due_at"))
)
_INSERT_EVENT = insert(m.ticket_events)


class TicketRows(Rows):
    async def create_ticket(self, new: NewTicket) -> Ticket:
        try:
            # The number is drawn inside the savepoint so a refused ticket leaves no gap.
            async with self._conn.begin_nested():
                number = await self._next_number()
                result = await self._conn.execute(
                    _INSERT_TICKET,
                    {
                        "number": number,
                        "customer_id": new.customer_id,
                        "subject": new.subject[:200],
                        "status": new.status,
                        "priority": new.priority,
                        "tier": new.tier,
                        "version": 1,
                        "created_at": new.created_at,
                        "updated_at": new.created_at,
                    },
                )
                return self._known_ticket(ticket_row(result.one()))
        except IntegrityError as exc:
            raise OpenTicketExists(
                f"Customer {new.customer_id} already has an open ticket."
            ) from exc

    async def _next_number(self) -> TicketNumber:
        result = await self._conn.execute(_NEXT_NUMBER)
        return TicketNumber(result.scalar_one())

    async def get_ticket(self, number: TicketNumber) -> Ticket | None:
        return await self._prebuilt(_BY_NUMBER, {"number": number})

    async def get_ticket_by_id(self, ticket_id: TicketId) -> Ticket | None:
        return await self._prebuilt(_BY_ID, {"id": ticket_id})

    async def find_open_ticket(self, customer_id: CustomerId) -> Ticket | None:
        return await self._prebuilt(_OPEN_OF, {"customer_id": customer_id})

    async def find_ticket_by_card(self, workspace: str, ref: str) -> Ticket | None:
        if workspace == MAIN_WORKSPACE:
            return await self._prebuilt(_BY_CARD, {"ref": ref})
        w = m.workspace_cards
        card = select(w.c.ticket_id).where((w.c.workspace == workspace) & (w.c.ref == ref))
        return await self._one_ticket(m.tickets.c.id.in_(card.scalar_subquery()))

    async def _prebuilt(self, query: Prepared, key: dict[str, Any]) -> Ticket | None:
        r = (await self._fetch(query, key)).first()
        if r is None:
            return None
        self._known_customer(customer_from(prefixed(r, CUSTOMER_COLUMNS)))
        return self._known_ticket(ticket_from(r))

    async def _one_ticket(self, where: Any) -> Ticket | None:
        row = (await self._conn.execute(select(m.tickets).where(where))).first()
        return ticket_row(row) if row else None

    async def save_ticket(self, ticket: Ticket) -> Ticket:
        assignee = ticket.assignee
        saved = await self._fetch(
            _SAVE_TICKET,
            {
                "key_id": ticket.id,
                "key_version": ticket.version,
                "subject": ticket.subject,
                "status": ticket.status,
                "priority": ticket.priority,
                "tier": ticket.tier,
                "assignee_id": assignee.id if assignee else None,
                "assignee_name": assignee.name if assignee else None,
                "version": ticket.version + 1,
                "updated_at": ticket.updated_at,
                "first_response_at": ticket.first_response_at,
                "resolved_at": ticket.resolved_at,
                "closed_at": ticket.closed_at,
                "due_at": ticket.due_at,
            },
        )
        r = saved.first()
        if r is None:
            raise ConcurrentUpdate(ticket.number)
        return self._known_ticket(ticket_from(r))

    async def list_tickets(
        self, *, statuses: Sequence[Status] | None = None, limit: int = 100
    ) -> list[Ticket]:
        q = select(m.tickets).order_by(m.tickets.c.number.desc()).limit(limit)
        if statuses:
            q = q.where(m.tickets.c.status.in_([str(s) for s in statuses]))
        return [ticket_row(row) for row in await self._conn.execute(q)]

    async def query_tickets(self, query: TicketQuery) -> list[Ticket]:
        t = m.tickets
        q = select(t).limit(query.limit)
        if query.statuses:
            q = q.where(t.c.status.in_([str(s) for s in query.statuses]))
        if query.assignee_id is not None:
            q = q.where(t.c.assignee_id == query.assignee_id)
        if query.unassigned:
            q = q.where(t.c.assignee_id.is_(None))
        if query.due_before is not None:
            q = q.where(t.c.due_at <= query.due_before)
        if query.created_since is not None:
            q = q.where(t.c.created_at >= query.created_since)
        if query.text:
            pattern = f"%{_like_escape(query.text.lower())}%"
            in_messages = select(m.messages.c.ticket_id).where(
                func.lower(m.messages.c.body).like(pattern, escape="\\")
            )
            q = q.where(
                func.lower(t.c.subject).like(pattern, escape="\\") | t.c.id.in_(in_messages)
            )
        if query.order is TicketOrder.MOST_URGENT:
            q = q.order_by(t.c.due_at.is_(None), t.c.due_at, _PRIORITY_RANK, t.c.created_at)
        else:
            q = q.order_by(t.c.number.desc())
        return [ticket_row(row) for row in await self._conn.execute(q)]

    # --- events ----------------------------------------------------------------------

    async def add_event(self, event: TicketEvent) -> None:
        actor = event.actor
        await self._conn.execute(
            _INSERT_EVENT,
            {
                "ticket_id": event.ticket_id,
                "actor_kind": actor.kind,
                "actor_id": actor.id,
                "actor_name": actor.name,
                "action": event.action,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "reason": event.reason,
                "detail": event.detail,
                "at": event.at,
            },
        )

    async def list_events(self, ticket_id: TicketId) -> list[TicketEvent]:
        q = (
            select(m.ticket_events)
            .where(m.ticket_events.c.ticket_id == ticket_id)
            .order_by(m.ticket_events.c.id)
        )
        return [_event(row) for row in await self._conn.execute(q)]

    # --- bookkeeping, not version-checked ----------------------------------------------

    async def set_card(self, ticket_id: TicketId, workspace: str, ref: str) -> None:
        if workspace == MAIN_WORKSPACE:  # on the ticket's row, read with the ticket
            self._forget_ticket(ticket_id)
            await self._conn.execute(
                update(m.tickets).where(m.tickets.c.id == ticket_id).values(workspace_ref=ref)
            )
            return
        w = m.workspace_cards
        mine = (w.c.ticket_id == ticket_id) & (w.c.workspace == workspace)
        moved = await self._conn.execute(update(w).where(mine).values(ref=ref))
        if moved.rowcount == 0:  # one workspace's cards are set by its own lane, in turn
            await self._conn.execute(
                insert(w).values(ticket_id=ticket_id, workspace=workspace, ref=ref)
            )

    async def set_ticket_due(self, ticket_id: TicketId, due_at: datetime | None) -> None:
        """The ticket's earliest running deadline: derived from its clocks, so not a decision
        about the ticket and not version-checked."""
        self._forget_ticket(ticket_id)
        await self._fetch(_SET_DUE, {"key_id": ticket_id, "due_at": due_at})

    async def set_ticket_rating(self, ticket_id: TicketId, rating: int) -> None:
        """The customer's rating, kept on the ticket for its card (not version-checked)."""
        t = m.tickets
        self._forget_ticket(ticket_id)
        await self._conn.execute(update(t).where(t.c.id == ticket_id).values(csat_rating=rating))

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


_PRIORITY_RANK = case(
    {str(p): rank for rank, p in enumerate(Priority)}, value=m.tickets.c.priority, else_=99
)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _event(row: Row[Any]) -> TicketEvent:
    return TicketEvent(
        ticket_id=TicketId(row.ticket_id),
        actor=Actor(ActorKind(row.actor_kind), row.actor_id, row.actor_name),
        action=Action(row.action),
        from_status=Status(row.from_status),
        to_status=Status(row.to_status),
        at=row.at,
        reason=row.reason,
        detail=row.detail,
    )
