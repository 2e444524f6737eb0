"""The agents' desk in Slack: what agents do in ticket threads and on ticket cards.

Listeners translate Slack events into TicketService calls and never decide a transition
themselves. Message events are handled in a global middleware, before Slack gets its
acknowledgement: the raw event is stored, processed and only then acknowledged, so a crash at
any point leaves Slack to redeliver it or the next start to find it. An agent's reply or note is
stored with its event in one transaction (`_at_once`); anything else, and any redelivery, has its
event stored first. Events of the support channel are processed one at a time in the order they
arrived (Bolt runs every event in a task of its own, so without this two quick replies could
reach the customer swapped).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackClientError

from bot.config import Policy
from bot.core.domain import Attachment, Direction, MessageRef, TicketNumber
from bot.core.errors import DomainError, NoTicketAt, ThreadlineError
from bot.core.events import AgentMessage, CardAt
from bot.core.inbound import MAX_ATTEMPTS, InboundState
from bot.core.replies import Outgoing, classify
from bot.core.service import TicketService
from integrations.platforms import SLACK
from integrations.slack.in_doubt import InDoubt
from integrations.slack.middleware import BodyMiddleware, Next
from integrations.slack.mrkdwn import slack_user_ids, to_discord
from integrations.slack.ordering import KeyedLocks
from integrations.slack.payloads import EventEnvelope, problem
from integrations.slack.refs import ref_of, split_ref
from integrations.slack.team import NOT_AN_AGENT, Team
from integrations.slack.work import WorkInProgress

log = logging.getLogger(__name__)

Json = Mapping[str, Any]
# A mention of a person, a group or the whole channel: addressed to colleagues. Looked for in
# the text as Slack sends it, where `<` only ever starts markup (a typed one is `&lt;`).
MENTION = re.compile(
    r"<@[UW][A-Z0-9]+(\|[^>]*)?>|<!subteam\^[A-Z0-9]+(\|[^>]*)?>|<!(here|channel|everyone)>"
)
# Failures that say "not now" (Slack or the database away): logged without a traceback.
EXPECTED = (ThreadlineError, SlackClientError, aiohttp.ClientError, TimeoutError, OSError)
RELAYED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
EDIT_NOT_SENT = (
    "Your edit now reads as an internal note, and this reply was already sent to the customer, "
    "so the edit was not sent: the customer still sees the earlier text. "
    "Delete the message to remove it from the customer's side."
)
REPLY_TOO_LONG = (
    "This reply is {size:,} characters long; replies to customers are limited to {limit:,} "
    "(max_reply_chars), so nothing of it was sent to the customer. Shorten it and post it again, "
    "or attach the long part as a file."
)
NOTE_TOO_LONG = (
    "This note is {size:,} characters long; replies to customers are limited to {limit:,} "
    "(max_reply_chars), so it was not sent to the customer."
)
MOVED = (
    "Ticket #{number} moved to <#{channel}>: write in its thread there. Nothing written here "
    "reaches the customer; your message was not sent."
)
EDIT_TOO_LONG = (
    "Your edit makes this reply {size:,} characters long; replies to customers are limited to "
    "{limit:,} (max_reply_chars), so the edit was not sent: the customer still sees the earlier "
    "text."
)


class SlackDesk:
    def __init__(
        self, service: TicketService, policy: Policy, team: Team, work: WorkInProgress
    ) -> None:
        self._service = service
        self._work = work
        self._policy = policy
        self._team = team
        self._channels = team.channels  # every channel where tickets' threads are
        self._in_order = KeyedLocks()  # per ticket thread, in arrival order
        self.doubt = InDoubt()  # after a start or a failure: earlier replies may come late

    def register(self, app: AsyncApp) -> None:
        app.middleware(BodyMiddleware(self._store_then_ack))

    # --- events ------------------------------------------------------------------------

    async def _store_then_ack(self, body: Json, next: Next) -> BoltResponse | None:
        event = body.get("event")
        if body.get("type") != "event_callback" or not _is_message(event):
            await next()
            return None
        assert isinstance(event, Mapping)
        event_id = body.get("event_id")
        if not _usable_id(event_id) or not self._ours(event.get("channel")):
            return BoltResponse(status=200, body="")  # not ours: acknowledge and drop
        assert isinstance(event_id, str)
        if _from_a_bot(event):
            # Slack echoes every post of ours (and other apps') back as an event; none is ever
            # relayed, so none is stored: on a busy desk that is half of all events.
            return BoltResponse(status=200, body="")
        async with self._work.counted(), self._in_order.hold(_thread_key(event)):
            if _relayed(event) and await self._at_once(event_id, body):
                return BoltResponse(status=200, body="")
            try:
                recorded = await self._service.record_inbound(SLACK, event_id, body)
            except Exception:
                self.doubt.begin()  # not acknowledged: Slack sends it again, after newer ones
                raise
            if recorded:
                await self._attempt(event_id, body)
            else:
                log.info("Slack redelivered event %s; dropping it", event_id)
        # Acknowledged even when processing failed: it is stored, and retried from there.
        return BoltResponse(status=200, body="")

    async def _at_once(self, event_id: str, body: Json) -> bool:
        """An agent's reply or note, recorded before its event is stored: the event is stored
        with the message, as processed, in one transaction, rather than in one of its own first
        (one commit fewer on the way to the customer). Slack is answered after either commits.

        True when that is done. False when nothing was written or told: anything but an agent's
        message recorded (someone who is no agent, a reply too long, a thread that is no
        ticket's, a refusal, a failure) and a redelivery (stored before) go the usual way, which
        stores the event first and acts on it once, as before.
        """
        if problem(EventEnvelope, body) is not None:
            return False
        try:
            return await self._thread_reply(body["event"], event_id=event_id, body=body)
        except Exception as failed:  # nothing was written: the usual way tries and tells
            log.debug("Slack event %s goes the usual way: %s", event_id, _one_line(failed))
            return False

    async def process_stored(self, event_id: str, body: Json) -> None:
        """Process a stored event again (a retry, or one left over from before a restart), in
        its thread's order with the live events; never raises for the event's own failure."""
        event = body.get("event")
        key = _thread_key(event) if isinstance(event, Mapping) else ""
        async with self._work.counted(), self._in_order.hold(key):
            # Still wanted? A redelivery may have been processed meanwhile, or a person may
            # have dropped it.
            stored = await self._service.stored_event(SLACK, event_id)
            if stored is not None and stored.state is InboundState.PENDING:
                await self._attempt(event_id, body)

    async def _attempt(self, event_id: str, body: Json) -> None:
        """One attempt at a stored event; a failure is counted, retried later, and after the
        last attempt set aside as a dead letter that people are told about."""
        try:
            await self.process_event(body)
        except Exception as failed:
            self.doubt.begin()  # its retry comes after newer events of its thread
            await self._failed(event_id, failed)

    async def _failed(self, event_id: str, failed: Exception) -> None:
        reason = _one_line(failed)
        try:
            state = await self._service.inbound_failed(SLACK, event_id, reason)
        except Exception as also:
            # Not even counted (the database is away): it stays unprocessed, and the next
            # start finds it.
            log.warning(
                "Slack event %s failed (%s) and could not be counted: %s",
                event_id,
                reason,
                _one_line(also),
            )
            return
        trace = None if isinstance(failed, EXPECTED) else failed
        if state is InboundState.DEAD:
            log.error(
                "Slack event %s failed for the last time; it is a dead letter: %s",
                event_id,
                reason,
                exc_info=trace,
            )
            try:
                notice = await self._dead_letter_notice(event_id)
            except Exception as unlisted:
                log.warning("Could not look up dead letter %s: %s", event_id, _one_line(unlisted))
                return
            await self._team.announce(notice)
        else:
            log.warning(
                "Slack event %s failed; it will be retried: %s", event_id, reason, exc_info=trace
            )

    async def _dead_letter_notice(self, event_id: str) -> str:
        stored = await self._service.stored_event(SLACK, event_id)
        ref = str(stored.id) if stored is not None else "ID"
        return (
            f":warning: A Slack event (`{event_id}`) could not be processed after "
            f"{MAX_ATTEMPTS} tries and is set aside. See it with `/threadline failed show {ref}`, "
            f"then `/threadline failed retry {ref}` or `/threadline failed drop {ref}` "
            f"(or `threadline events` on the server)."
        )

    async def process_event(self, body: Json) -> None:
        """Handle one stored Events API body (from a listener, or recovered after a crash).
        Raises when it fails; a malformed one is logged, marked processed and dropped."""
        event_id = body.get("event_id")
        wrong = problem(EventEnvelope, body)
        if wrong is not None:
            log.warning("Slack event %s is malformed; dropped: %s", str(event_id)[:100], wrong)
        else:
            event = body["event"]
            try:
                if await self._message_event(event, event_id):
                    return  # marked processed with the message it recorded
            except DomainError as refused:  # e.g. a reply on a closed ticket: tell, don't retry
                await self._refused(event, refused)
        if isinstance(event_id, str):
            await self._service.mark_processed(SLACK, event_id)

    async def _refused(self, event: Json, refused: DomainError) -> None:
        user = event.get("user")
        if isinstance(user, str):
            thread, channel = event.get("thread_ts"), event.get("channel")
            await self._team.tell(user, str(refused), thread_ts=thread, channel=channel)

    async def _message_event(self, event: Json, event_id: object = None) -> bool:
        """Act on one message event; True when the event (`event_id`) was marked processed in
        the same transaction as what it recorded."""
        channel = event.get("channel")
        if not self._ours(channel) or event.get("bot_id"):
            return False
        subtype = event.get("subtype")
        if subtype == "message_changed":
            await self._edited(event)
        elif subtype == "message_deleted":
            ts = str(event.get("deleted_ts", ""))
            await self._service.delete_message(ref_of(str(channel), ts), _instant(event))
        elif _relayed(event):
            stored = event_id if isinstance(event_id, str) else None
            return await self._thread_reply(event, event_id=stored)
        return False

    async def _thread_reply(
        self,
        event: Json,
        *,
        catching_up: bool = False,
        event_id: str | None = None,
        body: Json | None = None,
    ) -> bool:
        """Relay an agent's message in a ticket's thread; True when it was recorded (and
        `event_id` marked processed with it). With `body` (see `_at_once`): the event is stored
        with the message, and False means nothing was done or told."""
        at_once = body is not None
        thread_ts, ts, user = event.get("thread_ts"), event.get("ts"), event.get("user")
        if not thread_ts or thread_ts == ts or not isinstance(user, str):
            return False  # top-level chatter in the support channel is not for customers
        channel = str(event.get("channel"))
        thread = f"{channel}:{thread_ts}"
        looks = not catching_up and self.doubt.needs_look(thread, str(ts))
        if looks and await self._earlier_first(channel, str(thread_ts), str(ts)):
            self.doubt.looked(thread, str(ts))
        if not self._team.may_act(user):
            if not at_once:
                await self._not_an_agent(user, thread, str(thread_ts), channel)
            return False
        text = str(event.get("text", ""))
        files = _files(event)
        outgoing = await self._classify(text, files)
        if self._over_limit(outgoing):
            if not at_once:
                await self._reply_too_long(outgoing, user, thread, str(thread_ts), channel)
            return False
        agent = await self._team.agent(user)
        try:
            await self._service.add_agent_message(
                # The ticket is found by its thread in the transaction that records the reply.
                CardAt(thread),
                AgentMessage(
                    agent,
                    # A note of nothing but its prefix keeps the prefix: a note needs some words.
                    outgoing.body if outgoing.body or files else text,
                    outgoing.internal,
                    _instant(event),
                    ref_of(channel, str(ts)),
                    attachments=files,
                    event_id=event_id,
                    event=body,
                ),
            )
        except NoTicketAt:
            if not at_once:
                await self._left_behind(user, channel, str(thread_ts))
            return False
        return event_id is not None

    async def _not_an_agent(self, user: str, thread: str, thread_ts: str, channel: str) -> None:
        if await self._service.ticket_at(thread) is not None:  # chatter elsewhere is theirs
            await self._team.tell(user, NOT_AN_AGENT, thread_ts=thread_ts, channel=channel)

    async def _reply_too_long(
        self, outgoing: Outgoing, user: str, thread: str, thread_ts: str, channel: str
    ) -> None:
        if await self._service.ticket_at(thread) is None:
            await self._left_behind(user, channel, thread_ts)  # not a reply at all
        else:
            await self._too_long(outgoing, user, REPLY_TOO_LONG, thread_ts, channel)

    async def _earlier_first(self, channel: str, thread_ts: str, ts: str) -> bool:
        """Agents' messages in the thread before `ts` that Slack has not delivered yet (see
        `in_doubt.py`), relayed now, in order, ahead of it; False if the thread could not be
        read. Best effort: a failed look leaves them to Slack's redelivery."""
        try:
            earlier = await self._team.thread_before(channel, thread_ts, ts, self.doubt.oldest)
        except Exception as exc:
            log.warning("Could not read thread %s for earlier replies: %s", thread_ts, exc)
            return False
        for message in earlier:
            user = message.get("user")
            relayed = _relayed(message) and not message.get("bot_id")
            if not relayed or not isinstance(user, str) or not self._team.may_act(user):
                continue
            if await self._service.message_at(ref_of(channel, str(message.get("ts")))):
                continue  # recorded already
            log.info(
                "Slack: relaying %s ahead of %s; Slack has not delivered it yet",
                message.get("ts"),
                ts,
            )
            try:
                await self._thread_reply(
                    {**message, "channel": channel, "thread_ts": thread_ts}, catching_up=True
                )
            except DomainError as refused:  # told when Slack delivers it
                log.info("Earlier reply %s refused: %s", message.get("ts"), refused)
        return True

    def _ours(self, channel: object) -> bool:
        """Whether `channel` (anything an event says) is one where tickets' threads are."""
        return isinstance(channel, str) and channel in self._channels

    async def _left_behind(self, user: str, channel: str, thread_ts: str) -> None:
        """A reply in a thread that is no ticket's: chatter, or a ticket's old thread, left
        when the ticket moved to another channel. An agent writing there is told where it went
        (nothing is sent to the customer from an old thread)."""
        if not self._team.may_act(user):
            return
        number = await self._team.ticket_of_card(channel, thread_ts)
        if number is None:
            log.debug("Reply in a thread that is no ticket (%s)", thread_ts)
            return
        try:
            ticket = await self._service.get_ticket(TicketNumber(number))
        except DomainError:
            return
        if ticket.workspace_ref is None or ticket.workspace_ref == f"{channel}:{thread_ts}":
            return
        where, _ = split_ref(ticket.workspace_ref)
        told = MOVED.format(number=ticket.number, channel=where)
        await self._team.tell(user, told, thread_ts=thread_ts, channel=channel)

    async def _edited(self, event: Json) -> None:
        message = event.get("message") or {}
        user = str(message.get("user"))
        if message.get("bot_id") or not self._team.may_act(user):
            return
        text = str(message.get("text", ""))
        if text == (event.get("previous_message") or {}).get("text"):
            return  # the words did not change (an unfurl, say): nothing to relay or refuse
        outgoing = await self._classify(text, _files(message))
        channel = str(event.get("channel"))
        ref = ref_of(channel, str(message.get("ts", "")))
        if outgoing.internal:
            await self._edited_into_note(ref, outgoing.body or text, user, message, event)
            return
        thread = message.get("thread_ts")
        if await self._too_long(outgoing, user, EDIT_TOO_LONG, thread, channel):
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
        thread, channel = message.get("thread_ts"), event.get("channel")
        await self._team.tell(user, EDIT_NOT_SENT, thread_ts=thread, channel=channel)

    async def _classify(self, text: str, files: tuple[Attachment, ...]) -> Outgoing:
        """A note keeps the words as written in Slack; a reply's body becomes what the customer
        will see (Discord Markdown), so the stored reply, its size and its edits are the
        customer's text."""
        outgoing = classify(
            text,
            self._policy.replies,
            mentions_colleague=bool(MENTION.search(text)),
            with_files=bool(files),
        )
        if outgoing.internal:
            return outgoing
        return Outgoing(False, await self._for_customer(outgoing.body))

    async def _for_customer(self, text: str) -> str:
        """Slack text as the customer reads it on Discord, mentions shown as names."""
        names = {user: await self._team.name(user) for user in slack_user_ids(text)}
        return to_discord(text, names).strip()

    async def as_customer_reads(self, text: str) -> str:
        """A note's Slack text as the customer will read it, for the "Reply to customer"
        shortcut: converted like any reply, and refused (DomainError) past the cap."""
        body = await self._for_customer(text)
        limit = self._policy.replies.max_reply_chars
        if len(body) > limit:
            raise DomainError(NOTE_TOO_LONG.format(size=len(body), limit=limit))
        return body

    async def _too_long(
        self, outgoing: Outgoing, user: str, message: str, thread_ts: object, channel: str
    ) -> bool:
        """A reply past the cap is refused before anything is stored or queued (a 900 KB paste
        would otherwise become hundreds of direct messages); the agent is told why."""
        if not self._over_limit(outgoing):
            return False
        limit, size = self._policy.replies.max_reply_chars, len(outgoing.body)
        log.info("Refused a reply of %d characters (limit %d)", size, limit)
        told = message.format(size=size, limit=limit)
        thread = str(thread_ts) if thread_ts else None
        await self._team.tell(user, told, thread_ts=thread, channel=channel)
        return True

    def _over_limit(self, outgoing: Outgoing) -> bool:
        return not outgoing.internal and len(outgoing.body) > self._policy.replies.max_reply_chars

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
    message = _mapping(event.get("message")) or _mapping(event.get("previous_message"))
    return str(
        event.get("thread_ts")
        or message.get("thread_ts")
        or event.get("deleted_ts")
        or message.get("ts")
        or event.get("ts")
        or ""
    )[:64]


def _mapping(value: object) -> Json:
    return value if isinstance(value, Mapping) else {}


def _relayed(event: Json) -> bool:
    """A message whose kind (subtype) is one relayed to the customer; a subtype of any other
    shape (a list, say, in a malformed event) is not."""
    subtype = event.get("subtype")
    return isinstance(subtype, str | None) and subtype in RELAYED_SUBTYPES


def _is_message(event: object) -> bool:
    return isinstance(event, Mapping) and event.get("type") == "message"


def _usable_id(event_id: object) -> bool:
    """An event id that fits inbound_events (Slack's are about 11 characters)."""
    return isinstance(event_id, str) and 0 < len(event_id) <= 100


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text}"[:500]


def _instant(event: Json) -> datetime:
    stamp = event.get("event_ts") or event.get("ts") or 0
    return datetime.fromtimestamp(float(stamp), tz=UTC)
