"""The ticket threads of the Discord agent workspace: each ticket's card and thread made (or
adopted, after an attempt cut off before it was recorded), found, made again with its history
when someone deleted it, archived while the ticket is resolved, and room made for it when the
server holds its maximum of active threads.

A forum's post is a thread whose starter message is the card; in a text channel the card is a
message in the channel and the thread is started from it. Either way the thread's id is the
card's id, which is the ticket's card ref in this workspace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import discord

from bot.core.delivery import DeliveryJob
from bot.core.domain import Message, Status, TicketId
from bot.core.errors import PlatformError
from integrations.discord import staff_texts as st
from integrations.discord.nonces import nonce_for
from integrations.discord.staff import STAFF_WORKSPACE, StaffPlace
from integrations.discord.staff_controls import card_view

log = logging.getLogger(__name__)

THREAD_ARCHIVED = 50083  # Discord: the thread is archived (an edit there is refused)
# Discord's answers when a ticket's thread (a forum post) or its card was deleted.
THREAD_GONE = frozenset({10003, 10008})  # unknown channel, unknown message
TOO_MANY_THREADS = 160006  # Discord: the server holds its maximum of active threads
# A ticket in these is done with: its thread is archived (Discord counts only active threads).
DONE = frozenset({Status.RESOLVED, Status.CLOSED})
# Nothing a workspace post says may ping anyone but whom Threadline means to.
QUIET = discord.AllowedMentions.none()
T = TypeVar("T")


class ThreadKeeper(Protocol):
    """What re-creating a lost thread needs from the core (TicketService provides it)."""

    async def messages_shown_on(self, ticket_id: TicketId, workspace: str) -> list[Message]: ...

    async def move_card(self, ticket_id: TicketId, ref: str, workspace: str) -> None: ...


class StaffThreads:
    """Where each ticket's card and thread are in the staff channel, kept so."""

    def __init__(
        self,
        client: discord.Client,
        place: StaffPlace,
        *,
        ai: bool = False,
        threads: ThreadKeeper | None = None,
    ) -> None:
        self.name = STAFF_WORKSPACE
        self._client = client
        self._place = place
        self._ai = ai  # the cards carry a Summary button
        self._threads = threads  # None: a lost thread is not re-created (the send fails)
        # Threads re-created by this process, old id -> new: the parts of a delivery still to
        # send after the move go to the new thread (its job still names the old one).
        self._moved: dict[str, str] = {}

    async def card(self, job: DeliveryJob) -> str:
        embed = st.card_embed(job.ticket, job.customer)
        view = card_view(job.ticket, summary=self._ai)
        if job.card is None:
            return await self.new_card(job, embed, view)
        card = self._moved.get(job.card, job.card)
        thread_id = int(card)
        try:
            await self.card_message(thread_id).edit(embed=embed, view=view)
        except discord.HTTPException as exc:
            if exc.code in THREAD_GONE and self._threads is not None:
                return await self.new_thread(job)
            if exc.code != THREAD_ARCHIVED:
                raise
            await self.archive(thread_id, False)
            await self.card_message(thread_id).edit(embed=embed, view=view)
        # A resolved ticket's thread is archived: Discord counts only active threads against
        # its 1,000 per server; a message there (or a reopen's card) brings it back.
        if job.ticket.status in DONE:
            await self.archive(thread_id, True)
        return card

    async def new_thread(self, job: DeliveryJob) -> str:
        """The ticket's thread is gone (someone deleted the post): a new card and thread, and
        in it the lost thread's recent history, so agents go on where they were."""
        assert self._threads is not None
        old = job.card
        log.warning("Discord thread of ticket #%s is gone; re-creating it", job.ticket.number)
        embed = st.card_embed(job.ticket, job.customer)
        ref = await self.new_card(job, embed, card_view(job.ticket, summary=self._ai))
        if old:
            self._moved[old] = ref
        # Recorded before anything else is posted: agents' messages in the new thread must
        # find the ticket, and a retry must not make yet another card.
        await self._threads.move_card(job.ticket.id, ref, self.name)
        shown = await self._threads.messages_shown_on(job.ticket.id, self.name)
        current = job.message.id if job.message is not None else None
        channel = self._client.get_partial_messageable(int(ref))
        for piece in st.history_text([m for m in shown if m.id != current]):
            await channel.send(piece, allowed_mentions=QUIET)
        return ref

    async def new_card(self, job: DeliveryJob, embed: discord.Embed, view: discord.ui.View) -> str:
        return await self.with_room(lambda: self.create(job, embed, view))

    async def create(self, job: DeliveryJob, embed: discord.Embed, view: discord.ui.View) -> str:
        channel = await self.staff_channel()
        earlier = self.made_before(channel, job)
        if earlier is not None:
            # Made by an attempt that stopped before it was recorded (a crash): adopted, so
            # the ticket never has two posts, and its card drawn as the ticket is now.
            log.info("Ticket #%s: adopting its thread %s", job.ticket.number, earlier)
            await self.card_message(int(earlier)).edit(embed=embed, view=view)
            return earlier
        name = st.thread_name(job.ticket)
        if isinstance(channel, discord.ForumChannel):
            post = await channel.create_thread(
                name=name, embed=embed, view=view, allowed_mentions=QUIET
            )
            return str(post.thread.id)
        if not isinstance(channel, discord.TextChannel):
            raise PlatformError(
                "DISCORD_STAFF_CHANNEL is neither a forum nor a text channel", retryable=False
            )
        card = await channel.send(embed=embed, view=view, allowed_mentions=QUIET)
        await card.create_thread(name=name)
        return str(card.id)

    def made_before(self, channel: object, job: DeliveryJob) -> str | None:
        """A thread of the staff channel the bot made for this ticket (its name starts with the
        ticket's number), as discord.py's cache knows the channel's active threads."""
        threads = getattr(channel, "threads", [])
        me = self._client.user
        prefix = st.thread_name(job.ticket).split(" ", 1)[0] + " "
        for thread in threads:
            if me is not None and thread.owner_id == me.id and thread.name.startswith(prefix):
                return str(thread.id)
        return None

    async def staff_channel(self) -> Any:
        channel = self._client.get_channel(self._place.channel_id)
        if channel is None:
            channel = await self._client.fetch_channel(self._place.channel_id)
        return channel

    def card_message(self, thread_id: int) -> discord.PartialMessage:
        """The card: a forum post's starter message lives in its thread, a text channel's
        card in the channel (both have the thread's id)."""
        where = self._client.get_channel(self._place.channel_id)
        in_thread = not isinstance(where, discord.TextChannel)
        channel_id = thread_id if in_thread else self._place.channel_id
        return self._client.get_partial_messageable(channel_id).get_partial_message(thread_id)

    async def archive(self, thread_id: int, archived: bool) -> None:
        thread = self._client.get_channel(thread_id)
        if not isinstance(thread, discord.Thread):
            fetched = await self._client.fetch_channel(thread_id)
            if not isinstance(fetched, discord.Thread):
                return
            thread = fetched
        if thread.archived == archived:
            return
        if archived:
            await thread.edit(archived=True)
        else:  # an active thread more: there may be no room for it
            await self.with_room(lambda: thread.edit(archived=False))

    async def with_room(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call`, once more after archiving the staff channel's least recently active thread
        when the server holds its maximum of active threads (a thread that is written in again
        comes back by itself). Only open tickets' threads are active: a resolved one's is
        archived at once."""
        try:
            return await call()
        except discord.HTTPException as exc:
            if exc.code != TOO_MANY_THREADS or not await self.make_room():
                raise
        return await call()

    async def make_room(self) -> bool:
        guild = self._client.get_guild(self._place.guild_id)
        if guild is None:
            guild = await self._client.fetch_guild(self._place.guild_id)
        ours = [t for t in await guild.active_threads() if t.parent_id == self._place.channel_id]
        if not ours:
            return False
        quietest = min(ours, key=lambda t: t.last_message_id or t.id)
        log.warning(
            "Discord: the server holds its maximum of active threads; archiving the quietest "
            "ticket thread (%s) to make room",
            quietest.id,
        )
        await quietest.edit(archived=True)
        return True

    def thread(self, job: DeliveryJob) -> discord.PartialMessageable:
        if job.card is None:
            raise PlatformError(
                f"Ticket #{job.ticket.number} has no thread in the Discord staff channel",
                retryable=True,
            )
        return self._client.get_partial_messageable(int(self._moved.get(job.card, job.card)))

    async def send(
        self,
        job: DeliveryJob,
        text: str | None = None,
        *,
        embeds: Sequence[discord.Embed] = (),
        view: discord.ui.View | None = None,
        mentions: discord.AllowedMentions = QUIET,
        step: int = 0,
    ) -> str:
        """One post in the ticket's thread (a message there unarchives it: a resolved ticket's
        thread is archived again after it). `step`: which of the delivery's sends it is (its
        nonce: a resend after a crash is the same post)."""
        args: dict[str, Any] = {"allowed_mentions": mentions, "nonce": nonce_for(job, step)}
        if embeds:
            args["embeds"] = list(embeds)
        if view is not None:
            args["view"] = view
        thread = self.thread(job)
        try:
            sent = await self.with_room(lambda: thread.send(text, **args))
        except discord.NotFound as exc:
            if exc.code not in THREAD_GONE or self._threads is None:
                raise
            await self.new_thread(job)
            thread = self.thread(job)
            sent = await thread.send(text, **args)
        if job.ticket.status in DONE:
            await self.rearchive(thread.id)
        return str(sent.id)

    async def rearchive(self, thread_id: int) -> None:
        """Archive a resolved ticket's thread again after a post. The post is made: a failure
        here must not have it sent twice, so it is only logged (the next card redraw retries)."""
        try:
            await self.archive(thread_id, True)
        except discord.HTTPException as exc:
            log.warning("Could not archive thread %s again: %s", thread_id, exc)
