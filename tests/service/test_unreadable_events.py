"""A queued event this build cannot read (a newer build queued it, or the row was damaged) is
failed loudly and shown to the agents, and the ticket's queue goes on behind it. Run on SQLite
and PostgreSQL."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import insert

from bot.core.delivery import MAIN_WORKSPACE, DeliveryId, DeliveryStatus, Lane
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Ticket
from bot.core.service import TicketService
from storage import models as m
from storage.repository import SqlStorage
from tests.fakes import RecordingChannel, RecordingWorkspace
from tests.service.test_dispatcher import ANN, drain, say
from tests.support import FakeClock

CASES = [
    pytest.param(
        Lane.AGENTS,
        "ticket_snoozed",
        1,
        {"until": "2026-03-03T09:00:00+00:00"},
        "unknown event type 'ticket_snoozed'",
        id="unknown-type",
    ),
    pytest.param(
        Lane.CUSTOMER,
        "ticket_claimed",
        99,
        {"agent": "Ann", "team": "Printers"},
        "ticket_claimed version 99 (this build reads version 1)",
        id="newer-version",
    ),
    pytest.param(
        Lane.AGENTS,
        "sla_breached",
        1,
        {"metric": "first_response", "due_at": None},
        "sla_breached fields unreadable",
        id="missing-field",
    ),
    pytest.param(
        Lane.CUSTOMER,
        "ticket_opened",
        1,
        {"due_at": "2026-03-02T10:00:00"},
        "has no time zone",
        id="naive-datetime",
    ),
]


@pytest.fixture
def service(storage: SqlStorage, clock: FakeClock) -> TicketService:
    return TicketService(storage, clock)


async def queue_raw(
    storage: SqlStorage,
    clock: FakeClock,
    ticket: Ticket,
    lane: Lane,
    kind: str,
    version: int,
    fields: dict[str, Any],
) -> DeliveryId:
    """A delivery row as another build (or damage) might have left it."""
    async with storage.transaction() as tx:
        result = await tx._conn.execute(
            insert(m.deliveries)
            .values(
                ticket_id=ticket.id,
                lane=lane,
                workspace=MAIN_WORKSPACE if lane is Lane.AGENTS else "",
                kind=kind,
                schema_version=version,
                payload=fields,
                status=DeliveryStatus.PENDING,
                attempts=0,
                created_at=clock.now(),
                next_attempt_at=clock.now(),
            )
            .returning(m.deliveries.c.id)
        )
        return DeliveryId(result.scalar_one())


@pytest.mark.parametrize(("lane", "kind", "version", "fields", "problem"), CASES)
async def test_an_unreadable_event_is_failed_shown_and_passed(
    service: TicketService,
    dispatcher: Dispatcher,
    workspace: RecordingWorkspace,
    channel: RecordingChannel,
    storage: SqlStorage,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    lane: Lane,
    kind: str,
    version: int,
    fields: dict[str, Any],
    problem: str,
) -> None:
    number = await say(service, "alice", "a1", "help")
    await drain(dispatcher)
    ticket = await service.get_ticket(number)
    agents_before, customer_before = len(workspace.seen), len(channel.seen)

    bad = await queue_raw(storage, clock, ticket, lane, kind, version, fields)
    await service.claim(number, ANN)  # queued behind it, on both lanes
    with caplog.at_level(logging.ERROR):
        await drain(dispatcher)
    assert not [r for r in caplog.records if "crashed" in r.getMessage()]

    async with storage.reading() as tx:
        rows = {d.id: d for d in await tx.list_deliveries(ticket.id)}
    assert rows[bad].status is DeliveryStatus.FAILED
    error = rows[bad].last_error or ""
    assert error.startswith("cannot read the queued event: ")
    assert problem in error
    # The agents see which delivery could not be read and why; even one of their own.
    (shown,) = [s for s in workspace.seen[agents_before:] if s.intent == "delivery_failed"]
    assert shown.line == f"delivery {bad} failed: {error}"
    # What was queued behind it still went, to both sides.
    assert f"card #{number}: claimed (Ann)" in workspace.lines(number)[agents_before:]
    assert channel.lines(number)[customer_before:] == ["told: claimed by Ann"]
    assert {d.status for d in rows.values() if d.id != bad} == {DeliveryStatus.DONE}


async def test_an_unreadable_failure_notice_is_itself_shown_once(
    service: TicketService,
    dispatcher: Dispatcher,
    workspace: RecordingWorkspace,
    storage: SqlStorage,
    clock: FakeClock,
) -> None:
    number = await say(service, "alice", "a1", "help")
    await drain(dispatcher)
    ticket = await service.get_ticket(number)
    bad = await queue_raw(
        storage, clock, ticket, Lane.AGENTS, "delivery_failed", 2, {"delivery_id": 1}
    )
    await drain(dispatcher)
    assert workspace.lines(intents=("delivery_failed",)) == [
        f"delivery {bad} failed: cannot read the queued event: "
        "delivery_failed version 2 (this build reads version 1)"
    ]
