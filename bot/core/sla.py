"""SLA clocks: pure functions of a ticket's state, its clocks, a calendar and the time.

Each ticket has up to three clocks: first response (from opening to the first reply the
customer sees), next response (from the oldest customer message left unanswered to the reply
that answers it) and resolution (from opening to resolution, paused while the ticket waits on
the customer). A clock counts business time on its priority's calendar. A breach is recorded
once and stays, even when the target is met later. Every change of a clock's due time bumps its
`due_version`, which keys the notifications sent for it, so a re-targeted clock is reminded
afresh and an unchanged one never twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.calendar import Calendar
from bot.core.domain import MAX_TIER, Status, Ticket, TicketId

ZERO = timedelta(0)


class Metric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # waiting on the customer: business time is banked, nothing is due
    MET = "met"
    STOPPED = "stopped"  # the ticket was resolved or closed before the target was met


class NoticeKind(StrEnum):
    REMINDER = "reminder"
    BREACH = "breach"
    ESCALATION = "escalation"


@dataclass(frozen=True, slots=True)
class SlaClock:
    ticket_id: TicketId
    metric: Metric
    state: ClockState
    started_at: datetime  # when the measured wait began
    target: timedelta  # business time allowed
    running_since: datetime | None  # start of the current running stretch
    due_at: datetime | None
    banked: timedelta = ZERO  # business time used before `running_since`
    due_version: int = 1
    met_at: datetime | None = None
    breached_at: datetime | None = None  # when the current wait breached; never cleared
    breaches: int = 0  # waits of this metric that breached, over the ticket's life
    reminded_version: int = 0  # the due_version a reminder went out for
    escalations: int = 0  # escalation steps taken since the breach
    next_action_at: datetime | None = None  # when a sweep must look at this clock again


# What `step` may change in a clock; everything else follows the ticket (`reconcile`). A sweep
# writes back only these.
STEP_FIELDS = ("breached_at", "breaches", "reminded_version", "escalations", "next_action_at")


@dataclass(frozen=True, slots=True)
class Rules:
    before_breach: timedelta
    after_breach: timedelta


@dataclass(frozen=True, slots=True)
class NotificationKey:
    """What makes a notification one of a kind: claimed once, sent once."""

    ticket_id: TicketId
    metric: str  # a Metric, or another job's name ("pending", "csat")
    kind: str
    level: int = 0
    due_version: int = 0


@dataclass(frozen=True, slots=True)
class Notice:
    kind: NoticeKind
    level: int = 0


# --- moving one clock ----------------------------------------------------------------------


def started(
    ticket_id: TicketId, metric: Metric, at: datetime, target: timedelta, cal: Calendar
) -> SlaClock:
    return SlaClock(
        ticket_id=ticket_id,
        metric=metric,
        state=ClockState.RUNNING,
        started_at=at,
        target=target,
        running_since=at,
        due_at=cal.add(at, target),
    )


def restarted(clock: SlaClock, at: datetime, cal: Calendar) -> SlaClock:
    """A new wait of the same metric (a customer writes again after being answered)."""
    fresh = started(clock.ticket_id, clock.metric, at, clock.target, cal)
    return dataclasses.replace(fresh, due_version=clock.due_version + 1, breaches=clock.breaches)


def _used(clock: SlaClock, at: datetime, cal: Calendar) -> timedelta:
    if clock.running_since is None:
        return clock.banked
    return clock.banked + cal.elapsed(clock.running_since, at)


def _breach_by(clock: SlaClock, at: datetime) -> SlaClock:
    """Record a breach that happened before `at` and that no sweep has recorded yet."""
    if clock.breached_at is None and clock.due_at is not None and clock.due_at < at:
        return dataclasses.replace(clock, breached_at=clock.due_at, breaches=clock.breaches + 1)
    return clock


def paused(clock: SlaClock, at: datetime, cal: Calendar) -> SlaClock:
    if clock.state is not ClockState.RUNNING:
        return clock
    clock = _breach_by(clock, at)
    return dataclasses.replace(
        clock,
        state=ClockState.PAUSED,
        banked=_used(clock, at, cal),
        running_since=None,
        due_at=None,
        next_action_at=None,
    )


def resumed(clock: SlaClock, at: datetime, cal: Calendar) -> SlaClock:
    """Running again after a pause, or after a resolution the customer reopened."""
    if clock.state not in (ClockState.PAUSED, ClockState.MET):
        return clock
    left = max(clock.target - clock.banked, ZERO)
    return dataclasses.replace(
        clock,
        state=ClockState.RUNNING,
        running_since=at,
        due_at=cal.add(at, left),
        due_version=clock.due_version + 1,
        met_at=None,
    )


def ended(clock: SlaClock, at: datetime, cal: Calendar, state: ClockState) -> SlaClock:
    """Met (or stopped) at `at`; a breach before then is recorded and stays."""
    if clock.state not in (ClockState.RUNNING, ClockState.PAUSED):
        return clock
    clock = _breach_by(clock, at)
    return dataclasses.replace(
        clock,
        state=state,
        banked=_used(clock, at, cal),
        running_since=None,
        met_at=at if state is ClockState.MET else None,
        next_action_at=None,
    )


def retargeted(clock: SlaClock, target: timedelta, cal: Calendar) -> SlaClock:
    """A priority change (or a new policy) moves the due time of a running clock."""
    if target == clock.target:
        return clock
    clock = dataclasses.replace(clock, target=target)
    if clock.state is not ClockState.RUNNING or clock.running_since is None:
        return clock
    due = cal.add(clock.running_since, max(target - clock.banked, ZERO))
    return dataclasses.replace(clock, due_at=due, due_version=clock.due_version + 1)


# --- what a ticket's state means for its clocks -------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """What just happened to the ticket, beyond what its fields say."""

    customer_wrote_at: datetime | None = None  # a customer message arrived
    agent_replied_at: datetime | None = None  # a reply the customer sees went out


NO_CHANGE = Change()


def reconcile(
    ticket: Ticket,
    clocks: Mapping[Metric, SlaClock],
    targets: Mapping[Metric, timedelta],
    cal: Calendar,
    *,
    now: datetime,
    change: Change = NO_CHANGE,
) -> dict[Metric, SlaClock]:
    """The ticket's clocks as its current state says they must be."""
    out: dict[Metric, SlaClock] = {}
    for metric in (Metric.FIRST_RESPONSE, Metric.RESOLUTION):
        clock = clocks.get(metric) or started(
            ticket.id, metric, ticket.created_at, targets[metric], cal
        )
        out[metric] = retargeted(clock, targets[metric], cal)
    if ticket.first_response_at is not None:
        out[Metric.FIRST_RESPONSE] = ended(
            out[Metric.FIRST_RESPONSE], ticket.first_response_at, cal, ClockState.MET
        )
    nxt = clocks.get(Metric.NEXT_RESPONSE)
    if nxt is not None:
        nxt = retargeted(nxt, targets[Metric.NEXT_RESPONSE], cal)
        if change.agent_replied_at is not None:
            nxt = ended(nxt, change.agent_replied_at, cal, ClockState.MET)
    # Before the first response, the first-response clock is what the customer waits on.
    answered = ticket.first_response_at is not None
    idle = nxt is None or nxt.state in (ClockState.MET, ClockState.STOPPED)
    if change.customer_wrote_at is not None and answered and idle:
        at = change.customer_wrote_at
        nxt = (
            restarted(nxt, at, cal)
            if nxt is not None
            else started(ticket.id, Metric.NEXT_RESPONSE, at, targets[Metric.NEXT_RESPONSE], cal)
        )
    if nxt is not None:
        out[Metric.NEXT_RESPONSE] = nxt
    return {metric: _by_status(ticket, clock, cal, now) for metric, clock in out.items()}


def _by_status(ticket: Ticket, clock: SlaClock, cal: Calendar, now: datetime) -> SlaClock:
    status = ticket.status
    if status is Status.RESOLVED or status is Status.CLOSED:
        if clock.metric is Metric.RESOLUTION:
            return ended(clock, ticket.resolved_at or ticket.closed_at or now, cal, ClockState.MET)
        return ended(clock, now, cal, ClockState.STOPPED)
    if clock.metric is not Metric.RESOLUTION:
        return clock
    if status is Status.PENDING:
        return paused(clock, now, cal)
    return resumed(clock, now, cal)


def earliest_due(clocks: Mapping[Metric, SlaClock]) -> datetime | None:
    """The ticket's next deadline: what its card shows and the queue is sorted by."""
    dues = [c.due_at for c in clocks.values() if c.state is ClockState.RUNNING and c.due_at]
    return min(dues) if dues else None


# --- what a sweep does ---------------------------------------------------------------------


def can_escalate(ticket: Ticket) -> bool:
    return ticket.status.is_open and ticket.status is not Status.RESOLVED and ticket.tier < MAX_TIER


def reminder_at(clock: SlaClock, cal: Calendar, rules: Rules) -> datetime | None:
    if clock.due_at is None:
        return None
    return cal.subtract(clock.due_at, rules.before_breach)


def planned(
    clock: SlaClock, cal: Calendar, rules: Rules, now: datetime, escalate: bool
) -> SlaClock:
    """The clock with `next_action_at` set to the next instant a sweep has work for it."""
    return dataclasses.replace(clock, next_action_at=_next_action(clock, cal, rules, now, escalate))


def _next_action(
    clock: SlaClock, cal: Calendar, rules: Rules, now: datetime, escalate: bool
) -> datetime | None:
    if clock.state is not ClockState.RUNNING or clock.due_at is None:
        return None
    if clock.breached_at is not None:
        if not escalate:
            return None
        return cal.add(clock.breached_at, rules.after_breach * (clock.escalations + 1))
    candidates = [clock.due_at]
    remind = reminder_at(clock, cal, rules)
    if clock.reminded_version < clock.due_version and remind is not None:
        # A reminder whose moment passed while the calendar was closed waits for it to open.
        candidates.append(remind if remind > now or cal.is_open(now) else cal.next_open(now))
    return min(candidates)


def step(
    clock: SlaClock, cal: Calendar, rules: Rules, now: datetime, escalate: bool
) -> tuple[SlaClock, list[Notice]]:
    """What is due for this clock at `now`: the notices to send, and the clock afterwards."""
    notices: list[Notice] = []
    if clock.state is not ClockState.RUNNING or clock.due_at is None:
        return dataclasses.replace(clock, next_action_at=None), notices
    if clock.breached_at is None:
        if now >= clock.due_at:
            notices.append(Notice(NoticeKind.BREACH))
            clock = dataclasses.replace(
                clock,
                breached_at=clock.due_at,
                breaches=clock.breaches + 1,
                reminded_version=clock.due_version,  # too late to remind: it is a breach now
            )
        elif clock.reminded_version < clock.due_version:
            remind = reminder_at(clock, cal, rules)
            if remind is not None and now >= remind and cal.is_open(now):
                notices.append(Notice(NoticeKind.REMINDER))
                clock = dataclasses.replace(clock, reminded_version=clock.due_version)
    elif escalate:
        level = clock.escalations + 1
        if now >= cal.add(clock.breached_at, rules.after_breach * level):
            notices.append(Notice(NoticeKind.ESCALATION, level))
            clock = dataclasses.replace(clock, escalations=level)
    return planned(clock, cal, rules, now, escalate), notices


def late_by(clock: SlaClock, now: datetime) -> timedelta:
    """How late a breached clock is (wall-clock time since its due time)."""
    if clock.due_at is None:
        return ZERO
    return max(now - clock.due_at, ZERO)
