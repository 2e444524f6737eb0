"""The agent workspace in Discord: each ticket a thread in the staff channel (kept by
staff_threads.py), its card an embed edited in place, the conversation and the team's news
posted in the thread (worded in staff_texts.py and staff_lines.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import discord

from bot.core.delivery import DeliveryJob
from bot.core.digest import Digest
from bot.core.dispatcher import joined
from bot.core.domain import Direction, Message
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
from integrations.discord.nonces import nonce_for
from integrations.discord.staff import STAFF_WORKSPACE, StaffPlace
from integrations.discord.staff_controls import draft_view
from integrations.discord.staff_threads import QUIET, TOO_MANY_THREADS, StaffThreads, ThreadKeeper
from integrations.platforms import DISCORD

log = logging.getLogger(__name__)

DELIVERED = "✅"
FAILED = "⚠️"
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
                retry_after=10,
            ) from exc
        raise platform_error(exc) from exc
    except Exception as exc:
        raise platform_error(exc) from exc


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
        self._tickets = StaffThreads(client, place, ai=ai, threads=threads)

    # --- the AgentWorkspace port ------------------------------------------------------

    async def show_card(self, job: DeliveryJob) -> str | None:
        return await _translated(self._tickets.card(job))

    async def show_customer_message(self, job: DeliveryJob) -> str | None:
        message = _required(job)
        embeds = st.customer_embeds(message, job.customer)
        return await _translated(self._tickets.send(job, embeds=embeds))

    async def show_agent_message(self, job: DeliveryJob) -> str | None:
        message = _required(job)
        return await _translated(self._pieces(job, st.agent_copy(message, _written_in(message))))

    async def show_follow_up(self, job: DeliveryJob, event: FollowsUp) -> str | None:
        return await _translated(self._tickets.send(job, sl.follow_up_line(event)))

    async def ticket_escalated(self, job: DeliveryJob, event: TicketEscalated) -> str | None:
        line = sl.move_line(event)
        if event.audience is Audience.ESCALATIONS:
            return await _translated(self._to_leads(job, line))
        return await _translated(self._tickets.send(job, line))

    async def ticket_assigned(self, job: DeliveryJob, event: TicketAssigned) -> str | None:
        return await _translated(self._tickets.send(job, sl.move_line(event)))

    async def ticket_resolved(self, job: DeliveryJob, event: TicketResolved) -> str | None:
        return await _translated(self._tickets.send(job, sl.move_line(event)))

    async def ticket_reopened(self, job: DeliveryJob, event: TicketReopened) -> str | None:
        return await _translated(self._tickets.send(job, sl.move_line(event)))

    async def reply_delivered(self, job: DeliveryJob) -> str | None:
        await _translated(self._react(job, DELIVERED))
        return None

    async def delivery_failed(self, job: DeliveryJob, event: DeliveryFailed) -> str | None:
        await _translated(self._react(job, FAILED))
        return await _translated(self._tickets.send(job, sl.failed_line(job.customer, event)))

    async def sla_reminder(self, job: DeliveryJob, event: SlaReminder) -> str | None:
        return await _translated(self._reminder(job, event))

    async def sla_breached(self, job: DeliveryJob, event: SlaBreached) -> str | None:
        if event.audience is Audience.LEADS:
            text = sl.sla_text(
                job.ticket, job.customer, event, self._link(job), self._place.leads_role
            )
            return await _translated(self._to_leads(job, text, ping_leads=True))
        text = sl.sla_text(job.ticket, job.customer, event, None)
        return await _translated(self._tickets.send(job, text))

    async def survey_answered(self, job: DeliveryJob, event: SurveyAnswered) -> str | None:
        if event.audience is Audience.LEADS:
            text = sl.csat_text(job.ticket, event, self._link(job))
            return await _translated(self._to_leads(job, text))
        return await _translated(self._tickets.send(job, sl.csat_text(job.ticket, event, None)))

    async def legacy_line(self, job: DeliveryJob, event: LegacyLine) -> str | None:
        text = st.clip(st.escape(event.text), st.CONTENT_LIMIT)
        if event.audience is not Audience.THREAD:
            return await _translated(self._to_leads(job, text))
        return await _translated(self._tickets.send(job, text))

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
            post = await self._tickets.thread(job).fetch_message(int(event.post))
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
        return await _translated(self._tickets.send(job, sl.reply_translated_text(event)))

    async def show_auto_answer(self, job: DeliveryJob, event: AutoAnswered) -> str | None:
        return await _translated(self._pieces(job, sl.auto_answer_text(_required(job), event)))

    async def handed_off(self, job: DeliveryJob, event: HandedOff) -> str | None:
        return await _translated(self._tickets.send(job, sl.handed_off_line(job.ticket, event)))

    # --- how it is done in Discord ----------------------------------------------------

    async def _pieces(
        self, job: DeliveryJob, pieces: list[str], *, view: discord.ui.View | None = None
    ) -> str | None:
        """Several posts; a retry sends only those not sent (the view goes with the last)."""
        steps = job.steps_done
        for index in range(len(steps), len(pieces)):
            last = index == len(pieces) - 1
            shown = view if last else None
            steps.append(await self._tickets.send(job, pieces[index], view=shown, step=index))
            await job.step_done(steps, len(pieces))
        return joined(steps)

    async def _edit(self, job: DeliveryJob, message_id: int, **args: Any) -> None:
        await self._tickets.thread(job).get_partial_message(message_id).edit(**args)

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
            await self._tickets.thread(job).get_partial_message(int(copies[-1])).add_reaction(emoji)
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
                sent = await dm.send(text, allowed_mentions=QUIET, nonce=nonce_for(job, "dm"))
                steps.append(str(sent.id))
                await job.step_done(steps, 2)
            mentions = discord.AllowedMentions(users=[discord.Object(int(holder))])
        return await self._tickets.send(
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
            return await self._tickets.send(job, text, mentions=mentions)
        channel = self._client.get_partial_messageable(self._place.leads_channel)
        await channel.send(text, allowed_mentions=mentions, nonce=nonce_for(job, "leads"))
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
