"""The agents' desk in Slack: what agents do in ticket threads and on ticket cards.

Listeners translate Slack events into TicketService calls and never decide a transition
themselves. Message events are handled in a global middleware, before Slack gets its
acknowledgement: the raw event is stored, processed and only then acknowledged, so a crash at
any point leaves Slack to redeliver it or the next start to find it. Events of the support
channel are processed one at a time in the order they arrived (Bolt runs every event in a task
of its own, so without this two quick replies could reach the customer swapped).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.config import Policy
from bot.domain import Attachment, Direction, MessageRef, Platform
from bot.errors import DomainError
from bot.events import AgentMessage
from bot.replies import Outgoing, classify
from bot.service import TicketService
from integrations.slack.ordering import KeyedLocks
from integrations.slack.refs import ref_of
from integrations.slack.team import NOT_AN_AGENT, Team
from integrations.slack.work import WorkInProgress

log = logging.getLogger(__name__)

Json = Mapping[str, Any]
# A mention of a person, a group or the whole channel: addressed to colleagues.
MENTION = re.compile(
    r"<@[UW][A-Z0-9]+(\|[^>]*)?>|<!subteam\^[A-Z0-9]+(\|[^>]*)?>|<!(here|channel|everyone)>"
)
RELAYED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
EDIT_NOT_SENT = (
    "Your edit now reads as an internal note, and this reply was already sent to the customer, "
    "so the edit was not sent: the customer still sees the earlier text. "
    "Delete the message to remove it from the customer's side."
)


class SlackDesk:
    def __init__(
        self, service: TicketService, policy: Policy, team: Team, work: WorkInProgress
    ) -> None:
        self._service = service
        self._work = work
        self._policy = policy
        self._team = team
        self._channel = team.channel
        self._in_order = KeyedLocks()  # per ticket thread, in arrival order

    def register(self, app: AsyncApp) -> None:
        app.middleware(self._store_then_ack)

    # --- events ------------------------------------------------------------------------

    async def _store_then_ack(
        self, body: Json, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        event = body.get("event") or {}
        event_id = body.get("event_id")
        if body.get("type") != "event_callback" or event.get("type") != "message":
            await next()
            return None
        if not isinstance(event_id, str) or event.get("channel") != self._channel:
            return BoltResponse(status=200, body="")  # not ours: acknowledge and drop
        if _from_a_bot(event):
            # Slack echoes every post of ours (and other apps') back as an event; none is ever
            # relayed, so none is stored: on a busy desk that is half of all events.
            return BoltResponse(status=200, body="")
        async with self._work.counted(), self._in_order.hold(_thread_key(event)):
            if await self._service.record_inbound(Platform.SLACK, event_id, body):
                await self.process_event(body)
            else:
                log.info("Slack redelivered event %s; dropping it", event_id)
        return BoltResponse(status=200, body="")

    async def process_event(self, body: Json) -> None:
        """Handle one stored Events API body (from a listener, or recovered after a crash)."""
        event = body.get("event") or {}
        try:
            await self._message_event(event)
        except DomainError as refused:  # e.g. a reply on a closed ticket: tell, don't retry
            user = event.get("user")
            if isinstance(user, str):
                await self._team.tell(user, str(refused), thread_ts=event.get("thread_ts"))
        event_id = body.get("event_id")
        if isinstance(event_id, str):
            await self._service.mark_processed(Platform.SLACK, event_id)

    async def _message_event(self, event: Json) -> None:
        if event.get("channel") != self._channel or event.get("bot_id"):
            return
        subtype = event.get("subtype")
        if subtype == "message_changed":
            await self._edited(event)
        elif subtype == "message_deleted":
            ts = str(event.get("deleted_ts", ""))
            await self._service.delete_message(ref_of(self._channel, ts), _instant(event))
        elif subtype in RELAYED_SUBTYPES:
            await self._thread_reply(event)

    async def _thread_reply(self, event: Json) -> None:
        thread_ts, ts, user = event.get("thread_ts"), event.get("ts"), event.get("user")
        if not thread_ts or thread_ts == ts or not isinstance(user, str):
            return  # top-level chatter in the support channel is not for customers
        ticket = await self._service.ticket_at(f"{self._channel}:{thread_ts}")
        if ticket is None:
            log.debug("Reply in a thread that is no ticket (%s)", thread_ts)
            return
        if not self._team.may_act(user):
            await self._team.tell(user, NOT_AN_AGENT, thread_ts=str(thread_ts))
            return
        text = str(event.get("text", ""))
        files = _files(event)
        outgoing = self._classify(text, files)
        agent = await self._team.agent(user)
        await self._service.add_agent_message(
            ticket.number,
            AgentMessage(
                agent,
                # A note of nothing but its prefix keeps the prefix: a note needs some words.
                outgoing.body if outgoing.body or files else text,
                outgoing.internal,
                _instant(event),
                ref_of(self._channel, str(ts)),
                attachments=files,
            ),
        )

    async def _edited(self, event: Json) -> None:
        message = event.get("message") or {}
        user = str(message.get("user"))
        if message.get("bot_id") or not self._team.may_act(user):
            return
        text = str(message.get("text", ""))
        if text == (event.get("previous_message") or {}).get("text"):
            return  # the words did not change (an unfurl, say): nothing to relay or refuse
        outgoing = self._classify(text, _files(message))
        ref = ref_of(self._channel, str(message.get("ts", "")))
        if outgoing.internal:
            await self._edited_into_note(ref, outgoing.body or text, user, message, event)
            return
        await self._service.edit_message(ref, outgoing.body or text, _instant(event))

    async def _edited_into_note(
        self, ref: MessageRef, body: str, user: str, message: Json, event: Json
    ) -> None:
        """An edit that reads as a note. The service relays every edit of a reply, so only a
        message recorded as a note may take it; a reply keeps what the customer already has."""
        recorded = await self._service.message_at(ref)
        if recorded is None or recorded.deleted_at is not None:
            return  # not a ticket's message (chatter), or gone already
        if recorded.direction is Direction.NOTE:
            await self._service.edit_message(ref, body, _instant(event))
            return
        log.info("Edit of delivered reply %s reads as a note; not relaying it", recorded.id)
        await self._team.tell(user, EDIT_NOT_SENT, thread_ts=message.get("thread_ts"))

    def _classify(self, text: str, files: tuple[Attachment, ...]) -> Outgoing:
        return classify(
            text,
            self._policy.replies,
            mentions_colleague=bool(MENTION.search(text)),
            with_files=bool(files),
        )

    # --- helpers -----------------------------------------------------------------------


def _files(event: Json) -> tuple[Attachment, ...]:
    """Files an agent shared with the message (fetched later with the bot token)."""
    return tuple(
        Attachment(
            filename=str(f.get("name") or f.get("title") or "file"),
            url=str(f["url_private_download"]),
            size=int(f.get("size") or 0),
            content_type=f.get("mimetype"),
        )
        for f in event.get("files") or []
        if f.get("url_private_download")
    )


def _from_a_bot(event: Json) -> bool:
    """A bot's post, or an edit of one (our cards, our relays): nothing for a customer."""
    if event.get("bot_id"):
        return True
    changed = event.get("message") if event.get("subtype") == "message_changed" else None
    return bool(isinstance(changed, Mapping) and changed.get("bot_id"))


def _thread_key(event: Json) -> str:
    """The thread an event belongs to: its replies, edits and deletions keep their order."""
    message = event.get("message") or event.get("previous_message") or {}
    return str(
        event.get("thread_ts")
        or message.get("thread_ts")
        or event.get("deleted_ts")
        or message.get("ts")
        or event.get("ts")
        or ""
    )


def _instant(event: Json) -> datetime:
    stamp = event.get("event_ts") or event.get("ts") or 0
    return datetime.fromtimestamp(float(stamp), tz=UTC)
