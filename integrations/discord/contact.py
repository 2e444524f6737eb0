"""Where a customer is reached on Discord: their DMs, or a private thread in the support channel.

A customer whose DMs are closed cannot be written to at all. When DISCORD_SUPPORT_CHANNEL is
set, Threadline then opens a private thread for them in that channel (only they, the bot and
the server's moderators see it) and remembers it in the database as the customer's contact
channel, so that every later delivery goes there, after a restart too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

import discord

from bot.core.domain import Customer, TicketNumber
from bot.core.errors import PlatformError
from bot.core.service import TicketService
from integrations.platforms import DISCORD

log = logging.getLogger(__name__)

Conversation = discord.DMChannel | discord.Thread

THREAD_NAME = "Support for {name}"
# The longest auto-archive; a message sent to an archived (unlocked) thread revives it.
WEEK_MINUTES: Final = 10080
INTRO = (
    "{mention} Your direct messages are closed, so we'll talk here: this thread is private, "
    "between you and the support team."
)


class Contacts:
    """Finds (and when needed opens) the place where each customer is written to."""

    def __init__(
        self,
        client: discord.Client,
        service: TicketService,
        support_channel_id: int | None = None,
    ) -> None:
        self._client = client
        self._service = service
        self.support_channel_id = support_channel_id
        # Opening a DM is one rate-limited route for the whole bot, so each customer's DM
        # channel is remembered: from their own messages (the intake fills this) or once opened.
        self.dms: dict[int, discord.DMChannel] = {}
        self._opening: dict[int, asyncio.Lock] = {}  # one thread opened at a time per customer

    @property
    def opens_threads(self) -> bool:
        return self.support_channel_id is not None

    async def conversation(self, customer: Customer) -> Conversation:
        """Where to write to this customer now."""
        if customer.platform != DISCORD:
            raise PlatformError(
                f"{customer.platform} customers are not on Discord", retryable=False
            )
        if customer.contact_channel is not None:
            return await self.thread(int(customer.contact_channel))
        return await self.dm(int(customer.external_id))

    async def dm(self, user_id: int) -> discord.DMChannel:
        if user_id not in self.dms:
            user = self._client.get_user(user_id) or await self._client.fetch_user(user_id)
            self.dms[user_id] = await user.create_dm()
        return self.dms[user_id]

    async def fresh_dm(self, stale: discord.DMChannel, user_id: int) -> discord.DMChannel:
        """A DM channel with this user other than `stale`, which Discord no longer knows (a
        cached channel gone stale): forgotten, and a new one opened. PlatformError if Discord
        hands back the same dead channel: the customer cannot be reached there."""
        cached = self.dms.get(user_id)
        if cached is not None and cached.id == stale.id:
            del self.dms[user_id]  # else the intake already saw them write from a newer one
        fresh = await self.dm(user_id)
        if fresh.id == stale.id:
            self.dms.pop(user_id, None)
            raise PlatformError(
                f"The DM channel with Discord user {user_id} no longer exists and no other "
                "could be opened",
                retryable=False,
            )
        log.info("DM channel %s with user %s was gone; using %s", stale.id, user_id, fresh.id)
        return fresh

    async def thread(self, thread_id: int) -> discord.Thread:
        found = self._client.get_channel(thread_id)
        if not isinstance(found, discord.Thread):
            found = await self._client.fetch_channel(thread_id)
        if not isinstance(found, discord.Thread):
            raise PlatformError(f"Discord channel {thread_id} is not a thread", retryable=False)
        return found

    def is_support_thread(self, channel_id: int) -> bool:
        """Whether a channel is a thread of the support channel (where contact threads live)."""
        found = self._client.get_channel(channel_id)
        return (
            self.support_channel_id is not None
            and isinstance(found, discord.Thread)
            and found.parent_id == self.support_channel_id
        )

    async def open_thread(self, customer: Customer, number: TicketNumber) -> discord.Thread:
        """The customer's private thread: the one on record, else a new one.

        The form and the delivery queue may both find the customer's DMs closed at once: one
        opens the thread and the other uses it. Between replicas the database decides.
        """
        lock = self._opening.setdefault(customer.id, asyncio.Lock())
        async with lock:
            stored = await self._service.find_customer(customer.platform, customer.external_id)
            if stored is not None and stored.contact_channel is not None:
                return await self.thread(int(stored.contact_channel))
            thread = await self._new_thread(customer, number)
            holder = await self._service.claim_contact_channel(customer, str(thread.id))
            if holder.contact_channel == str(thread.id):
                log.info("Customer %s is now answered in thread %s", customer.id, thread.id)
                return thread
            await _remove(thread)  # another replica opened one first: keep theirs
            assert holder.contact_channel is not None
            return await self.thread(int(holder.contact_channel))

    async def _new_thread(self, customer: Customer, number: TicketNumber) -> discord.Thread:
        assert self.support_channel_id is not None
        parent = self._client.get_channel(self.support_channel_id)
        if parent is None:
            parent = await self._client.fetch_channel(self.support_channel_id)
        if not isinstance(parent, discord.TextChannel):
            raise PlatformError("DISCORD_SUPPORT_CHANNEL is not a text channel", retryable=False)
        thread = await parent.create_thread(
            name=THREAD_NAME.format(name=customer.display_name)[:100],
            type=discord.ChannelType.private_thread,
            invitable=False,  # the customer cannot bring others into their support thread
            auto_archive_duration=WEEK_MINUTES,
            reason=f"Ticket #{number}: the customer's DMs are closed",
        )
        try:
            await thread.add_user(discord.Object(int(customer.external_id)))
        except discord.HTTPException:
            await _remove(thread)  # not in the server (any more): nobody to talk to there
            raise
        await thread.send(INTRO.format(mention=f"<@{customer.external_id}>"))
        return thread


async def _remove(thread: discord.Thread) -> None:
    # Deleting needs MANAGE_THREADS, which the bot may lack; a leftover empty thread is harmless.
    with contextlib.suppress(discord.HTTPException):
        await thread.delete()
