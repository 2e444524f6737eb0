"""The figures /metrics reads: each row counted once however many scrapes see it, recent rows
counted at once, and a new process counting the same history. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.domain import CustomerId, TicketId
from bot.core.events import CustomerMessage
from bot.core.service import TicketService
from bot.core.sla import NotificationKey
from bot.core.survey import SurveyOutcome
from integrations.platforms import DISCORD
from storage import metrics_repository
from storage.db import begin
from storage.metrics_repository import SETTLED_AFTER, MetricsReader
from storage.repository import SqlStorage, SqlTransaction
from tests.support import FakeClock

WEEK = timedelta(days=7)


async def open_tickets(
    storage: SqlStorage, clock: FakeClock, count: int
) -> list[tuple[TicketId, CustomerId]]:
    service = TicketService(storage, clock)
    made = []
    for i in range(count):
        message = CustomerMessage(DISCORD, f"m{i}", f"c{i}", f"C{i}", "hi", clock.now())
        ticket = (await service.receive_customer_message(message)).ticket
        made.append((ticket.id, ticket.customer_id))
    return made


async def notice(storage: SqlStorage, ticket: TicketId, kind: str, at: datetime) -> None:
    async with storage.transaction() as tx:
        assert await tx.claim_notification(NotificationKey(ticket, "first_response", kind), at)


async def test_rows_are_counted_once_as_they_settle(
    storage: SqlStorage, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics_repository, "STEP", 1)  # the history tallied a row at a time
    (a, ca), (b, cb), (c, cc) = await open_tickets(storage, clock, 3)
    reader = MetricsReader(storage.engine)
    await notice(storage, a, "breach", clock.now())
    async with storage.transaction() as tx:
        survey = await tx.add_survey(a, ca, SurveyOutcome.SENT, clock.now(), WEEK)
        await tx.add_survey(b, cb, SurveyOutcome.SKIPPED, clock.now(), WEEK)
        assert survey is not None
        await tx.answer_survey(survey.id, 4, None, clock.now())

    def seen(figures: object) -> tuple[dict[tuple[str, str], int], int, dict[int, int]]:
        return figures.notices, figures.surveys_sent, figures.ratings  # type: ignore[attr-defined]

    fresh = ({("first_response", "breach"): 1}, 1, {4: 1})
    assert seen(await reader.read(clock.now())) == fresh  # recent: counted at once
    assert seen(await reader.read(clock.now())) == fresh  # and again, not twice
    clock.advance(seconds=SETTLED_AFTER.total_seconds() + 1)
    assert seen(await reader.read(clock.now())) == fresh  # settled: tallied, still once

    await notice(storage, b, "breach", clock.now())
    await notice(storage, c, "reminder", clock.now())
    async with storage.transaction() as tx:
        survey = await tx.add_survey(c, cc, SurveyOutcome.SENT, clock.now(), WEEK)
        assert survey is not None
        await tx.answer_survey(survey.id, 1, None, clock.now())
    grown = (
        {("first_response", "breach"): 2, ("first_response", "reminder"): 1},
        2,
        {4: 1, 1: 1},
    )
    assert seen(await reader.read(clock.now())) == grown
    clock.advance(hours=1)
    assert seen(await reader.read(clock.now())) == grown
    # Another process counts the same history from the start.
    assert seen(await MetricsReader(storage.engine).read(clock.now())) == grown


async def test_an_insert_committed_after_a_newer_one_is_counted_when_it_commits(
    storage: SqlStorage, clock: FakeClock
) -> None:
    """PostgreSQL hands out ids before commit: a notification can commit after one with a
    higher id was read. Until rows settle they are counted afresh, so the late one is found."""
    if storage.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: its ids commit in order")
    (a, _), (b, _) = await open_tickets(storage, clock, 2)
    reader = MetricsReader(storage.engine)
    async with begin(storage.engine) as slow:
        await SqlTransaction(slow).claim_notification(
            NotificationKey(a, "first_response", "breach"), clock.now()
        )
        await notice(storage, b, "breach", clock.now())  # a higher id, committed first
        assert (await reader.read(clock.now())).notices == {("first_response", "breach"): 1}
    assert (await reader.read(clock.now())).notices == {("first_response", "breach"): 2}
    clock.advance(seconds=SETTLED_AFTER.total_seconds() + 1)
    assert (await reader.read(clock.now())).notices == {("first_response", "breach"): 2}


async def test_queue_and_open_tickets(storage: SqlStorage, clock: FakeClock) -> None:
    await open_tickets(storage, clock, 2)
    figures = await MetricsReader(storage.engine).read(clock.now() + timedelta(seconds=5))
    assert figures.tickets == {"new": 2}
    queued = {(q.lane, q.workspace): q.pending for q in figures.queues}
    assert queued == {("agents", "main"): 4, ("customer", ""): 2}
    assert {q.oldest_at for q in figures.queues} == {clock.now()}
    assert all(q.oldest_at.tzinfo is UTC for q in figures.queues)
