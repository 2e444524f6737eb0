"""Whole conversations through TicketService, the Dispatcher and the recording fakes of both
sides, read as transcripts: after each step, what the agents' side and the customer were shown.
Run on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from bot.core.dispatcher import Dispatcher
from bot.core.domain import Actor, Agent, AgentId, MessageRef, Ticket
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.service import TicketService
from bot.core.sla_keeper import SlaKeeper
from bot.core.sweeps import Sweeps
from integrations.platforms import DISCORD, SLACK
from storage.repository import SqlStorage
from tests.fakes import RecordingChannel, RecordingWorkspace
from tests.service.test_dispatcher import drain
from tests.service.test_sweeps import POLICY  # the same SLA and survey policy
from tests.support import FakeClock

ANN = Agent(AgentId("U0ANN"), "Ann")
BOB = Agent(AgentId("U0BOB"), "Bob")


@pytest.fixture
def service(storage: SqlStorage, clock: FakeClock) -> TicketService:
    return TicketService(storage, clock, sla=SlaKeeper(POLICY))


@dataclass
class Sides:
    """Sends what is queued and says what each side was shown since the last look."""

    dispatcher: Dispatcher
    workspace: RecordingWorkspace
    channel: RecordingChannel
    _agents_seen: int = field(default=0)
    _customer_seen: int = field(default=0)

    async def shown(self) -> tuple[list[str], list[str]]:
        """(what the agents' side was shown, what the customer was told), both since the
        last call."""
        await drain(self.dispatcher)
        agents = self.workspace.lines()[self._agents_seen :]
        customer = self.channel.lines()[self._customer_seen :]
        self._agents_seen += len(agents)
        self._customer_seen += len(customer)
        return agents, customer


@pytest.fixture
def sides(
    dispatcher: Dispatcher, workspace: RecordingWorkspace, channel: RecordingChannel
) -> Sides:
    return Sides(dispatcher, workspace, channel)


async def alice_writes(
    service: TicketService, clock: FakeClock, message_id: str, body: str
) -> Ticket:
    intake = await service.receive_customer_message(
        CustomerMessage(DISCORD, message_id, "1001", "Alice", body, clock.now())
    )
    return intake.ticket


async def test_a_ticket_from_first_message_to_reopening(
    service: TicketService, sides: Sides, clock: FakeClock
) -> None:
    ticket = await alice_writes(service, clock, "m1", "My printer is on fire")
    number = ticket.number
    agents, customer = await sides.shown()
    assert agents == [f"card #{number}: new", "customer wrote: My printer is on fire"]
    assert customer == [f"told: #{number} opened (answer due 10:00)"]

    clock.advance(minutes=3)
    await service.claim(number, ANN)
    agents, customer = await sides.shown()
    assert agents == [f"card #{number}: claimed (Ann)"]
    assert customer == ["told: claimed by Ann"]

    ref = MessageRef(SLACK, "C0SUP:1.1")
    reply = AgentMessage(ANN, "Have you tried turning it off?", False, clock.now(), ref)
    await service.add_agent_message(number, reply)
    agents, customer = await sides.shown()
    # The first response stops its clock: the card shows the next deadline.
    assert agents == [f"card #{number}: claimed (Ann)", "delivered: Have you tried turning it off?"]
    assert customer == ["reply: **Ann:** Have you tried turning it off?"]

    note = AgentMessage(ANN, "Third time this week", True, clock.now())
    await service.add_agent_message(number, note)
    assert await sides.shown() == ([], [])  # a note stays in the thread it was written in

    await service.escalate(number, Actor.of_agent(ANN), "Needs hardware team")
    agents, customer = await sides.shown()
    assert agents == [
        f"card #{number}: escalated",
        "escalated by Ann (tier 1 → 2): Needs hardware team",
        "to escalations: escalated by Ann (tier 1 → 2): Needs hardware team",
    ]
    assert customer == []

    await service.claim(number, BOB)
    agents, customer = await sides.shown()
    assert agents == [f"card #{number}: claimed (Bob)"]
    assert customer == ["told: claimed by Bob"]

    await service.resolve(number, Actor.of_agent(BOB), "Replaced the fuser")
    agents, customer = await sides.shown()
    assert agents == [f"card #{number}: resolved (Bob)", "resolved by Bob: Replaced the fuser"]
    assert customer == ["told: resolved by Bob"]

    clock.advance(hours=2)
    again = await alice_writes(service, clock, "m2", "It's back on fire")
    assert again.number == number
    agents, customer = await sides.shown()
    assert agents == [
        f"card #{number}: claimed (Bob)",
        "reopened by Alice: The customer wrote again.",
        "customer wrote: It's back on fire",
    ]
    assert customer == ["told: reopened by Bob"]


async def test_a_missed_deadline_is_shown_in_the_thread_and_to_the_leads(
    service: TicketService, sides: Sides, workspace: RecordingWorkspace, clock: FakeClock
) -> None:
    ticket = await alice_writes(service, clock, "m1", "Hello?")
    await sides.shown()
    sweeps = Sweeps(service, POLICY)
    assert await sweeps.sla(clock.advance(hours=1, minutes=2)) == 1
    agents, customer = await sides.shown()
    assert agents == [
        "to leads: breached: first_response due 10:00, 120s late",
        "breached: first_response due 10:00, 120s late",
    ]
    assert customer == []  # the customer is not told the team is late
    assert workspace.to_leads(ticket.number) == ["breached: first_response due 10:00, 120s late"]
    assert workspace.thread(ticket.number)[-1] == "breached: first_response due 10:00, 120s late"
    assert await sweeps.sla(clock.advance(minutes=5)) == 0
    assert await sides.shown() == ([], [])


async def test_an_unhappy_rating_reaches_the_leads_and_a_happy_one_does_not(
    service: TicketService, sides: Sides, workspace: RecordingWorkspace, clock: FakeClock
) -> None:
    ticket = await alice_writes(service, clock, "m1", "Help")
    await service.claim(ticket.number, ANN)
    await service.resolve(ticket.number, Actor.of_agent(ANN))
    await sides.shown()
    sweeps = Sweeps(service, POLICY, surveyable=frozenset({DISCORD}))
    assert await sweeps.csat(clock.advance(hours=1)) == 1
    assert await sides.shown() == ([], ["asked for a rating"])

    await service.rate(ticket.number, DISCORD, "1001", 5)
    agents, customer = await sides.shown()
    assert agents == ["Alice rated 5", f"card #{ticket.number}: resolved (Ann) rated 5"]
    assert customer == []
    await service.comment(ticket.number, DISCORD, "1001", "Quick and kind")
    assert await sides.shown() == (["Alice rated 5: Quick and kind"], [])

    await service.rate(ticket.number, DISCORD, "1001", 1)  # they thought again
    agents, customer = await sides.shown()
    assert agents == [
        "Alice rated 1",
        f"card #{ticket.number}: resolved (Ann) rated 1",
        "to leads: Alice rated 1",
    ]
    assert customer == []
    assert workspace.to_leads() == ["Alice rated 1"]
    assert await service.csat_since(clock.now() - timedelta(days=1)) == (0.0, 1)
