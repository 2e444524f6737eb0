"""`/support`: a form in a server that opens a ticket, the conversation going on in DMs (or,
for a customer whose DMs are closed, in a private thread of the support channel)."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.core.domain import Customer, TicketNumber
from bot.core.errors import CustomerRefused, DomainError, ThreadlineError
from bot.core.events import CustomerMessage
from bot.core.service import TicketService
from integrations.discord.contact import Contacts
from integrations.discord.errors import CANNOT_MESSAGE_USER
from integrations.discord.storable import storable
from integrations.platforms import DISCORD

log = logging.getLogger(__name__)

FILL_IN = "Please fill in both the subject and what happened."
IN_DMS = "Thanks! Your request is ticket #{number}; we'll continue in your DMs."
IN_THREAD = "Thanks! Your request is ticket #{number}; we'll continue in {thread}."
DMS_CLOSED = (
    "Your request #{number} is with the team, but your direct messages are closed, so we "
    "cannot answer you there. Please allow direct messages from server members (User "
    "Settings → Privacy & Safety) so the conversation can go on."
)
DMS_CLOSED_THREAD = (
    "Your request is ticket #{number}. Your direct messages are closed, so we'll continue in "
    "a private thread instead: {thread}."
)
RECORDED = "Thanks! Your request is ticket #{number}; the team will get back to you."
PROBE = "We've got your request; the conversation continues here."


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

    def __init__(
        self, service: TicketService, contacts: Contacts, categories: tuple[str, ...] = ()
    ) -> None:
        super().__init__(custom_id="threadline:support")
        self._service = service
        self._contacts = contacts
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
            await interaction.response.send_message(FILL_IN, ephemeral=True)
            return
        # Recording the request and finding where to answer take a while; Discord waits 3 s.
        await interaction.response.defer(ephemeral=True, thinking=True)
        answer = await self._take(interaction, f"{subject}\n\n{description}")
        await interaction.followup.send(answer, ephemeral=True)

    async def _take(self, interaction: discord.Interaction[Any], body: str) -> str:
        """Record the request; what to tell the customer about it."""
        user = interaction.user
        request = CustomerMessage(
            platform=DISCORD,
            message_id=f"interaction:{interaction.id}",
            customer_id=str(user.id),
            customer_name=storable(user.global_name or user.name),
            body=storable(body),
            sent_at=interaction.created_at,
            customer_avatar_url=user.display_avatar.url,
        )
        try:
            intake = await self._service.receive_customer_message(request)
        except CustomerRefused as refused:
            return refused.reply or "Not accepted."
        except DomainError as refused:
            return str(refused)
        number = intake.ticket.number
        try:
            return await self._where(intake.customer, number)
        except (discord.HTTPException, ThreadlineError) as exc:
            log.warning("Could not tell where ticket #%s goes on: %s", number, exc)
            return RECORDED.format(number=number)  # the team has it all the same

    async def _where(self, customer: Customer, number: TicketNumber) -> str:
        """Where the conversation goes on: DMs, or the customer's private thread."""
        if customer.contact_channel is not None:
            thread = await self._contacts.thread(int(customer.contact_channel))
            return IN_THREAD.format(number=number, thread=thread.mention)
        if await self._dms_open(customer):
            return IN_DMS.format(number=number)
        if not self._contacts.opens_threads:
            return DMS_CLOSED.format(number=number)
        try:
            opened = await self._contacts.open_thread(customer, number)
        except (discord.HTTPException, ThreadlineError) as exc:
            log.warning("Could not open a support thread for %s: %s", customer.id, exc)
            return DMS_CLOSED.format(number=number)
        return DMS_CLOSED_THREAD.format(number=number, thread=opened.mention)

    async def _dms_open(self, customer: Customer) -> bool:
        try:
            channel = await self._contacts.dm(int(customer.external_id))
            await channel.send(PROBE)
        except discord.Forbidden as exc:
            if exc.code == CANNOT_MESSAGE_USER:
                return False
            raise
        return True


def add_support_command(
    tree: app_commands.CommandTree[Any],
    service: TicketService,
    contacts: Contacts,
    categories: tuple[str, ...] = (),
) -> None:
    @tree.command(name="support", description="Ask the support team for help")
    async def support(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_modal(SupportForm(service, contacts, categories))
