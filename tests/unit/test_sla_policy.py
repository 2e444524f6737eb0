"""The SLA sections of threadline.toml: defaults, partial tables, calendars, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import load_policy
from bot.core.domain import Priority
from bot.core.errors import ConfigError

EXAMPLE = """
[sla]
default_priority = "high"
[sla.urgent]
first_response = "30m"
next_response = "2h"
resolution = "4h"
calendar = "24x7"
[sla.normal]
first_response = "4h"
calendar = "business"
[calendars.business]
timezone = "Europe/Berlin"
hours = { mon = "09:00-17:00", tue = "09:00-17:00", wed = "09:00-12:00,13:00-17:00" }
holidays = { country = "DE", dates = ["2026-12-24"] }
[reminders]
before_breach = "15m"
[escalation]
after_breach = "1h"
[jobs]
interval = "30s"
[csat]
delay = "1h"
cooldown = "7d"
[tickets]
close_after = "4d"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "threadline.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file() -> None:
    policy = load_policy(None)
    urgent, low = policy.targets(Priority.URGENT), policy.targets(Priority.LOW)
    assert (urgent.first_response, urgent.resolution) == (timedelta(minutes=30), timedelta(hours=4))
    assert urgent.calendar == "24x7"
    assert (low.first_response, low.resolution) == (timedelta(hours=24), timedelta(hours=72))
    high, normal = policy.targets(Priority.HIGH), policy.targets(Priority.NORMAL)
    assert (high.first_response, high.resolution) == (timedelta(hours=1), timedelta(hours=8))
    assert (normal.first_response, normal.resolution) == (timedelta(hours=8), timedelta(hours=24))
    business = policy.calendar(Priority.NORMAL)
    friday = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)
    assert business.add(friday, timedelta(hours=1)) == datetime(2026, 3, 9, 9, 30, tzinfo=UTC)
    assert policy.jobs.interval == timedelta(seconds=30)
    assert policy.tickets.close_after == timedelta(days=4)
    assert policy.default_priority is Priority.NORMAL


def test_the_documented_example_loads(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, EXAMPLE))
    assert policy.default_priority is Priority.HIGH
    normal = policy.targets(Priority.NORMAL)
    assert normal.first_response == timedelta(hours=4)
    assert normal.resolution == timedelta(hours=24)  # not given: the default stays
    berlin = policy.calendar(Priority.NORMAL)
    christmas_eve = datetime(2026, 12, 24, 10, tzinfo=UTC)
    assert not berlin.is_open(christmas_eve)
    assert policy.calendar(Priority.URGENT).is_open(christmas_eve)
    assert policy.csat.cooldown == timedelta(days=7)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[sla.high]\nfirst_response = "soon"\n', "sla.high.first_response"),
        ('[sla.high]\ncalendar = "night"\n', "no calendar named 'night'"),
        ("[jobs]\ninterval = 30\n", "jobs.interval"),
        ('[calendars.x]\ntimezone = "Mars/Olympus"\n', "calendars.x"),
        ('[calendars.x]\nhours = { mon = "9-5" }\n', "calendars.x"),
        ("[calendars.x]\nhours = {}\n", "has no open hours"),
        ('[reminders]\nbefore = "15m"\n', "reminders.before"),
    ],
)
def test_a_malformed_file_names_the_file_and_the_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_policy(path)
    message = str(raised.value)
    assert str(path) in message
    assert expected in message
