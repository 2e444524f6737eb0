"""The jobs' sweeps on both databases, driven by a chosen `now`: reminders, breaches,
escalations, surveys and auto-close, each notification exactly once, read as what the agents'
side and the customer's side are shown (tests/fakes.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from bot.config import Policy
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Action, Actor, Agent, AgentId, Status, Ticket, TicketNumber
from bot.core.errors import DomainError, PlatformError
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.service import TicketService
from bot.core.sla_keeper import SlaKeeper
from bot.core.sweeps import Sweeps
from integrations.platforms import DISCORD, SLACK
from storage.repository import SqlStorage, SqlTransaction
from tests.fakes import RecordingChannel, RecordingWorkspace
from tests.service.test_dispatcher import drain
from tests.support import FakeClock

ANN = Agent(AgentId("U0ANN"), "Ann")
POLICY = Policy.model_validate(
    {
        "sla": {
            "normal": {
                "first_response": "1h",
                "next_response": "1h",
                "resolution": "8h",
                "calendar": "24x7",
            }
        },
        "reminders": {"before_breach": "15m"},
        "escalation": {"after_breach": "1h"},
        "csat": {"delay": "1h", "cooldown": "7d"},
        "tickets": {"close_after": "4d", "nudge_pending_after": "2d"},
    }
)


@pytest.fixture
def service(storage: SqlStorage, clock: FakeClock) -> TicketService:
    return TicketService(storage, clock, sla=SlaKeeper(POLICY))


SURVEYABLE = frozenset({DISCORD})
# What the jobs tell each side, besides cards and messages.
ALERTS = ("sla_reminder", "sla_breached", "survey_answered", "ticket_escalated")
ASKED = ("awaiting_customer", "ask_for_rating")


@pytest.fixture
def sweeps(service: TicketService) -> Sweeps:
    return Sweeps(service, POLICY, surveyable=SURVEYABLE)


async def open_ticket(service: TicketService, clock: FakeClock, who: str = "1001") -> Ticket:
    intake = await service.receive_customer_message(
        CustomerMessage(DISCORD, f"m-{who}-{clock.now()}", who, "Alice", "Help", clock.now())
    )
    return intake.ticket


@dataclass(frozen=True, slots=True)
class Told:
    """What each side was shown of the jobs' work on a ticket (cards and messages left out),
    once everything queued was sent."""

    dispatcher: Dispatcher
    workspace: RecordingWorkspace
    channel: RecordingChannel

    async def agents(self, ticket: Ticket) -> list[str]:
        await drain(self.dispatcher)
        return self.workspace.lines(ticket.number, intents=ALERTS)

    async def customer(self, ticket: Ticket) -> list[str]:
        await drain(self.dispatcher)
        return self.channel.lines(ticket.number, intents=ASKED)


@pytest.fixture
def told(dispatcher: Dispatcher, workspace: RecordingWorkspace, channel: RecordingChannel) -> Told:
    return Told(dispatcher, workspace, channel)


async def reply(service: TicketService, clock: FakeClock, ticket: Ticket, internal: bool) -> None:
    await service.add_agent_message(
        ticket.number, AgentMessage(ANN, "Looking", internal, clock.now())
    )


async def test_a_reminder_goes_to_the_channel_when_nobody_holds_the_ticket(
    service: TicketService, sweeps: Sweeps, told: Told, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    assert await sweeps.sla(clock.advance(minutes=44)) == 0
    assert await sweeps.sla(clock.advance(minutes=1)) == 1
    assert await sweeps.sla(clock.now()) == 0  # once
    assert await told.agents(ticket) == ["reminder to the queue: first_response due 10:00"]


async def test_the_next_sla_event_is_the_earliest_work_any_clock_has(
    service: TicketService, sweeps: Sweeps, told: Told, clock: FakeClock
) -> None:
    assert await service.next_sla_event() is None  # no ticket, nothing waits
    opened = clock.now()
    ticket = await open_ticket(service, clock)
    reminder = await service.next_sla_event()
    assert reminder == opened + timedelta(minutes=45)  # 15 min before the 1 h first response
    assert await sweeps.sla(reminder) == 1
    assert await service.next_sla_event() == opened + timedelta(hours=1)  # then the breach
    await service.claim(ticket.number, ANN)
    await reply(service, clock, ticket, internal=False)
    # Answered: the first response is met; resolution's reminder is next, 7 h 45 min in.
    assert await service.next_sla_event() == opened + timedelta(hours=7, minutes=45)
    assert await told.agents(ticket) == ["reminder to the queue: first_response due 10:00"]


async def test_a_reminder_goes_to_the_assignee(
    service: TicketService, sweeps: Sweeps, told: Told, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    await service.claim(ticket.number, ANN)
    assert await sweeps.sla(clock.advance(minutes=46)) == 1
    assert await told.agents(ticket) == [f"reminder to {ANN.id}: first_response due 10:00"]


async def test_the_breach_tells_the_leads_once(
    service: TicketService, sweeps: Sweeps, told: Told, storage: SqlStorage, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    await reply(service, clock, ticket, internal=True)  # a note does not stop the clock
    assert await sweeps.sla(clock.advance(hours=1, seconds=20)) == 1  # breach; reminder moot
    assert await sweeps.sla(clock.advance(seconds=30)) == 0
    assert await told.agents(ticket) == [
        "to leads: breached: first_response due 10:00, 20s late",
        "breached: first_response due 10:00, 20s late",  # and a line in the thread
    ]
    assert await told.customer(ticket) == []
    async with storage.transaction() as tx:
        assert await tx.count_notifications(ticket.id, "breach") == 1


async def test_a_reply_in_time_means_no_reminder_and_no_breach(
    service: TicketService, sweeps: Sweeps, told: Told, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    clock.advance(minutes=30)
    await reply(service, clock, ticket, internal=False)
    assert await sweeps.sla(clock.advance(hours=3)) == 0
    assert await told.agents(ticket) == []
    stored = await service.get_ticket(ticket.number)
    assert stored.first_response_at is not None
    assert stored.due_at == ticket.created_at + timedelta(hours=8)  # resolution is next


async def test_an_unmet_breach_escalates_one_tier_after_an_hour(
    service: TicketService,
    sweeps: Sweeps,
    told: Told,
    workspace: RecordingWorkspace,
    clock: FakeClock,
) -> None:
    ticket = await open_ticket(service, clock)
    await sweeps.sla(clock.advance(hours=1))  # breach
    assert await sweeps.sla(clock.advance(minutes=59)) == 0
    assert await sweeps.sla(clock.advance(minutes=1)) == 1
    escalated = await service.get_ticket(ticket.number)
    assert (escalated.status, escalated.tier) == (Status.ESCALATED, 2)
    detail = await service.ticket_detail(ticket.number)
    last = detail.events[-1]
    assert last.action is Action.ESCALATE
    assert last.actor.name == "Threadline SLA"
    assert "first response target breached" in (last.reason or "")
    await told.agents(ticket)
    why = "first response target breached, unmet 1h after its due time"
    assert workspace.to_escalations(ticket.number) == [
        f"escalated by Threadline SLA (tier 1 → 2): {why}"
    ]
    await sweeps.sla(clock.advance(hours=1))
    assert (await service.get_ticket(ticket.number)).tier == 3
    assert await sweeps.sla(clock.advance(hours=1)) == 0  # the top tier: the ladder ends


async def test_a_restart_in_the_middle_of_a_sweep_loses_and_repeats_nothing(
    service: TicketService, told: Told, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = [await open_ticket(service, clock, who=str(1000 + i)) for i in range(3)]
    now = clock.advance(hours=1, minutes=5)
    crashing = Sweeps(service, POLICY)
    original = SqlTransaction.add_deliveries

    async def crash(self: SqlTransaction, news: Any) -> None:
        # The batch has stepped its clocks and claimed its notices: the process dies.
        raise KeyboardInterrupt

    monkeypatch.setattr(SqlTransaction, "add_deliveries", crash)
    with pytest.raises(KeyboardInterrupt):
        await crashing.sla(now)
    monkeypatch.setattr(SqlTransaction, "add_deliveries", original)
    # The batch was all or nothing: every clock is due again, no notice is claimed.
    assert await service.next_sla_event() == tickets[0].created_at + timedelta(minutes=45)
    restarted = Sweeps(service, POLICY)
    assert await restarted.sla(now) == 3
    assert await restarted.sla(now) == 0
    for ticket in tickets:
        assert await told.agents(ticket) == [
            "to leads: breached: first_response due 10:00, 300s late",
            "breached: first_response due 10:00, 300s late",
        ], ticket.number


async def test_two_replicas_sweeping_at_once_send_each_notification_once(
    storage: SqlStorage, clock: FakeClock, told: Told
) -> None:
    one = TicketService(storage, clock, sla=SlaKeeper(POLICY))
    tickets = [await open_ticket(one, clock, who=str(2000 + i)) for i in range(20)]
    now = clock.advance(hours=1, minutes=1)
    # Two processes: their own storage objects over the same database.
    two = TicketService(SqlStorage(storage.engine), clock, sla=SlaKeeper(POLICY))
    sent = await asyncio.gather(Sweeps(one, POLICY).sla(now), Sweeps(two, POLICY).sla(now))
    assert sum(sent) == 20
    async with storage.transaction() as tx:
        for ticket in tickets:
            assert await tx.count_notifications(ticket.id, "breach") == 1
    for ticket in tickets:
        assert await told.agents(ticket) == [
            "to leads: breached: first_response due 10:00, 60s late",
            "breached: first_response due 10:00, 60s late",
        ]


async def test_a_survey_after_resolution_and_its_answer(
    service: TicketService, sweeps: Sweeps, told: Told, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    await reply(service, clock, ticket, internal=False)
    await service.resolve(ticket.number, service_actor())
    assert await sweeps.csat(clock.advance(minutes=59)) == 0
    assert await sweeps.csat(clock.advance(minutes=1)) == 1
    assert await sweeps.csat(clock.advance(minutes=1)) == 0  # one survey per ticket
    assert await told.customer(ticket) == ["asked for a rating"]
    with pytest.raises(DomainError, match="someone else's"):
        await service.rate(ticket.number, DISCORD, "999", 5)
    with pytest.raises(DomainError, match="someone else's"):
        await service.rate(ticket.number, SLACK, "1001", 5)  # same id, elsewhere
    await service.rate(ticket.number, DISCORD, "1001", 2)
    await service.rate(ticket.number, DISCORD, "1001", 1)  # changed their mind
    await service.comment(ticket.number, DISCORD, "1001", "Took ages")
    assert await told.agents(ticket) == [
        "Alice rated 2",
        "to leads: Alice rated 2",  # a low rating is brought to the leads, once
        "Alice rated 1",
        "Alice rated 1: Took ages",
        "to leads: Alice rated 1: Took ages",  # with the comment
    ]
    assert (await service.get_ticket(ticket.number)).csat_rating == 1
    assert await service.satisfaction(clock.now() - timedelta(days=1)) == 0.0
    assert await service.csat_since(clock.now() - timedelta(days=1)) == (0.0, 1)
    clock.advance(days=8)
    with pytest.raises(DomainError, match="expired"):
        await service.rate(ticket.number, DISCORD, "1001", 5)


async def test_no_survey_where_the_customers_channel_cannot_carry_one(
    service: TicketService, told: Told, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    await service.resolve(ticket.number, service_actor())
    elsewhere = Sweeps(service, POLICY, surveyable=frozenset({SLACK}))
    assert await elsewhere.csat(clock.advance(hours=1)) == 0
    assert await told.customer(ticket) == []
    with pytest.raises(DomainError, match="no survey"):
        await service.rate(ticket.number, DISCORD, "1001", 5)


async def test_no_survey_for_a_reopened_ticket_until_it_is_resolved_again(
    service: TicketService, sweeps: Sweeps, told: Told, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    await service.resolve(ticket.number, service_actor())
    clock.advance(minutes=30)
    await service.reopen(ticket.number, service_actor())
    assert await sweeps.csat(clock.advance(hours=2)) == 0
    await service.resolve(ticket.number, service_actor())
    assert await sweeps.csat(clock.advance(minutes=30)) == 0
    assert await sweeps.csat(clock.advance(minutes=30)) == 1
    assert await told.customer(ticket) == ["asked for a rating"]


async def test_no_survey_within_the_cooldown_of_the_last_one(
    service: TicketService, sweeps: Sweeps, told: Told, clock: FakeClock
) -> None:
    first = await open_ticket(service, clock)
    await service.resolve(first.number, service_actor())
    assert await sweeps.csat(clock.advance(hours=1)) == 1
    await service.close(first.number, service_actor())
    second = await open_ticket(service, clock)
    await service.resolve(second.number, service_actor())
    assert await sweeps.csat(clock.advance(hours=1)) == 0  # surveyed an hour ago
    assert await told.customer(second) == []
    with pytest.raises(DomainError, match="no survey"):
        await service.rate(second.number, DISCORD, "1001", 5)


async def test_resolved_tickets_close_after_four_quiet_days(
    service: TicketService, sweeps: Sweeps, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    await service.resolve(ticket.number, service_actor())
    assert await sweeps.autoclose(clock.advance(days=3, hours=23)) == 0
    assert await sweeps.autoclose(clock.advance(hours=1)) == 1
    closed = await service.get_ticket(ticket.number)
    assert closed.status is Status.CLOSED


async def test_a_quiet_pending_ticket_is_nudged_once_then_resolved(
    service: TicketService, sweeps: Sweeps, told: Told, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    await service.claim(ticket.number, ANN)
    await service.wait_on_customer(ticket.number, service_actor())
    assert await sweeps.autoclose(clock.advance(days=2)) == 1
    assert await sweeps.autoclose(clock.advance(hours=1)) == 0
    assert await told.customer(ticket) == ["nudged: we are waiting on you"]
    assert await sweeps.autoclose(clock.advance(days=3)) == 1
    resolved = await service.get_ticket(ticket.number)
    assert resolved.status is Status.RESOLVED


async def test_waiting_on_the_customer_does_not_breach_resolution(
    service: TicketService, sweeps: Sweeps, told: Told, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    clock.advance(minutes=10)
    await reply(service, clock, ticket, internal=False)
    await service.claim(ticket.number, ANN)
    await service.wait_on_customer(ticket.number, service_actor())
    assert (await service.get_ticket(ticket.number)).due_at is None
    assert await sweeps.sla(clock.advance(hours=20)) == 0
    assert await told.agents(ticket) == []
    await service.receive_customer_message(
        CustomerMessage(DISCORD, "late", "1001", "Alice", "Back!", clock.now())
    )
    woke = await service.get_ticket(TicketNumber(ticket.number))
    assert woke.status is Status.CLAIMED
    # 10 minutes of resolution time were used before the wait; the next response is due first.
    assert woke.due_at == clock.now() + timedelta(hours=1)


async def test_the_leads_digest_goes_once_a_day_and_again_after_a_failed_send(
    service: TicketService, workspace: RecordingWorkspace, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)  # at 09:00, the digest's time; due at 10:00
    sweeps = Sweeps(service, POLICY, workspace.send_digest, surveyable=SURVEYABLE)
    workspace.fail(PlatformError("Slack is down", retryable=True))
    with pytest.raises(PlatformError):
        await sweeps.digest(clock.advance(minutes=10))
    assert workspace.digests == []
    assert await sweeps.digest(clock.advance(minutes=1)) == 1  # the day's claim was given back
    assert await sweeps.digest(clock.advance(hours=1)) == 0  # once a day
    (digest,) = workspace.digests
    assert "At risk within 1h: 1" in digest
    assert f"#{ticket.number} Help (unassigned)" in digest
    assert await sweeps.digest(clock.advance(hours=23)) == 1  # the next day's
    assert len(workspace.digests) == 2


def service_actor() -> Actor:
    return Actor.of_agent(ANN)
