"""The agent workspace in Discord: each ticket a thread in the staff channel, its card an embed
edited in place, the conversation and the team's news posted in the thread (written in
staff_texts.py), the thread archived while the ticket is resolved.

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
from bot.core.digest import Digest
from bot.core.dispatcher import joined
from bot.core.domain import Direction, Message, Status, TicketId
from bot.core.errors import PlatformError
from bot.core.outbound import (
    Audience,
    AutoAnswered,
    DeliveryFailed,
    DraftOffered,
    DraftSettled,
    FollowsUp,
    HandedOff,
    LegacyLine,
    ReplyTranslated,
    SlaBreached,
    SlaReminder,
    SummaryShown,
    SurveyAnswered,
    TicketAssigned,
    TicketEscalated,
    TicketReopened,
    TicketResolved,
    TranslationShown,
)
from integrations.discord import staff_lines as sl
from integrations.discord import staff_texts as st
from integrations.discord.errors import platform_error
from integrations.discord.staff import STAFF_WORKSPACE, StaffPlace
from integrations.discord.staff_controls import card_view, draft_view
from integrations.platforms import DISCORD

log = logging.getLogger(__name__)

DELIVERED = "✅"
FAILED = "⚠️"
THREAD_ARCHIVED = 50083  # Discord: the thread is archived (an edit there is refused)
# Discord's answers when a ticket's thread (a forum post) or its card was deleted.
THREAD_GONE = frozenset({10003, 10008})  # unknown channel, unknown message
TOO_MANY_THREADS = 160006  # Discord: the server holds its maximum of active threads
# A ticket in these is done with: its thread is archived (Discord counts only active threads).
DONE = frozenset({Status.RESOLVED, Status.CLOSED})
# Nothing a workspace post says may ping anyone but whom Threadline means to.
QUIET = discord.AllowedMentions.none()
T = TypeVar("T")


async def _translated(work: Awaitable[T]) -> T:
    """Whatever goes wrong as the PlatformError the dispatcher understands."""
    try:
        return await work
    except PlatformError:
        raise
    except discord.HTTPException as exc:
        if exc.code == TOO_MANY_THREADS:
            raise PlatformError(
                "The Discord server holds its maximum of 1,000 active threads; the ticket's "
                "thread waits until one is archived (resolved tickets' threads are)",
                retryable=True,
                retry_after=60,
            ) from exc
        raise platform_error(exc) from exc
    except Exception as exc:
        raise platform_error(exc) from exc


class ThreadKeeper(Protocol):
    """What re-creating a lost thread needs from the core (TicketService provides it)."""

    async def messages_shown_on(self, ticket_id: TicketId, workspace: str) -> list[Message]: ...

    async def move_card(self, ticket_id: TicketId, ref: str, workspace: str) -> None: ...


class DiscordWorkspace:
    """The agents' side of every ticket in the staff channel."""

    platform = DISCORD

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

    # --- the AgentWorkspace port ------------------------------------------------------

    async def show_card(self, job: DeliveryJob) -> str | None:
        return await _translated(self._card(job))

    async def show_customer_message(self, job: DeliveryJob) -> str | None:
        message = _required(job)
        embeds = st.customer_embeds(message, job.customer)
        return await _translated(self._send(job, embeds=embeds))

    async def show_agent_message(self, job: DeliveryJob) -> str | None:
        message = _required(job)
        return await _translated(self._pieces(job, st.agent_copy(message, _written_in(message))))

    async def show_follow_up(self, job: DeliveryJob, event: FollowsUp) -> str | None:
        return await _translated(self._send(job, sl.follow_up_line(event)))

    async def ticket_escalated(self, job: DeliveryJob, event: TicketEscalated) -> str | None:
        line = sl.move_line(event)
        if event.audience is Audience.ESCALATIONS:
            return await _translated(self._to_leads(job, line))
        return await _translated(self._send(job, line))

    async def ticket_assigned(self, job: DeliveryJob, event: TicketAssigned) -> str | None:
        return await _translated(self._send(job, sl.move_line(event)))

    async def ticket_resolved(self, job: DeliveryJob, event: TicketResolved) -> str | None:
        return await _translated(self._send(job, sl.move_line(event)))

    async def ticket_reopened(self, job: DeliveryJob, event: TicketReopened) -> str | None:
        return await _translated(self._send(job, sl.move_line(event)))

    async def reply_delivered(self, job: DeliveryJob) -> str | None:
        await _translated(self._react(job, DELIVERED))
        return None

    async def delivery_failed(self, job: DeliveryJob, event: DeliveryFailed) -> str | None:
        await _translated(self._react(job, FAILED))
        return await _translated(self._send(job, sl.failed_line(job.customer, event)))

    async def sla_reminder(self, job: DeliveryJob, event: SlaReminder) -> str | None:
        return await _translated(self._reminder(job, event))

    async def sla_breached(self, job: DeliveryJob, event: SlaBreached) -> str | None:
        if event.audience is Audience.LEADS:
            text = sl.sla_text(
                job.ticket, job.customer, event, self._link(job), self._place.leads_role
            )
            return await _translated(self._to_leads(job, text, ping_leads=True))
        text = sl.sla_text(job.ticket, job.customer, event, None)
        return await _translated(self._send(job, text))

    async def survey_answered(self, job: DeliveryJob, event: SurveyAnswered) -> str | None:
        if event.audience is Audience.LEADS:
            text = sl.csat_text(job.ticket, event, self._link(job))
            return await _translated(self._to_leads(job, text))
        return await _translated(self._send(job, sl.csat_text(job.ticket, event, None)))

    async def legacy_line(self, job: DeliveryJob, event: LegacyLine) -> str | None:
        text = st.clip(st.escape(event.text), st.CONTENT_LIMIT)
        if event.audience is not Audience.THREAD:
            return await _translated(self._to_leads(job, text))
        return await _translated(self._send(job, text))

    async def copy_edited(self, job: DeliveryJob) -> str | None:
        await _translated(self._redraw(job))
        return None

    async def copy_deleted(self, job: DeliveryJob) -> str | None:
        await _translated(self._redraw(job))
        return None

    async def send_digest(self, digest: Digest) -> None:
        """The leads' daily digest, in the leads' channel (none: Discord's leads get none)."""
        if self._place.leads_channel is None:
            return
        channel = self._client.get_partial_messageable(self._place.leads_channel)
        for piece in sl.digest_text(digest):
            await _translated(channel.send(piece, allowed_mentions=QUIET))

    async def show_summary(self, job: DeliveryJob, event: SummaryShown) -> str | None:
        return await _translated(self._pieces(job, sl.summary_text(event)))

    async def offer_draft(self, job: DeliveryJob, event: DraftOffered) -> str | None:
        view = draft_view(event.draft_id) if event.draft_id is not None else None
        return await _translated(self._pieces(job, sl.draft_text(event), view=view))

    async def draft_settled(self, job: DeliveryJob, event: DraftSettled) -> str | None:
        """The draft's post, its buttons giving way to who decided it (a post that is gone is
        left alone)."""
        return await _translated(self._settle_draft(job, event))

    async def _settle_draft(self, job: DeliveryJob, event: DraftSettled) -> None:
        try:
            post = await self._thread(job).fetch_message(int(event.post))
            settled = sl.settled_text(post.content, event.status, event.by)
            await post.edit(content=settled, view=None, allowed_mentions=QUIET)
        except discord.NotFound:
            log.info("Draft %s's post is gone; not redrawn", event.draft_id)

    async def show_translation(self, job: DeliveryJob, event: TranslationShown) -> str | None:
        """The customer's message redrawn with its translation beneath."""
        message = _required(job)
        embeds = st.customer_embeds(message, job.customer, event)
        copies = message.copies(DISCORD, self.name)
        if not copies or job.card is None:
            return None
        await _translated(self._edit(job, int(copies[0]), embeds=embeds))
        return copies[0]

    async def reply_translated(self, job: DeliveryJob, event: ReplyTranslated) -> str | None:
        return await _translated(self._send(job, sl.reply_translated_text(event)))

    async def show_auto_answer(self, job: DeliveryJob, event: AutoAnswered) -> str | None:
        return await _translated(self._pieces(job, sl.auto_answer_text(_required(job), event)))

    async def handed_off(self, job: DeliveryJob, event: HandedOff) -> str | None:
        return await _translated(self._send(job, sl.handed_off_line(job.ticket, event)))

    # --- how it is done in Discord ----------------------------------------------------

    async def _card(self, job: DeliveryJob) -> str:
        embed = st.card_embed(job.ticket, job.customer)
        view = card_view(job.ticket, summary=self._ai)
        if job.card is None:
            return await self._new_card(job, embed, view)
        card = self._moved.get(job.card, job.card)
        thread_id = int(card)
        try:
            await self._card_message(thread_id).edit(embed=embed, view=view)
        except discord.HTTPException as exc:
            if exc.code in THREAD_GONE and self._threads is not None:
                return await self._new_thread(job)
            if exc.code != THREAD_ARCHIVED:
                raise
            await self._archive(thread_id, False)
            await self._card_message(thread_id).edit(embed=embed, view=view)
        # A resolved ticket's thread is archived: Discord counts only active threads against
        # its 1,000 per server; a message there (or a reopen's card) brings it back.
        if job.ticket.status in DONE:
            await self._archive(thread_id, True)
        return card

    async def _new_thread(self, job: DeliveryJob) -> str:
        """The ticket's thread is gone (someone deleted the post): a new card and thread, and
        in it the lost thread's recent history, so agents go on where they were."""
        assert self._threads is not None
        old = job.card
        log.warning("Discord thread of ticket #%s is gone; re-creating it", job.ticket.number)
        embed = st.card_embed(job.ticket, job.customer)
        ref = await self._new_card(job, embed, card_view(job.ticket, summary=self._ai))
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

    async def _new_card(self, job: DeliveryJob, embed: discord.Embed, view: discord.ui.View) -> str:
        return await self._with_room(lambda: self._create(job, embed, view))

    async def _create(self, job: DeliveryJob, embed: discord.Embed, view: discord.ui.View) -> str:
        channel = await self._staff_channel()
        earlier = self._made_before(channel, job)
        if earlier is not None:
            # Made by an attempt that stopped before it was recorded (a crash): adopted, so
            # the ticket never has two posts, and its card drawn as the ticket is now.
            log.info("Ticket #%s: adopting its thread %s", job.ticket.number, earlier)
            await self._card_message(int(earlier)).edit(embed=embed, view=view)
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

    def _made_before(self, channel: object, job: DeliveryJob) -> str | None:
        """A thread of the staff channel the bot made for this ticket (its name starts with the
        ticket's number), as discord.py's cache knows the channel's active threads."""
        threads = getattr(channel, "threads", [])
        me = self._client.user
        prefix = st.thread_name(job.ticket).split(" ", 1)[0] + " "
        for thread in threads:
            if me is not None and thread.owner_id == me.id and thread.name.startswith(prefix):
                return str(thread.id)
        return None

    async def _staff_channel(self) -> Any:
        channel = self._client.get_channel(self._place.channel_id)
        if channel is None:
            channel = await self._client.fetch_channel(self._place.channel_id)
        return channel

    def _card_message(self, thread_id: int) -> discord.PartialMessage:
        """The card: a forum post's starter message lives in its thread, a text channel's
        card in the channel (both have the thread's id)."""
        where = self._client.get_channel(self._place.channel_id)
        in_thread = not isinstance(where, discord.TextChannel)
        channel_id = thread_id if in_thread else self._place.channel_id
        return self._client.get_partial_messageable(channel_id).get_partial_message(thread_id)

    async def _archive(self, thread_id: int, archived: bool) -> None:
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
            await self._with_room(lambda: thread.edit(archived=False))

    async def _with_room(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call`, once more after archiving the staff channel's least recently active thread
        when the server holds its maximum of active threads (a thread that is written in again
        comes back by itself). Only open tickets' threads are active: a resolved one's is
        archived at once."""
        try:
            return await call()
        except discord.HTTPException as exc:
            if exc.code != TOO_MANY_THREADS or not await self._make_room():
                raise
        return await call()

    async def _make_room(self) -> bool:
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

    def _thread(self, job: DeliveryJob) -> discord.PartialMessageable:
        if job.card is None:
            raise PlatformError(
                f"Ticket #{job.ticket.number} has no thread in the Discord staff channel",
                retryable=True,
            )
        return self._client.get_partial_messageable(int(self._moved.get(job.card, job.card)))

    async def _send(
        self,
        job: DeliveryJob,
        text: str | None = None,
        *,
        embeds: Sequence[discord.Embed] = (),
        view: discord.ui.View | None = None,
        mentions: discord.AllowedMentions = QUIET,
    ) -> str:
        """One post in the ticket's thread (a message there unarchives it: a resolved ticket's
        thread is archived again after it)."""
        args: dict[str, Any] = {"allowed_mentions": mentions}
        if embeds:
            args["embeds"] = list(embeds)
        if view is not None:
            args["view"] = view
        thread = self._thread(job)
        try:
            sent = await self._with_room(lambda: thread.send(text, **args))
        except discord.NotFound as exc:
            if exc.code not in THREAD_GONE or self._threads is None:
                raise
            await self._new_thread(job)
            thread = self._thread(job)
            sent = await thread.send(text, **args)
        if job.ticket.status in DONE:
            await self._rearchive(thread.id)
        return str(sent.id)

    async def _rearchive(self, thread_id: int) -> None:
        """Archive a resolved ticket's thread again after a post. The post is made: a failure
        here must not have it sent twice, so it is only logged (the next card redraw retries)."""
        try:
            await self._archive(thread_id, True)
        except discord.HTTPException as exc:
            log.warning("Could not archive thread %s again: %s", thread_id, exc)

    async def _pieces(
        self, job: DeliveryJob, pieces: list[str], *, view: discord.ui.View | None = None
    ) -> str | None:
        """Several posts; a retry sends only those not sent (the view goes with the last)."""
        steps = job.steps_done
        for index in range(len(steps), len(pieces)):
            last = index == len(pieces) - 1
            steps.append(await self._send(job, pieces[index], view=view if last else None))
            await job.step_done(steps, len(pieces))
        return joined(steps)

    async def _edit(self, job: DeliveryJob, message_id: int, **args: Any) -> None:
        await self._thread(job).get_partial_message(message_id).edit(**args)

    async def _redraw(self, job: DeliveryJob) -> None:
        """A message edited or deleted elsewhere: its copy here follows (a customer's embed,
        or the first piece of an agent's copy, the rest emptied)."""
        message = _required(job)
        copies = [int(c) for c in message.copies(DISCORD, self.name) if c.isdigit()]
        if not copies or job.card is None:
            return
        try:
            if message.direction is Direction.FROM_CUSTOMER:
                await self._edit(job, copies[0], embeds=st.customer_embeds(message, job.customer))
                return
            pieces = st.agent_copy(message, _written_in(message))
            for copy, piece in zip(copies, [*pieces, *["\u200b"] * len(copies)], strict=False):
                await self._edit(job, copy, content=piece, allowed_mentions=QUIET)
        except discord.NotFound:
            log.info("The copy of message %s is gone; not redrawn", message.id)

    async def _react(self, job: DeliveryJob, emoji: str) -> None:
        message = job.message
        copies = message.copies(DISCORD, self.name) if message is not None else []
        if not copies or job.card is None:
            return
        try:
            await self._thread(job).get_partial_message(int(copies[-1])).add_reaction(emoji)
        except discord.NotFound:
            log.info("The message to mark is gone; not marked")

    async def _reminder(self, job: DeliveryJob, event: SlaReminder) -> str:
        """In the thread; to its holder by DM too when they are a Discord agent."""
        holder = event.holder
        mentions = QUIET
        if holder is not None and st.is_discord_user(holder):
            text = sl.sla_text(job.ticket, job.customer, event, self._link(job))
            steps = job.steps_done
            if not steps:
                user = await self._client.fetch_user(int(holder))
                dm = await user.create_dm()
                sent = await dm.send(text, allowed_mentions=QUIET)
                steps.append(str(sent.id))
                await job.step_done(steps, 2)
            mentions = discord.AllowedMentions(users=[discord.Object(int(holder))])
        return await self._send(
            job, sl.sla_text(job.ticket, job.customer, event, None), mentions=mentions
        )

    async def _to_leads(
        self, job: DeliveryJob, text: str, *, ping_leads: bool = False
    ) -> str | None:
        """The leads' channel (their role mentioned when asked); without one, the thread."""
        role = self._place.leads_role
        mentions = (
            discord.AllowedMentions(roles=[discord.Object(role)])
            if ping_leads and role is not None
            else QUIET
        )
        if self._place.leads_channel is None:
            return await self._send(job, text, mentions=mentions)
        channel = self._client.get_partial_messageable(self._place.leads_channel)
        await channel.send(text, allowed_mentions=mentions)
        return None  # not a copy of anything in the thread

    def _link(self, job: DeliveryJob) -> str | None:
        if job.card is None:
            return None
        return f"https://discord.com/channels/{self._place.guild_id}/{job.card}"


def _written_in(message: Message) -> str:
    """The platform of the workspace an agent's message was written in."""
    for ref in message.refs:
        if ref.workspace not in ("", STAFF_WORKSPACE):
            return ref.platform.title()
    return "agent"


def _required(job: DeliveryJob) -> Message:
    if job.message is None:
        raise PlatformError(f"{job.event.type} without a message", retryable=False)
    return job.message
