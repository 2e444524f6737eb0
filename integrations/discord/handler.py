"""The customer's side of the delivery queue on Discord: replies, notices, edits, deletes."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Awaitable, Callable

import discord

from bot.delivery import DeliveryJob, DeliveryKind
from bot.domain import Attachment, Customer, Message, Platform
from bot.errors import PlatformError
from bot.text import split_message
from integrations.discord.errors import platform_error
from integrations.discord.survey import survey_text, survey_view
from integrations.discord.texts import notice, signed
from integrations.discord.views import close_view

log = logging.getLogger(__name__)

CONTENT_LIMIT = 2000  # Discord's limit on a message's content
UPLOAD_LIMIT = 10 * 1024 * 1024  # Discord's default limit on an upload
Fetch = Callable[[str], Awaitable[bytes]]


class DiscordDeliveryHandler:
    """Carries out the customer's lane: direct messages with the customer."""

    def __init__(
        self,
        client: discord.Client,
        team_name: str | None = None,
        dms: dict[int, discord.DMChannel] | None = None,
        fetch: Fetch | None = None,
    ) -> None:
        self._client = client
        self._fetch = fetch  # how to get the bytes of an agent's file (None: link them)
        self._team_name = team_name  # set: agents reply under the team's name
        # Opening a DM is one rate-limited route for the whole bot, so each customer's DM
        # channel is remembered: from their own messages (the intake fills this) or once opened.
        self._dms = dms if dms is not None else {}

    async def deliver(self, job: DeliveryJob) -> str | None:
        try:
            return await self._deliver(job)
        except PlatformError:
            raise
        except Exception as exc:
            raise platform_error(exc) from exc

    async def _deliver(self, job: DeliveryJob) -> str | None:
        channel = await self._dm(job.customer)
        match job.delivery.kind:
            case DeliveryKind.AGENT_REPLY:
                return await self._reply(channel, job)
            case DeliveryKind.CUSTOMER_NOTICE:
                return await self._notice(channel, job)
            case DeliveryKind.COPY_EDIT:
                await self._edit(channel, _required(job))
                return None
            case DeliveryKind.COPY_DELETE:
                await self._delete(channel, _required(job))
                return None
            case other:
                raise PlatformError(f"Discord cannot carry a {other} delivery", retryable=False)

    async def _notice(self, channel: discord.DMChannel, job: DeliveryJob) -> str:
        payload = job.delivery.payload
        number = job.ticket.number
        match payload.get("event"):
            case "opened":
                sent = await channel.send(notice(job.ticket, payload), view=close_view(number))
            case "survey":
                sent = await channel.send(survey_text(number), view=survey_view(number))
            case _:
                sent = await channel.send(notice(job.ticket, payload))
        return str(sent.id)

    async def _dm(self, customer: Customer) -> discord.DMChannel:
        if customer.platform is not Platform.DISCORD:
            raise PlatformError(
                f"{customer.platform} customers are not on Discord", retryable=False
            )
        user_id = int(customer.external_id)
        if user_id not in self._dms:
            user = self._client.get_user(user_id) or await self._client.fetch_user(user_id)
            self._dms[user_id] = await user.create_dm()
        return self._dms[user_id]

    async def _reply(self, channel: discord.DMChannel, job: DeliveryJob) -> str:
        message = _required(job)
        files, linked = await self._files(message)
        steps = job.steps_done
        pieces = _pieces(message, self._team_name, linked)
        for piece in pieces[len(steps) :]:
            if not steps and files:
                sent = await channel.send(piece, files=files)
            else:
                sent = await channel.send(piece)
            steps.append(str(sent.id))
            await job.step_done(steps, len(pieces))  # a retry must not send this piece again
        return steps[0]

    async def _files(self, message: Message) -> tuple[list[discord.File], list[Attachment]]:
        """The agent's files as uploads, and those that can only be linked."""
        uploads: list[discord.File] = []
        linked: list[Attachment] = []
        for attachment in message.attachments:
            if self._fetch is None or attachment.size > UPLOAD_LIMIT:
                linked.append(attachment)
                continue
            try:
                data = await self._fetch(attachment.url)
            except Exception as exc:
                log.warning("Could not fetch %s (%s); linking it", attachment.filename, exc)
                linked.append(attachment)
                continue
            uploads.append(discord.File(io.BytesIO(data), filename=attachment.filename))
        return uploads, linked

    async def _edit(self, channel: discord.DMChannel, message: Message) -> None:
        copy = _discord_copy(message)
        if copy is not None:
            text = _pieces(message, self._team_name)[0]
            await channel.get_partial_message(copy).edit(content=text)

    async def _delete(self, channel: discord.DMChannel, message: Message) -> None:
        copy = _discord_copy(message)
        if copy is None:
            return
        with contextlib.suppress(discord.NotFound):  # already gone
            await channel.get_partial_message(copy).delete()


def _required(job: DeliveryJob) -> Message:
    if job.message is None:
        raise PlatformError(f"{job.delivery.kind} without a message", retryable=False)
    return job.message


def _pieces(
    message: Message, team_name: str | None, linked: list[Attachment] | None = None
) -> list[str]:
    files = [_file_line(a) for a in (message.attachments if linked is None else linked)]
    text = "\n".join([signed(message, team_name), *files])
    return split_message(text, CONTENT_LIMIT)


def _file_line(attachment: Attachment) -> str:
    return f"📎 {attachment.filename}: {attachment.url}"


def _discord_copy(message: Message) -> int | None:
    for ref in message.refs:
        if ref.platform is Platform.DISCORD and ref.external_id.isdigit():
            return int(ref.external_id)
    return None
