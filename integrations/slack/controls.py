"""The ticket card's controls: buttons, the priority and assignee menus, and their dialogs.

Every handler acknowledges first and works after (Slack waits 3 seconds at most). A dialog's
submission is answered once its form is checked (the answer carries the form's errors), before
any lookup or service call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.domain import Action, Actor, Priority, TicketNumber
from bot.core.errors import AlreadyClaimed, DomainError
from bot.core.events import AgentMessage
from bot.core.service import TicketService
from integrations.slack import modals
from integrations.slack.blocks import ACTION_PREFIX, ASSIGN_ACTION, PRIORITY_ACTION, TAKE_OVER
from integrations.slack.refs import ref_of, split_ref
from integrations.slack.team import NOT_AN_AGENT, Team
from integrations.slack.work import WorkInProgress

log = logging.getLogger(__name__)

Json = Mapping[str, Any]
Ack = Callable[..., Awaitable[None]]
DIRECT = re.compile(rf"^{ACTION_PREFIX}(claim|unclaim|reopen|close)$")
NO_TICKET = "This control names no ticket; nothing was changed."
REPLY_SHORTCUT = "reply_to_customer"
DIALOG_FAILED = "Threadline could not do that just now; nothing was changed. Please try again."
UNKNOWN_CONTROL = "This control is not one Threadline knows (an old card?); nothing was changed."


class CardControls:
    def __init__(
        self,
        service: TicketService,
        team: Team,
        client: AsyncWebClient,
        work: WorkInProgress,
        as_customer_reads: Callable[[str], Awaitable[str]] | None = None,
    ) -> None:
        self._service = service
        self._team = team
        self._client = client
        self._work = work
        self._as_customer_reads = as_customer_reads

    def register(self, app: AsyncApp) -> None:
        app.action(DIRECT)(self._on_button)
        app.action(f"{ACTION_PREFIX}escalate")(self._open_escalate)
        app.action(f"{ACTION_PREFIX}resolve")(self._open_resolve)
        app.action(PRIORITY_ACTION)(self._on_priority)
        app.action(ASSIGN_ACTION)(self._on_assign)
        app.action(TAKE_OVER)(self._on_take_over)
        app.shortcut(REPLY_SHORTCUT)(self._on_reply_shortcut)
        # Last, so that it only catches what nothing above knows (a card from an older version).
        app.action(re.compile(rf"^{ACTION_PREFIX}"))(self._on_unknown)
        app.view(modals.ESCALATE)(self._submit_escalate)
        app.view(modals.RESOLVE)(self._submit_resolve)

    # --- buttons and menus -------------------------------------------------------------

    async def _on_button(self, ack: Ack, body: Json) -> None:
        await ack()
        action = body["actions"][0]
        name = Action(str(action["action_id"]).removeprefix(ACTION_PREFIX))
        async with self._work.counted():
            number = await self._checked(body, action)
            if number is not None:
                await self._act(body, number, name)

    async def _on_priority(self, ack: Ack, body: Json) -> None:
        await ack()
        action = body["actions"][0]
        async with self._work.counted():
            number = await self._checked(body, action)
            if number is None:
                return
            try:
                priority = Priority(action["selected_option"]["value"])
            except (KeyError, TypeError, ValueError):
                await self._tell(body, "That priority is not one Threadline knows.")
                return
            await self._act(body, number, Action.SET_PRIORITY, priority=priority)

    async def _on_assign(self, ack: Ack, body: Json) -> None:
        await ack()
        action = body["actions"][0]
        async with self._work.counted():
            number = await self._checked(body, action)
            if number is None:
                return
            chosen = str(action.get("selected_user") or "")
            if not self._team.may_act(chosen):
                await self._tell(body, f"<@{chosen}> is not a support agent.")
                return
            agent = await self._team.agent(chosen)
            await self._act(body, number, Action.ASSIGN, assignee=agent)

    async def _on_take_over(self, ack: Ack, body: Json) -> None:
        await ack()
        action = body["actions"][0]
        async with self._work.counted():
            user = _user(body)
            number = _number(action.get("value"))
            if not self._team.may_act(user) or number is None:
                await self._tell(body, NOT_AN_AGENT if number else NO_TICKET)
                return
            agent = await self._team.agent(user)
            await self._act(body, number, Action.ASSIGN, assignee=agent)

    async def _on_unknown(self, ack: Ack, body: Json) -> None:
        await ack()
        await self._tell(body, UNKNOWN_CONTROL)

    async def _on_reply_shortcut(self, ack: Ack, body: Json) -> None:
        """The "Reply to customer" message shortcut: send an internal note out after all."""
        await ack()
        user = _user(body)
        async with self._work.counted():
            if not self._team.may_act(user):
                await self._tell(body, NOT_AN_AGENT)
                return
            channel = str(_part(body, "channel").get("id", ""))
            ts = str(_part(body, "message").get("ts", ""))
            try:
                await self._service.send_note(
                    ref_of(channel, ts), await self._team.agent(user), self._as_customer_reads
                )
            except DomainError as refused:
                await self._tell(body, str(refused))

    async def _tell(self, body: Json, text: str, **kw: Any) -> None:
        """An ephemeral answer to who clicked, in the channel they clicked in."""
        where = str(_part(body, "channel").get("id", "")) or None
        await self._team.tell(_user(body), text, channel=where, **kw)

    async def _act(self, body: Json, number: TicketNumber, name: Action, **kw: Any) -> None:
        user = _user(body)
        try:
            await self._service.act(number, name, await self._team.actor(user), **kw)
        except AlreadyClaimed as lost:
            await self._tell(
                body,
                f"<@{lost.holder_id}> already holds #{number}.",
                blocks=_take_over_blocks(number, lost.holder_id),
            )
        except DomainError as refused:
            await self._tell(body, str(refused))

    async def _checked(self, body: Json, action: Json) -> TicketNumber | None:
        """The ticket a control names, if the clicker may act and the control is genuine."""
        user = _user(body)
        if not self._team.may_act(user):
            await self._tell(body, NOT_AN_AGENT)
            return None
        number = _number(action.get("value") or _card_value(body))
        if number is None:
            await self._tell(body, NO_TICKET)
            return None
        try:
            ticket = await self._service.get_ticket(number)
        except DomainError as unknown:
            await self._tell(body, str(unknown))
            return None
        card = _card_of(body)
        if card is not None and ticket.workspace_ref not in (None, card):
            await self._tell(body, f"This control does not belong to ticket #{number}.")
            return None
        return number

    # --- dialogs -----------------------------------------------------------------------

    async def _open_escalate(self, ack: Ack, body: Json) -> None:
        await self._open(ack, body, modals.escalate_view)

    async def _open_resolve(self, ack: Ack, body: Json) -> None:
        await self._open(ack, body, modals.resolve_view)

    async def _open(self, ack: Ack, body: Json, build: Any) -> None:
        await ack()
        async with self._work.counted():
            number = await self._checked(body, body["actions"][0])
            if number is None:
                return
            ticket = await self._service.get_ticket(number)
            opened = modals.Opened(number, _card_of(body))
            try:
                view = build(ticket, opened)
            except IndexError:  # no tier left above this one
                await self._tell(body, f"Ticket #{number} is at the highest tier.")
                return
            trigger = body.get("trigger_id")
            if not isinstance(trigger, str):
                await self._tell(body, DIALOG_FAILED)
                return
            try:
                await self._client.views_open(trigger_id=trigger, view=view)
            except SlackApiError as refused:  # e.g. the trigger expired: a slow moment
                log.warning("Could not open the dialog of #%s: %s", number, refused)
                await self._tell(body, DIALOG_FAILED)

    async def _submit_escalate(self, ack: Ack, body: Json, view: Json) -> None:
        reason = modals.entered(dict(view), "reason")
        if not reason:
            await ack(response_action="errors", errors={"reason": "Say why, for the next tier."})
            return
        tier = _number(modals.entered(dict(view), "tier"))
        async with self._work.counted():
            opened = await self._accepted(ack, body, view, "tier")
            if opened is None:
                return
            user = _user(body)
            try:
                actor = await self._team.actor(user)
                await self._service.act(
                    TicketNumber(opened.number), Action.ESCALATE, actor, reason=reason, tier=tier
                )
            except Exception as refused:
                await self._refused(user, opened, refused)

    async def _submit_resolve(self, ack: Ack, body: Json, view: Json) -> None:
        note = modals.entered(dict(view), "note")
        async with self._work.counted():
            opened = await self._accepted(ack, body, view, "note")
            if opened is None:
                return
            user = _user(body)
            agent = await self._team.agent(user)
            message = AgentMessage(agent, note, False, datetime.now(UTC)) if note else None
            try:
                await self._service.resolve(
                    TicketNumber(opened.number), Actor.of_agent(agent), note_for_customer=message
                )
            except Exception as refused:
                await self._refused(user, opened, refused)

    async def _accepted(self, ack: Ack, body: Json, view: Json, block: str) -> modals.Opened | None:
        """Check what needs no lookup and answer Slack at once: the work that follows (user
        lookups, the service) may take longer than the 3 seconds Slack waits for the answer."""
        opened = modals.Opened.load(str(view.get("private_metadata", "")))
        if opened is None or not self._team.may_act(_user(body)):
            await ack(response_action="errors", errors={block: NOT_AN_AGENT})
            return None
        await ack()
        return opened

    async def _refused(self, user: str, opened: modals.Opened, refused: Exception) -> None:
        """The dialog is closed by now and Slack shows no error of its own, so a refusal, or a
        failure, is told in the ticket's thread instead."""
        if not isinstance(refused, DomainError):
            log.error("Dialog of ticket #%s failed", opened.number, exc_info=refused)
        text = str(refused) if isinstance(refused, DomainError) else DIALOG_FAILED
        await self._team.tell(
            user, text, thread_ts=_thread_of(opened.card), channel=_channel_of(opened.card)
        )


def _take_over_blocks(number: TicketNumber, holder: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"<@{holder}> already holds #{number}."},
            "accessory": {
                "type": "button",
                "action_id": TAKE_OVER,
                "text": {"type": "plain_text", "text": "Take over"},
                "value": str(number),
            },
        }
    ]


def _part(body: Json, name: str) -> Json:
    """A part of a payload that should be an object; {} for anything else (a malformed one)."""
    value = body.get(name)
    return value if isinstance(value, Mapping) else {}


def _user(body: Json) -> str:
    return str(_part(body, "user").get("id", ""))


def _number(value: object) -> TicketNumber | None:
    text = str(value or "")
    # ASCII only: "²" is a digit to `isdigit` but no number to `int`.
    return TicketNumber(int(text)) if text.isascii() and text.isdigit() and len(text) < 12 else None


def _card_value(body: Json) -> str | None:
    """A menu carries no value of its own: read the ticket from a button on the same card."""
    for block in _objects(_part(body, "message").get("blocks")):
        for element in _objects(block.get("elements")):
            if element.get("type") == "button" and element.get("value"):
                return str(element["value"])
    return None


def _objects(value: object) -> list[Json]:
    """The objects of a list in a payload; none for anything else (a malformed one)."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _channel_of(card: str | None) -> str | None:
    """The channel of a card ("CHANNEL:TS")."""
    try:
        return split_ref(card)[0] if card else None
    except ValueError:
        return None


def _thread_of(card: str | None) -> str | None:
    """The thread of a card ("CHANNEL:TS"): its root's ts."""
    try:
        return split_ref(card)[1] if card else None
    except ValueError:
        return None


def _card_of(body: Json) -> str | None:
    container = body.get("container") or {}
    if container.get("type") != "message" or container.get("is_ephemeral"):
        return None
    return f"{container.get('channel_id')}:{container.get('message_ts')}"
