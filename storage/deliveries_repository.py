"""The delivery queue: what is still to be sent to each side of a ticket, one lane per side.

A mixin of `SqlTransaction` (storage/repository.py). A dispatcher takes deliveries by leasing
them (`leased_until`), so several replicas can share the queue; a lane is sent in order, so only
its oldest pending delivery (its head) can be claimed. The claim is one UPDATE … RETURNING,
built once at import (`_CLAIM`). What waits behind a head (`waiting_behind`) may be leased with
it (`lease_deliveries`) to be sent with it in one post. `jobs_for` reads tickets, customers
and messages: a job carries everything its sender needs, loaded in one query per table rather
than per delivery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Insert,
    Integer,
    Row,
    Update,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    null,
    select,
    update,
)

from bot.core.delivery import (
    MAIN_WORKSPACE,
    Delivery,
    DeliveryId,
    DeliveryJob,
    DeliveryStatus,
    Lane,
    NewDelivery,
)
from bot.core.domain import Message, MessageId, MessageRef, Platform, TicketId
from bot.core.outbound import OutboundEvent, decode, encode
from storage import models as m
from storage.prepared import Prepared
from storage.rows import (
    CUSTOMER_COLUMNS,
    TICKETS_WITH_CUSTOMERS,
    Rows,
    customer_from,
    message_row,
    prefixed,
    ticket_from,
)


def _claim_statement() -> Update:
    """Lease the due heads of one lane of one workspace, at most `most`, until `until`.

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
            & (earlier.c.workspace == d.c.workspace)
            & (earlier.c.status == pending)
            & (earlier.c.id < d.c.id)
        )
        .exists()
    )
    heads = (
        select(d.c.id)
        .where(
            (d.c.status == pending)
            & (d.c.lane == bindparam("in_lane", type_=d.c.lane.type))
            & (d.c.workspace == bindparam("of_workspace", type_=d.c.workspace.type))
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
        .values(leased_until=bindparam("until", type_=d.c.leased_until.type), claims=d.c.claims + 1)
        .returning(d)
    )


def _head_statement() -> Insert:
    """Queue a delivery, leased until `until` to the caller (a first claim) when nothing is
    pending before it in its lane, and unleased otherwise: one statement, so a use case can
    hand a new lane head straight to its process's dispatcher without a claim of its own."""
    d, earlier = m.deliveries, m.deliveries.alias("earlier")
    # (not named as the columns are: an INSERT keeps those names for its VALUES clause)
    ahead = (
        select(earlier.c.id)
        .where(
            (earlier.c.ticket_id == bindparam("head_ticket", type_=d.c.ticket_id.type))
            & (earlier.c.lane == bindparam("head_lane", type_=d.c.lane.type))
            & (earlier.c.workspace == bindparam("head_workspace", type_=d.c.workspace.type))
            & (earlier.c.status == DeliveryStatus.PENDING)
        )
        .exists()
    )
    until = bindparam("until", type_=d.c.leased_until.type)
    return (
        insert(d)
        .values(leased_until=case((ahead, null()), else_=until), claims=case((ahead, 0), else_=1))
        .returning(d)
    )


_CLAIM = _claim_statement()
_ADD_HEAD = Prepared(_head_statement())
# The other statements every delivery runs, built once too.
_D = m.deliveries
_ADD = Prepared(insert(_D).returning(_D))
# PostgreSQL: a transaction-level advisory lock per ticket (its first key names this use, apart
# from the migration's lock), not a row lock: a row lock is a write to the ticket's row and
# waits on (or holds up) every transaction that inserts a row referring to the ticket.
LANE_LOCKS = 0x746C
_LOCK_TICKET = select(func.pg_advisory_xact_lock(LANE_LOCKS, bindparam("id", type_=Integer)))
# Whether another delivery of the finished one's lane is pending, answered by the UPDATE that
# finishes it (a statement fewer for every delivery sent). Its own row is left out by id: on
# PostgreSQL the subquery reads the rows as they were when the statement began. Written out:
# SQLAlchemy's SQLite dialect leaves the table names off every column in RETURNING, which
# would turn `other.ticket_id = deliveries.ticket_id` into `ticket_id = ticket_id`.
_MORE_IN_LANE = literal_column(
    "EXISTS (SELECT 1 FROM deliveries AS other"
    " WHERE other.status = 'pending'"  # DeliveryStatus.PENDING
    " AND other.ticket_id = deliveries.ticket_id AND other.lane = deliveries.lane"
    " AND other.workspace = deliveries.workspace AND other.id != deliveries.id)",
    Boolean,
)
# (not named as the columns are: an UPDATE keeps those names for its SET clause)
_FINISH = Prepared(
    update(_D)
    .where(_D.c.id == bindparam("of_id"))
    .values(
        status=bindparam("new_status", type_=_D.c.status.type),
        attempts=_D.c.attempts + 1,
        leased_until=None,
        delivered_at=bindparam("done_at", type_=_D.c.delivered_at.type),
        external_id=bindparam("sent_as", type_=_D.c.external_id.type),
        last_error=bindparam("error", type_=_D.c.last_error.type),
    )
    .returning(_MORE_IN_LANE.label("more"))
)
# A job's ticket with its customer, and its message with its refs: one statement each. The
# joined table's columns carry a prefix, so that each row still reads as its own table's row.
_REF = "ref__"
_TICKETS_IN = TICKETS_WITH_CUSTOMERS.where(m.tickets.c.id.in_(bindparam("ids", expanding=True)))
# The same for one ticket: prepared, which a list bound at execution cannot be.
_ONE_TICKET = Prepared(TICKETS_WITH_CUSTOMERS.where(m.tickets.c.id == bindparam("id")))
_R = m.message_refs
_MESSAGES_IN = (
    select(
        m.messages,
        *(c.label(f"{_REF}{c.name}") for c in (_R.c.platform, _R.c.external_id, _R.c.workspace)),
    )
    .outerjoin(_R, _R.c.message_id == m.messages.c.id)
    .where(m.messages.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(m.messages.c.id, _R.c.id)  # refs in the order they were stored
)


class DeliveryRows(Rows):
    async def add_delivery(self, new: NewDelivery) -> Delivery:
        added = await self._fetch(_ADD, delivery_values(new))
        return _delivery(added.one(), new.event)

    async def add_lane_head(self, new: NewDelivery, until: datetime) -> tuple[Delivery, bool]:
        if self._conn.dialect.name != "sqlite" and new.ticket_id not in self._lane_locks:
            # Two transactions queueing into one lane at once would each find nothing before
            # theirs and both hold a head: the ticket's lane lock makes the second wait for the
            # first. (SQLite has one writer at a time already.) Taken once per transaction: a
            # message and the card it redraws are queued together, a round trip each.
            await self._conn.execute(_LOCK_TICKET, {"id": new.ticket_id})
            self._lane_locks.add(new.ticket_id)
        params = delivery_values(new)
        params.update(
            head_ticket=new.ticket_id, head_lane=new.lane, head_workspace=new.workspace, until=until
        )
        delivery = _delivery((await self._fetch(_ADD_HEAD, params)).one(), new.event)
        return delivery, delivery.claims > 0

    async def claim_due_deliveries(
        self, now: datetime, lane: Lane, workspace: str, limit: int, lease_seconds: float
    ) -> list[Delivery]:
        params = {
            "now": now,
            "in_lane": str(lane),
            "of_workspace": workspace,
            "most": limit,
            "until": now + timedelta(seconds=lease_seconds),
        }
        result = await self._conn.execute(_CLAIM, params)
        return sorted((_delivery(row._mapping) for row in result), key=lambda x: x.id)

    async def waiting_behind(
        self, heads: Sequence[Delivery], most: int
    ) -> dict[DeliveryId, list[Delivery]]:
        if not heads or most <= 0:
            return {}
        d = m.deliveries
        behind: dict[DeliveryId, list[Delivery]] = {head.id: [] for head in heads}
        head_of = {(h.ticket_id, h.lane, h.workspace): h.id for h in heads}
        for (lane, workspace), ticket_ids in _lanes_of(heads).items():
            # The first `most` + 1 pending rows of each lane: its head, then what waits for it.
            place = (
                func.row_number().over(partition_by=d.c.ticket_id, order_by=d.c.id).label("place")
            )
            pending = (
                select(d, place)
                .where(
                    (d.c.status == DeliveryStatus.PENDING)
                    & (d.c.lane == lane)
                    & (d.c.workspace == workspace)
                    & d.c.ticket_id.in_(ticket_ids)
                )
                .subquery()
            )
            query = select(pending).where(pending.c.place <= most + 1).order_by(pending.c.id)
            for row in await self._conn.execute(query):
                head = head_of[TicketId(row.ticket_id), lane, workspace]
                if row.id > head:
                    behind[head].append(_delivery(row._mapping))
        return behind

    async def lease_deliveries(
        self, delivery_ids: Sequence[DeliveryId], now: datetime, until: datetime
    ) -> list[Delivery]:
        if not delivery_ids:
            return []
        d = m.deliveries
        free = d.c.leased_until.is_(None) | (d.c.leased_until < now)
        result = await self._conn.execute(
            update(d)
            .where(d.c.id.in_(delivery_ids) & (d.c.status == DeliveryStatus.PENDING) & free)
            .values(leased_until=until, claims=d.c.claims + 1)
            .returning(d)
        )
        return sorted((_delivery(row._mapping) for row in result), key=lambda x: x.id)

    async def extend_leases(self, delivery_ids: Sequence[DeliveryId], until: datetime) -> None:
        d = m.deliveries
        await self._conn.execute(
            update(d)
            .where(d.c.id.in_(delivery_ids) & (d.c.status == DeliveryStatus.PENDING))
            .values(leased_until=until)
        )

    async def hasten_retries(self, now: datetime) -> int:
        d = m.deliveries
        result = await self._conn.execute(
            update(d)
            .where(
                (d.c.status == DeliveryStatus.PENDING)
                & (d.c.attempts > 0)
                & (d.c.next_attempt_at > now)
            )
            .values(next_attempt_at=now)
        )
        return int(result.rowcount or 0)

    async def jobs_for(self, deliveries: Sequence[Delivery]) -> list[DeliveryJob | None]:
        if not deliveries:
            return []
        ticket_ids = list({d.ticket_id for d in deliveries})
        # Those this transaction knows as stored (see `Rows._tickets`), with their customers,
        # are not read again: a use case hands over its own ticket's jobs.
        tickets = {i: t for i in ticket_ids if (t := self._tickets.get(i)) is not None}
        customers = {
            t.customer_id: c for t in tickets.values() if (c := self._customers.get(t.customer_id))
        }
        unknown = [
            i for i in ticket_ids if i not in tickets or tickets[i].customer_id not in customers
        ]
        for r in await self._tickets_with_customers(unknown) if unknown else ():
            tickets[r["id"]] = ticket_from(r)
            customers[r["customer_id"]] = customer_from(prefixed(r, CUSTOMER_COLUMNS))
        messages = await self._messages(deliveries)
        cards = await self._cards(deliveries)
        jobs: list[DeliveryJob | None] = []
        for delivery in deliveries:
            ticket = tickets.get(delivery.ticket_id)
            customer = customers.get(ticket.customer_id) if ticket else None
            message = messages.get(delivery.message_id) if delivery.message_id else None
            if ticket is None or customer is None:
                jobs.append(None)
                continue
            if delivery.workspace == MAIN_WORKSPACE:
                card = ticket.workspace_ref
            else:
                card = cards.get((delivery.ticket_id, delivery.workspace))
            jobs.append(DeliveryJob(delivery, ticket, customer, message, card=card))
        return jobs

    async def _tickets_with_customers(
        self, ticket_ids: list[TicketId]
    ) -> Sequence[Mapping[Any, Any]]:
        if len(ticket_ids) == 1:
            return (await self._fetch(_ONE_TICKET, {"id": ticket_ids[0]})).rows
        return [row._mapping for row in await self._conn.execute(_TICKETS_IN, {"ids": ticket_ids})]

    async def _messages(self, deliveries: Sequence[Delivery]) -> dict[int, Message]:
        """The messages of these deliveries, with their refs. One this transaction added is
        known as it is stored (see `Rows._added`) and not read back."""
        messages: dict[int, Message] = {}
        message_ids: list[MessageId] = []
        for d in deliveries:
            if d.message_id is None:
                continue
            known = self._added.get(d.message_id)
            if known is not None:
                messages[d.message_id] = known
            else:
                message_ids.append(d.message_id)
        if not message_ids:
            return messages
        rows: dict[int, Row[Any]] = {}
        refs: dict[int, list[MessageRef]] = {}
        for row in await self._conn.execute(_MESSAGES_IN, {"ids": message_ids}):
            r = row._mapping
            rows.setdefault(r["id"], row)
            found = refs.setdefault(r["id"], [])
            if r[f"{_REF}platform"] is not None:
                found.append(
                    MessageRef(
                        Platform(r[f"{_REF}platform"]),
                        r[f"{_REF}external_id"],
                        r[f"{_REF}workspace"],
                    )
                )
        messages.update({i: message_row(row, tuple(refs[i])) for i, row in rows.items()})
        return messages

    async def _cards(self, deliveries: Sequence[Delivery]) -> dict[tuple[int, str], str]:
        """The cards in workspaces other than the main one of these deliveries' tickets."""
        wanted = {d.ticket_id for d in deliveries if d.workspace not in ("", MAIN_WORKSPACE)}
        if not wanted:
            return {}
        w = m.workspace_cards
        rows = await self._conn.execute(select(w).where(w.c.ticket_id.in_(wanted)))
        return {(row.ticket_id, row.workspace): row.ref for row in rows}

    async def set_delivery_steps(self, delivery_id: DeliveryId, steps: Sequence[str]) -> None:
        d = m.deliveries
        await self._conn.execute(update(d).where(d.c.id == delivery_id).values(steps=list(steps)))

    async def retry_delivery(
        self, delivery_id: DeliveryId, next_attempt_at: datetime, error: str, *, unsure: bool
    ) -> None:
        d = m.deliveries
        await self._conn.execute(
            update(d)
            .where(d.c.id == delivery_id)
            .values(
                attempts=d.c.attempts + 1,
                # One claim more than the attempts that ended: the next holder treats it as
                # interrupted (`Delivery.maybe_sent`), and keeps doing so.
                claims=d.c.claims + (1 if unsure else 0),
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
    ) -> bool:
        values = {
            "of_id": delivery_id,
            "new_status": status,
            "done_at": at if status is DeliveryStatus.DONE else None,
            "sent_as": external_id,
            "error": error[:2000] if error else None,
        }
        row = (await self._fetch(_FINISH, values)).first()
        return row is not None and bool(row["more"])

    async def list_deliveries(self, ticket_id: TicketId) -> list[Delivery]:
        q = select(m.deliveries).where(m.deliveries.c.ticket_id == ticket_id)
        rows = await self._conn.execute(q.order_by(m.deliveries.c.id))
        return [_delivery(row._mapping) for row in rows]


def _lanes_of(heads: Sequence[Delivery]) -> dict[tuple[Lane, str], list[TicketId]]:
    lanes: dict[tuple[Lane, str], list[TicketId]] = {}
    for head in heads:
        lanes.setdefault((head.lane, head.workspace), []).append(head.ticket_id)
    return lanes


def _delivery(r: Mapping[Any, Any], event: OutboundEvent | None = None) -> Delivery:
    """A delivery off a mapping of its row's values by column name (see rows.py). `event`: the
    delivery's event when the caller holds it already (it just stored it), so that its payload
    is not decoded back."""
    return Delivery(
        id=DeliveryId(r["id"]),
        ticket_id=TicketId(r["ticket_id"]),
        lane=Lane(r["lane"]),
        event=event
        if event is not None
        else decode(r["kind"], r["schema_version"], r["payload"] or {}),
        status=DeliveryStatus(r["status"]),
        created_at=r["created_at"],
        next_attempt_at=r["next_attempt_at"],
        attempts=r["attempts"],
        claims=r["claims"],
        message_id=MessageId(r["message_id"]) if r["message_id"] is not None else None,
        steps=tuple(str(step) for step in r["steps"] or ()),
        workspace=r["workspace"],
        last_error=r["last_error"],
        delivered_at=r["delivered_at"],
        external_id=r["external_id"],
    )


def delivery_values(new: NewDelivery) -> dict[str, Any]:
    """A new delivery's row, as `add_delivery` and the SLA sweeps' batches insert it."""
    kind, version, fields = encode(new.event)
    return {
        "ticket_id": new.ticket_id,
        "lane": new.lane,
        "workspace": new.workspace,
        "kind": kind,
        "schema_version": version,
        "message_id": new.message_id,
        "payload": fields,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "created_at": new.created_at,
        "next_attempt_at": new.created_at,
    }
