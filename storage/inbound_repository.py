"""Raw inbound events (with their retries and dead letters) and gateway checkpoints.

A mixin of `SqlTransaction` (storage/repository.py): every method runs in the caller's
transaction on `self._conn`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot.core.domain import Customer, Direction, Platform, Status
from bot.core.inbound import GatewayCheckpoint, InboundEvent, InboundId
from storage import models as m
from storage.rows import Rows, customer_row, unless_stored

ERROR_LIMIT = 2000
# Built once: each event is stored and marked done (see storage/messages_repository.py for why).
_E = m.inbound_events
_RECORD = insert(_E)
# Stored as processed unless it was stored before.
_ADD_PROCESSED = unless_stored(_E, ["platform", "event_id"])
_PROCESSED = (
    update(_E)
    # (not named as the columns are: an UPDATE keeps those names for its SET clause)
    .where((_E.c.platform == bindparam("of_platform")) & (_E.c.event_id == bindparam("of_event")))
    .values(processed_at=bindparam("at"), next_attempt_at=None)
)


class InboundRows(Rows):
    async def record_inbound_event(
        self, platform: Platform, event_id: str, payload: Mapping[str, Any], received_at: datetime
    ) -> bool:
        try:
            async with self._conn.begin_nested():
                values = {
                    "platform": platform,
                    "event_id": event_id,
                    "payload": dict(payload),
                    "received_at": received_at,
                }
                await self._conn.execute(_RECORD, values)
        except IntegrityError:
            # Seen before: it needs processing only if that never finished and nobody set it
            # aside (a dead letter waits for a person, whoever redelivers it).
            e = m.inbound_events
            q = select(e.c.processed_at, e.c.dead_at).where(
                (e.c.platform == platform) & (e.c.event_id == event_id)
            )
            row = (await self._conn.execute(q)).first()
            return row is not None and row.processed_at is None and row.dead_at is None
        return True

    async def add_processed_inbound(
        self, platform: Platform, event_id: str, payload: Mapping[str, Any], at: datetime
    ) -> bool:
        values = {
            "platform": platform,
            "event_id": event_id,
            "payload": dict(payload),
            "received_at": at,
            "processed_at": at,
        }
        added = await self._fetch(_ADD_PROCESSED[self._conn.dialect.name], values)
        return added.first() is not None

    async def mark_inbound_processed(self, platform: Platform, event_id: str, at: datetime) -> None:
        key = {"of_platform": platform, "of_event": event_id, "at": at}
        await self._conn.execute(_PROCESSED, key)

    async def inbound_failed(
        self,
        platform: Platform,
        event_id: str,
        error: str,
        at: datetime,
        retry_at: datetime | None,
    ) -> int:
        """Count a failed attempt; with no `retry_at` the event becomes a dead letter.
        Returns the attempts made so far."""
        e = m.inbound_events
        key = (e.c.platform == platform) & (e.c.event_id == event_id)
        await self._conn.execute(
            update(e)
            .where(key)
            .values(
                attempts=e.c.attempts + 1,
                last_error=error[:ERROR_LIMIT],
                next_attempt_at=retry_at,
                dead_at=at if retry_at is None else None,
            )
        )
        row = (await self._conn.execute(select(e.c.attempts).where(key))).first()
        return int(row.attempts) if row is not None else 0

    async def unprocessed_inbound(
        self, platform: Platform, received_before: datetime, limit: int
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """Events never processed that nobody is handling: left over from a crash (received
        before `received_before` and never tried) or failed and due for a retry."""
        e = m.inbound_events
        never_tried = and_(e.c.next_attempt_at.is_(None), e.c.received_at < received_before)
        return await self._waiting(
            platform, or_(never_tried, e.c.next_attempt_at <= received_before), limit
        )

    async def retry_due_inbound(
        self, platform: Platform, now: datetime, limit: int, stuck_before: datetime | None = None
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """Failed events whose retry is due by `now`, oldest first; with `stuck_before`, also
        those received before it and never tried (their processing failed where even the
        failure could not be recorded: the database went away)."""
        e = m.inbound_events
        due = e.c.next_attempt_at <= now
        if stuck_before is not None:
            due = or_(due, and_(e.c.next_attempt_at.is_(None), e.c.received_at < stuck_before))
        return await self._waiting(platform, due, limit)

    async def _waiting(
        self, platform: Platform, due: ColumnElement[bool], limit: int
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """Unprocessed events, not set aside, that are `due`, oldest first."""
        e = m.inbound_events
        q = (
            select(e.c.event_id, e.c.payload)
            .where(
                (e.c.platform == platform)
                & e.c.processed_at.is_(None)
                & e.c.dead_at.is_(None)
                & due
            )
            .order_by(e.c.id)
            .limit(limit)
        )
        return [(row.event_id, row.payload) for row in await self._conn.execute(q)]

    async def list_inbound(
        self, *, dead: bool, platform: Platform | None = None, limit: int = 100
    ) -> list[InboundEvent]:
        """Dead letters (`dead=True`), or events still waiting to be processed."""
        e = m.inbound_events
        where = e.c.processed_at.is_(None) & (
            e.c.dead_at.is_not(None) if dead else e.c.dead_at.is_(None)
        )
        if platform is not None:
            where &= e.c.platform == platform
        q = select(e).where(where).order_by(e.c.id).limit(limit)
        return [_inbound(row) for row in await self._conn.execute(q)]

    async def find_inbound(self, platform: Platform, event_id: str) -> InboundEvent | None:
        e = m.inbound_events
        key = (e.c.platform == platform) & (e.c.event_id == event_id)
        row = (await self._conn.execute(select(e).where(key))).first()
        return _inbound(row) if row is not None else None

    async def get_inbound(self, inbound_id: InboundId) -> InboundEvent | None:
        e = m.inbound_events
        row = (await self._conn.execute(select(e).where(e.c.id == inbound_id))).first()
        return _inbound(row) if row is not None else None

    async def revive_inbound(self, inbound_id: InboundId, at: datetime) -> bool:
        """A dead letter back in line, with a fresh count of attempts; False if it is none."""
        e = m.inbound_events
        result = await self._conn.execute(
            update(e)
            .where((e.c.id == inbound_id) & e.c.dead_at.is_not(None) & e.c.processed_at.is_(None))
            .values(dead_at=None, attempts=0, next_attempt_at=at)
        )
        return bool(result.rowcount)

    async def drop_inbound(self, inbound_id: InboundId, at: datetime) -> bool:
        """A dead letter set aside for good; kept, so that a redelivery is still dropped."""
        e = m.inbound_events
        result = await self._conn.execute(
            update(e)
            .where((e.c.id == inbound_id) & e.c.dead_at.is_not(None) & e.c.processed_at.is_(None))
            .values(processed_at=at)
        )
        return bool(result.rowcount)

    # --- catching up ------------------------------------------------------------------

    async def recent_conversations(
        self, platform: Platform, active_since: datetime, limit: int
    ) -> list[tuple[Customer, str | None]]:
        """Customers on `platform` with a ticket open or changed since `active_since`, most
        recently active first, each with the platform id of the last message recorded from
        them (None if none has a copy there). One query."""
        t, c, msg, r = m.tickets, m.customers, m.messages, m.message_refs
        recent = (
            select(t.c.customer_id, func.max(t.c.updated_at).label("active_at"))
            .where((t.c.status != Status.CLOSED) | (t.c.updated_at >= active_since))
            .group_by(t.c.customer_id)
            .subquery()
        )
        mine = t.alias("mine")
        last_from = (
            select(r.c.external_id)
            .select_from(
                mine.join(msg, msg.c.ticket_id == mine.c.id).join(r, r.c.message_id == msg.c.id)
            )
            .where(
                (mine.c.customer_id == c.c.id)
                & (msg.c.direction == Direction.FROM_CUSTOMER)
                & (r.c.platform == platform)
            )
            .order_by(msg.c.id.desc())
            .limit(1)
            .correlate(c)
            .scalar_subquery()
        )
        q = (
            select(c, last_from.label("last_from"))
            .join(recent, recent.c.customer_id == c.c.id)
            .where(c.c.platform == platform)
            .order_by(recent.c.active_at.desc())
            .limit(limit)
        )
        return [(customer_row(row), row.last_from) for row in await self._conn.execute(q)]

    # --- gateway checkpoints -----------------------------------------------------------

    async def load_gateway_checkpoint(self, name: str) -> GatewayCheckpoint | None:
        g = m.gateway_sessions
        row = (await self._conn.execute(select(g).where(g.c.name == name))).first()
        if row is None:
            return None
        return GatewayCheckpoint(row.session_id, row.resume_url, int(row.seq))

    async def save_gateway_checkpoint(
        self, name: str, checkpoint: GatewayCheckpoint, at: datetime
    ) -> None:
        g = m.gateway_sessions
        values = {
            "session_id": checkpoint.session_id,
            "resume_url": checkpoint.resume_url,
            "seq": checkpoint.seq,
            "updated_at": at,
        }
        result = await self._conn.execute(update(g).where(g.c.name == name).values(**values))
        if not result.rowcount:
            await self._conn.execute(insert(g).values(name=name, **values))

    async def clear_gateway_checkpoint(self, name: str) -> None:
        g = m.gateway_sessions
        await self._conn.execute(delete(g).where(g.c.name == name))


def _inbound(row: Row[Any]) -> InboundEvent:
    return InboundEvent(
        id=InboundId(row.id),
        platform=Platform(row.platform),
        event_id=row.event_id,
        payload=dict(row.payload),
        received_at=row.received_at,
        attempts=int(row.attempts),
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at,
        processed_at=row.processed_at,
        dead_at=row.dead_at,
    )
