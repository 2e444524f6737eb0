"""Customers' direct messages become ticket messages; their edits and deletions follow.

Discord does not replay DMs sent while the bot was offline, so on every (re)connection the
bot reads each open ticket's DM history after the customer's last recorded message and records
what it missed. Recording is idempotent (Discord message ids are unique keys), so a message seen
twice is stored once.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

import discord

from bot.domain import Attachment, MessageRef, Platform
from bot.errors import CustomerRefused, DomainError
from bot.events import CustomerMessage
from bot.service import TicketService

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
    return (
        message.guild is None
        and not message.author.bot
        and (bot_user is None or message.author.id != bot_user.id)
        and message.type in RELAYED_TYPES
    )


class DiscordIntake:
    def __init__(
        self,
        service: TicketService,
        client: discord.Client,
        dms: dict[int, discord.DMChannel] | None = None,
    ) -> None:
        self._service = service
        self._client = client
        self._dms = dms if dms is not None else {}  # customer id → their DM channel with us

    def register(self) -> None:
        self._client.event(self.on_message)
        self._client.event(self.on_raw_message_edit)
        self._client.event(self.on_raw_message_delete)
        self._client.event(self.on_ready)

    async def on_message(self, message: discord.Message) -> None:
        if not is_from_customer(message, self._client.user):
            return
        if isinstance(message.channel, discord.DMChannel):
            self._dms[message.author.id] = message.channel
        try:
            await self._service.receive_customer_message(customer_message(message))
        except CustomerRefused as refused:
            log.info("Not recorded: %s", refused)
            if refused.reply:  # a blocked customer is not answered at all
                await message.channel.send(refused.reply)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        data: dict[str, Any] = dict(payload.data)  # a partial message: any field may be absent
        if payload.guild_id is not None or "content" not in data:
            return
        if (data.get("author") or {}).get("bot"):
            return
        ref = MessageRef(Platform.DISCORD, str(payload.message_id))
        body = str(data.get("content", ""))
        await self._service.edit_message(ref, body)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.guild_id is not None:
            return
        ref = MessageRef(Platform.DISCORD, str(payload.message_id))
        await self._service.delete_message(ref)

    async def on_ready(self) -> None:
        missed = await self.catch_up()
        if missed:
            log.info("Recorded %d direct message(s) sent while Threadline was away", missed)

    async def catch_up(self) -> int:
        """Record DMs that open tickets' customers sent while the bot was offline."""
        recorded = 0
        for customer, last in await self._service.open_conversations(Platform.DISCORD):
            try:
                user = await self._client.fetch_user(int(customer.external_id))
                channel = await user.create_dm()
                after = discord.Object(int(last)) if last and last.isdigit() else None
                async for message in channel.history(after=after, oldest_first=True, limit=None):
                    if is_from_customer(message, self._client.user):
                        intake = await self._service.receive_customer_message(
                            customer_message(message)
                        )
                        recorded += not intake.duplicate
            except (discord.HTTPException, DomainError) as exc:
                log.warning("Could not catch up with %s: %s", customer.display_name, exc)
        return recorded
