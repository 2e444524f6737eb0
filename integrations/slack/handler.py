"""The agents' side of the delivery queue: cards, thread posts, marks, edits and deletes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

import aiohttp
from aiolimiter import AsyncLimiter
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.config import SlackPolicy
from bot.core.delivery import DeliveryJob, DeliveryKind
from bot.core.domain import Attachment, Direction, Message, Platform, TicketId
from bot.core.errors import PlatformError
from bot.core.text import split_message
from integrations.slack.alerts import csat_text, sla_text
from integrations.slack.blocks import card_text, date_token, escape, ticket_card
from integrations.slack.errors import platform_error
from integrations.slack.mrkdwn import to_slack
from integrations.slack.refs import slack_copy, split_ref

log = logging.getLogger(__name__)

# Slack truncates text past 40,000 characters; stay clear of it and split instead.
TEXT_LIMIT = 39_000
DELIVERED_MARK = "white_check_mark"
FAILED_MARK = "warning"
DOWNLOAD_SECONDS = 30
# What Slack answers when a ticket's thread is gone: its card deleted, its channel archived or
# deleted (a workspace reset does both). Posting there can never succeed again.
THREAD_GONE: dict[str, str] = {
    "thread_not_found": "its card was deleted",
    "message_not_found": "its card was deleted",
    "channel_not_found": "its channel no longer exists",
    "is_archived": "its channel was archived",
}
HARMLESS = frozenset({"already_reacted", "no_reaction", *THREAD_GONE})
HISTORY = 20  # messages of a lost thread shown again in the new one
HISTORY_LINE = 300  # characters of each


class ThreadKeeper(Protocol):
    """What re-creating a lost thread needs from the core (TicketService provides it)."""

    async def messages_shown_on(self, ticket_id: TicketId, platform: Platform) -> list[Message]: ...

    async def move_workspace(self, ticket_id: TicketId, workspace_ref: str) -> None: ...


class SlackDeliveryHandler:
    """Carries out the agents' lane in the support channel."""

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        escalation_channel: str | None = None,
        pacing: SlackPolicy | None = None,
        *,
        leads: Sequence[str] = (),
        leads_channel: str | None = None,
        threads: ThreadKeeper | None = None,
    ) -> None:
        self._client = client
        self._threads = threads  # None: a lost thread is not re-created (the send fails)
        # Threads re-created by this process, old ref -> new: the parts of a delivery still to
        # send after the move go to the new thread (its job still names the old one).
        self._moved: dict[str, str] = {}
        self._channel = channel
        self._escalations = escalation_channel
        self._leads = tuple(leads)
        self._leads_channel = leads_channel
        self._pacing = pacing or SlackPolicy(posts_per_second=0)
        self._upload_limit = self._pacing.upload_limit_mb * 1024 * 1024
        self._limiters: dict[str, AsyncLimiter] = {}

    async def _post(self, **args: Any) -> AsyncSlackResponse:
        """chat.postMessage, paced per channel to stay within Slack's limit."""
        rate = self._pacing.posts_per_second
        if rate > 0:
            channel = str(args["channel"])
            if channel not in self._limiters:
                burst = self._pacing.burst
                self._limiters[channel] = AsyncLimiter(burst, burst / rate)
            async with self._limiters[channel]:
                return await self._client.chat_postMessage(**args)
        return await self._client.chat_postMessage(**args)

    async def deliver(self, job: DeliveryJob) -> str | None:
        try:
            return await self._deliver(job)
        except SlackApiError as exc:
            raise platform_error(exc) from exc
        except PlatformError:
            raise
        except Exception as exc:  # connection errors and timeouts from aiohttp
            raise platform_error(exc) from exc

    async def _deliver(self, job: DeliveryJob) -> str | None:
        match job.delivery.kind:
            case DeliveryKind.TICKET_CARD:
                return await self._card(job)
            case DeliveryKind.CUSTOMER_MESSAGE:
                return await self._customer_message(job)
            case DeliveryKind.NOTICE:
                return await self._notice(job)
            case DeliveryKind.REPLY_DELIVERED:
                await self._mark(job.message, DELIVERED_MARK)
                return None
            case DeliveryKind.COPY_EDIT:
                await self._edit_copy(job)
                return None
            case DeliveryKind.COPY_DELETE:
                await self._delete_copy(job)
                return None
            case other:
                raise PlatformError(f"Slack cannot carry a {other} delivery", retryable=False)

    async def _card(self, job: DeliveryJob) -> str:
        blocks = ticket_card(job.ticket, job.customer)
        text = card_text(job.ticket, job.customer)
        if job.ticket.workspace_ref:
            channel, ts = split_ref(job.ticket.workspace_ref)
            try:
                await self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
                return job.ticket.workspace_ref
            except SlackApiError as exc:
                reason = _error_code(exc)
                if reason not in THREAD_GONE:
                    raise
            return await self._new_thread(job, reason)
        reply = await self._post(channel=self._channel, text=text, blocks=blocks)
        return f"{reply['channel']}:{reply['ts']}"

    async def _in_thread(self, job: DeliveryJob, **args: Any) -> AsyncSlackResponse:
        """Post in the ticket's thread; one that is gone for good is re-created first."""
        where = self._thread_args(job)
        try:
            return await self._post(**where, **args)
        except SlackApiError as exc:
            reason = _error_code(exc)
            if reason not in THREAD_GONE or "thread_ts" not in where or self._threads is None:
                raise
        await self._new_thread(job, reason)
        return await self._post(**self._thread_args(job), **args)

    async def _new_thread(self, job: DeliveryJob, reason: str) -> str:
        """A new card in the support channel, and in its thread the lost thread's recent
        history, so agents can go on where they were. Returns the new card's ref."""
        ticket = job.ticket
        old = ticket.workspace_ref
        log.warning("Thread of ticket #%s is gone (%s); re-creating it", ticket.number, reason)
        reply = await self._post(
            channel=self._channel,
            text=card_text(ticket, job.customer),
            blocks=ticket_card(ticket, job.customer),
        )
        ref = f"{reply['channel']}:{reply['ts']}"
        if old:
            self._moved[old] = ref
        if self._threads is not None:
            # Recorded before anything else is posted: agents' replies in the new thread must
            # find the ticket, and a retry must not make yet another card. (For a card delivery
            # the dispatcher records it too, once the delivery is done.)
            await self._threads.move_workspace(ticket.id, ref)
        shown = await self._shown(job)
        for piece in split_message(_history(reason, shown), TEXT_LIMIT):
            await self._post(channel=reply["channel"], thread_ts=reply["ts"], text=piece)
        return ref

    async def _shown(self, job: DeliveryJob) -> list[Message]:
        """What the lost thread showed (the message being delivered now comes after)."""
        if self._threads is None:
            return []
        shown = await self._threads.messages_shown_on(job.ticket.id, Platform.SLACK)
        current = job.message.id if job.message is not None else None
        return [m for m in shown if m.id != current]

    async def _customer_message(self, job: DeliveryJob) -> str:
        message = _required(job)
        uploadable = [a for a in message.attachments if a.size <= self._upload_limit]
        linked = [a for a in message.attachments if a.size > self._upload_limit]
        steps = job.steps_done
        pieces = _pieces(message, linked)
        for piece in pieces[len(steps) :]:
            reply = await self._in_thread(
                job,
                text=piece,
                username=f"{job.customer.display_name} ({job.customer.platform.value.title()})",
                icon_url=job.customer.avatar_url,
                unfurl_links=False,
            )
            steps.append(f"{reply['channel']}:{reply['ts']}")
            await job.step_done(steps, len(pieces))  # a retry must not post this piece again
        for attachment in uploadable:
            await self._upload(job, attachment)
        return steps[0]

    async def _upload(self, job: DeliveryJob, attachment: Attachment) -> None:
        """Re-upload a customer's file into the thread; link it if that cannot be done (the
        words are already posted, so a failure here must not fail the delivery)."""
        args = self._thread_args(job)
        try:
            data = await _download(attachment.url, self._upload_limit)
            await self._client.files_upload_v2(
                channel=args["channel"],
                thread_ts=args.get("thread_ts"),
                file=data,
                filename=attachment.filename,
                title=attachment.filename,
            )
        except Exception as exc:
            log.warning("Could not re-upload %s (%s); linking it", attachment.filename, exc)
            await self._post(**args, text=_file_line(attachment), unfurl_links=False)

    async def _notice(self, job: DeliveryJob) -> str | None:
        payload = job.delivery.payload
        to = payload.get("to")
        if to == "escalations":
            return await self._escalation_notice(job)
        if to == "leads":
            return await self._to_leads(job)
        if to == "agent":
            text = await self._alert_text(job, with_link=True)
            return await self._direct(str(payload["user"]), text)
        if "sla" in payload or "csat" in payload:
            text = await self._alert_text(job, with_link=False)
            # Nobody holds the ticket: the reminder is broadcast to the whole channel.
            broadcast = {"reply_broadcast": True} if to == "channel" else {}
            reply = await self._in_thread(job, text=text, **broadcast)
            return f"{reply['channel']}:{reply['ts']}"
        if payload.get("warning"):
            who = job.customer.display_name
            text = f":warning: Not delivered to {escape(who)}: {escape(str(payload['reason']))}"
            await self._mark(job.message, FAILED_MARK)
        else:
            text = escape(str(payload.get("text", "")))
        reply = await self._in_thread(job, text=text)
        return f"{reply['channel']}:{reply['ts']}"

    async def _alert_text(self, job: DeliveryJob, *, with_link: bool) -> str:
        payload = job.delivery.payload
        link = await self._permalink(job) if with_link else None
        if "csat" in payload:
            return csat_text(job.ticket, payload["csat"], link)
        return sla_text(job.ticket, job.customer, payload["sla"], link)

    async def _permalink(self, job: DeliveryJob) -> str | None:
        if not job.ticket.workspace_ref:
            return None
        channel, ts = split_ref(self._moved.get(job.ticket.workspace_ref, job.ticket.workspace_ref))
        try:
            link = await self._client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError as exc:
            if _error_code(exc) not in THREAD_GONE:
                raise
            return None  # the card is gone: the alert goes without its link
        return str(link["permalink"])

    async def _direct(self, user: str, text: str) -> str:
        """A direct message from the bot to one person."""
        opened = await self._client.conversations_open(users=user)
        channel = str(opened["channel"]["id"])
        reply = await self._post(channel=channel, text=text)
        return f"{reply['channel']}:{reply['ts']}"

    async def _to_leads(self, job: DeliveryJob) -> str | None:
        """Each lead by DM, and the leads' channel; a retry skips those already told."""
        text = await self._alert_text(job, with_link=True)
        targets = [*self._leads, *([self._leads_channel] if self._leads_channel else [])]
        steps = job.steps_done
        for target in targets[len(steps) :]:
            if target == self._leads_channel:
                reply = await self._post(channel=target, text=text)
                steps.append(f"{reply['channel']}:{reply['ts']}")
            else:
                steps.append(await self._direct(target, text))
            await job.step_done(steps, len(targets))
        if not targets:
            log.warning("No SLACK_LEADS or SLACK_LEADS_CHANNEL: a notice for leads was dropped")
        return steps[0] if steps else None

    async def send_digest(self, text: str) -> None:
        """The leads' daily digest: to each lead, and to the leads' channel."""
        for lead in self._leads:
            await self._direct(lead, text)
        if self._leads_channel:
            await self._post(channel=self._leads_channel, text=text)

    async def _escalation_notice(self, job: DeliveryJob) -> str | None:
        """A linked notice in the escalation channel, when one is configured."""
        if self._escalations is None:
            return None
        line = f"Ticket #{job.ticket.number} ({escape(job.ticket.subject)}): "
        line += escape(str(job.delivery.payload.get("text", "")))
        link = await self._permalink(job)
        if link is not None:
            line += f"\n<{link}|Open the ticket's thread>"
        reply = await self._post(channel=self._escalations, text=line)
        return f"{reply['channel']}:{reply['ts']}"

    async def _mark(self, message: Message | None, name: str) -> None:
        where = slack_copy(message) if message else None
        if where is None:
            return
        channel, ts = where
        try:
            await self._client.reactions_add(channel=channel, timestamp=ts, name=name)
        except SlackApiError as exc:
            if _error_code(exc) not in HARMLESS:
                raise

    async def _edit_copy(self, job: DeliveryJob) -> None:
        message = _required(job)
        where = slack_copy(message)
        if where is None:
            return
        channel, ts = where
        text = _pieces(message)[0] if message.body.strip() else "_(emptied)_"
        try:
            await self._client.chat_update(channel=channel, ts=ts, text=f"{text}\n_(edited)_")
        except SlackApiError as exc:
            if _error_code(exc) not in THREAD_GONE:
                raise
            log.info("The copy of message %s is gone with its thread; not edited", message.id)

    async def _delete_copy(self, job: DeliveryJob) -> None:
        """A customer deleted a message: agents keep seeing what it said, struck through."""
        message = _required(job)
        where = slack_copy(message)
        if where is None:
            return
        channel, ts = where
        struck = "\n".join(f"~{line}~" for line in escape(message.body).splitlines() if line)
        try:
            await self._client.chat_update(
                channel=channel, ts=ts, text=f"{struck}\n_(deleted by the customer)_"
            )
        except SlackApiError as exc:
            if _error_code(exc) not in HARMLESS:
                raise

    def _thread_args(self, job: DeliveryJob) -> dict[str, Any]:
        if job.ticket.workspace_ref:
            ref = self._moved.get(job.ticket.workspace_ref, job.ticket.workspace_ref)
            channel, ts = split_ref(ref)
            return {"channel": channel, "thread_ts": ts}
        return {"channel": self._channel}  # the card never made it: keep the words anyway


def _error_code(exc: SlackApiError) -> str:
    """Slack's error code; "" for a reply that was not JSON (an outage's HTML page)."""
    data = exc.response.data
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def _required(job: DeliveryJob) -> Message:
    if job.message is None:
        raise PlatformError(f"{job.delivery.kind} without a message", retryable=False)
    return job.message


def _pieces(message: Message, linked: list[Attachment] | None = None) -> list[str]:
    text = to_slack(message.body)  # the customer's Discord Markdown, as Slack shows it
    files = [_file_line(a) for a in (message.attachments if linked is None else linked)]
    pieces = split_message("\n".join([text, *files]), TEXT_LIMIT)
    if pieces:
        return pieces
    count = len(message.attachments)
    return [f":paperclip: {count} attachment(s)" if count else "_(empty message)_"]


def _history(reason: str, shown: list[Message]) -> str:
    """The first message of a re-created thread: why, and what the lost one showed."""
    why = THREAD_GONE.get(reason, "it could not be reached")
    lines = [f":recycle: This ticket's thread was re-created: {why} (Slack said `{reason}`)."]
    if shown:
        recent = shown[-HISTORY:]
        earlier = len(shown) - len(recent)
        more = f", {earlier} earlier not shown" if earlier else ""
        lines.append(f"*Recent history* (last {len(recent)} messages{more}):")
        lines += [_history_line(m) for m in recent]
    return "\n".join(lines)


def _history_line(message: Message) -> str:
    who = escape(message.author.name)
    role = {
        Direction.FROM_CUSTOMER: "customer",
        Direction.TO_CUSTOMER: "reply",
        Direction.NOTE: ":memo: internal note",
    }[message.direction]
    text = " ".join(message.body.split())
    if len(text) > HISTORY_LINE:
        text = text[: HISTORY_LINE - 1] + "…"
    files = f" (+{len(message.attachments)} file(s))" if message.attachments else ""
    when = date_token(message.created_at)
    return f"• {when} *{who}* ({role}): {escape(text) or '_(no text)_'}{files}"


async def _download(url: str, limit: int) -> bytes:
    """A customer's attachment, from the platform's file host (refusing more than `limit`)."""
    timeout = aiohttp.ClientTimeout(total=DOWNLOAD_SECONDS)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url) as response,
    ):
        response.raise_for_status()
        data = await response.content.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit} bytes")
    return data


def _file_line(attachment: Attachment) -> str:
    size = f"{attachment.size / 1024:.0f} KB" if attachment.size >= 1024 else f"{attachment.size} B"
    return f":paperclip: <{attachment.url}|{escape(attachment.filename)}> ({size})"
