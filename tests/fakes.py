"""Recording fakes of the outbound ports: what each side of a ticket would see, as short lines.

`RecordingWorkspace` stands for the agents' side (Slack), `RecordingChannel` for the customers'
(Discord). Each records one `Seen` per call that went through, in order, with a readable `line`
("card #1001: new", "customer wrote: hello", "told: claimed by Ann"); what a call creates gets a
fresh platform id, returned to the dispatcher as a real adapter would (so message refs and the
card's place are recorded). A test can make the next calls fail (`fail`) or wait (`hold`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.core.assist import decode_citations
from bot.core.delivery import DeliveryJob
from bot.core.digest import Digest
from bot.core.dispatcher import joined
from bot.core.domain import Direction, Platform, Ticket
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
    TicketClaimed,
    TicketEscalated,
    TicketOpened,
    TicketReopened,
    TicketResolved,
    TranslatedEdit,
    TranslatedReply,
    TranslationShown,
)
from integrations.platforms import DISCORD, SLACK
from integrations.slack.alerts import digest_text

TO = {Audience.THREAD: "", Audience.LEADS: "to leads: ", Audience.ESCALATIONS: "to escalations: "}


@dataclass(frozen=True, slots=True)
class Seen:
    """One thing a side was shown: the port method (`intent`), the ticket, a readable line,
    and the platform id it was created as (None for what creates nothing)."""

    intent: str
    ticket: int | None
    line: str
    job: DeliveryJob | None
    id: str | None


class _Recording:
    """What both fakes share: the record, made-up ids, failures and holds on demand."""

    platform: Platform

    def __init__(
        self, prefix: str | None = None, *, begun: list[DeliveryJob] | None = None
    ) -> None:
        # What the ids this fake makes start with (the platform's name unless told): two fakes
        # of one platform (two agent workspaces) must not make the same ids.
        self.prefix = prefix or str(self.platform)
        self.seen: list[Seen] = []
        self.started: list[DeliveryJob] = []  # every call begun, held or failed ones too
        # Shared by several fakes (when given): the order calls began across them.
        self.begun = begun if begun is not None else []
        self.failures: list[PlatformError] = []
        self.gate: asyncio.Event | None = None
        self._made = 0
        self._changed = asyncio.Condition()

    # --- what a test controls ------------------------------------------------------------

    def fail(self, error: PlatformError, times: int = 1) -> None:
        """The next `times` calls raise `error` (after any failures asked for before)."""
        self.failures += [error] * times

    def hold(self) -> asyncio.Event:
        """Calls from now on wait until the returned event is set (`release`)."""
        self.gate = asyncio.Event()
        return self.gate

    def release(self) -> None:
        if self.gate is not None:
            self.gate.set()

    # --- what a test reads ---------------------------------------------------------------

    def lines(self, number: int | None = None, *, intents: tuple[str, ...] = ()) -> list[str]:
        """What was seen, of one ticket (`number`) or all, of some intents or all."""
        return [
            s.line
            for s in self.seen
            if (number is None or s.ticket == number) and (not intents or s.intent in intents)
        ]

    async def wait_for(self, count: int, within: float = 5.0) -> None:
        """Until `count` things were seen."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.seen) >= count), within)

    async def wait_for_line(self, line: str, within: float = 5.0) -> None:
        """Until `line` was seen."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: line in self.lines()), within)

    # --- the record ----------------------------------------------------------------------

    def _new_id(self) -> str:
        self._made += 1
        return f"{self.prefix}-{self._made}"

    async def _begin(self, job: DeliveryJob | None) -> None:
        if job is not None:
            self.started.append(job)
            self.begun.append(job)
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)

    async def _show(
        self, intent: str, job: DeliveryJob, line: str, *, creates: bool = True
    ) -> str | None:
        await self._begin(job)
        made = self._new_id() if creates else None
        await self._record(Seen(intent, job.ticket.number, line, job, made))
        return made

    async def _follow(self, intent: str, job: DeliveryJob, line: str) -> str | None:
        """An edit of a copy: the copy keeps its ids (those of this platform), reported again."""
        await self._begin(job)
        refs = job.message.refs if job.message is not None else ()
        found = joined([r.external_id for r in refs if r.platform == self.platform])
        await self._record(Seen(intent, job.ticket.number, line, job, found))
        return found

    async def _record(self, seen: Seen) -> None:
        self.seen.append(seen)
        async with self._changed:
            self._changed.notify_all()


def _body(job: DeliveryJob) -> str:
    return job.message.body if job.message is not None else "(no message)"


def _move(verb: str, by: str, detail: str | None, reason: str | None) -> str:
    line = f"{verb} by {by}" if by else verb
    line += f" ({detail})" if detail else ""
    return line + (f": {reason}" if reason else "")


def _card(ticket: Ticket) -> str:
    line = f"card #{ticket.number}: {ticket.status}"
    if ticket.assignee is not None:
        line += f" ({ticket.assignee.name})"
    if ticket.csat_rating is not None:
        line += f" rated {ticket.csat_rating}"
    return line


def _due(event: SlaReminder | SlaBreached) -> str:
    return f"{event.metric} due {event.due_at:%H:%M}" if event.due_at else event.metric


class RecordingWorkspace(_Recording):
    """The agents' side: the ticket's card and thread, the leads, the escalations audience."""

    platform = SLACK

    def __init__(
        self, prefix: str | None = None, *, begun: list[DeliveryJob] | None = None
    ) -> None:
        super().__init__(prefix, begun=begun)
        self.digests: list[str] = []

    def thread(self, number: int | None = None) -> list[str]:
        """What the ticket's card and thread show (not what went to leads or escalations)."""
        return [
            line
            for line in self.lines(number)
            if not line.startswith(("to leads: ", "to escalations: "))
        ]

    def to_leads(self, number: int | None = None) -> list[str]:
        return [
            line.removeprefix("to leads: ")
            for line in self.lines(number)
            if line.startswith("to leads: ")
        ]

    def to_escalations(self, number: int | None = None) -> list[str]:
        return [
            line.removeprefix("to escalations: ")
            for line in self.lines(number)
            if line.startswith("to escalations: ")
        ]

    async def show_card(self, job: DeliveryJob) -> str | None:
        return await self._show("show_card", job, _card(job.ticket))

    async def show_customer_message(self, job: DeliveryJob) -> str | None:
        return await self._show("show_customer_message", job, f"customer wrote: {_body(job)}")

    async def show_follow_up(self, job: DeliveryJob, event: FollowsUp) -> str | None:
        line = f"follows up on #{event.number} ({event.subject})"
        return await self._show("show_follow_up", job, line)

    async def show_agent_message(self, job: DeliveryJob) -> str | None:
        message = job.message
        kind = "noted" if message is not None and message.direction is Direction.NOTE else "replied"
        who = message.author.name if message is not None else "?"
        return await self._show("show_agent_message", job, f"{who} {kind}: {_body(job)}")

    async def ticket_escalated(self, job: DeliveryJob, event: TicketEscalated) -> str | None:
        line = TO[event.audience] + _move("escalated", event.by, event.detail, event.reason)
        return await self._show("ticket_escalated", job, line)

    async def ticket_assigned(self, job: DeliveryJob, event: TicketAssigned) -> str | None:
        line = _move("assigned", event.by, event.detail, event.reason)
        return await self._show("ticket_assigned", job, line)

    async def ticket_resolved(self, job: DeliveryJob, event: TicketResolved) -> str | None:
        line = _move("resolved", event.by, None, event.reason)
        return await self._show("ticket_resolved", job, line)

    async def ticket_reopened(self, job: DeliveryJob, event: TicketReopened) -> str | None:
        line = _move("reopened", event.by, None, event.reason)
        return await self._show("ticket_reopened", job, line)

    async def reply_delivered(self, job: DeliveryJob) -> str | None:
        line = f"delivered: {_body(job)}"
        return await self._show("reply_delivered", job, line, creates=False)

    async def delivery_failed(self, job: DeliveryJob, event: DeliveryFailed) -> str | None:
        what = f" ({_body(job)})" if job.message is not None else ""
        line = f"delivery {event.delivery_id} failed{what}: {event.reason}"
        return await self._show("delivery_failed", job, line)

    async def sla_reminder(self, job: DeliveryJob, event: SlaReminder) -> str | None:
        who = event.holder if event.holder is not None else "the queue"
        return await self._show("sla_reminder", job, f"reminder to {who}: {_due(event)}")

    async def sla_breached(self, job: DeliveryJob, event: SlaBreached) -> str | None:
        line = f"{TO[event.audience]}breached: {_due(event)}, {event.late_seconds}s late"
        return await self._show("sla_breached", job, line)

    async def survey_answered(self, job: DeliveryJob, event: SurveyAnswered) -> str | None:
        line = f"{TO[event.audience]}{event.customer} rated {event.rating}"
        line += f": {event.comment}" if event.comment else ""
        return await self._show("survey_answered", job, line)

    async def legacy_line(self, job: DeliveryJob, event: LegacyLine) -> str | None:
        return await self._show("legacy_line", job, TO[event.audience] + event.text)

    async def copy_edited(self, job: DeliveryJob) -> str | None:
        return await self._follow("copy_edited", job, f"edited: {_body(job)}")

    async def copy_deleted(self, job: DeliveryJob) -> str | None:
        line = f"deleted: {_body(job)}"
        return await self._show("copy_deleted", job, line, creates=False)

    async def send_digest(self, digest: Digest) -> None:
        await self._begin(None)
        text = digest_text(digest)
        self.digests.append(text)
        await self._record(Seen("send_digest", None, f"digest: {text}", None, None))

    async def show_summary(self, job: DeliveryJob, event: SummaryShown) -> str | None:
        how = f" (without a model: {event.fallback})" if event.fallback else ""
        line = f"summary {event.occasion}{how}: {event.text}"
        return await self._show("show_summary", job, line)

    async def draft_settled(self, job: DeliveryJob, event: DraftSettled) -> str | None:
        line = f"draft {event.draft_id} {event.status} by {event.by} (post {event.post})"
        return await self._show("draft_settled", job, line, creates=False)

    async def offer_draft(self, job: DeliveryJob, event: DraftOffered) -> str | None:
        sources = ", ".join(c.slug for c in decode_citations(event.citations))
        if event.text is None:
            line = f"no draft ({event.fallback}); may help: {sources or '-'}"
        else:
            line = f"draft {event.draft_id}: {event.text} [{sources}]"
        return await self._show("offer_draft", job, line)

    async def show_translation(self, job: DeliveryJob, event: TranslationShown) -> str | None:
        line = f"translated from {event.source}: {event.text}"
        return await self._show("show_translation", job, line, creates=False)

    async def reply_translated(self, job: DeliveryJob, event: ReplyTranslated) -> str | None:
        if event.text is None:
            line = f"sent as written ({event.fallback}): {_body(job)}"
        else:
            line = f"sent in {event.target}: {event.text}"
        return await self._show("reply_translated", job, line)

    async def show_auto_answer(self, job: DeliveryJob, event: AutoAnswered) -> str | None:
        return await self._show("show_auto_answer", job, f"auto-answered: {_body(job)}")

    async def handed_off(self, job: DeliveryJob, event: HandedOff) -> str | None:
        who = "the customer" if event.by_customer else "the assistant"
        return await self._show("handed_off", job, f"handed off by {who}")


class RecordingChannel(_Recording):
    """The customers' side: what a customer on Discord is sent."""

    platform = DISCORD
    surveys = True

    async def send_reply(self, job: DeliveryJob) -> str | None:
        author = job.message.author.name if job.message is not None else "?"
        return await self._show("send_reply", job, f"reply: **{author}:** {_body(job)}")

    async def ticket_opened(self, job: DeliveryJob, event: TicketOpened) -> str | None:
        due = f" (answer due {event.due_at:%H:%M})" if event.due_at else ""
        return await self._show("ticket_opened", job, f"told: #{job.ticket.number} opened{due}")

    async def ticket_claimed(self, job: DeliveryJob, event: TicketClaimed) -> str | None:
        line = f"told: claimed by {event.agent}" if event.agent else "told: claimed"
        return await self._show("ticket_claimed", job, line)

    async def ticket_resolved(self, job: DeliveryJob, event: TicketResolved) -> str | None:
        line = "told: " + _move("resolved", event.by, None, event.reason)
        return await self._show("ticket_resolved", job, line)

    async def ticket_reopened(self, job: DeliveryJob, event: TicketReopened) -> str | None:
        line = "told: " + _move("reopened", event.by, None, event.reason)
        return await self._show("ticket_reopened", job, line)

    async def ticket_closed(self, job: DeliveryJob) -> str | None:
        return await self._show("ticket_closed", job, "told: closed")

    async def awaiting_customer(self, job: DeliveryJob) -> str | None:
        return await self._show("awaiting_customer", job, "nudged: we are waiting on you")

    async def ask_for_rating(self, job: DeliveryJob) -> str | None:
        return await self._show("ask_for_rating", job, "asked for a rating")

    async def copy_edited(self, job: DeliveryJob) -> str | None:
        return await self._follow("copy_edited", job, f"reply edited: {_body(job)}")

    async def copy_deleted(self, job: DeliveryJob) -> str | None:
        line = f"reply deleted: {_body(job)}"
        return await self._show("copy_deleted", job, line, creates=False)

    async def send_translated_reply(self, job: DeliveryJob, event: TranslatedReply) -> str | None:
        author = job.message.author.name if job.message is not None else "?"
        return await self._show(
            "send_translated_reply", job, f"reply ({event.target}): **{author}:** {event.text}"
        )

    async def edit_translated(self, job: DeliveryJob, event: TranslatedEdit) -> str | None:
        line = f"reply edited ({event.target}): {event.text}"
        return await self._follow("edit_translated", job, line)

    async def send_auto_answer(self, job: DeliveryJob, event: AutoAnswered) -> str | None:
        return await self._show("send_auto_answer", job, f"automated answer: {_body(job)}")

    async def handed_off(self, job: DeliveryJob, event: HandedOff) -> str | None:
        if event.by_customer:
            return None
        return await self._show("handed_off", job, "told: a person will answer")


class QuietChannel:
    """A customer's channel that takes everything and shows nothing, for tests (and the
    benchmark) that look only at the agents' side. Every method answers through `answer`, so
    a double that needs one behaviour for all of them overrides that alone."""

    surveys = False

    async def answer(self, job: DeliveryJob) -> str | None:
        return None

    async def send_reply(self, job: DeliveryJob) -> str | None:
        return await self.answer(job)

    async def ticket_opened(self, job: DeliveryJob, event: TicketOpened) -> str | None:
        return await self.answer(job)

    async def ticket_claimed(self, job: DeliveryJob, event: TicketClaimed) -> str | None:
        return await self.answer(job)

    async def ticket_resolved(self, job: DeliveryJob, event: TicketResolved) -> str | None:
        return await self.answer(job)

    async def ticket_reopened(self, job: DeliveryJob, event: TicketReopened) -> str | None:
        return await self.answer(job)

    async def ticket_closed(self, job: DeliveryJob) -> str | None:
        return await self.answer(job)

    async def awaiting_customer(self, job: DeliveryJob) -> str | None:
        return await self.answer(job)

    async def ask_for_rating(self, job: DeliveryJob) -> str | None:
        return await self.answer(job)

    async def copy_edited(self, job: DeliveryJob) -> str | None:
        return await self.answer(job)

    async def copy_deleted(self, job: DeliveryJob) -> str | None:
        return await self.answer(job)

    async def send_translated_reply(self, job: DeliveryJob, event: TranslatedReply) -> str | None:
        return await self.answer(job)

    async def edit_translated(self, job: DeliveryJob, event: TranslatedEdit) -> str | None:
        return await self.answer(job)

    async def send_auto_answer(self, job: DeliveryJob, event: AutoAnswered) -> str | None:
        return await self.answer(job)

    async def handed_off(self, job: DeliveryJob, event: HandedOff) -> str | None:
        return await self.answer(job)
