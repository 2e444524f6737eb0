"""`/queue`, `/mine` and `/ticket`, answered from a real TicketService on SQLite: agents see
the queue soonest due first, their own tickets, one ticket's facts and last messages; anyone
else is refused in one line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.domain import Actor, Agent, AgentId, Priority, TicketNumber
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.service import TicketService
from integrations.discord.staff_commands import (
    LOOKUP_FAILED,
    NOT_STAFF,
    add_staff_commands,
    is_staff,
    mine_answer,
    queue_answer,
    ticket_answer,
)
from integrations.platforms import DISCORD
from storage.db import create_engine
from storage.repository import SqlStorage
from tests.support import FakeClock

SAM = Agent(AgentId("1000000000000000012"), "Sam Staff")
STAFF_ROLE = 1000000000000000020
LEADS_ROLE = 1000000000000000021
SENT = datetime(2026, 3, 2, 8, 59, tzinfo=UTC)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """SQLite only: the answers read through the service, whose storage has its own suite."""
    eng = create_engine(f"sqlite+aiosqlite:///{tmp_path}/threadline.db")
    yield eng
    await eng.dispose()


@pytest.fixture
def service(storage: SqlStorage, clock: FakeClock) -> TicketService:
    return TicketService(storage, clock)


async def open_ticket(service: TicketService, who: str, body: str) -> TicketNumber:
    intake = await service.receive_customer_message(
        CustomerMessage(DISCORD, f"m-{who}", f"id-{who}", who, body, SENT)
    )
    return intake.ticket.number


def test_only_the_staff_and_leads_roles_may_use_the_commands() -> None:
    assert is_staff([1, STAFF_ROLE], STAFF_ROLE, None)
    assert is_staff([LEADS_ROLE], STAFF_ROLE, LEADS_ROLE)
    assert not is_staff([LEADS_ROLE], STAFF_ROLE, None)
    assert not is_staff([], STAFF_ROLE, LEADS_ROLE)
    assert not is_staff([1, 2], STAFF_ROLE, LEADS_ROLE)


async def test_the_queue_lists_what_nobody_holds_soonest_due_first(
    service: TicketService, clock: FakeClock
) -> None:
    printer = await open_ticket(service, "Alice", "Printer on fire")
    clock.advance(minutes=10)
    login = await open_ticket(service, "Bob", "Cannot log in")
    clock.advance(minutes=10)
    refund = await open_ticket(service, "Carol", "Refund @everyone")
    await service.set_priority(refund, Actor.of_agent(SAM), Priority.URGENT)  # due in 30 min
    await service.claim(login, SAM)

    answer = await queue_answer(service, clock.now())
    lines = answer.splitlines()
    assert lines[0] == "**Unassigned, soonest due first** (2):"
    assert lines[1].startswith(
        f"• **#{refund}** Refund @\u200beveryone · 🆕 New · 🔴 Urgent · due <t:"
    )
    assert lines[2].startswith(f"• **#{printer}** Printer on fire · 🆕 New · 🔵 Normal · due <t:")
    assert f"#{login}" not in answer


async def test_an_overdue_ticket_is_marked(service: TicketService, clock: FakeClock) -> None:
    number = await open_ticket(service, "Alice", "Printer on fire")
    ticket = await service.get_ticket(number)
    assert ticket.due_at is not None
    later = ticket.due_at + timedelta(minutes=1)
    assert (await queue_answer(service, later)).endswith("⚠️ overdue")
    assert not (await queue_answer(service, clock.now())).endswith("⚠️ overdue")


async def test_mine_lists_the_tickets_an_agent_holds(
    service: TicketService, clock: FakeClock
) -> None:
    assert await mine_answer(service, SAM.id, clock.now()) == "**Your tickets**: none."
    number = await open_ticket(service, "Alice", "Printer on fire")
    await service.claim(number, SAM)
    answer = await mine_answer(service, SAM.id, clock.now())
    assert answer.splitlines()[0] == "**Your tickets** (1):"
    assert f"**#{number}** Printer on fire · 🙋 Claimed" in answer
    assert "<@1000000000000000012>" in answer
    assert await mine_answer(service, "1000000000000000099", clock.now()) == (
        "**Your tickets**: none."
    )


async def test_a_ticket_shows_its_facts_and_last_messages_with_notes_marked(
    service: TicketService, clock: FakeClock
) -> None:
    number = await open_ticket(service, "Alice", "Printer on fire\nIt smells of toast.")
    await service.claim(number, SAM)
    for body, internal in [("Check the fuser", True), ("Unplug it, please", False)]:
        clock.advance(minutes=1)
        await service.add_agent_message(number, AgentMessage(SAM, body, internal, clock.now()))

    answer = await ticket_answer(service, number, clock.now())
    lines = answer.splitlines()
    assert lines[0] == f"**#{number} · Printer on fire**"
    assert lines[1].startswith("Customer: Alice (Discord) · Status: 🙋 Claimed · ")
    assert "Assignee: <@1000000000000000012>" in lines[1]
    assert lines[2] == "**Last messages** (3):"
    assert lines[3].endswith("**Alice** (customer): Printer on fire It smells of toast.")
    assert lines[4].endswith("**Sam Staff** (📝 internal note): Check the fuser")
    assert lines[5].endswith("**Sam Staff** (reply): Unplug it, please")


async def test_an_unknown_ticket_is_answered_clearly(
    service: TicketService, clock: FakeClock
) -> None:
    for number in (99999, 0, -5, 2**40):
        assert await ticket_answer(service, number, clock.now()) == (
            f"There is no ticket #{number}."
        )


# --- the commands on a tree -------------------------------------------------------------------


@dataclass
class Role:
    id: int


@dataclass
class Member:
    id: int
    roles: list[Role]


@dataclass
class Response:
    sent: list[tuple[str, bool]] = field(default_factory=list)
    deferred: list[bool] = field(default_factory=list)

    async def send_message(self, text: str, *, ephemeral: bool = False) -> None:
        self.sent.append((text, ephemeral))

    async def defer(self, *, ephemeral: bool = False, thinking: bool = False) -> None:
        self.deferred.append(ephemeral and thinking)


@dataclass
class Followup:
    sent: list[tuple[str, bool]] = field(default_factory=list)

    async def send(
        self, text: str, *, ephemeral: bool = False, allowed_mentions: Any = None
    ) -> None:
        assert allowed_mentions.to_dict() == discord.AllowedMentions.none().to_dict()
        self.sent.append((text, ephemeral))


@dataclass
class Interaction:
    """What the handlers use of a `discord.Interaction`."""

    user: Member
    response: Response = field(default_factory=Response)
    followup: Followup = field(default_factory=Followup)
    command: Any = None


async def tree_with_commands(service: TicketService) -> app_commands.CommandTree[Any]:
    client = discord.Client(intents=discord.Intents.default())
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
    add_staff_commands(tree, service, STAFF_ROLE, LEADS_ROLE)
    return tree


async def run(
    tree: app_commands.CommandTree[Any], name: str, who: Member, *args: Any
) -> Interaction:
    command = tree.get_command(name)
    assert isinstance(command, app_commands.Command)
    interaction = Interaction(who)
    await command.callback(interaction, *args)  # type: ignore[arg-type]
    return interaction


async def test_the_commands_are_registered_for_servers_only(service: TicketService) -> None:
    tree = await tree_with_commands(service)
    commands = {c.name: c for c in tree.get_commands()}
    assert set(commands) == {"queue", "mine", "ticket"}
    for command in commands.values():
        assert command.guild_only
    ticket = commands["ticket"]
    assert isinstance(ticket, app_commands.Command)
    [number] = ticket.parameters
    assert (number.name, number.type, number.required) == (
        "number",
        discord.AppCommandOptionType.integer,
        True,
    )


async def test_anyone_outside_the_team_is_refused_in_one_line(service: TicketService) -> None:
    tree = await tree_with_commands(service)
    for name, args in [("queue", ()), ("mine", ()), ("ticket", (1001,))]:
        done = await run(tree, name, Member(5, [Role(1)]), *args)
        assert done.response.sent == [(NOT_STAFF, True)]
        assert not done.response.deferred
        assert not done.followup.sent


async def test_an_agent_and_a_lead_are_answered_privately_after_a_deferral(
    service: TicketService,
) -> None:
    number = await open_ticket(service, "Alice", "Printer on fire")
    tree = await tree_with_commands(service)
    agent = Member(int(SAM.id), [Role(STAFF_ROLE)])
    done = await run(tree, "ticket", agent, number)
    assert done.response.deferred == [True]
    [(text, ephemeral)] = done.followup.sent
    assert ephemeral
    assert text.startswith(f"**#{number} · Printer on fire**")
    await service.claim(number, SAM)
    [(mine, _)] = (await run(tree, "mine", agent)).followup.sent
    assert f"**#{number}**" in mine
    lead = Member(1000000000000000013, [Role(LEADS_ROLE)])
    [(queue, _)] = (await run(tree, "queue", lead)).followup.sent
    assert queue == "**Unassigned, soonest due first**: none."


async def test_a_failed_lookup_still_gets_an_answer(
    service: TicketService, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(limit: int = 20) -> list[Any]:
        raise RuntimeError("database away")

    monkeypatch.setattr(service, "queue", broken)
    tree = await tree_with_commands(service)
    done = await run(tree, "queue", Member(1, [Role(STAFF_ROLE)]))
    assert done.followup.sent == [(LOOKUP_FAILED, True)]
