"""The agent workspace in Slack: cards, thread posts, marks, edits and deletes, alerts to the
agents and leads, and what the AI features show agents (written in assist_posts.py)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar

from aiolimiter import AsyncLimiter
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import SlackPolicy
from bot.core.delivery import MAIN_WORKSPACE, DeliveryJob
from bot.core.digest import Digest
from bot.core.dispatcher import joined
from bot.core.domain import (
    Agent,
    AgentId,
    Attachment,
    Direction,
    Message,
    Status,
    TicketId,
)
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
from bot.core.text import split_message
from integrations.platforms import SLACK
from integrations.slack.activity import failed_line, follow_up_line, move_line
from integrations.slack.alerts import csat_text, digest_text, sla_text
from integrations.slack.assist_modals import decided, settled_line
from integrations.slack.assist_posts import (
    Post,
    auto_answer_post,
    context,
    draft_post,
    edited_text,
    handed_off_line,
    reply_translated_post,
    shown_copy,
    summary_post,
    translated_copy,
    translation_line,
)
from integrations.slack.blocks import (
    Block,
    CardAi,
    card_text,
    escape,
    is_slack_user,
    person,
    ticket_card,
)
from integrations.slack.copies import (
    TEXT_LIMIT,
    agent_copy,
    file_line,
    history,
    message_pieces,
    moved_away_line,
    moved_line,
)
from integrations.slack.errors import platform_error
from integrations.slack.grouped import (
    group_post,
    group_size,
    part,
    part_ref,
    replaced,
    split_part,
    text_of,
)
from integrations.slack.posted import find_parts, find_post, tag
from integrations.slack.refs import slack_copy, split_ref
from integrations.slack.routing import ChannelRoutes
from integrations.wording import download

log = logging.getLogger(__name__)

DELIVERED_MARK = "white_check_mark"
FAILED_MARK = "warning"
# What Slack answers when a ticket's thread is gone: its card deleted, its channel archived or
# deleted (a workspace reset does both). Posting there can never succeed again.
THREAD_GONE: dict[str, str] = {
    "thread_not_found": "its card was deleted",
    "message_not_found": "its card was deleted",
    "channel_not_found": "its channel no longer exists",
    "is_archived": "its channel was archived",
}
HARMLESS = frozenset({"already_reacted", "no_reaction", *THREAD_GONE})
# A ticket done with stays where it is: its thread is history, not work to spread.
DONE = frozenset({Status.RESOLVED, Status.CLOSED})

P = ParamSpec("P")
T = TypeVar("T")


def _slack_errors(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Whatever goes wrong as the PlatformError the dispatcher understands: retryable or not."""

    @functools.wraps(method)
    async def translated(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except SlackApiError as exc:
            raise platform_error(exc) from exc
        except PlatformError:
            raise
        except Exception as exc:  # connection errors and timeouts from aiohttp
            raise platform_error(exc) from exc

    return translated


class ThreadKeeper(Protocol):
    """What re-creating a lost thread needs from the core (TicketService provides it)."""

    async def messages_shown_on(self, ticket_id: TicketId, workspace: str) -> list[Message]: ...

    async def move_card(self, ticket_id: TicketId, ref: str, workspace: str) -> None: ...


class SlackWorkspace:
    """The agents' side of every ticket: its card and thread in the support channel."""

    platform = SLACK  # whose message refs the copies made here are

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        escalation_channel: str | None = None,
        pacing: SlackPolicy | None = None,
        *,
        leads: Sequence[str] = (),
        leads_channel: str | None = None,
        routes: ChannelRoutes | None = None,
        threads: ThreadKeeper | None = None,
        name: str = MAIN_WORKSPACE,
        ai: CardAi | None = None,
    ) -> None:
        self.name = name  # the workspace's name in the delivery queue
        self._ai = ai  # None: the cards show no AI buttons
        self._client = client
        self._threads = threads  # None: a lost thread is not re-created (the send fails)
        # Threads re-created by this process, old ref -> new: the parts of a delivery still to
        # send after the move go to the new thread (its job still names the old one).
        self._moved: dict[str, str] = {}
        self._channel = channel
        # Which channel each open ticket's thread is in (each channel has Slack's posting
        # budget of its own); None: all in `channel`.
        self._routes = routes or ChannelRoutes(channel)
        self._escalations = escalation_channel
        self._leads = tuple(leads)
        self._leads_channel = leads_channel
        self._pacing = pacing or SlackPolicy(posts_per_second=0)
        self._upload_limit = self._pacing.upload_limit_mb * 1024 * 1024
        self._limiters: dict[str, AsyncLimiter] = {}

    async def _post(
        self,
        job: DeliveryJob | None = None,
        step: str = "post",
        *,
        parts: Sequence[DeliveryJob] = (),
        **args: Any,
    ) -> dict[str, str]:
        """chat.postMessage, paced per channel to stay within Slack's limit; the post's
        `channel` and `ts`. A delivery's post (`job`; `step`: which of its posts) is tagged
        with it, and is not made again when an interrupted attempt already made it (`posted`).
        A post of several messages (`parts`: their deliveries) is tagged with them all; its
        caller has looked for them already."""
        if job is not None:
            if (
                job.delivery.maybe_sent
                and not parts
                and (found := await find_post(self._client, job, step, args))
            ):
                return found
            args["metadata"] = tag(job, step, parts)
        rate = self._pacing.posts_per_second
        if rate > 0:
            channel = str(args["channel"])
            if channel not in self._limiters:
                burst = self._pacing.burst
                self._limiters[channel] = AsyncLimiter(burst, burst / rate)
            async with self._limiters[channel]:
                reply = await self._client.chat_postMessage(**args)
        else:
            reply = await self._client.chat_postMessage(**args)
        return {"channel": str(reply["channel"]), "ts": str(reply["ts"])}

    # --- the AgentWorkspace port: one method per thing the agents are told ------------

    @_slack_errors
    async def show_card(self, job: DeliveryJob) -> str | None:
        return await self._card(job)

    @_slack_errors
    async def show_customer_message(self, job: DeliveryJob) -> str | None:
        return await self._customer_message(job)

    # Several waiting messages of one customer as one post (grouped.py), when posts are paced.

    @property
    def coalesces(self) -> bool:
        """Whether messages waiting behind the pacing are posted together."""
        return self._pacing.posts_per_second > 0

    def group_size(self, jobs: Sequence[DeliveryJob]) -> int:
        """How many of these waiting messages go in one post: none together while the
        channel's pacing would post them one by one at once (a restart's catch-up, say), as
        many as fit when they would wait for it."""
        if not self.coalesces or not jobs:
            return 1
        size = group_size([job.message for job in jobs])
        channel = str(self._thread_args(jobs[0])["channel"])
        return 1 if size > 1 and self._room_for(channel, size) else size

    def _room_for(self, channel: str, posts: int) -> bool:
        """Whether `posts` posts into `channel` would go now, without waiting for the pacing."""
        limiter = self._limiters.get(channel)
        if limiter is None:
            return posts <= self._pacing.burst
        return limiter.has_capacity(posts)

    @_slack_errors
    async def show_customer_messages(self, jobs: Sequence[DeliveryJob]) -> list[str]:
        return await self._customer_messages(jobs)

    @_slack_errors
    async def show_follow_up(self, job: DeliveryJob, event: FollowsUp) -> str | None:
        return await self._line(job, follow_up_line(event))

    @_slack_errors
    async def show_agent_message(self, job: DeliveryJob) -> str | None:
        message = _required(job)
        text = split_message(agent_copy(message), TEXT_LIMIT)[0]  # replies are capped far below
        reply = await self._in_thread(
            job,
            text=text,
            username=f"{message.author.name} ({_written_in(message, self.name)})",
            unfurl_links=False,
        )
        return f"{reply['channel']}:{reply['ts']}"

    @_slack_errors
    async def ticket_escalated(self, job: DeliveryJob, event: TicketEscalated) -> str | None:
        if event.audience is Audience.ESCALATIONS:
            return await self._escalation_notice(job, move_line(event))
        return await self._line(job, move_line(event))

    @_slack_errors
    async def ticket_assigned(self, job: DeliveryJob, event: TicketAssigned) -> str | None:
        return await self._line(job, move_line(event))

    @_slack_errors
    async def ticket_resolved(self, job: DeliveryJob, event: TicketResolved) -> str | None:
        return await self._line(job, move_line(event))

    @_slack_errors
    async def ticket_reopened(self, job: DeliveryJob, event: TicketReopened) -> str | None:
        return await self._line(job, move_line(event))

    @_slack_errors
    async def reply_delivered(self, job: DeliveryJob) -> str | None:
        await self._mark(job.message, DELIVERED_MARK)
        return None

    @_slack_errors
    async def delivery_failed(self, job: DeliveryJob, event: DeliveryFailed) -> str | None:
        text = failed_line(job.customer, event)
        await self._mark(job.message, FAILED_MARK)
        return await self._line(job, text)

    @_slack_errors
    async def sla_reminder(self, job: DeliveryJob, event: SlaReminder) -> str | None:
        if event.holder is not None and is_slack_user(event.holder):
            text = sla_text(job.ticket, job.customer, event, await self._permalink(job))
            return await self._direct(event.holder, text, job)
        if event.holder is not None:  # an agent in another workspace: told there, seen here
            return await self._line(job, sla_text(job.ticket, job.customer, event, None))
        # Nobody holds the ticket: the reminder is broadcast to the whole channel.
        text = sla_text(job.ticket, job.customer, event, None)
        return await self._line(job, text, reply_broadcast=True)

    @_slack_errors
    async def sla_breached(self, job: DeliveryJob, event: SlaBreached) -> str | None:
        if event.audience is Audience.LEADS:
            text = sla_text(job.ticket, job.customer, event, await self._permalink(job))
            return await self._to_leads(job, text)
        return await self._line(job, sla_text(job.ticket, job.customer, event, None))

    @_slack_errors
    async def survey_answered(self, job: DeliveryJob, event: SurveyAnswered) -> str | None:
        if event.audience is Audience.LEADS:
            text = csat_text(job.ticket, event, await self._permalink(job))
            return await self._to_leads(job, text)
        return await self._line(job, csat_text(job.ticket, event, None))

    @_slack_errors
    async def legacy_line(self, job: DeliveryJob, event: LegacyLine) -> str | None:
        if event.audience is Audience.ESCALATIONS:
            return await self._escalation_notice(job, escape(event.text))
        return await self._line(job, escape(event.text))

    @_slack_errors
    async def copy_edited(self, job: DeliveryJob) -> str | None:
        await self._edit_copy(job)
        return None

    @_slack_errors
    async def copy_deleted(self, job: DeliveryJob) -> str | None:
        await self._delete_copy(job)
        return None

    # The AI features: all for agents only, never the customer (assist_posts.py words them).

    @_slack_errors
    async def show_summary(self, job: DeliveryJob, event: SummaryShown) -> str | None:
        return await self._blocks(job, summary_post(event))

    @_slack_errors
    async def offer_draft(self, job: DeliveryJob, event: DraftOffered) -> str | None:
        return await self._blocks(job, draft_post(event))

    @_slack_errors
    async def draft_settled(self, job: DeliveryJob, event: DraftSettled) -> str | None:
        """The draft's post, its buttons giving way to who decided it. Cosmetic: a post that
        is gone is left alone."""
        channel, ts = split_ref(event.post)
        thread = self._thread_args(job).get("thread_ts") or ts
        found = await self._client.conversations_replies(
            channel=channel, ts=thread, oldest=ts, latest=ts, inclusive=True, limit=2
        )
        shown = next((m for m in found.get("messages") or [] if m.get("ts") == ts), None)
        if shown is None:
            return None
        by = person(Agent(AgentId(event.by_id), event.by), event.by)
        line = settled_line(event.status, by)
        blocks = decided(list(shown.get("blocks") or []), line)
        await self._client.chat_update(
            channel=channel, ts=ts, text=str(shown.get("text") or line), blocks=blocks
        )
        return None

    @_slack_errors
    async def show_translation(self, job: DeliveryJob, event: TranslationShown) -> str | None:
        return await self._translation(job, event)

    @_slack_errors
    async def reply_translated(self, job: DeliveryJob, event: ReplyTranslated) -> str | None:
        return await self._blocks(job, reply_translated_post(event))

    @_slack_errors
    async def show_auto_answer(self, job: DeliveryJob, event: AutoAnswered) -> str | None:
        # The post is the answer's copy here (the dispatcher records it, like a customer's).
        return await self._blocks(job, auto_answer_post(_required(job), event))

    @_slack_errors
    async def handed_off(self, job: DeliveryJob, event: HandedOff) -> str | None:
        return await self._line(job, handed_off_line(job.ticket, event))

    @_slack_errors
    async def send_digest(self, digest: Digest) -> None:
        """The leads' daily digest: to each lead, and to the leads' channel."""
        text = digest_text(digest)
        for lead in self._leads:
            await self._direct(lead, text)
        if self._leads_channel:
            await self._post(channel=self._leads_channel, text=text)

    # --- how it is done in Slack ------------------------------------------------------

    async def _card(self, job: DeliveryJob) -> str:
        blocks = ticket_card(job.ticket, job.customer, self._ai)
        text = card_text(job.ticket, job.customer)
        if job.card:
            channel, ts = split_ref(job.card)
            target = self._card_channel(job)
            # Between the support channels only: a card in a channel the settings no longer
            # name stays there (until that channel is gone: then the thread is re-created).
            routed = channel in self._routes.channels
            movable = job.ticket.status not in DONE and self._threads is not None
            if channel != target and routed and movable:
                return await self._move(job, target)
            try:
                await self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
                return job.card
            except SlackApiError as exc:
                reason = _error_code(exc)
                if reason not in THREAD_GONE:
                    raise
            return await self._new_thread(job, lost_line(reason))
        channel = self._card_channel(job)
        reply = await self._post(job, "card", channel=channel, text=text, blocks=blocks)
        return f"{reply['channel']}:{reply['ts']}"

    async def _in_thread(
        self,
        job: DeliveryJob,
        step: str = "post",
        *,
        parts: Sequence[DeliveryJob] = (),
        **args: Any,
    ) -> dict[str, str]:
        """Post in the ticket's thread; one that is gone for good is re-created first."""
        where = self._thread_args(job)
        try:
            return await self._post(job, step, parts=parts, **where, **args)
        except SlackApiError as exc:
            reason = _error_code(exc)
            if reason not in THREAD_GONE or "thread_ts" not in where or self._threads is None:
                raise
        await self._new_thread(job, lost_line(reason))
        return await self._post(job, step, parts=parts, **self._thread_args(job), **args)

    async def _move(self, job: DeliveryJob, target: str) -> str:
        """The ticket's thread made anew in `target`, the channel its route names now (its
        priority or category changed), with its recent history; the old card says where it
        went. Returns the new card's ref."""
        assert job.card is not None
        old_channel, old_ts = split_ref(job.card)
        why = self._routes.why(job.ticket)
        log.info("Ticket #%s moves to %s: %s", job.ticket.number, target, why)
        ref = await self._new_thread(job, moved_line(old_channel, why))
        line = moved_away_line(job.ticket, target, why)
        try:
            await self._client.chat_update(
                channel=old_channel,
                ts=old_ts,
                text=line,
                blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": line}}],
                # Still the ticket's, for a reply written there later (see desk.py).
                metadata=tag(job, "moved"),
            )
        except SlackApiError as exc:
            if _error_code(exc) not in HARMLESS:
                raise
        return ref

    async def _new_thread(self, job: DeliveryJob, intro: str) -> str:
        """A new card in the ticket's channel, and in its thread `intro` and the recent history,
        so agents can go on where they were (a lost thread, or a move). Returns the new card's
        ref."""
        ticket = job.ticket
        old = job.card
        reply = await self._post(
            job,
            "card",
            channel=self._card_channel(job),
            text=card_text(ticket, job.customer),
            blocks=ticket_card(ticket, job.customer, self._ai),
        )
        ref = f"{reply['channel']}:{reply['ts']}"
        if old:
            self._moved[old] = ref
        if self._threads is not None:
            # Recorded before anything else is posted: agents' replies in the new thread must
            # find the ticket, and a retry must not make yet another card. (For a card delivery
            # the dispatcher records it too, once the delivery is done.)
            await self._threads.move_card(ticket.id, ref, self.name)
        shown = await self._shown(job)
        pieces = split_message(history(intro, shown), TEXT_LIMIT)
        for index, piece in enumerate(pieces):
            where: dict[str, Any] = {"channel": reply["channel"], "thread_ts": reply["ts"]}
            await self._post(job, f"history{index}", **where, text=piece)
        return ref

    async def _shown(self, job: DeliveryJob) -> list[Message]:
        """What the lost thread showed (the message being delivered now comes after)."""
        if self._threads is None:
            return []
        shown = await self._threads.messages_shown_on(job.ticket.id, self.name)
        current = job.message.id if job.message is not None else None
        return [m for m in shown if m.id != current]

    async def _customer_message(self, job: DeliveryJob) -> str | None:
        message = _required(job)
        uploadable = [a for a in message.attachments if a.size <= self._upload_limit]
        linked = [a for a in message.attachments if a.size > self._upload_limit]
        steps = job.steps_done
        pieces = message_pieces(message, linked)
        for index in range(len(steps), len(pieces)):
            reply = await self._in_thread(
                job,
                f"piece{index}",
                text=pieces[index],
                **_as_customer(job),
            )
            if "part" in reply:  # an interrupted attempt posted it with others (grouped.py)
                return reply["part"]
            steps.append(f"{reply['channel']}:{reply['ts']}")
            await job.step_done(steps, len(pieces))  # a retry must not post this piece again
        for index, attachment in enumerate(uploadable):
            await self._upload(job, attachment, f"file{index}")
        return joined(steps)  # every piece is a copy: a translation line goes under the last

    async def _customer_messages(self, jobs: Sequence[DeliveryJob]) -> list[str]:
        """Consecutive messages of one ticket (see `group_size`) in one post, a section each;
        each message's ref is its part of the post. Those an interrupted attempt already
        posted (alone, or with others) are not posted again."""
        first = jobs[0]
        found: dict[int, str] = {}
        if any(job.delivery.maybe_sent for job in jobs):
            found = await find_parts(self._client, jobs, self._thread_args(first))
        rest = [job for job in jobs if int(job.delivery.id) not in found]
        if len(rest) == 1:
            found[int(rest[0].delivery.id)] = await self._customer_message(rest[0]) or ""
        elif rest:
            text, blocks = group_post([_required(job) for job in rest])
            reply = await self._in_thread(
                rest[0],
                "group",
                parts=rest,
                text=text,
                blocks=blocks,
                **_as_customer(first),
            )
            for job in rest:
                found[int(job.delivery.id)] = part_ref(
                    reply["channel"], reply["ts"], _required(job).id
                )
        return [found[int(job.delivery.id)] for job in jobs]

    async def _upload(self, job: DeliveryJob, attachment: Attachment, step: str) -> None:
        """Re-upload a customer's file into the thread; link it if that cannot be done (the
        words are already posted, so a failure here must not fail the delivery)."""
        args = self._thread_args(job)
        try:
            data = await download(attachment.url, self._upload_limit)
            await self._client.files_upload_v2(
                channel=args["channel"],
                thread_ts=args.get("thread_ts"),
                file=data,
                filename=attachment.filename,
                title=attachment.filename,
            )
        except Exception as exc:
            log.warning("Could not re-upload %s (%s); linking it", attachment.filename, exc)
            await self._post(job, step, **args, text=file_line(attachment), unfurl_links=False)

    async def _line(self, job: DeliveryJob, text: str, **args: Any) -> str:
        """One line from Threadline in the ticket's thread."""
        reply = await self._in_thread(job, text=text, **args)
        return f"{reply['channel']}:{reply['ts']}"

    async def _blocks(self, job: DeliveryJob, post: Post) -> str:
        """A post of blocks in the ticket's thread."""
        text, blocks = post
        reply = await self._in_thread(job, text=text, blocks=blocks, unfurl_links=False)
        return f"{reply['channel']}:{reply['ts']}"

    async def _translation(self, job: DeliveryJob, event: TranslationShown) -> str | None:
        """The customer's message shown again as it is, with the translation line beneath."""
        message = _required(job)
        linked = [a for a in message.attachments if a.size > self._upload_limit]
        shown = shown_copy(message, message.copies(SLACK, self.name), linked)
        if shown is None:
            return None
        ref, text = shown
        channel, ts, held = split_part(ref)
        try:
            if held is not None:  # one part of a post of several: its section, the line beneath
                beneath = [context(translation_line(event))]
                await self._rewrite_part(ref, part(held, text, beneath))
            else:
                blocks = translated_copy(text, event)
                await self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            if _error_code(exc) not in HARMLESS:
                raise
            return None  # the copy is gone (its thread, or the message): nothing to put it under
        return ref

    async def _permalink(self, job: DeliveryJob) -> str | None:
        if not job.card:
            return None
        channel, ts = split_ref(self._moved.get(job.card, job.card))
        try:
            link = await self._client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError as exc:
            if _error_code(exc) not in THREAD_GONE:
                raise
            return None  # the card is gone: the alert goes without its link
        return str(link["permalink"])

    async def _direct(self, user: str, text: str, job: DeliveryJob | None = None) -> str:
        """A direct message from the bot to one person (for `job`'s delivery, if any)."""
        opened = await self._client.conversations_open(users=user)
        channel = str(opened["channel"]["id"])
        reply = await self._post(job, f"dm:{user}", channel=channel, text=text)
        return f"{reply['channel']}:{reply['ts']}"

    async def _to_leads(self, job: DeliveryJob, text: str) -> str | None:
        """Each lead by DM, and the leads' channel; a retry skips those already told."""
        targets = [*self._leads, *([self._leads_channel] if self._leads_channel else [])]
        steps = job.steps_done
        for target in targets[len(steps) :]:
            if target == self._leads_channel:
                reply = await self._post(job, "leads", channel=target, text=text)
                steps.append(f"{reply['channel']}:{reply['ts']}")
            else:
                steps.append(await self._direct(target, text, job))
            await job.step_done(steps, len(targets))
        if not targets:
            log.warning("No SLACK_LEADS or SLACK_LEADS_CHANNEL: a notice for leads was dropped")
        return steps[0] if steps else None

    async def _escalation_notice(self, job: DeliveryJob, text: str) -> str | None:
        """A linked notice in the escalation channel, when one is configured."""
        if self._escalations is None:
            return None
        line = f"Ticket #{job.ticket.number} ({escape(job.ticket.subject)}): {text}"
        link = await self._permalink(job)
        if link is not None:
            line += f"\n<{link}|Open the ticket's thread>"
        reply = await self._post(job, "escalations", channel=self._escalations, text=line)
        return f"{reply['channel']}:{reply['ts']}"

    async def _mark(self, message: Message | None, name: str) -> None:
        copies = message.copies(SLACK, self.name) if message else []
        if not copies:
            return
        channel, ts, _ = split_part(copies[0])  # a part of a post of several: the post
        try:
            await self._client.reactions_add(channel=channel, timestamp=ts, name=name)
        except SlackApiError as exc:
            if _error_code(exc) not in HARMLESS:
                raise

    async def _edit_copy(self, job: DeliveryJob) -> None:
        message = _required(job)
        where = slack_copy(message, self.name)
        if where is None:
            return
        channel, ts = where
        try:
            # No blocks: a translation line's blocks would hide the edit (the line goes with them).
            text = edited_text(message)
            if message.direction is not Direction.FROM_CUSTOMER:  # an agent's, mirrored here
                text = f"{split_message(agent_copy(message), TEXT_LIMIT)[0]}\n_(edited)_"
            ref = message.copies(SLACK, self.name)[0]
            if split_part(ref)[2] is not None:  # one part of a post of several: its section
                await self._rewrite_part(ref, part(message.id, text))
                return
            await self._client.chat_update(channel=channel, ts=ts, text=text, blocks=[])
        except SlackApiError as exc:
            if _error_code(exc) not in THREAD_GONE:
                raise
            log.info("The copy of message %s is gone with its thread; not edited", message.id)

    async def _delete_copy(self, job: DeliveryJob) -> None:
        """A customer (or an agent elsewhere) deleted a message: agents keep seeing what it
        said, struck through."""
        message = _required(job)
        where = slack_copy(message, self.name)
        if where is None:
            return
        channel, ts = where
        struck = "\n".join(f"~{line}~" for line in escape(message.body).splitlines() if line)
        try:
            by = "the customer" if message.direction is Direction.FROM_CUSTOMER else "its author"
            ref = message.copies(SLACK, self.name)[0]
            if split_part(ref)[2] is not None:  # one part of a post of several: its section
                shown = part(message.id, f"{struck}\n_(deleted by {by})_")
                await self._rewrite_part(ref, shown)
                return
            await self._client.chat_update(
                channel=channel, ts=ts, text=f"{struck}\n_(deleted by {by})_", blocks=[]
            )
        except SlackApiError as exc:
            if _error_code(exc) not in HARMLESS:
                raise

    async def _rewrite_part(self, ref: str, blocks: list[Block]) -> None:
        """One message's section(s) of a post of several rewritten (`blocks`), the others
        left as the post shows them now: read from Slack, so nothing is kept in memory."""
        channel, ts, held = split_part(ref)
        assert held is not None
        found = await self._client.conversations_replies(
            channel=channel, ts=ts, oldest=ts, latest=ts, inclusive=True, limit=2
        )
        shown = next((m for m in found.get("messages") or [] if m.get("ts") == ts), None)
        if shown is None:
            log.info("The post holding message %s is gone; not rewritten", held)
            return
        now = replaced(list(shown.get("blocks") or []), held, blocks)
        await self._client.chat_update(channel=channel, ts=ts, text=text_of(now), blocks=now)

    def _card_channel(self, job: DeliveryJob) -> str:
        return self._routes.channel_for(job.ticket)

    def _thread_args(self, job: DeliveryJob) -> dict[str, Any]:
        if job.card:
            ref = self._moved.get(job.card, job.card)
            channel, ts = split_ref(ref)
            return {"channel": channel, "thread_ts": ts}
        return {"channel": self._channel}  # the card never made it: keep the words anyway


def lost_line(reason: str) -> str:
    """Why a ticket's thread was made anew: the old one is gone."""
    why = THREAD_GONE.get(reason, "it could not be reached")
    log.warning("A ticket's thread is gone (%s): %s; re-creating it", reason, why)
    return f":recycle: This ticket's thread was re-created: {why} (Slack said `{reason}`)."


def _written_in(message: Message, here: str) -> str:
    """The platform of the workspace an agent's message was written in, for its copy here."""
    for ref in message.refs:
        if ref.workspace not in ("", here):
            return ref.platform.title()
    return "agent"


def _error_code(exc: SlackApiError) -> str:
    """Slack's error code; "" for a reply that was not JSON (an outage's HTML page)."""
    data = exc.response.data
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def _required(job: DeliveryJob) -> Message:
    if job.message is None:
        raise PlatformError(f"{job.event.type} without a message", retryable=False)
    return job.message


def _as_customer(job: DeliveryJob) -> dict[str, Any]:
    """How a customer's words are posted: under their name and platform, with their avatar."""
    customer = job.customer
    return {
        "username": f"{customer.display_name} ({customer.platform.title()})",
        "icon_url": customer.avatar_url,
        "unfurl_links": False,
    }
