"""The customer's side on Discord: replies (as written or translated), automated answers and
news of their ticket, edits and deletes of what they were sent; in their DMs, or their private
thread once their DMs are closed."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord

from bot.core.delivery import DeliveryJob
from bot.core.dispatcher import joined
from bot.core.domain import Attachment, Message
from bot.core.errors import PlatformError
from bot.core.outbound import (
    AutoAnswered,
    HandedOff,
    TicketClaimed,
    TicketOpened,
    TicketReopened,
    TicketResolved,
    TranslatedEdit,
    TranslatedReply,
)
from bot.core.text import split_message
from integrations.discord import texts
from integrations.discord.contact import Contacts, Conversation
from integrations.discord.errors import CANNOT_MESSAGE_USER, platform_error
from integrations.discord.handoff import hand_off_view
from integrations.discord.nonces import nonce_for
from integrations.discord.survey import survey_text, survey_view
from integrations.discord.views import close_view
from integrations.platforms import DISCORD

log = logging.getLogger(__name__)

CONTENT_LIMIT = 2000  # Discord's limit on a message's content
UPLOAD_LIMIT = 10 * 1024 * 1024  # Discord's default limit on an upload
UNKNOWN_CHANNEL = 10003  # Discord's code for a channel that does not exist (any more)
Fetch = Callable[[str], Awaitable[bytes]]
# One action on the customer's conversation, carried out wherever they are reached.
Carry = Callable[[Conversation], Awaitable[str | None]]
T = TypeVar("T")


class DiscordCustomerChannel:
    """Carries out the customer's lane: messages to the customer, in DMs or their thread."""

    surveys = True  # the survey's rating buttons work in DMs and threads alike

    def __init__(
        self,
        contacts: Contacts,
        team_name: str | None = None,
        fetch: Fetch | None = None,
    ) -> None:
        self._contacts = contacts
        self._fetch = fetch  # how to get the bytes of an agent's file (None: link them)
        self._team_name = team_name  # set: agents reply under the team's name

    async def send_reply(self, job: DeliveryJob) -> str | None:
        return await self._send(job, lambda to: self._reply(to, job, _required(job).body))

    async def send_translated_reply(self, job: DeliveryJob, event: TranslatedReply) -> str | None:
        """The agent's reply in the customer's language, sent as the reply itself would be."""
        return await self._send(job, lambda to: self._reply(to, job, event.text))

    async def send_auto_answer(self, job: DeliveryJob, event: AutoAnswered) -> str | None:
        """An automated answer, marked as one, with "Talk to a person" beneath its last piece."""
        pieces = _automated_pieces(_required(job).body)
        number = job.ticket.number
        return await self._send(
            job, lambda to: _send_pieces(to, job, pieces, view=hand_off_view(number))
        )

    async def handed_off(self, job: DeliveryJob, event: HandedOff) -> str | None:
        """The assistant handed the ticket to a person by itself: the customer is told. A
        customer who pressed the button was told there and then, so nothing is sent."""
        if event.by_customer:
            return None
        return await self._send(job, lambda to: _post(to, job, texts.HANDED_OFF))

    async def ticket_opened(self, job: DeliveryJob, event: TicketOpened) -> str | None:
        number = job.ticket.number
        text = texts.ticket_opened(number, event.due_at)
        return await self._send(job, lambda to: _post(to, job, text, close_view(number)))

    async def ticket_claimed(self, job: DeliveryJob, event: TicketClaimed) -> str | None:
        text = texts.ticket_claimed(job.ticket.number, event.agent, self._team_name)
        return await self._send(job, lambda to: _post(to, job, text))

    async def ticket_resolved(self, job: DeliveryJob, event: TicketResolved) -> str | None:
        text = texts.ticket_resolved(job.ticket.number)
        return await self._send(job, lambda to: _post(to, job, text))

    async def ticket_reopened(self, job: DeliveryJob, event: TicketReopened) -> str | None:
        text = texts.ticket_reopened(job.ticket.number)
        return await self._send(job, lambda to: _post(to, job, text))

    async def ticket_closed(self, job: DeliveryJob) -> str | None:
        text = texts.ticket_closed(job.ticket.number)
        return await self._send(job, lambda to: _post(to, job, text))

    async def awaiting_customer(self, job: DeliveryJob) -> str | None:
        text = texts.awaiting_customer(job.ticket.number)
        return await self._send(job, lambda to: _post(to, job, text))

    async def ask_for_rating(self, job: DeliveryJob) -> str | None:
        number = job.ticket.number
        return await self._send(
            job, lambda to: _post(to, job, survey_text(number), survey_view(number))
        )

    async def copy_edited(self, job: DeliveryJob) -> str | None:
        return await self._amend(job, lambda to: self._edit(to, job))

    async def edit_translated(self, job: DeliveryJob, event: TranslatedEdit) -> str | None:
        """An edited reply, in the customer's language: its pieces follow as for any edit."""
        return await self._amend(job, lambda to: self._edit(to, job, event.text))

    async def copy_deleted(self, job: DeliveryJob) -> str | None:
        return await self._amend(job, lambda to: self._delete(to, _required(job)))

    async def _send(self, job: DeliveryJob, carry: Carry) -> str | None:
        """Send the customer something new: with their DMs closed it goes to a private thread
        (when support threads are on), where they are answered from then on."""
        return await _translated(self._reach(job, carry, moves=True))

    async def _amend(self, job: DeliveryJob, carry: Carry) -> str | None:
        """Act on what the customer was sent before, where it was sent: a thread opened now
        would not hold it."""
        return await _translated(self._reach(job, carry, moves=False))

    async def _reach(self, job: DeliveryJob, carry: Carry, moves: bool) -> str | None:
        channel = await self._contacts.conversation(job.customer)
        try:
            return await self._carry_anew(channel, job, carry)
        except discord.Forbidden as exc:
            if not (moves and self._can_move(channel, exc)):
                raise
        # Their DMs are closed: from now on they are answered in a private thread.
        thread = await self._contacts.open_thread(job.customer, job.ticket.number)
        return await carry(thread)

    async def _carry_anew(
        self, channel: Conversation, job: DeliveryJob, carry: Carry
    ) -> str | None:
        """Carry the action; a DM channel Discord no longer knows (a stale cached one) is
        replaced by a freshly opened one, and the action carried there."""
        try:
            return await carry(channel)
        except discord.NotFound as exc:
            if not isinstance(channel, discord.DMChannel) or exc.code != UNKNOWN_CHANNEL:
                raise
        fresh = await self._contacts.fresh_dm(channel, int(job.customer.external_id))
        return await carry(fresh)

    def _can_move(self, channel: Conversation, exc: discord.Forbidden) -> bool:
        return (
            self._contacts.opens_threads
            and isinstance(channel, discord.DMChannel)
            and exc.code == CANNOT_MESSAGE_USER
        )

    async def _reply(self, channel: Conversation, job: DeliveryJob, body: str) -> str | None:
        """An agent's reply with `body` as its words (as written, or translated) and the
        agent's files; every piece of it, so edits and deletes reach each one."""
        message = _required(job)
        files, linked = await self._files(message)
        pieces = _pieces(message, self._team_name, linked, body)
        return await _send_pieces(channel, job, pieces, files=files)

    async def _files(self, message: Message) -> tuple[list[discord.File], list[Attachment]]:
        """The agent's files as uploads, and those that can only be linked."""
        uploads: list[discord.File] = []
        linked: list[Attachment] = []
        for attachment in message.attachments:
            if not self._uploads(attachment):
                linked.append(attachment)
                continue
            assert self._fetch is not None
            try:
                data = await self._fetch(attachment.url)
            except Exception as exc:
                log.warning("Could not fetch %s (%s); linking it", attachment.filename, exc)
                linked.append(attachment)
                continue
            uploads.append(discord.File(io.BytesIO(data), filename=attachment.filename))
        return uploads, linked

    def _uploads(self, attachment: Attachment) -> bool:
        return self._fetch is not None and attachment.size <= UPLOAD_LIMIT

    async def _edit(
        self, channel: Conversation, job: DeliveryJob, body: str | None = None
    ) -> str | None:
        """Re-split the edited text (`body`: in the customer's language) over the pieces sent
        before: edit those that stay, send what no longer fits, delete what is left over.
        Returns the pieces now showing."""
        message = _required(job)
        copies = _discord_copies(message)
        if not copies:
            return None  # never delivered: nothing to edit
        linked = [a for a in message.attachments if not self._uploads(a)]
        pending = _pieces(message, self._team_name, linked, body)
        showing: list[str] = []
        for copy in copies:
            if not pending:
                await _remove(channel, copy)
            elif await _edited(channel, copy, pending[0]):
                showing.append(str(copy))
                pending.pop(0)
        extra = job.steps_done  # pieces an earlier attempt of this edit sent already
        for index, piece in enumerate(pending[len(extra) :], start=len(extra)):
            extra.append(str((await channel.send(piece, nonce=nonce_for(job, f"e{index}"))).id))
            await job.step_done(extra, len(pending))
        return joined(showing + extra)

    async def _delete(self, channel: Conversation, message: Message) -> None:
        for copy in _discord_copies(message):
            await _remove(channel, copy)


async def _translated(work: Awaitable[T]) -> T:
    """What went wrong as a PlatformError: retryable or not, as Discord's answer says."""
    try:
        return await work
    except PlatformError:
        raise
    except Exception as exc:
        raise platform_error(exc) from exc


async def _send_pieces(
    channel: Conversation,
    job: DeliveryJob,
    pieces: list[str],
    *,
    files: list[discord.File] | None = None,
    view: discord.ui.View | None = None,
) -> str | None:
    """Send the pieces a previous attempt did not: the files with the first, the view with the
    last. All their ids, so edits and deletes reach each one."""
    steps = job.steps_done
    for index in range(len(steps), len(pieces)):
        extras: dict[str, Any] = {}
        if index == 0 and files:
            extras["files"] = files
        if index == len(pieces) - 1 and view is not None:
            extras["view"] = view
        sent = await channel.send(pieces[index], nonce=nonce_for(job, index), **extras)
        steps.append(str(sent.id))
        await job.step_done(steps, len(pieces))  # a retry must not send this piece again
    return joined(steps)


async def _post(
    channel: Conversation, job: DeliveryJob, text: str, view: discord.ui.View | None = None
) -> str:
    nonce = nonce_for(job)
    if view is None:
        sent = await channel.send(text, nonce=nonce)
    else:
        sent = await channel.send(text, view=view, nonce=nonce)
    return str(sent.id)


async def _edited(channel: Conversation, copy: int, text: str) -> bool:
    """Edit one piece; False if it is gone (removed by an earlier, shorter edit)."""
    try:
        await channel.get_partial_message(copy).edit(content=text)
    except discord.NotFound:
        return False
    return True


async def _remove(channel: Conversation, copy: int) -> None:
    with contextlib.suppress(discord.NotFound):  # already gone
        await channel.get_partial_message(copy).delete()


def _required(job: DeliveryJob) -> Message:
    if job.message is None:
        raise PlatformError(f"{job.event.type} without a message", retryable=False)
    return job.message


def _pieces(
    message: Message, team_name: str | None, linked: list[Attachment], body: str | None = None
) -> list[str]:
    files = [_file_line(a) for a in linked]
    text = "\n".join([texts.signed(message, team_name, body), *files])
    return split_message(text, CONTENT_LIMIT)


def _automated_pieces(answer: str) -> list[str]:
    """An automated answer split to fit, marked on its first line: split before marking, as a
    cut at the marker's line break would leave the marker a message of its own."""
    room = CONTENT_LIMIT - len(texts.automated(""))
    first, *rest = split_message(answer, room) or [""]
    return [texts.automated(first), *rest]


def _file_line(attachment: Attachment) -> str:
    return f"📎 {attachment.filename}: {attachment.url}"


def _discord_copies(message: Message) -> list[int]:
    """The Discord messages showing a reply to the customer, in order: one per piece of a split
    reply (copies in an agent workspace on Discord are that workspace's, not these)."""
    return [int(copy) for copy in message.copies(DISCORD) if copy.isdigit()]
