"""The "Talk to a person" button beneath an automated answer: the automated answers stop for
the ticket and its agents are told. A DynamicItem, so it keeps working after a restart."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.core.domain import TicketNumber
from bot.core.errors import DomainError
from bot.core.service import TicketService
from integrations.discord import texts
from integrations.platforms import DISCORD

log = logging.getLogger(__name__)

PERSON_TEMPLATE = r"threadline:person:(?P<number>[0-9]{1,12})"


class HandOffButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=PERSON_TEMPLATE,
):
    def __init__(self, number: int, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=texts.TALK_TO_A_PERSON,
                style=discord.ButtonStyle.primary,
                custom_id=f"threadline:person:{number}",
                disabled=disabled,
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
    ) -> HandOffButton:
        return cls(int(match["number"]))

    async def callback(self, interaction: discord.Interaction[discord.Client]) -> None:
        service: TicketService | None = getattr(interaction.client, "service", None)
        if service is None:
            return
        # Answered at once: the hand-off takes database work, and Discord waits only 3 seconds.
        await interaction.response.defer(ephemeral=True, thinking=True)
        answer, pressed = await hand_off_for(service, self.number, str(interaction.user.id))
        await interaction.followup.send(answer, ephemeral=True)
        if pressed and interaction.message is not None:
            await _disable(interaction.message, self.number)


async def hand_off_for(
    service: TicketService, number: TicketNumber, user_id: str
) -> tuple[str, bool]:
    """Hand a ticket to a person at its customer's request: what to answer them, and whether
    the button has done its work (anyone else is refused and leaves it as it was)."""
    try:
        ticket = await service.get_ticket(number)
        customer = await service.customer_of(ticket)
        if customer.platform != DISCORD or customer.external_id != user_id:
            return texts.NOT_YOUR_BUTTON, False
        asked = await service.hand_off(number)
    except DomainError as refused:
        return str(refused), False
    return (texts.PERSON_ASKED if asked else texts.PERSON_ALREADY_ASKED), True


async def _disable(message: discord.Message, number: TicketNumber) -> None:
    """Grey the button out on the answer it was pressed on; the hand-off stands even when the
    edit fails, so a failure is only logged."""
    try:
        await message.edit(view=hand_off_view(number, disabled=True))
    except discord.HTTPException as exc:
        log.warning("Could not disable the hand-off button of ticket #%s: %s", number, exc)


def hand_off_view(number: int, *, disabled: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(HandOffButton(number, disabled=disabled))
    return view
