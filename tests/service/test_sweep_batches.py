"""The SLA sweep in batches, on both databases: more clocks due than a batch holds, each
notice still sent exactly once, by one sweeper or two at a time; escalations stepped one by one
after their batch; a sweep that cannot get anywhere ends."""

from __future__ import annotations

import asyncio

import pytest

from bot.core import sweeps as sweeps_module
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Status, Ticket, TicketId
from bot.core.errors import ConcurrentUpdate
from bot.core.service import TicketService
from bot.core.sla import Metric
from bot.core.sla_keeper import SlaKeeper
from bot.core.sweeps import Sweeps
from storage.repository import SqlStorage
from tests.fakes import RecordingChannel, RecordingWorkspace
from tests.service.test_sweeps import POLICY, Told, open_ticket
from tests.support import FakeClock

BATCH = 4


@pytest.fixture(autouse=True)
def _small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweeps_module, "SLA_BATCH", BATCH)


@pytest.fixture
def service(storage: SqlStorage, clock: FakeClock) -> TicketService:
    return TicketService(storage, clock, sla=SlaKeeper(POLICY))


@pytest.fixture
def told(dispatcher: Dispatcher, workspace: RecordingWorkspace, channel: RecordingChannel) -> Told:
    return Told(dispatcher, workspace, channel)


async def many(service: TicketService, clock: FakeClock, count: int) -> list[Ticket]:
    return [await open_ticket(service, clock, who=str(3000 + i)) for i in range(count)]


async def notices(storage: SqlStorage, ticket: Ticket, kind: str) -> int:
    async with storage.reading() as tx:
        return await tx.count_notifications(ticket.id, kind)


async def test_more_due_clocks_than_a_batch_holds_are_each_notified_once(
    service: TicketService, told: Told, storage: SqlStorage, clock: FakeClock
) -> None:
    tickets = await many(service, clock, 3 * BATCH - 1)
    sweeps = Sweeps(service, POLICY)
    assert await sweeps.sla(clock.advance(minutes=46)) == len(tickets)  # in three batches
    assert await sweeps.sla(clock.now()) == 0
    assert await sweeps.sla(clock.advance(minutes=15)) == len(tickets)  # the breaches
    assert await sweeps.sla(clock.now()) == 0
    for ticket in tickets:
        assert await told.agents(ticket) == [
            "reminder to the queue: first_response due 10:00",
            "to leads: breached: first_response due 10:00, 60s late",
            "breached: first_response due 10:00, 60s late",
        ], ticket.number
        assert await notices(storage, ticket, "reminder") == 1
        assert await notices(storage, ticket, "breach") == 1


async def test_two_sweepers_taking_small_batches_at_once_notify_each_ticket_once(
    storage: SqlStorage, clock: FakeClock, told: Told
) -> None:
    one = TicketService(storage, clock, sla=SlaKeeper(POLICY))
    tickets = await many(one, clock, 5 * BATCH + 1)
    two = TicketService(SqlStorage(storage.engine), clock, sla=SlaKeeper(POLICY))
    now = clock.advance(hours=1, minutes=1)
    sent = await asyncio.gather(Sweeps(one, POLICY).sla(now), Sweeps(two, POLICY).sla(now))
    assert sum(sent) == len(tickets)
    for ticket in tickets:
        assert await told.agents(ticket) == [
            "to leads: breached: first_response due 10:00, 60s late",
            "breached: first_response due 10:00, 60s late",
        ], ticket.number


async def test_a_breach_and_the_escalation_it_is_already_late_for_go_out_in_one_sweep(
    service: TicketService, workspace: RecordingWorkspace, told: Told, clock: FakeClock
) -> None:
    tickets = await many(service, clock, BATCH + 1)
    sweeps = Sweeps(service, POLICY)
    # Nobody swept for two hours: each first response breached and is an hour past it.
    # Batches: four breaches; the fifth and three escalations now due; two escalations.
    assert await sweeps.sla(clock.advance(hours=2, minutes=1)) == 2 * len(tickets)
    assert await sweeps.sla(clock.now()) == 0
    for ticket in tickets:
        now = await service.get_ticket(ticket.number)
        assert (now.status, now.tier) == (Status.ESCALATED, 2)
        await told.agents(ticket)
        assert len(workspace.to_escalations(ticket.number)) == 1


async def test_a_sweep_whose_escalations_keep_losing_their_race_ends(
    service: TicketService, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = await many(service, clock, BATCH)
    sweeps = Sweeps(service, POLICY)
    assert await sweeps.sla(clock.advance(hours=1, minutes=1)) == len(tickets)  # breaches
    tried: list[TicketId] = []

    async def always_beaten(ticket_id: TicketId, metric: Metric, now: object) -> int:
        tried.append(ticket_id)
        raise ConcurrentUpdate(ticket_id)

    monkeypatch.setattr(service, "step_clock", always_beaten)
    # A full batch of escalations, none of which gets through: the sweep gives up for now.
    assert await asyncio.wait_for(sweeps.sla(clock.advance(hours=1)), timeout=30) == 0
    assert sorted(tried) == sorted(t.id for t in tickets)
    monkeypatch.undo()
    monkeypatch.setattr(sweeps_module, "SLA_BATCH", BATCH)
    assert await sweeps.sla(clock.now()) == len(tickets)  # the next sweep escalates them
