"""The card's buttons and priority select, a draft's Send and Discard, and the dialogs for an
escalation's reason and a resolution: DynamicItems, so they keep working after a restart. Only
members of the staff (or leads) role may use them; anyone else is told so, privately."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import discord

from bot.core.domain import (
    Action,
    Actor,
    Agent,
    AgentId,
    Priority,
    Ticket,
    TicketNumber,
    legal_actions,
)
from bot.core.errors import DomainError
from bot.core.events import AgentMessage
from bot.core.service import TicketService
from integrations.discord.staff import STAFF_WORKSPACE, StaffPlace, staff_ref
from integrations.discord.staff_lines import settled_text

log = logging.getLogger(__name__)

BUTTON_TEMPLATE = (
    r"threadline:staff:(?P<action>claim|escalate|resolve|summary):(?P<number>[0-9]{1,12})"
)
PRIORITY_TEMPLATE = r"threadline:staff:priority:(?P<number>[0-9]{1,12})"
DRAFT_TEMPLATE = r"threadline:staff:(?P<action>send|discard):(?P<draft>[0-9]{1,12})"
# Every custom id of these controls, for the catch-all of unknown buttons to leave alone.
STAFF_IDS = r"staff:(claim|escalate|resolve|summary|priority|send|discard):[0-9]{1,12}"
NOT_STAFF = "Only members of the staff role can act on tickets."
LABELS = {
    "claim": ("Claim", discord.ButtonStyle.primary),
    "escalate": ("Escalate", discord.ButtonStyle.secondary),
    "resolve": ("Resolve", discord.ButtonStyle.success),
    "summary": ("Summary", discord.ButtonStyle.secondary),
}
PRIORITIES = (Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW)


class StaffClient(discord.Client):
    """What the controls need of the client (ThreadlineClient provides it)."""

    service: TicketService
    staff: StaffPlace | None


def card_view(ticket: Ticket, *, summary: bool = False) -> discord.ui.View:
    """The card's controls: the moves the ticket allows now, and its priority."""
    view = discord.ui.View(timeout=None)
    legal = legal_actions(ticket)
    for action, move in (("claim", Action.CLAIM), ("escalate", Action.ESCALATE)):
        view.add_item(StaffButton(action, ticket.number, disabled=move not in legal))
    view.add_item(StaffButton("resolve", ticket.number, disabled=Action.RESOLVE not in legal))
    if summary:
        view.add_item(StaffButton("summary", ticket.number))
    view.add_item(PrioritySelect(ticket.number, ticket.priority))
    return view


def draft_view(draft_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(DraftButton("send", draft_id))
    view.add_item(DraftButton("discard", draft_id))
    return view


async def _agent_of(interaction: discord.Interaction[Any]) -> tuple[TicketService, Agent] | None:
    """The service and the agent acting, or None (answered) for someone not on the team."""
    client = interaction.client
    place: StaffPlace | None = getattr(client, "staff", None)
    service: TicketService | None = getattr(client, "service", None)
    user = interaction.user
    roles = [role.id for role in getattr(user, "roles", [])]
    if place is None or service is None or not place.may_act(roles):
        await interaction.response.send_message(NOT_STAFF, ephemeral=True)
        return None
    return service, Agent(AgentId(str(user.id)), user.display_name)


async def _deferred(
    interaction: discord.Interaction[Any], work: Callable[[], Awaitable[object]]
) -> bool:
    """Answer Discord at once (it waits 3 seconds; what follows shows by itself, as a card
    redrawn or a post), then do `work`; a refusal is told to the one who pressed. Whether it
    was done."""
    await interaction.response.defer()
    try:
        await work()
    except Exception as refused:
        await _refused(interaction, refused)
        return False
    return True


async def _refused(interaction: discord.Interaction[Any], refused: Exception) -> None:
    text = str(refused) if isinstance(refused, DomainError) else "That did not work; try again."
    if not isinstance(refused, DomainError):
        log.warning("A staff control failed: %r", refused)
    await interaction.followup.send(text[:2000], ephemeral=True)


class StaffButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=BUTTON_TEMPLATE
):
    def __init__(self, action: str, number: int, *, disabled: bool = False) -> None:
        label, style = LABELS[action]
        super().__init__(
            discord.ui.Button(
                label=label,
                style=style,
                custom_id=f"threadline:staff:{action}:{number}",
                disabled=disabled,
            )
        )
        self.action = action
        self.number = TicketNumber(number)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> StaffButton:
        return cls(match["action"], int(match["number"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        acting = await _agent_of(interaction)
        if acting is None:
            return
        service, agent = acting
        if self.action in ("escalate", "resolve"):  # asks why first
            await interaction.response.send_modal(ReasonModal(self.action, self.number))
        elif self.action == "claim":
            await _deferred(interaction, lambda: service.claim(self.number, agent))
        else:
            await _deferred(interaction, lambda: service.ask_for_summary(self.number, agent))


class PrioritySelect(
    discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]], template=PRIORITY_TEMPLATE
):
    def __init__(self, number: int, current: Priority | None = None) -> None:
        options = [
            discord.SelectOption(
                label=f"Priority: {p.value.title()}", value=p.value, default=p is current
            )
            for p in PRIORITIES
        ]
        super().__init__(
            discord.ui.Select(custom_id=f"threadline:staff:priority:{number}", options=options)
        )
        self.number = TicketNumber(number)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PrioritySelect:
        return cls(int(match["number"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        acting = await _agent_of(interaction)
        if acting is None:
            return
        service, agent = acting
        chosen = Priority(self.item.values[0])
        actor = Actor.of_agent(agent)
        await _deferred(interaction, lambda: service.set_priority(self.number, actor, chosen))


class DraftButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=DRAFT_TEMPLATE
):
    def __init__(self, action: str, draft_id: int) -> None:
        send = action == "send"
        super().__init__(
            discord.ui.Button(
                label="Send to customer" if send else "Discard",
                style=discord.ButtonStyle.success if send else discord.ButtonStyle.secondary,
                custom_id=f"threadline:staff:{action}:{draft_id}",
            )
        )
        self.action = action
        self.draft_id = draft_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> DraftButton:
        return cls(match["action"], int(match["draft"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        acting = await _agent_of(interaction)
        if acting is None:
            return
        service, agent = acting
        if self.action == "send":
            # The draft's post is where the reply shows here: its delivery mark lands on it.
            ref = staff_ref(interaction.message.id) if interaction.message else None
            decided = await _deferred(
                interaction, lambda: service.send_draft(self.draft_id, agent, ref=ref)
            )
            status = "sent"
        else:
            decided = await _deferred(
                interaction,
                lambda: service.discard_draft(self.draft_id, agent, workspace=STAFF_WORKSPACE),
            )
            status = "discarded"
        if decided and interaction.message is not None:
            settled = settled_text(interaction.message.content, status, agent.name)
            await interaction.message.edit(content=settled, view=None)


class ReasonModal(discord.ui.Modal):
    """An escalation's reason, or a resolution's reason and note for the customer."""

    def __init__(self, action: str, number: TicketNumber) -> None:
        title = f"Escalate #{number}" if action == "escalate" else f"Resolve #{number}"
        super().__init__(title=title, custom_id=f"threadline:staff:{action}:{number}", timeout=None)
        self.action = action
        self.number = number
        self.reason: discord.ui.TextInput[ReasonModal] = discord.ui.TextInput(
            label="Reason (for the team)",
            custom_id="reason",
            style=discord.TextStyle.paragraph,
            required=action == "escalate",
            max_length=1000,
        )
        self.add_item(self.reason)
        self.note: discord.ui.TextInput[ReasonModal] | None = None
        if action == "resolve":
            self.note = discord.ui.TextInput(
                label="Note for the customer (optional)",
                custom_id="note",
                style=discord.TextStyle.paragraph,
                required=False,
                max_length=1800,
            )
            self.add_item(self.note)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        acting = await _agent_of(interaction)
        if acting is None:
            return
        service, agent = acting
        reason = self.reason.value.strip() or None
        actor = Actor.of_agent(agent)
        if self.action == "escalate":
            await _deferred(interaction, lambda: service.escalate(self.number, actor, reason))
            return
        text = self.note.value.strip() if self.note is not None else ""
        note = AgentMessage(agent, text, False, datetime.now(UTC)) if text else None
        await _deferred(
            interaction,
            lambda: service.resolve(self.number, actor, reason, note_for_customer=note),
        )


DYNAMIC_ITEMS = (StaffButton, PrioritySelect, DraftButton)
