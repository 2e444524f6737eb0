"""The satisfaction survey in the customer's DMs: five rating buttons, then an optional
comment. The buttons are DynamicItems, so they keep working after a restart."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.core.domain import TicketNumber
from bot.core.errors import DomainError
from bot.core.service import TicketService
from integrations.platforms import DISCORD

log = logging.getLogger(__name__)

RATING_TEMPLATE = r"threadline:csat:(?P<number>[0-9]{1,12}):(?P<rating>[1-5])"
LABELS = {1: "1 😞", 2: "2 🙁", 3: "3 😐", 4: "4 🙂", 5: "5 😄"}
THANKS = "Thank you for your feedback!"


def survey_text(number: int) -> str:
    return (
        f"How did we do with ticket #{number}? Pick a rating from 1 (poor) to 5 (great); "
        "you can add a comment after."
    )


class RatingButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=RATING_TEMPLATE,
):
    def __init__(self, number: int, rating: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=LABELS[rating],
                style=discord.ButtonStyle.secondary,
                custom_id=f"threadline:csat:{number}:{rating}",
            )
        )
        self.number = TicketNumber(number)
        self.rating = rating

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[discord.Client],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> RatingButton:
        return cls(int(match["number"]), int(match["rating"]))

    async def callback(self, interaction: discord.Interaction[discord.Client]) -> None:
        service: TicketService | None = getattr(interaction.client, "service", None)
        if service is None:
            return
        # The comment form can only be the first response, so the rating (one short write) is
        # recorded before it: a refused one (expired, someone else's) is answered instead of
        # opening a form for nothing.
        try:
            await service.rate(self.number, DISCORD, str(interaction.user.id), self.rating)
        except DomainError as refused:
            await interaction.response.send_message(str(refused), ephemeral=True)
            return
        await interaction.response.send_modal(CommentForm(service, self.number, self.rating))


class CommentForm(discord.ui.Modal, title="Anything to add?"):
    text: discord.ui.TextInput[CommentForm] = discord.ui.TextInput(
        label="Your comment (optional)",
        custom_id="comment",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=1000,
    )

    def __init__(self, service: TicketService, number: TicketNumber, rating: int) -> None:
        super().__init__(custom_id=f"threadline:csat-comment:{number}")
        self._service = service
        self._number = number
        self._rating = rating

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)  # the write may take long
        try:
            await self._service.comment(
                self._number, DISCORD, str(interaction.user.id), self.text.value
            )
        except DomainError as refused:
            await interaction.followup.send(str(refused), ephemeral=True)
            return
        await interaction.followup.send(THANKS, ephemeral=True)


def survey_view(number: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for rating in LABELS:
        view.add_item(RatingButton(number, rating))
    return view
