"""The agents' side of the delivery queue: cards, thread posts, marks, edits and deletes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.config import SlackPolicy
from bot.delivery import DeliveryJob, DeliveryKind
from bot.domain import Attachment, Message
from bot.errors import PlatformError
from bot.text import split_message
from integrations.slack.alerts import csat_text, sla_text
from integrations.slack.blocks import card_text, escape, ticket_card
from integrations.slack.errors import platform_error
from integrations.slack.refs import slack_copy, split_ref

log = logging.getLogger(__name__)

# Slack truncates text past 40,000 characters; stay clear of it and split instead.
TEXT_LIMIT = 39_000
DELIVERED_MARK = "white_check_mark"
FAILED_MARK = "warning"
DOWNLOAD_SECONDS = 30
HARMLESS = frozenset({"already_reacted", "message_not_found", "no_reaction"})


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
    ) -> None:
        self._client = client
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
                if exc.response.get("error") != "message_not_found":
                    raise
                log.warning("Card of ticket #%s was deleted; posting it again", job.ticket.number)
        reply = await self._post(channel=self._channel, text=text, blocks=blocks)
        return f"{reply['channel']}:{reply['ts']}"

    async def _customer_message(self, job: DeliveryJob) -> str:
        message = _required(job)
        uploadable = [a for a in message.attachments if a.size <= self._upload_limit]
        linked = [a for a in message.attachments if a.size > self._upload_limit]
        steps = job.steps_done
        pieces = _pieces(message, linked)
        for piece in pieces[len(steps) :]:
            reply = await self._post(
                **self._thread_args(job),
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
            reply = await self._post(**self._thread_args(job), text=text, **broadcast)
            return f"{reply['channel']}:{reply['ts']}"
        if payload.get("warning"):
            who = job.customer.display_name
            text = f":warning: Not delivered to {escape(who)}: {escape(str(payload['reason']))}"
            await self._mark(job.message, FAILED_MARK)
        else:
            text = escape(str(payload.get("text", "")))
        reply = await self._post(**self._thread_args(job), text=text)
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
        channel, ts = split_ref(job.ticket.workspace_ref)
        link = await self._client.chat_getPermalink(channel=channel, message_ts=ts)
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
        if job.ticket.workspace_ref:
            channel, ts = split_ref(job.ticket.workspace_ref)
            link = await self._client.chat_getPermalink(channel=channel, message_ts=ts)
            line += f"\n<{link['permalink']}|Open the ticket's thread>"
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
            if exc.response.get("error") not in HARMLESS:
                raise

    async def _edit_copy(self, job: DeliveryJob) -> None:
        message = _required(job)
        where = slack_copy(message)
        if where is None:
            return
        channel, ts = where
        text = _pieces(message)[0] if message.body.strip() else "_(emptied)_"
        await self._client.chat_update(channel=channel, ts=ts, text=f"{text}\n_(edited)_")

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
            if exc.response.get("error") not in HARMLESS:
                raise

    def _thread_args(self, job: DeliveryJob) -> dict[str, Any]:
        if job.ticket.workspace_ref:
            channel, ts = split_ref(job.ticket.workspace_ref)
            return {"channel": channel, "thread_ts": ts}
        return {"channel": self._channel}  # the card never made it: keep the words anyway


def _required(job: DeliveryJob) -> Message:
    if job.message is None:
        raise PlatformError(f"{job.delivery.kind} without a message", retryable=False)
    return job.message


def _pieces(message: Message, linked: list[Attachment] | None = None) -> list[str]:
    text = escape(message.body)
    files = [_file_line(a) for a in (message.attachments if linked is None else linked)]
    pieces = split_message("\n".join([text, *files]), TEXT_LIMIT)
    if pieces:
        return pieces
    count = len(message.attachments)
    return [f":paperclip: {count} attachment(s)" if count else "_(empty message)_"]


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
