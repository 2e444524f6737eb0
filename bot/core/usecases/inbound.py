"""Raw platform events: stored before they are acknowledged, marked when processed, retried
with backoff and set aside as dead letters; and where a gateway's event stream stood."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from bot.core.domain import Customer, Platform
from bot.core.errors import EventNotFound
from bot.core.inbound import (
    MAX_ATTEMPTS,
    STUCK_AFTER,
    GatewayCheckpoint,
    InboundEvent,
    InboundId,
    InboundState,
    backoff,
)
from bot.core.usecases.base import UseCaseBase


class InboundUseCases(UseCaseBase):
    async def record_inbound(
        self, platform: Platform, event_id: str, payload: Mapping[str, Any]
    ) -> bool:
        """Store a platform event before it is acknowledged; False if it was processed
        before (a redelivery to acknowledge and drop). True for a new event, and for one stored
        earlier whose processing never finished."""
        async with self._storage.transaction() as tx:
            return await tx.record_inbound_event(platform, event_id, payload, self._clock.now())

    async def first_time(
        self, platform: Platform, event_id: str, payload: Mapping[str, Any]
    ) -> bool:
        """Record an event that is acted on now or never (a click): True the first time, False
        for a replay. Recorded and marked in one transaction, so of two copies racing (two
        replicas, say) only one is ever True: the unique key decides."""
        async with self._storage.transaction() as tx:
            if not await tx.record_inbound_event(platform, event_id, payload, self._clock.now()):
                return False
            await tx.mark_inbound_processed(platform, event_id, self._clock.now())
            return True

    async def mark_processed(self, platform: Platform, event_id: str) -> None:
        async with self._storage.transaction() as tx:
            await tx.mark_inbound_processed(platform, event_id, self._clock.now())

    async def unprocessed(
        self, platform: Platform, older_than: timedelta, limit: int = 500
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """Events stored and acknowledged but never processed: a crash in between."""
        async with self._storage.transaction() as tx:
            return await tx.unprocessed_inbound(platform, self._clock.now() - older_than, limit)

    async def inbound_failed(self, platform: Platform, event_id: str, error: str) -> InboundState:
        """Count a failed attempt at a stored event: PENDING when it will be retried after a
        backoff, DEAD when it has failed MAX_ATTEMPTS times and now waits for a person."""
        now = self._clock.now()
        async with self._storage.transaction() as tx:
            event = await tx.find_inbound(platform, event_id)
            made = (event.attempts if event is not None else 0) + 1
            retry_at = now + backoff(made) if made < MAX_ATTEMPTS else None
            await tx.inbound_failed(platform, event_id, error, now, retry_at)
        return InboundState.PENDING if retry_at is not None else InboundState.DEAD

    async def retry_due(
        self, platform: Platform, limit: int = 100
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """Failed events whose retry is due now, and stuck ones (stored long ago, never tried:
        their processing failed while the database was away, so not even the failure was
        recorded), oldest first."""
        now = self._clock.now()
        async with self._storage.reading() as tx:
            return await tx.retry_due_inbound(platform, now, limit, now - STUCK_AFTER)

    async def inbound_events(
        self, *, dead: bool = True, platform: Platform | None = None, limit: int = 100
    ) -> list[InboundEvent]:
        """Dead letters (by default), or events still waiting to be processed."""
        async with self._storage.reading() as tx:
            return await tx.list_inbound(dead=dead, platform=platform, limit=limit)

    async def inbound_event(self, inbound_id: InboundId) -> InboundEvent:
        async with self._storage.reading() as tx:
            event = await tx.get_inbound(inbound_id)
        if event is None:
            raise EventNotFound(f"No stored event {inbound_id}")
        return event

    async def stored_event(self, platform: Platform, event_id: str) -> InboundEvent | None:
        """A stored inbound event by its platform id, if any."""
        async with self._storage.reading() as tx:
            return await tx.find_inbound(platform, event_id)

    async def retry_dead_letter(self, inbound_id: InboundId) -> InboundEvent:
        """Put a dead letter back in line: the running bot processes it at its next retry pass."""
        async with self._storage.transaction() as tx:
            if not await tx.revive_inbound(inbound_id, self._clock.now()):
                raise EventNotFound(f"Stored event {inbound_id} is not a dead letter")
            event = await tx.get_inbound(inbound_id)
        assert event is not None
        return event

    async def drop_dead_letter(self, inbound_id: InboundId) -> InboundEvent:
        """Set a dead letter aside for good (it stays on record; a redelivery is dropped)."""
        async with self._storage.transaction() as tx:
            if not await tx.drop_inbound(inbound_id, self._clock.now()):
                raise EventNotFound(f"Stored event {inbound_id} is not a dead letter")
            event = await tx.get_inbound(inbound_id)
        assert event is not None
        return event

    async def recent_conversations(
        self, platform: Platform, active_within: timedelta, limit: int
    ) -> list[tuple[Customer, str | None]]:
        """Customers on `platform` with a ticket open or active within `active_within`, most
        recent first, with the platform id of the last message recorded from each: where a
        catch-up from history starts."""
        async with self._storage.reading() as tx:
            since = self._clock.now() - active_within
            return await tx.recent_conversations(platform, since, limit)

    async def gateway_checkpoint(self, name: str) -> GatewayCheckpoint | None:
        async with self._storage.reading() as tx:
            return await tx.load_gateway_checkpoint(name)

    async def save_gateway_checkpoint(self, name: str, checkpoint: GatewayCheckpoint) -> None:
        async with self._storage.transaction() as tx:
            await tx.save_gateway_checkpoint(name, checkpoint, self._clock.now())

    async def clear_gateway_checkpoint(self, name: str) -> None:
        async with self._storage.transaction() as tx:
            await tx.clear_gateway_checkpoint(name)
