"""The scheduled jobs' use cases: SLA reminders, breaches and escalations, satisfaction
surveys, auto-close of quiet tickets, and the leads' digest.

Each sweep reads due rows through indexed queries and handles every one in a transaction of its
own: a notification is claimed (its unique key inserted) in the same transaction that queues its
delivery, so a crash mid-sweep, a restart, or a second replica neither loses nor repeats one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import Policy
from bot.core.csat import satisfaction
from bot.core.delivery import DeliveryKind
from bot.core.domain import Action, Actor, Platform, Status, Ticket, TicketId
from bot.core.errors import ConcurrentUpdate, DomainError
from bot.core.ports import Transaction
from bot.core.service import TicketService
from bot.core.sla import (
    Notice,
    NoticeKind,
    NotificationKey,
    SlaClock,
    can_escalate,
    late_by,
    step,
)
from bot.core.survey import SurveyOutcome

log = logging.getLogger(__name__)

BATCH = 500
SLA_ACTOR = Actor.system("Threadline SLA")
JOBS_ACTOR = Actor.system("Threadline")

# Sends the leads' digest (Slack); None when Slack is not connected.
DigestSender = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class DigestLine:
    ticket: Ticket
    breached: bool


class Sweeps:
    def __init__(
        self, service: TicketService, policy: Policy, digest: DigestSender | None = None
    ) -> None:
        self._service = service
        self._policy = policy
        self._keeper = service.sla
        self._digest = digest

    # --- SLA -----------------------------------------------------------------------------

    async def sla(self, now: datetime) -> int:
        """Reminders, breach notices and escalations due by `now`; returns how many."""
        sent = 0
        while True:
            async with self._service.reading() as tx:
                due = await tx.due_clocks(now, BATCH)
            for clock in due:
                sent += await self._guarded(self._clock(clock, now), f"SLA of {clock.ticket_id}")
            if len(due) < BATCH:
                return sent

    async def _guarded(self, work: Awaitable[int], what: str) -> int:
        try:
            return await work
        except ConcurrentUpdate:
            log.info("%s: the ticket changed meanwhile; the next sweep looks again", what)
        except DomainError as exc:
            log.warning("%s: %s", what, exc)
        return 0

    async def _clock(self, candidate: SlaClock, now: datetime) -> int:
        async with self._service.working() as tx:
            clock = await tx.lock_due_clock(candidate.ticket_id, candidate.metric, now)
            ticket = await tx.get_ticket_by_id(candidate.ticket_id)
            if clock is None or ticket is None:
                return 0  # another sweep has it, or had it
            cal = self._keeper.calendar(ticket.priority)
            after, notices = step(clock, cal, self._keeper.rules, now, can_escalate(ticket))
            await tx.save_clocks([after])
            sent = 0
            for notice in notices:
                key = NotificationKey(
                    ticket.id, clock.metric, notice.kind, notice.level, clock.due_version
                )
                if await tx.claim_notification(key, now):
                    await self._notify(tx, ticket, after, notice, now)
                    sent += 1
            return sent

    async def _notify(
        self, tx: Transaction, ticket: Ticket, clock: SlaClock, notice: Notice, now: datetime
    ) -> None:
        info = {
            "metric": clock.metric.value,
            "kind": notice.kind.value,
            "due": clock.due_at.isoformat() if clock.due_at else None,
            "late_seconds": int(late_by(clock, now).total_seconds()),
        }
        enqueue = self._service.enqueue_in
        match notice.kind:
            case NoticeKind.REMINDER:
                holder = ticket.assignee
                to = {"to": "agent", "user": holder.id} if holder else {"to": "channel"}
                await enqueue(tx, ticket, DeliveryKind.NOTICE, {**to, "sla": info})
            case NoticeKind.BREACH:
                await enqueue(tx, ticket, DeliveryKind.NOTICE, {"to": "leads", "sla": info})
                # In the thread. The card shows nothing a breach changes (its due time stays):
                # redrawing it would be a Slack call for nothing.
                await enqueue(tx, ticket, DeliveryKind.NOTICE, {"sla": info})
            case NoticeKind.ESCALATION:
                late = _human(late_by(clock, now))
                reason = f"{clock.metric.label} target breached, unmet {late} after its due time"
                await self._service.move_in(tx, ticket, Action.ESCALATE, SLA_ACTOR, reason)
        log.info("Ticket #%s: %s %s (%s)", ticket.number, clock.metric, notice.kind, notice.level)

    # --- satisfaction surveys ----------------------------------------------------------

    async def csat(self, now: datetime) -> int:
        """Survey customers `csat.delay` after resolution; returns how many were sent."""
        policy = self._policy.csat
        if not policy.enabled:
            return 0
        async with self._service.reading() as tx:
            due = await tx.unsurveyed_resolved(now - policy.delay, BATCH)
        sent = 0
        for ticket_id in due:
            sent += await self._guarded(self._survey(ticket_id, now), f"survey of {ticket_id}")
        return sent

    async def _survey(self, ticket_id: TicketId, now: datetime) -> int:
        policy = self._policy.csat
        async with self._service.working() as tx:
            ticket = await tx.get_ticket_by_id(ticket_id)
            if ticket is None or ticket.status is not Status.RESOLVED:
                return 0
            customer = await tx.get_customer(ticket.customer_id)
            if customer is None:
                return 0
            last = await tx.last_survey_at(customer.id)
            recent = last is not None and now - last < policy.cooldown
            skip = recent or customer.platform is not Platform.DISCORD or customer.blocked
            outcome = SurveyOutcome.SKIPPED if skip else SurveyOutcome.SENT
            survey = await tx.add_survey(ticket.id, customer.id, outcome, now, policy.expire_after)
            if survey is None or skip:
                return 0
            await self._service.enqueue_in(
                tx, ticket, DeliveryKind.CUSTOMER_NOTICE, {"event": "survey"}
            )
            return 1

    # --- auto-close --------------------------------------------------------------------

    async def autoclose(self, now: datetime) -> int:
        """Close resolved tickets the customer left alone; nudge, then resolve, tickets that
        wait on a customer who does not answer. Returns how many tickets it acted on."""
        tickets = self._policy.tickets
        acted = 0
        async with self._service.reading() as tx:
            resolved = await tx.idle_tickets(Status.RESOLVED, now - tickets.close_after, BATCH)
            stale = await tx.idle_tickets(
                Status.PENDING, now - tickets.resolve_pending_after, BATCH
            )
            quiet = await tx.idle_tickets(Status.PENDING, now - tickets.nudge_pending_after, BATCH)
        reason = f"No reply from the customer for {_human(tickets.close_after)} after resolution."
        for ticket_id in resolved:
            acted += await self._guarded(
                self._move(ticket_id, Status.RESOLVED, Action.CLOSE, reason), f"close {ticket_id}"
            )
        gave_up = f"No answer from the customer for {_human(tickets.resolve_pending_after)}."
        for ticket_id in stale:
            acted += await self._guarded(
                self._move(ticket_id, Status.PENDING, Action.RESOLVE, gave_up),
                f"resolve {ticket_id}",
            )
        for ticket_id in set(quiet) - set(stale):
            acted += await self._guarded(self._nudge(ticket_id, now), f"nudge {ticket_id}")
        return acted

    async def _move(self, ticket_id: TicketId, expected: Status, action: Action, why: str) -> int:
        async with self._service.working() as tx:
            ticket = await tx.get_ticket_by_id(ticket_id)
            if ticket is None or ticket.status is not expected:
                return 0
            await self._service.move_in(tx, ticket, action, JOBS_ACTOR, why)
            return 1

    async def _nudge(self, ticket_id: TicketId, now: datetime) -> int:
        async with self._service.working() as tx:
            ticket = await tx.get_ticket_by_id(ticket_id)
            if ticket is None or ticket.status is not Status.PENDING:
                return 0
            # Keyed by the ticket's version: one nudge for each stretch of waiting.
            key = NotificationKey(ticket.id, "pending", "nudge", 0, ticket.version)
            if not await tx.claim_notification(key, now):
                return 0
            await self._service.enqueue_in(
                tx, ticket, DeliveryKind.CUSTOMER_NOTICE, {"event": "nudge"}
            )
            return 1

    # --- the leads' digest --------------------------------------------------------------

    async def digest(self, now: datetime) -> int:
        """Once a day at `jobs.digest_at` (in `jobs.digest_timezone`), tell the leads which
        tickets breached and which are at risk. Returns 1 when it sent one."""
        if self._digest is None:
            return 0
        jobs = self._policy.jobs
        zone = ZoneInfo(jobs.digest_timezone)
        local = now.astimezone(zone)
        at = time.fromisoformat(jobs.digest_at)
        if local.time() < at:
            return 0
        day = local.date()
        async with self._service.working() as tx:
            if not await tx.claim_digest(day, now):
                return 0
        text = await self.digest_text(now)
        try:
            await self._digest(text)
        except Exception:
            # The claim is given back, so the next sweep tries again.
            async with self._service.working() as tx:
                await tx.forget_digest(day)
            raise
        return 1

    async def digest_text(self, now: datetime) -> str:
        within = self._policy.reminders.before_breach * 4
        at_risk = await self._service.breaching_soon(within, limit=50)
        breached = [t for t in at_risk if t.due_at is not None and t.due_at <= now]
        soon = [t for t in at_risk if t not in breached]
        stats = await satisfaction(self._service, now - timedelta(days=7))
        lines = [f"*Daily digest* ({now:%Y-%m-%d})"]
        lines.append(f"Breached and still open: {len(breached)}")
        lines += [f"• #{t.number} {t.subject} ({_holder(t)})" for t in breached]
        lines.append(f"At risk within {_human(within)}: {len(soon)}")
        lines += [f"• #{t.number} {t.subject} ({_holder(t)})" for t in soon]
        if stats is not None:
            lines.append(f"CSAT over the last 7 days: {stats:.0%}")
        return "\n".join(lines)


def _holder(ticket: Ticket) -> str:
    return ticket.assignee.name if ticket.assignee else "unassigned"


def _human(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    if seconds >= 3_600:
        return f"{seconds // 3_600}h {seconds % 3_600 // 60}m"
    if seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"
