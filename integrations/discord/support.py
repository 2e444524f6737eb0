"""`/support`: a form in a server that opens a ticket, the conversation going on in DMs."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.domain import Platform
from bot.errors import CustomerRefused, DomainError
from bot.events import CustomerMessage
from bot.service import TicketService
from integrations.discord.errors import CANNOT_MESSAGE_USER

log = logging.getLogger(__name__)

DMS_CLOSED = (
    "Your request #{number} is with the team, but your direct messages are closed, so we "
    "cannot answer you there. Please allow direct messages from server members (User "
    "Settings → Privacy & Safety) so the conversation can go on."
)


class SupportForm(discord.ui.Modal, title="Contact support"):
    subject: discord.ui.TextInput[SupportForm] = discord.ui.TextInput(
        label="Subject", custom_id="subject", max_length=100
    )
    description: discord.ui.TextInput[SupportForm] = discord.ui.TextInput(
        label="What happened?",
        custom_id="description",
        style=discord.TextStyle.paragraph,
        max_length=2000,
    )

    def __init__(self, service: TicketService, categories: tuple[str, ...] = ()) -> None:
        super().__init__(custom_id="threadline:support")
        self._service = service
        self._category: discord.ui.Select[SupportForm] | None = None
        if categories:
            self._category = discord.ui.Select(
                custom_id="category",
                options=[discord.SelectOption(label=c[:100], value=c[:100]) for c in categories],
            )
            self.add_item(discord.ui.Label(text="Category", component=self._category))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        subject, description = self.subject.value.strip(), self.description.value.strip()
        if self._category is not None and self._category.values:
            subject = f"[{self._category.values[0]}] {subject}"
        if not subject or not description:
            await interaction.response.send_message(
                "Please fill in both the subject and what happened.", ephemeral=True
            )
            return
        user = interaction.user
        request = CustomerMessage(
            platform=Platform.DISCORD,
            message_id=f"interaction:{interaction.id}",
            customer_id=str(user.id),
            customer_name=user.global_name or user.name,
            body=f"{subject}\n\n{description}",
            sent_at=interaction.created_at,
            customer_avatar_url=user.display_avatar.url,
        )
        try:
            intake = await self._service.receive_customer_message(request)
        except CustomerRefused as refused:
            await interaction.response.send_message(
                refused.reply or "Not accepted.", ephemeral=True
            )
            return
        except DomainError as refused:
            await interaction.response.send_message(str(refused), ephemeral=True)
            return
        number = intake.ticket.number
        if await _dms_open(user):
            text = f"Thanks! Your request is ticket #{number}; we'll continue in your DMs."
        else:
            text = DMS_CLOSED.format(number=number)
        await interaction.response.send_message(text, ephemeral=True)


async def _dms_open(user: discord.User | discord.Member) -> bool:
    try:
        channel = await user.create_dm()
        await channel.send("We've got your request; the conversation continues here.")
    except discord.Forbidden as exc:
        if exc.code == CANNOT_MESSAGE_USER:
            return False
        raise
    return True


def add_support_command(
    tree: app_commands.CommandTree[Any], service: TicketService, categories: tuple[str, ...] = ()
) -> None:
    @tree.command(name="support", description="Ask the support team for help")
    async def support(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_modal(SupportForm(service, categories))
