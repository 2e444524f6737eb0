"""Customers: one row per platform identity, with its block and the place it is reached.

A mixin of `SqlTransaction` (storage/repository.py). Two replicas may meet the same new customer
at once: creating one and claiming its contact place both let the first writer win and hand the
loser what is stored. `count_tickets_opened` reads `tickets` but lives here: it answers a
question about the customer (how many tickets they opened lately).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.core.domain import Customer, CustomerId, Direction, MessageRef, Platform, TicketId
from bot.core.repositories import CustomerWriting
from storage import models as m
from storage.prepared import Prepared
from storage.rows import Rows, customer_from, customer_row, labelled, prefixed, ticket_from

# Built once: every message looks its customer up (see storage/messages_repository.py for why).
_C = m.customers
_BY_KEY = select(_C).where(
    (_C.c.platform == bindparam("platform")) & (_C.c.external_id == bindparam("external_id"))
)
_BY_ID = select(_C).where(_C.c.id == bindparam("id"))
# A new or changed customer (a first message, a new name or avatar): built once as well. The
# INSERT takes its columns from each call's parameters. The UPDATE's key parameters are named
# apart from the columns: a SET column and a WHERE parameter cannot share a name.
_INSERT = insert(_C)
_RENAME = (
    update(_C)
    .where(
        (_C.c.platform == bindparam("key_platform"))
        & (_C.c.external_id == bindparam("key_external_id"))
    )
    .values(display_name=bindparam("display_name"), avatar_url=bindparam("avatar_url"))
)
# Every customer's message starts with this one read (`customer_writing`): the customer, the
# ticket of the message if it was recorded before (a redelivery), their open ticket (at most one
# is open: a unique index) and their messages on it in the last minute (the flood limit). Four
# statements before; each is a round trip to a PostgreSQL server.
_T, _M, _R = m.tickets, m.messages, m.message_refs
_TICKET = labelled(_T, "ticket__")
_SEEN_ON = (
    select(_M.c.ticket_id)
    .join(_R, _R.c.message_id == _M.c.id)
    .where((_R.c.platform == bindparam("ref_platform")) & (_R.c.external_id == bindparam("ref_id")))
    .scalar_subquery()
)
_RECENT = (
    select(func.count())
    .where(
        (_M.c.ticket_id == _T.c.id)
        & (_M.c.direction == Direction.FROM_CUSTOMER)
        & (_M.c.created_at >= bindparam("since"))
    )
    .scalar_subquery()
)
_WRITING = Prepared(
    select(
        _C,
        *(_T.c[name].label(label) for label, name in _TICKET),
        _SEEN_ON.label("seen_on"),
        _RECENT.label("recent"),
    )
    .outerjoin(_T, (_T.c.customer_id == _C.c.id) & m.TICKET_OPEN)
    .where(
        (_C.c.platform == bindparam("platform")) & (_C.c.external_id == bindparam("external_id"))
    )
)
# Run by every message that would open a ticket (the hourly limit on new tickets).
_TICKETS_OPENED_SINCE = select(func.count()).where(
    (m.tickets.c.customer_id == bindparam("customer_id"))
    & (m.tickets.c.created_at >= bindparam("since"))
)


class CustomerRows(Rows):
    async def customer_writing(
        self, platform: Platform, external_id: str, ref: MessageRef, since: datetime
    ) -> CustomerWriting | None:
        params = {
            "platform": platform,
            "external_id": external_id,
            "ref_platform": ref.platform,
            "ref_id": ref.external_id,
            "since": since,
        }
        r = (await self._fetch(_WRITING, params)).first()
        if r is None:
            return None
        ticket = prefixed(r, _TICKET)
        open_ticket = self._known_ticket(ticket_from(ticket)) if ticket["id"] is not None else None
        seen_on = r["seen_on"]
        return CustomerWriting(
            customer=self._known_customer(customer_from(r)),
            seen_on=TicketId(seen_on) if seen_on is not None else None,
            open_ticket=open_ticket,
            recent=int(r["recent"] or 0),
        )

    async def upsert_customer(
        self,
        platform: Platform,
        external_id: str,
        display_name: str,
        seen_at: datetime,
        avatar_url: str | None = None,
    ) -> Customer:
        params = {"platform": platform, "external_id": external_id}
        row = (await self._conn.execute(_BY_KEY, params)).first()
        if row is None:
            try:
                async with self._conn.begin_nested():
                    await self._conn.execute(
                        _INSERT,
                        {
                            **params,
                            "display_name": display_name,
                            "avatar_url": avatar_url,
                            "created_at": seen_at,
                        },
                    )
            except IntegrityError:
                pass  # the same customer was created concurrently; read theirs
        elif customer_row(row).renamed(display_name, avatar_url):
            await self._conn.execute(
                _RENAME,
                {
                    "key_platform": platform,
                    "key_external_id": external_id,
                    "display_name": display_name,
                    "avatar_url": avatar_url or row.avatar_url,
                },
            )
        else:
            return self._known_customer(customer_row(row))  # the common case: one query
        row = (await self._conn.execute(_BY_KEY, params)).one()
        return self._known_customer(customer_row(row))

    async def set_customer_blocked(
        self, customer_id: CustomerId, blocked_at: datetime | None
    ) -> None:
        self._forget_customer(customer_id)
        await self._conn.execute(
            update(m.customers).where(m.customers.c.id == customer_id).values(blocked_at=blocked_at)
        )

    async def claim_customer_contact(self, customer_id: CustomerId, channel: str) -> str | None:
        c = m.customers
        self._forget_customer(customer_id)
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
        key = {"customer_id": customer_id, "since": since}
        return int((await self._conn.execute(_TICKETS_OPENED_SINCE, key)).scalar_one())

    async def find_customer(self, platform: Platform, external_id: str) -> Customer | None:
        params = {"platform": platform, "external_id": external_id}
        row = (await self._conn.execute(_BY_KEY, params)).first()
        return customer_row(row) if row else None

    async def get_customer(self, customer_id: CustomerId) -> Customer | None:
        row = (await self._conn.execute(_BY_ID, {"id": customer_id})).first()
        return customer_row(row) if row else None
