"""A sweep writes back only `STEP_FIELDS` of the clocks it steps: `step` must change nothing
else, whatever it does (remind, breach, escalate, plan, or nothing at all)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from bot.core.calendar import Calendar, business_default
from bot.core.domain import TicketId
from bot.core.sla import STEP_FIELDS, Metric, Rules, SlaClock, paused, started, step

OPENED = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)  # a Friday, late in the afternoon
RULES = Rules(before_breach=timedelta(minutes=15), after_breach=timedelta(hours=1))
CALENDARS = (Calendar.always_open(), business_default())
MOMENTS = [OPENED + timedelta(minutes=m) for m in (0, 44, 46, 61, 125, 185, 3 * 24 * 60)]


def clocks(cal: Calendar) -> list[SlaClock]:
    fresh = started(TicketId(1), Metric.FIRST_RESPONSE, OPENED, timedelta(hours=1), cal)
    return [fresh, paused(fresh, OPENED + timedelta(minutes=10), cal)]


def test_step_changes_only_the_fields_a_sweep_writes_back() -> None:
    others = [f.name for f in dataclasses.fields(SlaClock) if f.name not in STEP_FIELDS]
    seen_notices = 0
    for cal in CALENDARS:
        for clock in clocks(cal):
            for escalate in (True, False):
                current = clock
                for now in MOMENTS:
                    after, notices = step(current, cal, RULES, now, escalate)
                    seen_notices += len(notices)
                    for name in others:
                        assert getattr(after, name) == getattr(current, name), (name, now)
                    current = after
    assert seen_notices >= 6  # reminders, breaches and escalations were among the steps
