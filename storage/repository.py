"""The repository: the core's `Storage` and `Transaction` ports on SQLAlchemy Core."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Row, Update, bindparam, case, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.delivery import (
    Delivery,
    DeliveryId,
    DeliveryJob,
    DeliveryKind,
    DeliveryStatus,
    Lane,
    NewDelivery,
)
from bot.core.domain import (
    Action,
    Actor,
    ActorKind,
    Agent,
    AgentId,
    Attachment,
    Customer,
    CustomerId,
    Direction,
    Message,
    MessageId,
    MessageRef,
    NewMessage,
    NewTicket,
    Platform,
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
from storage.db import begin
from storage.inbound_repository import InboundRows
from storage.jobs_repository import JobRows
from storage.rows import customer_row as _customer

TICKET_COUNTER = "ticket_number"


def _claim_statement() -> Update:
    """Lease the due heads of the lanes named (`lanes`), at most `most`, until `until`.

    Built once: the claim runs after every send, and building this statement anew each time cost
    more than running it. A head is the oldest pending delivery of its ticket's lane: a lane's
    later deliveries wait for it, so each lane is sent in order.
    """
    d, earlier = m.deliveries, m.deliveries.alias("earlier")
    now = bindparam("now", type_=d.c.next_attempt_at.type)
    pending = DeliveryStatus.PENDING
    free = d.c.leased_until.is_(None) | (d.c.leased_until < now)
    blocked = (
        select(earlier.c.id)
        .where(
            (earlier.c.ticket_id == d.c.ticket_id)
            & (earlier.c.lane == d.c.lane)
            & (earlier.c.status == pending)
            & (earlier.c.id < d.c.id)
        )
        .exists()
    )
    heads = (
        select(d.c.id)
        .where(
            (d.c.status == pending)
            & d.c.lane.in_(bindparam("lanes", expanding=True))
            & (d.c.next_attempt_at <= now)
            & free
            & ~blocked
        )
        .order_by(d.c.id)
        .limit(bindparam("most", type_=Integer))
        .scalar_subquery()
    )
    return (
        update(d)
        # The lease condition is repeated here: PostgreSQL re-checks it on a row another
        # dispatcher leased while this statement waited for it, and then skips the row.
        .where(d.c.id.in_(heads) & free)
        .values(leased_until=bindparam("until", type_=d.c.leased_until.type))
        .returning(d)
    )


_CLAIM = _claim_statement()


class SqlStorage:
    """The `Storage` port on an async SQLAlchemy engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # SQLite has one writer at a time. Left to itself, a waiting writer polls the lock with
        # sleeps of up to 100 ms; queueing this process's writers here instead serves them in
        # order with no sleeping. (PostgreSQL needs no such thing.)
        self._writers = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        if self._writers is None:
            async with begin(self.engine) as conn:
                yield SqlTransaction(conn)
            return
        async with self._writers, begin(self.engine) as conn:
            yield SqlTransaction(conn)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqlTransaction]:
        """A transaction that only reads: on SQLite it neither waits for nor blocks writers."""
        async with begin(self.engine, read_only=True) as conn:
            yield SqlTransaction(conn)

    async def ping(self) -> None:
        async with begin(self.engine, read_only=True) as conn:
            await conn.execute(select(1))

    async def close(self) -> None:
        await self.engine.dispose()


class SqlTransaction(JobRows, InboundRows):
    """The `Transaction` port: every method runs inside the caller's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # --- customers -------------------------------------------------------------------

    async def upsert_customer(
        self,
        platform: Platform,
        external_id: str,
        display_name: str,
        seen_at: datetime,
        avatar_url: str | None = None,
    ) -> Customer:
        key = (m.customers.c.platform == platform) & (m.customers.c.external_id == external_id)
        row = (await self._conn.execute(select(m.customers).where(key))).first()
        if row is None:
            try:
                async with self._conn.begin_nested():
                    await self._conn.execute(
                        insert(m.customers).values(
                            platform=platform,
                            external_id=external_id,
                            display_name=display_name,
                            avatar_url=avatar_url,
                            created_at=seen_at,
                        )
                    )
            except IntegrityError:
                pass  # the same customer was created concurrently; read theirs
        elif (row.display_name, row.avatar_url) != (display_name, avatar_url or row.avatar_url):
            await self._conn.execute(
                update(m.customers)
                .where(key)
                .values(display_name=display_name, avatar_url=avatar_url or row.avatar_url)
            )
        else:
            return _customer(row)  # the common case: known and unchanged, one query
        row = (await self._conn.execute(select(m.customers).where(key))).one()
        return _customer(row)

    async def set_customer_blocked(
        self, customer_id: CustomerId, blocked_at: datetime | None
    ) -> None:
        await self._conn.execute(
            update(m.customers).where(m.customers.c.id == customer_id).values(blocked_at=blocked_at)
        )

    async def claim_customer_contact(self, customer_id: CustomerId, channel: str) -> str | None:
        c = m.customers
        # Only where none is set: of two replicas opening a place at once, the first one wins.
        await self._conn.execute(
            update(c)
            .where((c.c.id == customer_id) & c.c.contact_channel_id.is_(None))
            .values(contact_channel_id=channel)
        )
        q = select(c.c.contact_channel_id).where(c.c.id == customer_id)
        found: str | None = (await self._conn.execute(q)).scalar()
        return found

    async def count_tickets_opened(self, customer_id: CustomerId, since: datetime) -> int:
        t = m.tickets
        q = select(func.count()).where((t.c.customer_id == customer_id) & (t.c.created_at >= since))
        return int((await self._conn.execute(q)).scalar_one())

    async def count_customer_messages(self, ticket_id: TicketId, since: datetime) -> int:
        msg = m.messages
        q = select(func.count()).where(
            (msg.c.ticket_id == ticket_id)
            & (msg.c.direction == Direction.FROM_CUSTOMER)
            & (msg.c.created_at >= since)
        )
        return int((await self._conn.execute(q)).scalar_one())

    async def find_customer(self, platform: Platform, external_id: str) -> Customer | None:
        key = (m.customers.c.platform == platform) & (m.customers.c.external_id == external_id)
        row = (await self._conn.execute(select(m.customers).where(key))).first()
        return _customer(row) if row else None

    async def get_customer(self, customer_id: CustomerId) -> Customer | None:
        q = select(m.customers).where(m.customers.c.id == customer_id)
        row = (await self._conn.execute(q)).first()
        return _customer(row) if row else None

    # --- tickets ---------------------------------------------------------------------

    async def create_ticket(self, new: NewTicket) -> Ticket:
        try:
            # The number is drawn inside the savepoint so a refused ticket leaves no gap.
            async with self._conn.begin_nested():
                number = await self._next_number()
                result = await self._conn.execute(
                    insert(m.tickets)
                    .values(
                        number=number,
                        customer_id=new.customer_id,
                        subject=new.subject[:200],
                        status=new.status,
                        priority=new.priority,
                        tier=new.tier,
                        version=1,
                        created_at=new.created_at,
                        updated_at=new.created_at,
                    )
                    .returning(m.tickets)
                )
                return _ticket(result.one())
        except IntegrityError as exc:
            raise OpenTicketExists(
                f"Customer {new.customer_id} already has an open ticket."
            ) from exc

    async def _next_number(self) -> TicketNumber:
        result = await self._conn.execute(
            update(m.counters)
            .where(m.counters.c.name == TICKET_COUNTER)
            .values(value=m.counters.c.value + 1)
            .returning(m.counters.c.value)
        )
        return TicketNumber(result.scalar_one())

    async def get_ticket(self, number: TicketNumber) -> Ticket | None:
        return await self._one_ticket(m.tickets.c.number == number)

    async def get_ticket_by_id(self, ticket_id: TicketId) -> Ticket | None:
        return await self._one_ticket(m.tickets.c.id == ticket_id)

    async def find_open_ticket(self, customer_id: CustomerId) -> Ticket | None:
        return await self._one_ticket(
            (m.tickets.c.customer_id == customer_id) & (m.tickets.c.status != Status.CLOSED)
        )

    async def find_ticket_by_workspace_ref(self, ref: str) -> Ticket | None:
        return await self._one_ticket(m.tickets.c.workspace_ref == ref)

    async def _one_ticket(self, where: Any) -> Ticket | None:
        row = (await self._conn.execute(select(m.tickets).where(where))).first()
        return _ticket(row) if row else None

    async def save_ticket(self, ticket: Ticket) -> Ticket:
        result = await self._conn.execute(
            update(m.tickets)
            .where((m.tickets.c.id == ticket.id) & (m.tickets.c.version == ticket.version))
            .values(
                subject=ticket.subject,
                status=ticket.status,
                priority=ticket.priority,
                tier=ticket.tier,
                assignee_id=ticket.assignee.id if ticket.assignee else None,
                assignee_name=ticket.assignee.name if ticket.assignee else None,
                version=ticket.version + 1,
                updated_at=ticket.updated_at,
                first_response_at=ticket.first_response_at,
                resolved_at=ticket.resolved_at,
                closed_at=ticket.closed_at,
                due_at=ticket.due_at,
            )
            .returning(m.tickets)
        )
        row = result.first()
        if row is None:
            raise ConcurrentUpdate(ticket.number)
        return _ticket(row)

    async def list_tickets(
        self, *, statuses: Sequence[Status] | None = None, limit: int = 100
    ) -> list[Ticket]:
        q = select(m.tickets).order_by(m.tickets.c.number.desc()).limit(limit)
        if statuses:
            q = q.where(m.tickets.c.status.in_([str(s) for s in statuses]))
        return [_ticket(row) for row in await self._conn.execute(q)]

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
        return [_ticket(row) for row in await self._conn.execute(q)]

    # --- events ----------------------------------------------------------------------

    async def add_event(self, event: TicketEvent) -> None:
        await self._conn.execute(
            insert(m.ticket_events).values(
                ticket_id=event.ticket_id,
                actor_kind=event.actor.kind,
                actor_id=event.actor.id,
                actor_name=event.actor.name,
                action=event.action,
                from_status=event.from_status,
                to_status=event.to_status,
                reason=event.reason,
                detail=event.detail,
                at=event.at,
            )
        )

    async def list_events(self, ticket_id: TicketId) -> list[TicketEvent]:
        q = (
            select(m.ticket_events)
            .where(m.ticket_events.c.ticket_id == ticket_id)
            .order_by(m.ticket_events.c.id)
        )
        return [_event(row) for row in await self._conn.execute(q)]

    # --- messages --------------------------------------------------------------------

    async def add_message(self, new: NewMessage) -> Message | None:
        # A ref already stored fails the insert (unique key), which rolls back the savepoint.
        try:
            async with self._conn.begin_nested():
                result = await self._conn.execute(
                    insert(m.messages)
                    .values(
                        ticket_id=new.ticket_id,
                        direction=new.direction,
                        author_kind=new.author.kind,
                        author_id=new.author.id,
                        author_name=new.author.name,
                        body=new.body,
                        attachments=[_attachment_json(a) for a in new.attachments],
                        created_at=new.created_at,
                    )
                    .returning(m.messages.c.id)
                )
                message_id = MessageId(result.scalar_one())
                for ref in new.refs:
                    await self._insert_ref(message_id, ref)
        except IntegrityError:
            return None  # this platform message was stored before (or concurrently)
        return Message(
            id=message_id,
            ticket_id=new.ticket_id,
            direction=new.direction,
            author=new.author,
            body=new.body,
            created_at=new.created_at.astimezone(UTC),
            attachments=new.attachments,
            refs=new.refs,
        )

    async def add_message_ref(self, message_id: MessageId, ref: MessageRef) -> bool:
        # INSERT … ON CONFLICT DO NOTHING: one statement where a savepoint would take three.
        dialect = sqlite_insert if self._conn.dialect.name == "sqlite" else postgresql_insert
        result = await self._conn.execute(
            dialect(m.message_refs)
            .values(message_id=message_id, platform=ref.platform, external_id=ref.external_id)
            .on_conflict_do_nothing(index_elements=["platform", "external_id"])
            .returning(m.message_refs.c.id)
        )
        return result.first() is not None

    async def _insert_ref(self, message_id: MessageId, ref: MessageRef) -> None:
        await self._conn.execute(
            insert(m.message_refs).values(
                message_id=message_id, platform=ref.platform, external_id=ref.external_id
            )
        )

    async def find_message(self, ref: MessageRef) -> Message | None:
        q = select(m.message_refs.c.message_id).where(
            (m.message_refs.c.platform == ref.platform)
            & (m.message_refs.c.external_id == ref.external_id)
        )
        message_id = (await self._conn.execute(q)).scalar()
        return await self._message(MessageId(message_id)) if message_id is not None else None

    async def _message(self, message_id: MessageId) -> Message:
        row = (
            await self._conn.execute(select(m.messages).where(m.messages.c.id == message_id))
        ).one()
        refs = await self._refs_of([message_id])
        return _message(row, refs.get(message_id, ()))

    async def list_messages(self, ticket_id: TicketId) -> list[Message]:
        q = select(m.messages).where(m.messages.c.ticket_id == ticket_id).order_by(m.messages.c.id)
        rows = list(await self._conn.execute(q))
        refs = await self._refs_of([MessageId(row.id) for row in rows])
        return [_message(row, refs.get(row.id, ())) for row in rows]

    async def _refs_of(self, ids: list[MessageId]) -> dict[int, tuple[MessageRef, ...]]:
        if not ids:
            return {}
        q = (
            select(m.message_refs)
            .where(m.message_refs.c.message_id.in_(ids))
            .order_by(m.message_refs.c.id)
        )
        found: dict[int, list[MessageRef]] = {}
        for row in await self._conn.execute(q):
            found.setdefault(row.message_id, []).append(
                MessageRef(Platform(row.platform), row.external_id)
            )
        return {k: tuple(v) for k, v in found.items()}

    async def mark_message_edited(self, message_id: MessageId, body: str, at: datetime) -> None:
        await self._conn.execute(
            update(m.messages).where(m.messages.c.id == message_id).values(body=body, edited_at=at)
        )

    async def set_message_direction(
        self, message_id: MessageId, direction: Direction, body: str | None = None
    ) -> None:
        values: dict[str, Any] = {"direction": direction}
        if body is not None:
            values["body"] = body
        await self._conn.execute(
            update(m.messages).where(m.messages.c.id == message_id).values(**values)
        )

    async def mark_message_deleted(self, message_id: MessageId, at: datetime) -> None:
        await self._conn.execute(
            update(m.messages).where(m.messages.c.id == message_id).values(deleted_at=at)
        )

    async def get_message(self, message_id: MessageId) -> Message | None:
        exists = select(m.messages.c.id).where(m.messages.c.id == message_id)
        if (await self._conn.execute(exists)).first() is None:
            return None
        return await self._message(message_id)

    async def set_workspace_ref(self, ticket_id: TicketId, ref: str) -> None:
        await self._conn.execute(
            update(m.tickets).where(m.tickets.c.id == ticket_id).values(workspace_ref=ref)
        )

    # --- the delivery queue ----------------------------------------------------------

    async def add_delivery(self, new: NewDelivery) -> Delivery:
        result = await self._conn.execute(
            insert(m.deliveries)
            .values(
                ticket_id=new.ticket_id,
                lane=new.lane,
                kind=new.kind,
                message_id=new.message_id,
                payload=dict(new.payload),
                status=DeliveryStatus.PENDING,
                attempts=0,
                created_at=new.created_at,
                next_attempt_at=new.created_at,
            )
            .returning(m.deliveries)
        )
        return _delivery(result.one())

    async def claim_due_deliveries(
        self, now: datetime, lanes: Sequence[Lane], limit: int, lease_seconds: float
    ) -> list[Delivery]:
        params = {
            "now": now,
            "lanes": [str(lane) for lane in lanes],
            "most": limit,
            "until": now + timedelta(seconds=lease_seconds),
        }
        result = await self._conn.execute(_CLAIM, params)
        return sorted((_delivery(row) for row in result), key=lambda x: x.id)

    async def lane_has_pending(self, ticket_id: TicketId, lane: Lane) -> bool:
        d = m.deliveries
        query = select(d.c.id).where(
            (d.c.status == DeliveryStatus.PENDING)
            & (d.c.ticket_id == ticket_id)
            & (d.c.lane == lane)
        )
        return (await self._conn.execute(query.limit(1))).first() is not None

    async def extend_leases(self, delivery_ids: Sequence[DeliveryId], until: datetime) -> None:
        d = m.deliveries
        await self._conn.execute(
            update(d)
            .where(d.c.id.in_(delivery_ids) & (d.c.status == DeliveryStatus.PENDING))
            .values(leased_until=until)
        )

    async def jobs_for(self, deliveries: Sequence[Delivery]) -> list[DeliveryJob | None]:
        if not deliveries:
            return []
        t, c, msg = m.tickets, m.customers, m.messages
        ticket_ids = {d.ticket_id for d in deliveries}
        tickets = {
            row.id: _ticket(row)
            for row in await self._conn.execute(select(t).where(t.c.id.in_(ticket_ids)))
        }
        customer_ids = {ticket.customer_id for ticket in tickets.values()}
        customers = {
            row.id: _customer(row)
            for row in await self._conn.execute(select(c).where(c.c.id.in_(customer_ids)))
        }
        message_ids = [d.message_id for d in deliveries if d.message_id is not None]
        messages: dict[int, Message] = {}
        if message_ids:
            rows = list(await self._conn.execute(select(msg).where(msg.c.id.in_(message_ids))))
            refs = await self._refs_of([MessageId(row.id) for row in rows])
            messages = {row.id: _message(row, refs.get(row.id, ())) for row in rows}
        jobs: list[DeliveryJob | None] = []
        for delivery in deliveries:
            ticket = tickets.get(delivery.ticket_id)
            customer = customers.get(ticket.customer_id) if ticket else None
            message = messages.get(delivery.message_id) if delivery.message_id else None
            if ticket is None or customer is None:
                jobs.append(None)
                continue
            jobs.append(DeliveryJob(delivery, ticket, customer, message))
        return jobs

    async def set_delivery_payload(
        self, delivery_id: DeliveryId, payload: Mapping[str, Any]
    ) -> None:
        d = m.deliveries
        await self._conn.execute(
            update(d).where(d.c.id == delivery_id).values(payload=dict(payload))
        )

    async def retry_delivery(
        self, delivery_id: DeliveryId, next_attempt_at: datetime, error: str
    ) -> None:
        d = m.deliveries
        await self._conn.execute(
            update(d)
            .where(d.c.id == delivery_id)
            .values(
                attempts=d.c.attempts + 1,
                next_attempt_at=next_attempt_at,
                leased_until=None,
                last_error=error[:2000],
            )
        )

    async def finish_delivery(
        self,
        delivery_id: DeliveryId,
        status: DeliveryStatus,
        at: datetime,
        *,
        external_id: str | None = None,
        error: str | None = None,
    ) -> None:
        d = m.deliveries
        await self._conn.execute(
            update(d)
            .where(d.c.id == delivery_id)
            .values(
                status=status,
                attempts=d.c.attempts + 1,
                leased_until=None,
                delivered_at=at if status is DeliveryStatus.DONE else None,
                external_id=external_id,
                last_error=error[:2000] if error else None,
            )
        )

    async def list_deliveries(self, ticket_id: TicketId) -> list[Delivery]:
        q = select(m.deliveries).where(m.deliveries.c.ticket_id == ticket_id)
        return [_delivery(row) for row in await self._conn.execute(q.order_by(m.deliveries.c.id))]

    async def count(self, table: str) -> int:
        """Row count of one table; for diagnostics and tests."""
        q = select(func.count()).select_from(m.metadata.tables[table])
        return int((await self._conn.execute(q)).scalar_one())


_PRIORITY_RANK = case(
    {str(p): rank for rank, p in enumerate(Priority)}, value=m.tickets.c.priority, else_=99
)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- rows to domain objects ------------------------------------------------------------


def _ticket(row: Row[Any]) -> Ticket:
    assignee = (
        Agent(AgentId(row.assignee_id), row.assignee_name or row.assignee_id)
        if row.assignee_id
        else None
    )
    return Ticket(
        id=TicketId(row.id),
        number=TicketNumber(row.number),
        customer_id=CustomerId(row.customer_id),
        subject=row.subject,
        status=Status(row.status),
        priority=Priority(row.priority),
        tier=row.tier,
        created_at=row.created_at,
        updated_at=row.updated_at,
        assignee=assignee,
        version=row.version,
        first_response_at=row.first_response_at,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        due_at=row.due_at,
        workspace_ref=row.workspace_ref,
        csat_rating=row.csat_rating,
    )


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


def _message(row: Row[Any], refs: tuple[MessageRef, ...]) -> Message:
    return Message(
        id=MessageId(row.id),
        ticket_id=TicketId(row.ticket_id),
        direction=Direction(row.direction),
        author=Actor(ActorKind(row.author_kind), row.author_id, row.author_name),
        body=row.body,
        created_at=row.created_at,
        attachments=tuple(_attachment(a) for a in row.attachments),
        refs=refs,
        edited_at=row.edited_at,
        deleted_at=row.deleted_at,
    )


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=DeliveryId(row.id),
        ticket_id=TicketId(row.ticket_id),
        kind=DeliveryKind(row.kind),
        lane=Lane(row.lane),
        status=DeliveryStatus(row.status),
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        attempts=row.attempts,
        message_id=MessageId(row.message_id) if row.message_id is not None else None,
        payload=row.payload,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        external_id=row.external_id,
    )


def _attachment_json(a: Attachment) -> dict[str, Any]:
    return {"filename": a.filename, "url": a.url, "size": a.size, "content_type": a.content_type}


def _attachment(data: Mapping[str, Any]) -> Attachment:
    return Attachment(
        filename=str(data["filename"]),
        url=str(data["url"]),
        size=int(data["size"]),
        content_type=data.get("content_type"),
    )
