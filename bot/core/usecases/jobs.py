"""The scheduled jobs' use cases: one SLA clock stepped (an escalating one: the others are stepped
in batches, `sla_sweep.py`), one survey sent, one quiet ticket moved or nudged, the digest's day
claimed. `bot/core/sweeps.py` finds what is due and calls these.

Each runs in a transaction of its own and is not retried: on a conflict the next sweep looks
again. A notification is claimed (its unique key inserted) in the same transaction that queues
it, so a crash mid-sweep, a restart, or a second replica neither loses nor repeats one.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import date, datetime, timedelta

from bot.core.domain import Action, Actor, Platform, Status, Ticket, TicketId
from bot.core.outbound import Audience, AwaitingCustomer, SlaBreached, SlaReminder, SurveyRequested
from bot.core.ports import Transaction
from bot.core.sla import (
    Metric,
    Notice,
    NoticeKind,
    NotificationKey,
    SlaClock,
    can_escalate,
    late_by,
    step,
)
from bot.core.survey import SurveyOutcome
from bot.core.usecases.base import MoveArgs, UseCaseBase

log = logging.getLogger(__name__)

SLA_ACTOR = Actor.system("Threadline SLA")
JOBS_ACTOR = Actor.system("Threadline")


class JobUseCases(UseCaseBase):
    # --- what is due ---------------------------------------------------------------------

    async def next_sla_event(self) -> datetime | None:
        """When the next SLA reminder, breach notice or escalation falls due; None if none
        is waiting. (The demo's clock moves straight to it.)"""
        async with self._storage.reading() as tx:
            return await tx.next_action_at()

    async def unsurveyed(self, resolved_before: datetime, limit: int) -> list[TicketId]:
        """Tickets resolved before `resolved_before` whose customer was not yet surveyed."""
        async with self._storage.reading() as tx:
            return await tx.unsurveyed_resolved(resolved_before, limit)

    async def idle(self, status: Status, before: datetime, limit: int) -> list[TicketId]:
        """Resolved tickets resolved before `before`; pending ones untouched since then."""
        async with self._storage.reading() as tx:
            return await tx.idle_tickets(status, before, limit)

    # --- SLA -----------------------------------------------------------------------------

    async def step_clock(self, ticket_id: TicketId, metric: Metric, now: datetime) -> int:
        """Send what one SLA clock has due by `now` (reminder, breach notice, escalation);
        returns how many notifications it sent. Nothing if another sweep has it."""
        async with self._once() as tx:
            clock = await tx.lock_due_clock(ticket_id, metric, now)
            ticket = await tx.get_ticket_by_id(ticket_id)
            if clock is None or ticket is None:
                return 0  # another sweep has it, or had it
            cal = self.sla.calendar(ticket.priority)
            after, notices = step(clock, cal, self.sla.rules, now, can_escalate(ticket))
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
        metric = clock.metric.value
        match notice.kind:
            case NoticeKind.REMINDER:
                holder = ticket.assignee.id if ticket.assignee else None
                await self._to_agents(tx, ticket, SlaReminder(metric, clock.due_at, holder))
            case NoticeKind.BREACH:
                late = int(late_by(clock, now).total_seconds())
                leads = SlaBreached(metric, clock.due_at, late, audience=Audience.LEADS)
                await self._to_agents(tx, ticket, leads)
                # In the thread. The card shows nothing a breach changes (its due time stays):
                # redrawing it would be a call to the workspace for nothing.
                await self._to_agents(tx, ticket, SlaBreached(metric, clock.due_at, late))
            case NoticeKind.ESCALATION:
                late_text = human(late_by(clock, now))
                reason = (
                    f"{clock.metric.label} target breached, unmet {late_text} after its due time"
                )
                await self._move(tx, ticket, Action.ESCALATE, SLA_ACTOR, MoveArgs(reason=reason))
        log.info("Ticket #%s: %s %s (%s)", ticket.number, clock.metric, notice.kind, notice.level)

    # --- satisfaction surveys ----------------------------------------------------------

    async def survey(
        self,
        ticket_id: TicketId,
        now: datetime,
        *,
        cooldown: timedelta,
        expire_after: timedelta,
        reachable: Collection[Platform],
    ) -> int:
        """Ask the customer of a resolved ticket to rate the help they had, unless they were
        asked within `cooldown`, are blocked, or are on a platform whose channel cannot carry
        a survey (not in `reachable`): then the survey is recorded as skipped. Returns 1 if
        one was sent."""
        async with self._once() as tx:
            ticket = await tx.get_ticket_by_id(ticket_id)
            if ticket is None or ticket.status is not Status.RESOLVED:
                return 0
            customer = await tx.get_customer(ticket.customer_id)
            if customer is None:
                return 0
            last = await tx.last_survey_at(customer.id)
            recent = last is not None and now - last < cooldown
            skip = recent or customer.platform not in reachable or customer.blocked
            outcome = SurveyOutcome.SKIPPED if skip else SurveyOutcome.SENT
            survey = await tx.add_survey(ticket.id, customer.id, outcome, now, expire_after)
            if survey is None or skip:
                return 0
            await self._to_customer(tx, ticket, SurveyRequested())
            return 1

    # --- quiet tickets -----------------------------------------------------------------

    async def move_if(self, ticket_id: TicketId, expected: Status, action: Action, why: str) -> int:
        """Apply `action` for the jobs if the ticket is still `expected`; returns 1 if it was."""
        async with self._once() as tx:
            ticket = await tx.get_ticket_by_id(ticket_id)
            if ticket is None or ticket.status is not expected:
                return 0
            await self._move(tx, ticket, action, JOBS_ACTOR, MoveArgs(reason=why))
            return 1

    async def nudge(self, ticket_id: TicketId, now: datetime) -> int:
        """Remind a customer the team is waiting on; once for each stretch of waiting."""
        async with self._once() as tx:
            ticket = await tx.get_ticket_by_id(ticket_id)
            if ticket is None or ticket.status is not Status.PENDING:
                return 0
            # Keyed by the ticket's version: one nudge for each stretch of waiting.
            key = NotificationKey(ticket.id, "pending", "nudge", 0, ticket.version)
            if not await tx.claim_notification(key, now):
                return 0
            await self._to_customer(tx, ticket, AwaitingCustomer())
            return 1

    # --- the leads' digest --------------------------------------------------------------

    async def claim_digest(self, day: date) -> bool:
        """Take the right to send the digest for a local day; False if it was taken."""
        async with self._storage.transaction() as tx:
            return await tx.claim_digest(day, self._clock.now())

    async def forget_digest(self, day: date) -> None:
        """Give the claim back (the digest could not be sent)."""
        async with self._storage.transaction() as tx:
            await tx.forget_digest(day)


def human(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    if seconds >= 3_600:
        return f"{seconds // 3_600}h {seconds % 3_600 // 60}m"
    if seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"
