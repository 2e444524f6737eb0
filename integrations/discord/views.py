"""The customer's Close button: a DynamicItem, so it keeps working after a restart."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands

from bot.core.domain import Actor, TicketNumber
from bot.core.errors import DomainError
from bot.core.service import TicketService
from integrations.discord.contact import Contacts
from integrations.discord.handoff import HandOffButton
from integrations.discord.staff import StaffPlace
from integrations.discord.staff_commands import add_staff_commands
from integrations.discord.staff_controls import DYNAMIC_ITEMS as STAFF_ITEMS
from integrations.discord.staff_controls import STAFF_IDS
from integrations.discord.support import add_support_command
from integrations.discord.survey import RatingButton
from integrations.discord.texts import ticket_closed
from integrations.platforms import DISCORD

log = logging.getLogger(__name__)

CLOSE_TEMPLATE = r"threadline:close:(?P<number>[0-9]{1,12})"
CUSTOMER_IDS = r"close:[0-9]{1,12}|csat:[0-9]{1,12}:[1-5]|person:[0-9]{1,12}"


def _unknown(known: str) -> str:
    """Every custom id but these (of `threadline:`)."""
    return rf"(?!threadline:({known})\Z)(?P<custom_id>[\s\S]{{1,100}})"


# Everything else: a button from an older version, or one that never was Threadline's.
UNKNOWN_TEMPLATE = _unknown(f"{CUSTOMER_IDS}|{STAFF_IDS}")
# Without agents in Discord, the staff controls too (on cards from when agents were there).
UNKNOWN_WITHOUT_STAFF_TEMPLATE = _unknown(CUSTOMER_IDS)
UNKNOWN_ANSWER = "This button no longer does anything. Write here to reach the team."
UNKNOWN_COMMAND = "This command no longer does anything. Write here to reach the team."


class ThreadlineClient(discord.Client):
    """A discord.py client that knows the ticket service (for persistent buttons)."""

    def __init__(
        self,
        service: TicketService,
        guild_id: str | None = None,
        categories: tuple[str, ...] = (),
        support_channel_id: str | None = None,
        staff: StaffPlace | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.service = service
        self.staff = staff  # agents work in Discord too: their controls and commands
        thread_parent = int(support_channel_id) if support_channel_id else None
        self.contacts = Contacts(self, service, thread_parent)
        self._categories = categories
        self.tree: app_commands.CommandTree[ThreadlineClient] = app_commands.CommandTree(self)
        self.tree.error(_command_failed)
        self._guild = discord.Object(int(guild_id)) if guild_id else None

    async def setup_hook(self) -> None:
        unknown = UnknownButton if self.staff is not None else UnknownWithoutStaff
        self.add_dynamic_items(CloseButton, RatingButton, HandOffButton, unknown)
        add_support_command(self.tree, self.service, self.contacts, self._categories)
        if self.staff is not None:
            self.add_dynamic_items(*STAFF_ITEMS)
            add_staff_commands(
                self.tree, self.service, self.staff.staff_role, self.staff.leads_role
            )
        # In one server the commands appear at once; globally, Discord takes a while.
        if self._guild is not None:
            self.tree.copy_global_to(guild=self._guild)
            await self.tree.sync(guild=self._guild)
        else:
            await self.tree.sync()


class CloseButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=CLOSE_TEMPLATE,
):
    def __init__(self, number: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Close ticket",
                style=discord.ButtonStyle.secondary,
                custom_id=f"threadline:close:{number}",
            )
        )
        self.number = TicketNumber(number)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[discord.Client],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> CloseButton:
        return cls(int(match["number"]))

    async def callback(self, interaction: discord.Interaction[discord.Client]) -> None:
        client = interaction.client
        if not isinstance(client, ThreadlineClient):
            return
        # Answered at once: closing takes database work, and Discord waits only 3 seconds.
        await interaction.response.defer(thinking=True)
        answer = await close_for(client.service, self.number, str(interaction.user.id))
        await interaction.followup.send(answer)


class UnknownButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=UNKNOWN_TEMPLATE,
):
    """Answers a click on a button Threadline does not know, instead of leaving it hanging."""

    def __init__(self, custom_id: str) -> None:
        super().__init__(discord.ui.Button(label="?", custom_id=custom_id))

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[discord.Client],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> UnknownButton:
        return cls(match["custom_id"])

    async def callback(self, interaction: discord.Interaction[discord.Client]) -> None:
        await interaction.response.send_message(UNKNOWN_ANSWER, ephemeral=True)


class UnknownWithoutStaff(UnknownButton, template=UNKNOWN_WITHOUT_STAFF_TEMPLATE):
    """The catch-all when agents do not work in Discord: their controls are unknown too."""


async def _command_failed(
    interaction: discord.Interaction[ThreadlineClient], error: app_commands.AppCommandError
) -> None:
    """A command that is not this version's (Discord still offers a command for a while after
    an update removed it) is answered, not left to fail; anything else is logged as
    discord.py would, with its traceback."""
    if isinstance(error, app_commands.CommandNotFound):
        log.info("Discord: /%s is no command of this version; answered so", error.name)
        if not interaction.response.is_done():
            await interaction.response.send_message(UNKNOWN_COMMAND, ephemeral=True)
        return
    command = interaction.command.name if interaction.command else "?"
    log.error("Discord command /%s failed", command, exc_info=error)


async def close_for(service: TicketService, number: TicketNumber, user_id: str) -> str:
    """Close a ticket at its customer's request; anyone else is refused."""
    try:
        ticket = await service.get_ticket(number)
        customer = await service.customer_of(ticket)
        if customer.platform != DISCORD or customer.external_id != user_id:
            return "This button belongs to someone else's ticket."
        await service.close(number, Actor.of_customer(customer), "Closed by the customer.")
    except DomainError as refused:
        return str(refused)
    return ticket_closed(number)


def close_view(number: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CloseButton(number))
    return view
