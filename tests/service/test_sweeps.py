"""The jobs' sweeps on both databases, driven by a chosen `now`: reminders, breaches,
escalations, surveys and auto-close, each notification exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from bot.config import Policy
from bot.core.csat import comment, rate, satisfaction
from bot.core.delivery import DeliveryKind
from bot.core.domain import Action, Actor, Agent, AgentId, Platform, Status, Ticket, TicketNumber
from bot.core.errors import DomainError
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.service import TicketService
from bot.core.sla_keeper import SlaKeeper
from bot.core.sweeps import Sweeps
from storage.repository import SqlStorage
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


@pytest.fixture
def sweeps(service: TicketService) -> Sweeps:
    return Sweeps(service, POLICY)


async def open_ticket(service: TicketService, clock: FakeClock, who: str = "1001") -> Ticket:
    intake = await service.receive_customer_message(
        CustomerMessage(
            Platform.DISCORD, f"m-{who}-{clock.now()}", who, "Alice", "Help", clock.now()
        )
    )
    return intake.ticket


async def notices(storage: SqlStorage, ticket: Ticket) -> list[Mapping[str, Any]]:
    """Payloads of the jobs' notices queued for the ticket, oldest first."""
    async with storage.transaction() as tx:
        queued = await tx.list_deliveries(ticket.id)
    return [
        d.payload
        for d in queued
        if d.kind in (DeliveryKind.NOTICE, DeliveryKind.CUSTOMER_NOTICE)
        and ({"sla", "csat"} & set(d.payload) or d.payload.get("event") in ("survey", "nudge"))
    ]


async def reply(service: TicketService, clock: FakeClock, ticket: Ticket, internal: bool) -> None:
    await service.add_agent_message(
        ticket.number, AgentMessage(ANN, "Looking", internal, clock.now())
    )


async def test_a_reminder_goes_to_the_channel_when_nobody_holds_the_ticket(
    service: TicketService, sweeps: Sweeps, storage: SqlStorage, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    assert await sweeps.sla(clock.advance(minutes=44)) == 0
    assert await sweeps.sla(clock.advance(minutes=1)) == 1
    assert await sweeps.sla(clock.now()) == 0  # once
    (sent,) = await notices(storage, ticket)
    assert sent["to"] == "channel"
    assert sent["sla"]["metric"] == "first_response"
    assert sent["sla"]["kind"] == "reminder"


async def test_a_reminder_goes_to_the_assignee(
    service: TicketService, sweeps: Sweeps, storage: SqlStorage, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    await service.claim(ticket.number, ANN)
    assert await sweeps.sla(clock.advance(minutes=46)) == 1
    (sent,) = await notices(storage, ticket)
    assert (sent["to"], sent["user"]) == ("agent", ANN.id)


async def test_the_breach_tells_the_leads_once(
    service: TicketService, sweeps: Sweeps, storage: SqlStorage, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    await reply(service, clock, ticket, internal=True)  # a note does not stop the clock
    assert await sweeps.sla(clock.advance(hours=1, seconds=20)) == 1  # breach; reminder moot
    assert await sweeps.sla(clock.advance(seconds=30)) == 0
    sent = await notices(storage, ticket)
    assert [(n.get("to"), n["sla"]["kind"]) for n in sent] == [
        ("leads", "breach"),
        (None, "breach"),  # and a line in the thread
    ]
    assert sent[0]["sla"]["late_seconds"] == 20
    async with storage.transaction() as tx:
        assert await tx.count_notifications(ticket.id, "breach") == 1


async def test_a_reply_in_time_means_no_reminder_and_no_breach(
    service: TicketService, sweeps: Sweeps, storage: SqlStorage, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    clock.advance(minutes=30)
    await reply(service, clock, ticket, internal=False)
    assert await sweeps.sla(clock.advance(hours=3)) == 0
    assert await notices(storage, ticket) == []
    stored = await service.get_ticket(ticket.number)
    assert stored.first_response_at is not None
    assert stored.due_at == ticket.created_at + timedelta(hours=8)  # resolution is next


async def test_an_unmet_breach_escalates_one_tier_after_an_hour(
    service: TicketService, sweeps: Sweeps, storage: SqlStorage, clock: FakeClock
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
    async with storage.transaction() as tx:
        queued = await tx.list_deliveries(ticket.id)
    assert any(d.payload.get("to") == "escalations" for d in queued)
    await sweeps.sla(clock.advance(hours=1))
    assert (await service.get_ticket(ticket.number)).tier == 3
    assert await sweeps.sla(clock.advance(hours=1)) == 0  # the top tier: the ladder ends


async def test_a_restart_in_the_middle_of_a_sweep_loses_and_repeats_nothing(
    service: TicketService, storage: SqlStorage, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = [await open_ticket(service, clock, who=str(1000 + i)) for i in range(3)]
    now = clock.advance(hours=1, minutes=5)
    crashing = Sweeps(service, POLICY)
    calls = 0
    original = service.enqueue_in

    async def crash_on_the_third(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 4:  # the second ticket's breach is half queued: the process dies
            raise KeyboardInterrupt
        await original(*args, **kwargs)

    monkeypatch.setattr(service, "enqueue_in", crash_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        await crashing.sla(now)
    monkeypatch.setattr(service, "enqueue_in", original)
    restarted = Sweeps(service, POLICY)
    assert await restarted.sla(now) == 2
    for ticket in tickets:
        sent = await notices(storage, ticket)
        assert [n.get("to") for n in sent] == ["leads", None], ticket.number


async def test_two_replicas_sweeping_at_once_send_each_notification_once(
    storage: SqlStorage, clock: FakeClock
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


async def test_a_survey_after_resolution_and_its_answer(
    service: TicketService, sweeps: Sweeps, storage: SqlStorage, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    await reply(service, clock, ticket, internal=False)
    await service.resolve(ticket.number, service_actor())
    assert await sweeps.csat(clock.advance(minutes=59)) == 0
    assert await sweeps.csat(clock.advance(minutes=1)) == 1
    assert await sweeps.csat(clock.advance(minutes=1)) == 0  # one survey per ticket
    assert (await notices(storage, ticket))[-1] == {"event": "survey"}
    with pytest.raises(DomainError, match="someone else's"):
        await rate(service, ticket.number, "999", 5)
    await rate(service, ticket.number, "1001", 2)
    await rate(service, ticket.number, "1001", 1)  # changed their mind
    await comment(service, ticket.number, "1001", "Took ages")
    answers = [n for n in await notices(storage, ticket) if "csat" in n]
    assert [(n.get("to"), n["csat"]["rating"]) for n in answers] == [
        (None, 2),
        ("leads", 2),  # a low rating is brought to the leads, once
        (None, 1),
        (None, 1),
        ("leads", 1),  # with the comment
    ]
    assert answers[-1]["csat"]["comment"] == "Took ages"
    assert (await service.get_ticket(ticket.number)).csat_rating == 1
    assert await satisfaction(service, clock.now() - timedelta(days=1)) == 0.0
    clock.advance(days=8)
    with pytest.raises(DomainError, match="expired"):
        await rate(service, ticket.number, "1001", 5)


async def test_no_survey_for_a_reopened_ticket_until_it_is_resolved_again(
    service: TicketService, sweeps: Sweeps, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    await service.resolve(ticket.number, service_actor())
    clock.advance(minutes=30)
    await service.reopen(ticket.number, service_actor())
    assert await sweeps.csat(clock.advance(hours=2)) == 0
    await service.resolve(ticket.number, service_actor())
    assert await sweeps.csat(clock.advance(minutes=30)) == 0
    assert await sweeps.csat(clock.advance(minutes=30)) == 1


async def test_no_survey_within_the_cooldown_of_the_last_one(
    service: TicketService, sweeps: Sweeps, clock: FakeClock
) -> None:
    first = await open_ticket(service, clock)
    await service.resolve(first.number, service_actor())
    assert await sweeps.csat(clock.advance(hours=1)) == 1
    await service.close(first.number, service_actor())
    second = await open_ticket(service, clock)
    await service.resolve(second.number, service_actor())
    assert await sweeps.csat(clock.advance(hours=1)) == 0  # surveyed an hour ago
    with pytest.raises(DomainError, match="no survey"):
        await rate(service, second.number, "1001", 5)


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
    service: TicketService, sweeps: Sweeps, storage: SqlStorage, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    await service.claim(ticket.number, ANN)
    await service.wait_on_customer(ticket.number, service_actor())
    assert await sweeps.autoclose(clock.advance(days=2)) == 1
    assert await sweeps.autoclose(clock.advance(hours=1)) == 0
    assert [n for n in await notices(storage, ticket)] == [{"event": "nudge"}]
    assert await sweeps.autoclose(clock.advance(days=3)) == 1
    resolved = await service.get_ticket(ticket.number)
    assert resolved.status is Status.RESOLVED


async def test_waiting_on_the_customer_does_not_breach_resolution(
    service: TicketService, sweeps: Sweeps, storage: SqlStorage, clock: FakeClock
) -> None:
    ticket = await open_ticket(service, clock)
    clock.advance(minutes=10)
    await reply(service, clock, ticket, internal=False)
    await service.claim(ticket.number, ANN)
    await service.wait_on_customer(ticket.number, service_actor())
    assert (await service.get_ticket(ticket.number)).due_at is None
    assert await sweeps.sla(clock.advance(hours=20)) == 0
    await service.receive_customer_message(
        CustomerMessage(Platform.DISCORD, "late", "1001", "Alice", "Back!", clock.now())
    )
    woke = await service.get_ticket(TicketNumber(ticket.number))
    assert woke.status is Status.CLAIMED
    # 10 minutes of resolution time were used before the wait; the next response is due first.
    assert woke.due_at == clock.now() + timedelta(hours=1)


def service_actor() -> Actor:
    return Actor.of_agent(ANN)
