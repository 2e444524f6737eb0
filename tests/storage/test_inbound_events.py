"""The inbound events' contract (retries, dead letters), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.core.inbound import InboundState
from bot.core.service import TicketService
from integrations.platforms import SLACK
from storage.repository import SqlStorage
from tests.support import FakeClock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=1)


async def test_a_failure_is_counted_and_retried_when_due(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        assert await tx.record_inbound_event(SLACK, "Ev1", {"n": 1}, T0)
        attempts = await tx.inbound_failed(SLACK, "Ev1", "boom", T0, LATER)
        assert attempts == 1
        assert await tx.retry_due_inbound(SLACK, T0, 10) == []
        assert await tx.retry_due_inbound(SLACK, LATER, 10) == [("Ev1", {"n": 1})]
        [pending] = await tx.list_inbound(dead=False)
        assert (pending.attempts, pending.last_error, pending.state) == (
            1,
            "boom",
            InboundState.PENDING,
        )
        assert await tx.record_inbound_event(SLACK, "Ev1", {"n": 1}, T0)  # still due
        await tx.mark_inbound_processed(SLACK, "Ev1", LATER)
        assert await tx.retry_due_inbound(SLACK, LATER, 10) == []
        assert await tx.list_inbound(dead=False) == []


async def test_an_event_stored_as_processed_only_the_first_time(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        assert await tx.add_processed_inbound(SLACK, "Ev1", {"n": 1}, T0)
        stored = await tx.find_inbound(SLACK, "Ev1")
        assert stored is not None
        assert stored.state is InboundState.PROCESSED
        assert not await tx.record_inbound_event(SLACK, "Ev1", {"n": 1}, LATER)  # a redelivery
        # Stored before in any state: nothing is written.
        assert not await tx.add_processed_inbound(SLACK, "Ev1", {"n": 2}, LATER)
        assert await tx.record_inbound_event(SLACK, "Ev2", {"n": 3}, T0)
        assert not await tx.add_processed_inbound(SLACK, "Ev2", {"n": 3}, LATER)
        waiting = await tx.find_inbound(SLACK, "Ev2")
        assert waiting is not None
        assert waiting.state is InboundState.PENDING


async def test_a_dead_letter_waits_for_a_person_then_is_revived_or_dropped(
    storage: SqlStorage,
) -> None:
    async with storage.transaction() as tx:
        for event_id in ("Ev1", "Ev2"):
            await tx.record_inbound_event(SLACK, event_id, {}, T0)
            await tx.inbound_failed(SLACK, event_id, "x" * 5000, T0, None)
        dead = await tx.list_inbound(dead=True, platform=SLACK)
        assert [(d.event_id, d.state) for d in dead] == [
            ("Ev1", InboundState.DEAD),
            ("Ev2", InboundState.DEAD),
        ]
        assert len(dead[0].last_error or "") == 2000  # kept short
        # Neither a redelivery nor a start picks a dead letter up again.
        assert not await tx.record_inbound_event(SLACK, "Ev1", {}, T0)
        assert await tx.unprocessed_inbound(SLACK, LATER, 10) == []

        assert await tx.revive_inbound(dead[0].id, LATER)
        revived = await tx.get_inbound(dead[0].id)
        assert revived is not None
        assert (revived.attempts, revived.state) == (0, InboundState.PENDING)
        assert await tx.retry_due_inbound(SLACK, LATER, 10) == [("Ev1", {})]
        assert not await tx.revive_inbound(dead[0].id, LATER)  # no longer a dead letter

        assert await tx.drop_inbound(dead[1].id, LATER)
        dropped = await tx.get_inbound(dead[1].id)
        assert dropped is not None
        assert dropped.state is InboundState.DROPPED
        assert not await tx.drop_inbound(dead[1].id, LATER)
        assert not await tx.record_inbound_event(SLACK, "Ev2", {}, T0)
        assert await tx.list_inbound(dead=True) == []
        found = await tx.find_inbound(SLACK, "Ev2")
        assert found is not None
        assert found.id == dead[1].id


async def test_an_interaction_is_first_only_once_even_when_copies_race(
    storage: SqlStorage,
) -> None:
    service = TicketService(storage, FakeClock(T0))
    body = {"type": "block_actions"}
    firsts = await asyncio.gather(
        *(service.first_time(SLACK, "action:U1:123.4", body) for _ in range(5))
    )
    assert sorted(firsts) == [False, False, False, False, True]
    assert not await service.first_time(SLACK, "action:U1:123.4", body)
    assert await service.first_time(SLACK, "action:U1:123.5", body)


async def test_a_stored_event_never_tried_is_taken_up_once_it_is_stuck(
    storage: SqlStorage,
) -> None:
    """Its processing failed while the database was away, so not even the failure was
    recorded: no retry time, no attempt. The running bot's retry pass takes it up once it has
    waited longer than any processing takes, and leaves a fresh one to its live handling."""
    clock = FakeClock(T0)
    service = TicketService(storage, clock)
    async with storage.transaction() as tx:
        assert await tx.record_inbound_event(SLACK, "Ev1", {"n": 1}, T0)
        assert await tx.record_inbound_event(SLACK, "Ev2", {"n": 2}, T0 + timedelta(seconds=25))
    clock.advance(seconds=29)
    assert await service.retry_due(SLACK) == []  # each may still be in hand
    clock.advance(seconds=2)
    assert await service.retry_due(SLACK) == [("Ev1", {"n": 1})]
    clock.advance(seconds=30)
    assert await service.retry_due(SLACK) == [("Ev1", {"n": 1}), ("Ev2", {"n": 2})]
    await service.mark_processed(SLACK, "Ev1")
    await service.mark_processed(SLACK, "Ev2")
    assert await service.retry_due(SLACK) == []
