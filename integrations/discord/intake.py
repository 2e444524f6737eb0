"""Customers' messages become ticket messages; their edits and deletions follow.

Customers write in DMs, or, when their DMs are closed, in their private support thread. The
thread's messages are taken in only from the customer it belongs to (per the database).

Discord does not replay messages sent while the bot was offline, so on every (re)connection
the bot reads each open ticket's conversation after the customer's last recorded message and
records what it missed, each message on its own: one it refuses (blank, too many files) is
answered as it would have been live, and the rest are still recorded. Recording is idempotent
(Discord message ids are unique keys), so a message seen twice is stored once.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

import discord

from bot.domain import Attachment, Customer, MessageRef, Platform
from bot.errors import CustomerRefused, ThreadlineError
from bot.events import CustomerMessage
from bot.service import TicketService
from integrations.discord.contact import Contacts, Conversation

log = logging.getLogger(__name__)

RELAYED_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})


def customer_message(message: discord.Message) -> CustomerMessage:
    author = message.author
    return CustomerMessage(
        platform=Platform.DISCORD,
        message_id=str(message.id),
        customer_id=str(author.id),
        customer_name=author.global_name or author.name,
        body=message.content,
        sent_at=message.created_at.astimezone(UTC),
        attachments=tuple(
            Attachment(a.filename, a.url, a.size, a.content_type) for a in message.attachments
        ),
        customer_avatar_url=author.display_avatar.url,
    )


def is_from_customer(message: discord.Message, bot_user: discord.ClientUser | None) -> bool:
    """A person's own message (not the bot's, not a system message), wherever it was sent."""
    return (
        not message.author.bot
        and (bot_user is None or message.author.id != bot_user.id)
        and message.type in RELAYED_TYPES
    )


class DiscordIntake:
    def __init__(self, service: TicketService, client: discord.Client, contacts: Contacts) -> None:
        self._service = service
        self._client = client
        self._contacts = contacts

    def register(self) -> None:
        self._client.event(self.on_message)
        self._client.event(self.on_raw_message_edit)
        self._client.event(self.on_raw_message_delete)
        self._client.event(self.on_ready)

    async def on_message(self, message: discord.Message) -> None:
        if not is_from_customer(message, self._client.user):
            return
        if isinstance(message.channel, discord.DMChannel):
            self._contacts.dms[message.author.id] = message.channel
        elif not await self._in_own_thread(message):
            return  # the server's other channels are none of Threadline's business
        await self._take(message)

    async def _in_own_thread(self, message: discord.Message) -> bool:
        if not self._contacts.is_support_thread(message.channel.id):
            return False
        customer = await self._service.find_customer(Platform.DISCORD, str(message.author.id))
        return customer is not None and customer.contact_channel == str(message.channel.id)

    async def _take(self, message: discord.Message, answered: frozenset[str] = frozenset()) -> bool:
        """Record one message; a refusal is answered (unless `answered` holds that answer
        already). False when it was not recorded."""
        try:
            intake = await self._service.receive_customer_message(customer_message(message))
        except CustomerRefused as refused:
            log.info("Not recorded: %s", refused)
            if refused.reply and refused.reply not in answered:  # blocked: not answered at all
                await _answer(message, refused.reply)
            return False
        return not intake.duplicate

    def _followed(self, channel_id: int | None, guild_id: int | None) -> bool:
        """Edits and deletions that may concern a recorded message: DMs and support threads."""
        if guild_id is None:
            return True
        return channel_id is not None and self._contacts.is_support_thread(channel_id)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        data: dict[str, Any] = dict(payload.data)  # a partial message: any field may be absent
        if not self._followed(payload.channel_id, payload.guild_id) or "content" not in data:
            return
        if (data.get("author") or {}).get("bot"):
            return
        ref = MessageRef(Platform.DISCORD, str(payload.message_id))
        body = str(data.get("content", ""))
        await self._service.edit_message(ref, body)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if not self._followed(payload.channel_id, payload.guild_id):
            return
        ref = MessageRef(Platform.DISCORD, str(payload.message_id))
        # Only the customer's own: the bot's deletions (of a reply's pieces) come back here too.
        await self._service.delete_customer_message(ref)

    async def on_ready(self) -> None:
        missed = await self.catch_up()
        if missed:
            log.info("Recorded %d message(s) sent while Threadline was away", missed)

    async def catch_up(self) -> int:
        """Record what open tickets' customers sent while the bot was offline."""
        recorded = 0
        for customer, last in await self._service.open_conversations(Platform.DISCORD):
            try:
                recorded += await self._catch_up_with(customer, last)
            except (discord.HTTPException, ThreadlineError) as exc:
                # Stopped at this message: the next start tries again from it.
                log.warning("Could not catch up with %s: %s", customer.display_name, exc)
        return recorded

    async def _catch_up_with(self, customer: Customer, last: str | None) -> int:
        missed = await self._missed(customer, last)
        recorded = 0
        for i, message in enumerate(missed):
            if message.author.id != int(customer.external_id):
                continue  # the bot's own, or a moderator's in the customer's thread
            if not is_from_customer(message, self._client.user):
                continue
            # A refusal the bot already sent after it (live, or at an earlier start) is not
            # sent again.
            answered = frozenset(m.content for m in missed[i + 1 :] if m.author.bot)
            recorded += await self._take(message, answered)
        return recorded

    async def _missed(self, customer: Customer, last: str | None) -> list[discord.Message]:
        """Everything after `last` where the customer writes to us, oldest first."""
        # A /support request is recorded under its interaction's id: a snowflake too.
        mark = (last or "").removeprefix("interaction:")
        after = discord.Object(int(mark)) if mark.isdigit() else None
        places: list[Conversation] = [await self._contacts.dm(int(customer.external_id))]
        if customer.contact_channel is not None:
            places.append(await self._contacts.conversation(customer))
        found: list[discord.Message] = []
        for place in places:
            found += [m async for m in place.history(after=after, oldest_first=True, limit=None)]
        return sorted(found, key=lambda m: m.id)


async def _answer(message: discord.Message, text: str) -> None:
    # An answer that cannot be sent (DMs closed since) must not stop what comes after it.
    try:
        await message.channel.send(text)
    except discord.HTTPException as exc:
        log.warning("Could not answer message %s: %s", message.id, exc)
