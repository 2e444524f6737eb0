"""The SLA sweep's batch: many due clocks stepped in one transaction.

A batch takes up to `limit` due clocks (held on PostgreSQL, so two sweeps take different
ones), reads their tickets at once, steps every clock, writes them back in one statement,
claims every notice's key in one INSERT and queues the deliveries of the ones it claimed in one
more. All of it commits together or not at all: a crash mid-batch leaves every clock due and
nothing claimed, and the next sweep does it all again. The claim's unique key is what keeps a
notice single, here and against a second replica or a sweep before a restart.

An escalation is a move of the ticket, version-checked against people acting on it at the same
moment; a conflict there must not undo the rest of the batch. So a clock whose step escalates is
left as it is and handed back: the sweep steps it on its own (`JobUseCases.step_clock`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.delivery import NewDelivery, for_agents
from bot.core.domain import Ticket, TicketId
from bot.core.outbound import Audience, OutboundEvent, SlaBreached, SlaReminder
from bot.core.sla import (
    Notice,
    NoticeKind,
    NotificationKey,
    SlaClock,
    can_escalate,
    late_by,
    step,
)
from bot.core.usecases.base import UseCaseBase

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SweptBatch:
    """What one batch did."""

    taken: int  # due clocks the batch took (fewer than its limit: nothing more is due)
    stepped: int  # clocks it stepped and wrote back
    sent: int  # notifications it claimed and queued
    escalating: tuple[SlaClock, ...] = ()  # clocks left to step one by one (they escalate)


NOTHING = SweptBatch(0, 0, 0)


@dataclass(frozen=True, slots=True)
class _Wanted:
    key: NotificationKey
    ticket: Ticket
    clock: SlaClock  # as stepped
    notice: Notice


@dataclass(slots=True)
class _Steps:
    stepped: list[SlaClock] = field(default_factory=list)  # to write back
    escalating: list[SlaClock] = field(default_factory=list)  # to hand back, untouched
    wanted: list[_Wanted] = field(default_factory=list)  # notices to claim


class SlaSweepUseCases(UseCaseBase):
    async def sweep_clocks(self, now: datetime, limit: int) -> SweptBatch:
        """Step up to `limit` SLA clocks due by `now` in one transaction: their reminders and
        breach notices are claimed and queued; clocks that escalate are handed back."""
        # Nothing due is the common case, and a read takes no write lock (SQLite).
        async with self._storage.reading() as tx:
            if not await tx.due_clocks(now, 1):
                return NOTHING
        async with self._once() as tx:
            clocks = await tx.lock_due_clocks(now, limit)
            tickets = await tx.tickets_by_id({clock.ticket_id for clock in clocks})
            steps = self._step_all(clocks, tickets, now)
            await tx.save_steps(steps.stepped)
            claimed = await tx.claim_notifications([w.key for w in steps.wanted], now)
            sent = [w for w in steps.wanted if w.key in claimed]
            await tx.add_deliveries([new for w in sent for new in self._deliveries(w, now)])
        _log(sent)
        return SweptBatch(len(clocks), len(steps.stepped), len(sent), tuple(steps.escalating))

    def _step_all(
        self, clocks: list[SlaClock], tickets: dict[TicketId, Ticket], now: datetime
    ) -> _Steps:
        steps = _Steps()
        for clock in clocks:
            ticket = tickets.get(clock.ticket_id)
            if ticket is None:
                continue  # cannot be: a ticket's clocks go with it
            cal = self.sla.calendar(ticket.priority)
            after, notices = step(clock, cal, self.sla.rules, now, can_escalate(ticket))
            if any(notice.kind is NoticeKind.ESCALATION for notice in notices):
                steps.escalating.append(clock)  # left as it is, for `step_clock`
                continue
            steps.stepped.append(after)
            for notice in notices:
                key = NotificationKey(
                    ticket.id, clock.metric, notice.kind, notice.level, clock.due_version
                )
                steps.wanted.append(_Wanted(key, ticket, after, notice))
        return steps

    def _deliveries(self, wanted: _Wanted, now: datetime) -> list[NewDelivery]:
        created = self._clock.now()
        return [
            new
            for event in notice_events(wanted.ticket, wanted.clock, wanted.notice, now)
            for new in for_agents(self._workspaces, wanted.ticket.id, event, created)
        ]


def notice_events(
    ticket: Ticket, clock: SlaClock, notice: Notice, now: datetime
) -> list[OutboundEvent]:
    """What the agents are told of a reminder or a breach (an escalation is a move)."""
    metric = clock.metric.value
    match notice.kind:
        case NoticeKind.REMINDER:
            holder = ticket.assignee.id if ticket.assignee else None
            return [SlaReminder(metric, clock.due_at, holder)]
        case NoticeKind.BREACH:
            late = int(late_by(clock, now).total_seconds())
            # The leads, and a line in the thread. The card shows nothing a breach changes
            # (its due time stays): redrawing it would be a call to the workspace for nothing.
            return [
                SlaBreached(metric, clock.due_at, late, audience=Audience.LEADS),
                SlaBreached(metric, clock.due_at, late),
            ]
    raise ValueError(f"{notice.kind} is not told by a batch")


def _log(sent: list[_Wanted]) -> None:
    for w in sent:
        log.debug(
            "Ticket #%s: %s %s (%s)", w.ticket.number, w.clock.metric, w.notice.kind, w.notice.level
        )
    if sent:
        kinds = Counter(str(w.notice.kind) for w in sent)
        log.info("SLA sweep: %s", ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())))
