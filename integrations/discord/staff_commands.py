"""`/queue`, `/mine` and `/ticket NUMBER`: what agents look up without leaving Discord. Each is
answered only to whoever asked (ephemeral), and only to members of the staff or leads role.

The answers are plain async functions of the service, so they are tested without Discord; the
handlers only check the role, defer (Discord waits 3 s for an answer, a lookup may take longer)
and send what the functions say.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, Final

import discord
from discord import app_commands

from bot.core.domain import AgentId, TicketNumber
from bot.core.errors import DomainError, TicketNotFound
from bot.core.service import TicketService
from integrations.discord.staff_lines import mine_lines, queue_lines, ticket_text

log = logging.getLogger(__name__)

LISTED: Final = 10  # tickets in a list
NOT_STAFF: Final = "Only the support team can use this command."
UNKNOWN_TICKET: Final = "There is no ticket #{number}."
LOOKUP_FAILED: Final = "Threadline could not answer that just now; please try again in a moment."
LARGEST_NUMBER: Final = 2**31 - 1  # a ticket number the database can hold
# Mentions in an answer are links to people, never pings.
NO_PINGS: Final = discord.AllowedMentions.none()


def is_staff(member_role_ids: Iterable[int], staff_role: int, leads_role: int | None) -> bool:
    """Whether a member with these roles may use the staff commands: agents and leads."""
    allowed = {staff_role} if leads_role is None else {staff_role, leads_role}
    return not allowed.isdisjoint(member_role_ids)


async def queue_answer(service: TicketService, now: datetime) -> str:
    """Tickets nobody holds, the soonest due first."""
    return queue_lines(await service.queue(LISTED), now)


async def mine_answer(service: TicketService, agent_id: str, now: datetime) -> str:
    """The tickets an agent (a Discord user id) holds, most urgent first."""
    return mine_lines(await service.held_by(AgentId(agent_id), LISTED), now)


async def ticket_answer(service: TicketService, number: int, now: datetime) -> str:
    """One ticket's facts and its last few messages; an unknown number said so."""
    if not 1 <= number <= LARGEST_NUMBER:
        return UNKNOWN_TICKET.format(number=number)
    try:
        detail = await service.ticket_detail(TicketNumber(number))
    except TicketNotFound:
        return UNKNOWN_TICKET.format(number=number)
    return ticket_text(detail, now)


def role_ids(user: discord.User | discord.Member) -> list[int]:
    """The roles of whoever used a command; none outside a server (a `User` has no roles)."""
    return [role.id for role in getattr(user, "roles", ())]


def add_staff_commands(
    tree: app_commands.CommandTree[Any],
    service: TicketService,
    staff_role: int,
    leads_role: int | None,
) -> None:
    """Register `/queue`, `/mine` and `/ticket` on the tree (servers only)."""

    async def answer(
        interaction: discord.Interaction[Any], work: Callable[[], Awaitable[str]]
    ) -> None:
        if not is_staff(role_ids(interaction.user), staff_role, leads_role):
            await interaction.response.send_message(NOT_STAFF, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            text = await work()
        except DomainError as refused:
            text = str(refused)
        except Exception:
            # The interaction is deferred: without an answer Discord shows it failing forever.
            log.exception("/%s failed for %s", _name(interaction), interaction.user.id)
            text = LOOKUP_FAILED
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)

    @tree.command(name="queue", description="Tickets nobody holds, the soonest due first")
    @app_commands.guild_only()
    async def queue(interaction: discord.Interaction[Any]) -> None:
        await answer(interaction, lambda: queue_answer(service, service.now()))

    @tree.command(name="mine", description="The tickets you hold")
    @app_commands.guild_only()
    async def mine(interaction: discord.Interaction[Any]) -> None:
        agent = str(interaction.user.id)
        await answer(interaction, lambda: mine_answer(service, agent, service.now()))

    @tree.command(name="ticket", description="A ticket's facts and its last messages")
    @app_commands.describe(number="The ticket's number, such as 1042")
    @app_commands.guild_only()
    async def ticket(interaction: discord.Interaction[Any], number: int) -> None:
        await answer(interaction, lambda: ticket_answer(service, number, service.now()))


def _name(interaction: discord.Interaction[Any]) -> str:
    command = interaction.command
    return command.name if command is not None else "command"
