"""SLA clocks as pure functions: started, met, paused, re-targeted, breached, escalated."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from bot.core.calendar import Calendar, business_default
from bot.core.domain import (
    CustomerId,
    Priority,
    Status,
    Ticket,
    TicketId,
    TicketNumber,
)
from bot.core.sla import (
    Change,
    ClockState,
    Metric,
    Notice,
    NoticeKind,
    Rules,
    SlaClock,
    earliest_due,
    planned,
    reconcile,
    step,
)

OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
ALWAYS = Calendar.always_open()
RULES = Rules(before_breach=timedelta(minutes=15), after_breach=timedelta(hours=1))
TARGETS = {
    Metric.FIRST_RESPONSE: timedelta(hours=1),
    Metric.NEXT_RESPONSE: timedelta(hours=2),
    Metric.RESOLUTION: timedelta(hours=8),
}


def ticket(**changes: object) -> Ticket:
    base = Ticket(
        id=TicketId(1),
        number=TicketNumber(1001),
        customer_id=CustomerId(1),
        subject="Printer",
        status=Status.NEW,
        priority=Priority.NORMAL,
        tier=1,
        created_at=OPENED,
        updated_at=OPENED,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def clocks_at(t: Ticket, before: dict[Metric, SlaClock] | None = None, **kw: object) -> dict:
    now = kw.pop("now", OPENED)
    change = kw.pop("change", Change())
    targets = kw.pop("targets", TARGETS)
    cal = kw.pop("cal", ALWAYS)
    return reconcile(t, before or {}, targets, cal, now=now, change=change)  # type: ignore[arg-type]


def test_a_new_ticket_runs_first_response_and_resolution() -> None:
    clocks = clocks_at(ticket())
    assert set(clocks) == {Metric.FIRST_RESPONSE, Metric.RESOLUTION}
    assert clocks[Metric.FIRST_RESPONSE].due_at == OPENED + timedelta(hours=1)
    assert clocks[Metric.RESOLUTION].due_at == OPENED + timedelta(hours=8)
    assert earliest_due(clocks) == OPENED + timedelta(hours=1)


def test_the_first_reply_meets_first_response() -> None:
    opened = clocks_at(ticket())
    replied_at = OPENED + timedelta(minutes=20)
    t = ticket(first_response_at=replied_at)
    clocks = clocks_at(t, opened, now=replied_at, change=Change(agent_replied_at=replied_at))
    first = clocks[Metric.FIRST_RESPONSE]
    assert first.state is ClockState.MET
    assert first.met_at == replied_at
    assert first.breached_at is None
    assert earliest_due(clocks) == OPENED + timedelta(hours=8)  # only resolution runs


def test_next_response_runs_from_the_oldest_unanswered_message() -> None:
    answered = ticket(first_response_at=OPENED + timedelta(minutes=5))
    clocks = clocks_at(answered, clocks_at(ticket()))
    first_question = OPENED + timedelta(minutes=30)
    clocks = clocks_at(answered, clocks, change=Change(customer_wrote_at=first_question))
    second_question = OPENED + timedelta(minutes=40)
    clocks = clocks_at(answered, clocks, change=Change(customer_wrote_at=second_question))
    waiting = clocks[Metric.NEXT_RESPONSE]
    assert waiting.started_at == first_question
    assert waiting.due_at == first_question + timedelta(hours=2)
    reply = OPENED + timedelta(minutes=50)
    clocks = clocks_at(answered, clocks, change=Change(agent_replied_at=reply))
    assert clocks[Metric.NEXT_RESPONSE].state is ClockState.MET
    again = OPENED + timedelta(hours=3)
    clocks = clocks_at(answered, clocks, change=Change(customer_wrote_at=again))
    renewed = clocks[Metric.NEXT_RESPONSE]
    assert renewed.state is ClockState.RUNNING
    assert renewed.due_at == again + timedelta(hours=2)
    assert renewed.due_version == waiting.due_version + 1  # its notifications are new ones


def test_a_customer_message_before_the_first_reply_starts_no_next_response() -> None:
    clocks = clocks_at(ticket(), change=Change(customer_wrote_at=OPENED + timedelta(minutes=1)))
    assert Metric.NEXT_RESPONSE not in clocks


def test_pending_pauses_resolution_and_banks_the_time_used() -> None:
    clocks = clocks_at(ticket())
    pended = OPENED + timedelta(hours=3)
    clocks = clocks_at(ticket(status=Status.PENDING), clocks, now=pended)
    paused = clocks[Metric.RESOLUTION]
    assert paused.state is ClockState.PAUSED
    assert paused.banked == timedelta(hours=3)
    assert paused.due_at is None
    woke = pended + timedelta(days=2)  # two days waiting on the customer cost nothing
    clocks = clocks_at(ticket(status=Status.CLAIMED), clocks, now=woke)
    resumed = clocks[Metric.RESOLUTION]
    assert resumed.state is ClockState.RUNNING
    assert resumed.due_at == woke + timedelta(hours=5)


def test_a_priority_change_retargets_running_clocks() -> None:
    clocks = clocks_at(ticket())
    urgent = {**TARGETS, Metric.FIRST_RESPONSE: timedelta(minutes=30)}
    later = OPENED + timedelta(minutes=10)
    changed = clocks_at(ticket(priority=Priority.URGENT), clocks, now=later, targets=urgent)
    first = changed[Metric.FIRST_RESPONSE]
    assert first.due_at == OPENED + timedelta(minutes=30)
    assert first.due_version == clocks[Metric.FIRST_RESPONSE].due_version + 1
    assert changed[Metric.RESOLUTION].due_version == clocks[Metric.RESOLUTION].due_version


def test_a_breach_is_permanent_even_when_the_target_is_met_later() -> None:
    clocks = clocks_at(ticket())
    late_reply = OPENED + timedelta(hours=2)
    t = ticket(first_response_at=late_reply)
    clocks = clocks_at(t, clocks, now=late_reply, change=Change(agent_replied_at=late_reply))
    first = clocks[Metric.FIRST_RESPONSE]
    assert first.state is ClockState.MET
    assert first.breached_at == OPENED + timedelta(hours=1)
    assert first.breaches == 1


def test_resolving_stops_response_clocks_and_meets_resolution() -> None:
    clocks = clocks_at(ticket())
    done = OPENED + timedelta(hours=2)
    clocks = clocks_at(ticket(status=Status.RESOLVED, resolved_at=done), clocks, now=done)
    assert clocks[Metric.FIRST_RESPONSE].state is ClockState.STOPPED
    assert clocks[Metric.RESOLUTION].state is ClockState.MET
    assert earliest_due(clocks) is None
    reopened = done + timedelta(hours=1)
    clocks = clocks_at(ticket(status=Status.NEW), clocks, now=reopened)
    assert clocks[Metric.RESOLUTION].due_at == reopened + timedelta(hours=6)  # 2h were used


def _first(cal: Calendar = ALWAYS) -> SlaClock:
    clock = clocks_at(ticket(), cal=cal)[Metric.FIRST_RESPONSE]
    return planned(clock, cal, RULES, OPENED, escalate=True)


def test_a_reminder_then_a_breach_then_the_escalation_ladder() -> None:
    clock = _first()
    assert clock.next_action_at == OPENED + timedelta(minutes=45)
    clock, notices = step(clock, ALWAYS, RULES, OPENED + timedelta(minutes=44), True)
    assert notices == []
    clock, notices = step(clock, ALWAYS, RULES, OPENED + timedelta(minutes=45), True)
    assert notices == [Notice(NoticeKind.REMINDER)]
    clock, notices = step(clock, ALWAYS, RULES, OPENED + timedelta(minutes=50), True)
    assert notices == []  # reminded once
    assert clock.next_action_at == OPENED + timedelta(hours=1)
    clock, notices = step(clock, ALWAYS, RULES, OPENED + timedelta(hours=1, seconds=5), True)
    assert notices == [Notice(NoticeKind.BREACH)]
    assert clock.breached_at == OPENED + timedelta(hours=1)
    assert clock.next_action_at == OPENED + timedelta(hours=2)
    clock, notices = step(clock, ALWAYS, RULES, OPENED + timedelta(hours=2), True)
    assert notices == [Notice(NoticeKind.ESCALATION, 1)]
    assert clock.next_action_at == OPENED + timedelta(hours=3)
    clock, notices = step(clock, ALWAYS, RULES, OPENED + timedelta(hours=3), False)
    assert notices == []  # at the top tier: nothing further
    assert clock.next_action_at is None


def test_a_late_sweep_skips_the_reminder_and_reports_the_breach() -> None:
    _, notices = step(_first(), ALWAYS, RULES, OPENED + timedelta(hours=5), True)
    assert notices == [Notice(NoticeKind.BREACH)]


def test_reminders_wait_for_business_hours() -> None:
    cal = business_default()  # Monday to Friday, 09:00 to 17:00 UTC
    friday = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)
    t = ticket(created_at=friday, updated_at=friday)
    clock = reconcile(t, {}, TARGETS, cal, now=friday)[Metric.FIRST_RESPONSE]
    assert clock.due_at == datetime(2026, 3, 9, 9, 30, tzinfo=UTC)  # Monday 09:30
    # The reminder is 15 business minutes before: Monday 09:15. A sweep on Saturday (the
    # process was down all Friday evening) holds it.
    clock = planned(clock, cal, RULES, friday, escalate=True)
    assert clock.next_action_at == datetime(2026, 3, 9, 9, 15, tzinfo=UTC)
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    held, notices = step(clock, cal, RULES, saturday, True)
    assert notices == []
    monday = datetime(2026, 3, 9, 9, 16, tzinfo=UTC)
    _, notices = step(held, cal, RULES, monday, True)
    assert notices == [Notice(NoticeKind.REMINDER)]


def test_a_reminder_due_while_closed_is_sent_when_the_calendar_opens() -> None:
    cal = business_default()
    friday = datetime(2026, 3, 6, 16, 50, tzinfo=UTC)
    t = ticket(created_at=friday, updated_at=friday)
    short = {**TARGETS, Metric.FIRST_RESPONSE: timedelta(minutes=20)}
    clock = reconcile(t, {}, short, cal, now=friday)[Metric.FIRST_RESPONSE]
    remind_at = datetime(2026, 3, 6, 16, 55, tzinfo=UTC)
    assert clock.due_at == datetime(2026, 3, 9, 9, 10, tzinfo=UTC)
    night = datetime(2026, 3, 6, 23, 0, tzinfo=UTC)
    clock = planned(clock, cal, RULES, night, escalate=True)
    assert clock.next_action_at == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # held till Monday
    assert remind_at < night
