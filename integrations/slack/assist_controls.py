"""What agents do with the AI features in Slack: the card's Summary, Draft, Triage and
Translate buttons, a draft's Send, Edit and Discard, and their dialogs.

As with the card's other controls, every handler answers Slack first (it waits 3 seconds at
most) and works after, only for support agents; a refusal or a failure is told to the clicker
alone. A decided draft's post is redrawn so that everyone in the thread sees who sent or
discarded it; the redraw is cosmetic, so a failed one is logged and the decision stands.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.assist import Draft, DraftStatus
from bot.core.delivery import MAIN_WORKSPACE
from bot.core.domain import Agent, Ticket, TicketNumber
from bot.core.errors import DomainError, DraftDecided
from bot.core.service import TicketService
from integrations.slack import modals
from integrations.slack.assist_modals import (
    DRAFT_EDIT_MODAL,
    TRIAGE_MODAL,
    Editing,
    decided,
    draft_edit_view,
    settled_line,
    triage_changes,
    triage_errors,
    triage_view,
)
from integrations.slack.assist_posts import (
    DRAFT_DISCARD,
    DRAFT_EDIT,
    DRAFT_SEND,
)
from integrations.slack.blocks import AI_DRAFT, AI_SUMMARY, AI_TRANSLATE, AI_TRIAGE, escape
from integrations.slack.errors import platform_error
from integrations.slack.mrkdwn import to_discord
from integrations.slack.payloads import PostClick, parse
from integrations.slack.refs import ref_of
from integrations.slack.team import NOT_AN_AGENT, Team
from integrations.slack.work import WorkInProgress

log = logging.getLogger(__name__)

Json = Mapping[str, Any]
Ack = Callable[..., Awaitable[None]]
View = dict[str, Any]
Shown = tuple[str, list[dict[str, Any]]]  # a post's text and blocks

# The card's buttons (blocks.py; value: the ticket number, Translate's "NUMBER:on|off") and a
# draft post's (assist_posts.py; value: the draft's id, in the actions block DRAFT_BLOCK).
SUMMARY: Final = AI_SUMMARY
DRAFT: Final = AI_DRAFT
TRIAGE: Final = AI_TRIAGE
TRANSLATE: Final = AI_TRANSLATE
# How long a dialog's Send may take before Slack is answered anyway (it waits 3 seconds): a
# refusal that comes within it is shown in the dialog, one that comes later to the agent alone.
SEND_BUDGET: Final = 2.0

NO_TICKET = "This control names no ticket; nothing was changed."
NO_DRAFT = "This draft no longer exists; nothing was changed."
NOT_THIS_THREAD = "This draft is not in its ticket's thread (an old post?); nothing was changed."
UNREADABLE = "Threadline cannot read this control (an old post?); nothing was changed."
FAILED = "Threadline could not do that just now. Please try again in a moment."
DIALOG_FAILED = "Threadline could not open the dialog just now. Please try again."
EMPTY_EDIT = "Write the reply to send, or close this and discard the draft."
EDIT_TOO_LONG = (
    "This reply is {size:,} characters long; replies to customers are limited to {limit:,} "
    "(max_reply_chars). Shorten it."
)
# Expected when Slack or the network is away: logged without a traceback.
SLACK_TROUBLE = (SlackClientError, aiohttp.ClientError, TimeoutError, OSError)


@dataclass(frozen=True, slots=True)
class Click:
    """A click on one of Threadline's posts, as the controls read it."""

    user: str
    value: str
    channel: str
    ts: str  # the clicked post
    thread_ts: str | None  # the thread it is in (None: a top-level post, such as a card)
    trigger_id: str | None
    text: str
    blocks: list[dict[str, Any]]

    @property
    def root(self) -> str:
        """The ts of the thread's root: the ticket's card."""
        return self.thread_ts or self.ts


@dataclass(frozen=True, slots=True)
class Sent:
    """How a dialog's Send ended: `refused` says why not; `edited` is the text the agent
    wrote, when it differs from the draft's."""

    refused: str | None = None
    edited: str | None = None


class AssistControls:
    def __init__(
        self,
        service: TicketService,
        team: Team,
        client: AsyncWebClient,
        work: WorkInProgress,
        *,
        max_reply_chars: int,
        workspace: str = MAIN_WORKSPACE,
    ) -> None:
        self._service = service
        self._team = team
        self._client = client
        self._work = work
        self._max_reply_chars = max_reply_chars
        self._workspace = workspace  # whose copies the draft posts are

    def register(self, app: AsyncApp) -> None:
        app.action(SUMMARY)(self._on_summary)
        app.action(DRAFT)(self._on_draft)
        app.action(TRIAGE)(self._open_triage)
        app.action(TRANSLATE)(self._on_translate)
        app.action(DRAFT_SEND)(self._on_send)
        app.action(DRAFT_EDIT)(self._open_edit)
        app.action(DRAFT_DISCARD)(self._on_discard)
        app.view(TRIAGE_MODAL)(self._submit_triage)
        app.view(DRAFT_EDIT_MODAL)(self._submit_edit)

    # --- the card's buttons ------------------------------------------------------------

    async def _on_summary(self, ack: Ack, body: Json) -> None:
        await ack()
        await self._ask(body, self._service.ask_for_summary, "A summary of #{} is on its way")

    async def _on_draft(self, ack: Ack, body: Json) -> None:
        await ack()
        await self._ask(body, self._service.ask_for_draft, "A draft reply for #{} is on its way")

    async def _ask(
        self, body: Json, ask: Callable[[TicketNumber, Agent], Awaitable[None]], told: str
    ) -> None:
        """Ask the assistant for something for the clicked card's ticket; the clicker is told
        it is coming (or why not)."""
        async with self._work.counted():
            click = await self._agent_click(body)
            ticket = await self._ticket(click, click.value) if click else None
            if click is None or ticket is None:
                return
            number = ticket.number
            await self._attempt(
                click,
                lambda agent: ask(number, agent),
                told.format(number) + " to the thread.",
            )

    async def _on_translate(self, ack: Ack, body: Json) -> None:
        await ack()
        async with self._work.counted():
            click = await self._agent_click(body)
            if click is None:
                return
            raw, _, switch = click.value.partition(":")
            if switch not in ("on", "off"):
                await self._tell(click, NO_TICKET)
                return
            ticket = await self._ticket(click, raw)
            if ticket is None:
                return
            number, on = ticket.number, switch == "on"
            told = (
                f"Replies on #{number} now go out in the customer's language."
                if on
                else f"Replies on #{number} now go out as written, untranslated."
            )
            await self._attempt(
                click,
                lambda agent: self._service.set_translate_replies(number, agent, on),
                told,
            )

    async def _open_triage(self, ack: Ack, body: Json) -> None:
        await ack()
        async with self._work.counted():
            click = await self._agent_click(body)
            ticket = await self._ticket(click, click.value) if click else None
            if click is None or ticket is None:
                return
            try:
                categories = self._service.categories()
            except DomainError as off:  # the AI features are off
                await self._tell(click, str(off))
                return
            await self._open(click, triage_view(ticket, categories))

    async def _submit_triage(self, ack: Ack, body: Json, view: Json) -> None:
        """Checked without a lookup and answered at once (with the form's errors, if any);
        then only what the agent changed is set."""
        user = _user(body)
        form = dict(view)
        number = _number(view.get("private_metadata"))
        if number is None or not self._team.may_act(user):
            await ack(response_action="errors", errors={"category": NOT_AN_AGENT})
            return
        entered = {b: modals.entered(form, b) for b in ("category", "sentiment", "title")}
        entered["language"] = modals.entered(form, "language").lower()
        try:
            errors = triage_errors(entered, self._service.categories())
        except DomainError as off:  # turned off while the dialog was open
            errors = {"category": str(off)}
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        async with self._work.counted():
            try:
                ticket = await self._service.get_ticket(number)
                changed = triage_changes(ticket, entered)
                if changed:
                    agent = await self._team.agent(user)
                    await self._service.edit_triage(number, agent, **changed)
            except Exception as refused:
                await self._team.tell(user, _told(refused, f"the triage of #{number}"))

    # --- a draft's buttons -------------------------------------------------------------

    async def _on_send(self, ack: Ack, body: Json) -> None:
        await ack()

        async def send(click: Click, draft: Draft, agent: Agent) -> object:
            ref = ref_of(click.channel, click.ts, self._workspace)
            return await self._service.send_draft(draft.id, agent, ref=ref)

        await self._decide(body, send, settled_line("sent", "<@{}>"))

    async def _on_discard(self, ack: Ack, body: Json) -> None:
        await ack()

        async def discard(click: Click, draft: Draft, agent: Agent) -> object:
            return await self._service.discard_draft(draft.id, agent, workspace=self._workspace)

        await self._decide(body, discard, settled_line("discarded", "<@{}>"))

    async def _decide(
        self,
        body: Json,
        act: Callable[[Click, Draft, Agent], Awaitable[object]],
        line: str,
    ) -> None:
        """Send or discard the clicked draft; once done, its post says who did it."""
        async with self._work.counted():
            click = await self._agent_click(body)
            draft = await self._draft(click) if click else None
            if click is None or draft is None:
                return
            done = await self._attempt(click, lambda agent: act(click, draft, agent))
            if done:
                told = line.format(click.user)
                await self._redraw(_place(click, draft), told, shown=(click.text, click.blocks))

    async def _open_edit(self, ack: Ack, body: Json) -> None:
        await ack()
        async with self._work.counted():
            click = await self._agent_click(body)
            draft = await self._draft(click) if click else None
            if click is None or draft is None:
                return
            if draft.status is not DraftStatus.OFFERED:
                await self._tell(click, str(DraftDecided(draft.status.value, draft.decided_by)))
                return
            await self._open(click, draft_edit_view(draft, _place(click, draft)))
            await self._team.agent(click.user)  # looked up now: the Send has little time

    async def _submit_edit(self, ack: Ack, body: Json, view: Json) -> None:
        """Send the edited draft. Slack waits 3 seconds for the answer, which is where a
        refusal shows (under the text): the send is given SEND_BUDGET of them, and one that
        takes longer is answered after the dialog closed, to the agent alone."""
        user = _user(body)
        editing = Editing.load(str(view.get("private_metadata", "")))
        if editing is None or not self._team.may_act(user):
            await ack(response_action="errors", errors={"text": NOT_AN_AGENT})
            return
        text = modals.entered(dict(view), "text")
        if not text:
            await ack(response_action="errors", errors={"text": EMPTY_EDIT})
            return
        async with self._work.counted():
            sending = asyncio.ensure_future(self._send_edited(editing, user, text))
            done, _ = await asyncio.wait({sending}, timeout=SEND_BUDGET)
            if done and sending.result().refused:
                await ack(response_action="errors", errors={"text": sending.result().refused})
                return
            await ack()
            sent = await sending
            if sent.refused:  # only when it took longer than the budget
                await self._team.tell(
                    user, sent.refused, thread_ts=editing.thread, channel=editing.channel
                )
                return
            line = settled_line("sent", f"<@{user}>")
            await self._redraw(editing, line, edited=sent.edited)

    async def _send_edited(self, editing: Editing, user: str, text: str) -> Sent:
        try:
            agent = await self._team.agent(user)
            draft = await self._service.get_draft(editing.draft)
            if draft is None:
                return Sent(NO_DRAFT)
            if text == draft.text.strip():
                reply = None  # as drafted: the model's text is what the customer reads
            else:
                # What an agent types is Slack text, converted as their thread replies are.
                reply = to_discord(escape(text)).strip()
                if len(reply) > self._max_reply_chars:
                    size, limit = len(reply), self._max_reply_chars
                    return Sent(EDIT_TOO_LONG.format(size=size, limit=limit))
            ref = ref_of(editing.channel, editing.ts, self._workspace)
            await self._service.send_draft(draft.id, agent, text=reply, ref=ref)
        except Exception as refused:
            return Sent(_told(refused, f"draft {editing.draft}"))
        return Sent(edited=None if reply is None else text)

    # --- shared steps --------------------------------------------------------------------

    async def _agent_click(self, body: Json) -> Click | None:
        """The click, if the clicker is a support agent and it is readable (else they are told
        why nothing happens)."""
        user = _user(body)
        click = parse(PostClick, body)
        thread = _thread_of(click) if click is not None else None
        if not self._team.may_act(user):
            where = click.container.channel_id if click is not None else None
            await self._team.tell(user, NOT_AN_AGENT, thread_ts=thread, channel=where)
            return None
        if click is None or click.container.is_ephemeral:
            await self._team.tell(user, UNREADABLE)
            return None
        message = click.message
        return Click(
            user=user,
            value=click.actions[0].value or "",
            channel=click.container.channel_id,
            ts=click.container.message_ts,
            thread_ts=thread if thread != click.container.message_ts else None,
            trigger_id=click.trigger_id,
            text=(message.text if message else None) or "",
            blocks=[b.model_dump(exclude_unset=True) for b in message.blocks] if message else [],
        )

    async def _ticket(self, click: Click, value: str) -> Ticket | None:
        """The ticket a card button names, if it exists and the button is on its card."""
        number = _number(value)
        if number is None:
            await self._tell(click, NO_TICKET)
            return None
        try:
            ticket = await self._service.get_ticket(number)
        except DomainError as unknown:
            await self._tell(click, str(unknown))
            return None
        if ticket.workspace_ref not in (None, f"{click.channel}:{click.root}"):
            await self._tell(click, f"This control does not belong to ticket #{number}.")
            return None
        return ticket

    async def _draft(self, click: Click) -> Draft | None:
        """The draft a draft button names, if it exists and is in its ticket's thread."""
        draft_id = _number(click.value)
        try:
            draft = await self._service.get_draft(draft_id) if draft_id is not None else None
            thread = await self._service.ticket_at(f"{click.channel}:{click.root}", self._workspace)
        except Exception as failed:
            await self._tell(click, _told(failed, f"draft {click.value[:20]}"))
            return None
        if draft is None:
            await self._tell(click, NO_DRAFT)
            return None
        if thread is None or thread.id != draft.ticket_id:
            await self._tell(click, NOT_THIS_THREAD)
            return None
        return draft

    async def _attempt(
        self,
        click: Click,
        call: Callable[[Agent], Awaitable[object]],
        done: str | None = None,
    ) -> bool:
        """Call the service as the clicker; True when it went through (and `done` is told)."""
        try:
            await call(await self._team.agent(click.user))
        except Exception as refused:
            await self._tell(click, _told(refused, f"{click.value[:20]} for {click.user}"))
            return False
        if done:
            await self._tell(click, done)
        return True

    async def _open(self, click: Click, view: View) -> None:
        if not click.trigger_id:
            await self._tell(click, DIALOG_FAILED)
            return
        try:
            await self._client.views_open(trigger_id=click.trigger_id, view=view)
        except SLACK_TROUBLE as refused:  # e.g. the trigger expired: a slow moment
            log.warning("Could not open %s: %s", view.get("callback_id"), platform_error(refused))
            await self._tell(click, DIALOG_FAILED)

    async def _tell(self, click: Click, text: str) -> None:
        await self._team.tell(click.user, text, thread_ts=click.thread_ts, channel=click.channel)

    async def _redraw(
        self,
        place: Editing,
        line: str,
        *,
        shown: Shown | None = None,
        edited: str | None = None,
    ) -> None:
        """The draft's post (`shown`: as the click carried it) with its buttons replaced by
        who decided it. Cosmetic: the decision is made and kept whether or not Slack takes
        this, so a failure is only logged."""
        if shown is None or not shown[1]:
            shown = await self._post(place)
            if shown is None:
                return
        text, blocks = shown
        try:
            await self._client.chat_update(
                channel=place.channel,
                ts=place.ts,
                text=text or line,
                blocks=decided(blocks, line, edited),
            )
        except SLACK_TROUBLE as failed:
            log.warning("Could not redraw draft %s's post: %s", place.draft, platform_error(failed))

    async def _post(self, place: Editing) -> Shown | None:
        """A draft's post as it is now (its text and blocks); None when Slack does not say."""
        try:
            found = await self._client.conversations_replies(
                channel=place.channel,
                ts=place.thread or place.ts,
                oldest=place.ts,
                latest=place.ts,
                inclusive=True,
                limit=2,  # the thread's root comes first, whatever the range
            )
        except SLACK_TROUBLE as lost:
            log.warning("Could not read draft %s's post: %s", place.draft, platform_error(lost))
            return None
        for message in found.get("messages") or []:
            if isinstance(message, dict) and message.get("ts") == place.ts:
                blocks = message.get("blocks")
                return str(message.get("text") or ""), blocks if isinstance(blocks, list) else []
        log.warning("Draft %s's post is gone; not redrawn", place.draft)
        return None


# --- the dialogs and the redrawn post (pure) -------------------------------------------


def _told(refused: Exception, what: str) -> str:
    """What the agent is told of a failure: a refusal's own words, else that it failed."""
    if isinstance(refused, DomainError):
        return str(refused)
    log.error("Slack AI control failed (%s)", what, exc_info=refused)
    return FAILED


def _place(click: Click, draft: Draft) -> Editing:
    return Editing(draft.id, click.channel, click.ts, click.thread_ts)


def _thread_of(click: PostClick) -> str | None:
    """The thread a clicked post is in (Slack says so in the container; the message has it
    too)."""
    return click.container.thread_ts or (click.message.thread_ts if click.message else None)


def _user(body: Json) -> str:
    return str((body.get("user") or {}).get("id", ""))


def _number(value: object) -> TicketNumber | None:
    text = str(value or "").strip()
    # ASCII only: "²" is a digit to `isdigit` but no number to `int`.
    return TicketNumber(int(text)) if text.isascii() and text.isdigit() and len(text) < 12 else None
