"""Business-time arithmetic: opening hours, holidays as local dates, DST, and its inverses."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.calendar import (
    END_OF_DAY,
    Calendar,
    CalendarError,
    Window,
    business_default,
    parse_duration,
)
from bot.core.errors import ConfigError

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def utc(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def berlin(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def berlin_calendar(**hours: str) -> Calendar:
    return Calendar.from_config("berlin", timezone="Europe/Berlin", hours=hours)


# 2026-05-15 is a Friday, 2026-05-18 the Monday after, 2026-05-20 a Wednesday.
BUSINESS = business_default()


def test_business_default_is_weekdays_nine_to_five_utc() -> None:
    assert BUSINESS.name == "business"
    assert BUSINESS.timezone == "UTC"
    assert BUSINESS.is_open(utc(5, 18, 9))
    assert not BUSINESS.is_open(utc(5, 18, 8, 59))
    assert not BUSINESS.is_open(utc(5, 16, 12))  # Saturday
    assert BUSINESS.elapsed(utc(5, 18), utc(5, 25)) == 40 * H


def test_friday_afternoon_plus_an_hour_is_monday_morning() -> None:
    assert BUSINESS.add(utc(5, 15, 16, 30), H) == utc(5, 18, 9, 30)


def test_a_due_time_landing_on_closing_stays_at_closing() -> None:
    assert BUSINESS.add(utc(5, 15, 16), H) == utc(5, 15, 17)


def test_adding_nothing_returns_the_start_even_when_closed() -> None:
    assert BUSINESS.add(utc(5, 16, 12), timedelta(0)) == utc(5, 16, 12)
    assert BUSINESS.add(utc(5, 18, 10), timedelta(0)) == utc(5, 18, 10)


def test_starting_before_opening_counts_from_opening() -> None:
    assert BUSINESS.add(utc(5, 18, 7), 30 * M) == utc(5, 18, 9, 30)
    assert BUSINESS.add(utc(5, 16, 12), H) == utc(5, 18, 10)  # from Saturday


def test_adding_a_whole_day_of_open_time_from_opening_ends_at_closing() -> None:
    assert BUSINESS.add(utc(5, 18, 9), 8 * H) == utc(5, 18, 17)
    assert BUSINESS.add(utc(5, 18, 9), 8 * H + M) == utc(5, 19, 9, 1)


def test_fifteen_minutes_before_monday_0910_is_friday_1655() -> None:
    assert BUSINESS.subtract(utc(5, 18, 9, 10), 15 * M) == utc(5, 15, 16, 55)


def test_subtracting_back_exactly_to_an_opening_returns_the_opening() -> None:
    assert BUSINESS.subtract(utc(5, 18, 9, 15), 15 * M) == utc(5, 18, 9)
    assert BUSINESS.subtract(utc(5, 15, 17), 8 * H) == utc(5, 15, 9)


def test_subtracting_from_closed_time_counts_back_from_the_last_closing() -> None:
    assert BUSINESS.subtract(utc(5, 16, 12), 15 * M) == utc(5, 15, 16, 45)


def test_subtracting_nothing_returns_the_end() -> None:
    assert BUSINESS.subtract(utc(5, 16, 12), timedelta(0)) == utc(5, 16, 12)


def test_elapsed_counts_only_open_time() -> None:
    assert BUSINESS.elapsed(utc(5, 15, 16), utc(5, 18, 10)) == 2 * H
    assert BUSINESS.elapsed(utc(5, 16), utc(5, 17, 23)) == timedelta(0)


def test_elapsed_is_zero_when_the_end_is_not_after_the_start() -> None:
    assert BUSINESS.elapsed(utc(5, 18, 12), utc(5, 18, 10)) == timedelta(0)
    assert BUSINESS.elapsed(utc(5, 18, 12), utc(5, 18, 12)) == timedelta(0)


def test_open_at_the_opening_instant_but_closed_at_the_closing_one() -> None:
    assert BUSINESS.is_open(utc(5, 18, 9))
    assert BUSINESS.is_open(utc(5, 18, 16, 59))
    assert not BUSINESS.is_open(utc(5, 18, 17))


def test_next_open_is_the_instant_itself_when_open_else_the_next_opening() -> None:
    assert BUSINESS.next_open(utc(5, 18, 10)) == utc(5, 18, 10)
    assert BUSINESS.next_open(utc(5, 18, 9)) == utc(5, 18, 9)
    assert BUSINESS.next_open(utc(5, 15, 17)) == utc(5, 18, 9)
    assert BUSINESS.next_open(utc(5, 18, 8)) == utc(5, 18, 9)


def test_inputs_in_any_zone_give_instants_in_utc() -> None:
    friday_1630 = datetime(2026, 5, 15, 12, 30, tzinfo=ZoneInfo("America/New_York"))
    due = BUSINESS.add(friday_1630, H)
    assert due == utc(5, 18, 9, 30)
    assert due.tzinfo is UTC
    assert BUSINESS.subtract(friday_1630, 30 * M).tzinfo is UTC
    assert BUSINESS.next_open(friday_1630).tzinfo is UTC


@pytest.mark.parametrize(
    "call",
    [
        lambda cal, naive: cal.is_open(naive),
        lambda cal, naive: cal.next_open(naive),
        lambda cal, naive: cal.add(naive, H),
        lambda cal, naive: cal.subtract(naive, H),
        lambda cal, naive: cal.elapsed(naive, utc(5, 18)),
        lambda cal, naive: cal.elapsed(utc(5, 18), naive),
    ],
)
def test_naive_datetimes_are_refused(call: Callable[[Calendar, datetime], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(BUSINESS, datetime(2026, 5, 18, 10))  # noqa: DTZ001 - naive on purpose


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="zero or more"):
        BUSINESS.add(utc(5, 18, 10), -H)
    with pytest.raises(ValueError, match="zero or more"):
        BUSINESS.subtract(utc(5, 18, 10), -H)


def test_several_windows_a_day_skip_the_gap_between_them() -> None:
    cal = Calendar.from_config("split", hours={"wed": "09:00-12:00,13:00-17:00"})
    assert cal.add(utc(5, 20, 11, 30), H) == utc(5, 20, 13, 30)
    assert cal.elapsed(utc(5, 20, 11), utc(5, 20, 14)) == 2 * H
    assert not cal.is_open(utc(5, 20, 12, 30))
    assert cal.next_open(utc(5, 20, 12, 30)) == utc(5, 20, 13)
    assert cal.subtract(utc(5, 20, 13, 15), 30 * M) == utc(5, 20, 11, 45)


def test_touching_windows_count_as_one_stretch() -> None:
    cal = Calendar.from_config("touching", hours={"wed": "09:00-12:00,12:00-17:00"})
    assert cal.add(utc(5, 20, 11, 30), H) == utc(5, 20, 12, 30)
    assert cal.is_open(utc(5, 20, 12))


def test_an_overnight_window_runs_from_friday_night_into_saturday() -> None:
    cal = Calendar.from_config("nights", hours={"fri": "22:00-06:00"})
    assert cal.add(utc(5, 15, 21), H) == utc(5, 15, 23)
    assert cal.add(utc(5, 15, 22), 8 * H) == utc(5, 16, 6)
    assert cal.is_open(utc(5, 16, 5, 59))
    assert not cal.is_open(utc(5, 16, 6))
    assert cal.add(utc(5, 16, 5), 2 * H) == utc(5, 22, 23)
    assert cal.subtract(utc(5, 22, 23), 2 * H) == utc(5, 16, 5)


def test_24_00_closes_at_the_next_midnight() -> None:
    cal = Calendar.from_config("late", hours={"sat": "22:00-24:00"})
    assert cal.is_open(utc(5, 16, 23, 59))
    assert not cal.is_open(utc(5, 17))
    assert cal.add(utc(5, 16, 22), 2 * H) == utc(5, 17)


def test_a_whole_week_of_00_to_24_adds_like_always_open() -> None:
    whole_days = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "00:00-24:00")
    cal = Calendar.from_config("week", hours=whole_days)
    assert cal.add(utc(5, 18, 10), 100 * H) == utc(5, 18, 10) + 100 * H
    assert cal.elapsed(utc(5, 1), utc(6, 1)) == timedelta(days=31)


def test_window_text_round_trips_through_str() -> None:
    assert str(Window(time(9), time(17))) == "09:00-17:00"
    assert str(Window(time(22), END_OF_DAY)) == "22:00-24:00"
    assert Window(time(22), time(6)).overnight
    assert not Window(time(22), END_OF_DAY).overnight


def test_72_business_hours_look_at_each_day_once() -> None:
    cal = business_default()
    assert cal.add(utc(5, 18, 9), 72 * H) == utc(5, 28, 17)
    assert len(cal._spans) <= 12  # one cached entry per local day, not per minute


# --- DST: local windows go to UTC one by one (Europe/Berlin: 2026-03-29 and 2026-10-25) ---


def test_a_whole_day_is_23_hours_on_spring_forward_and_25_on_fall_back() -> None:
    cal = berlin_calendar(sun="00:00-24:00")
    assert cal.elapsed(utc(3, 28, 12), utc(3, 30, 12)) == 23 * H
    assert cal.elapsed(utc(10, 24, 12), utc(10, 26, 12)) == 25 * H
    assert cal.add(berlin(3, 29), 23 * H) == berlin(3, 30)
    assert cal.add(berlin(10, 25), 25 * H) == berlin(10, 26)


def test_office_hours_are_eight_hours_on_both_dst_days() -> None:
    cal = berlin_calendar(sun="09:00-17:00")
    assert cal.elapsed(utc(3, 28, 12), utc(3, 30, 12)) == 8 * H
    assert cal.elapsed(utc(10, 24, 12), utc(10, 26, 12)) == 8 * H
    assert cal.next_open(utc(3, 28, 12)) == utc(3, 29, 7)  # 09:00 CEST
    assert cal.next_open(utc(10, 24, 12)) == utc(10, 25, 8)  # 09:00 CET


def test_a_window_starting_in_the_spring_gap_opens_when_the_gap_ends() -> None:
    cal = berlin_calendar(sun="02:30-05:00")
    assert cal.next_open(utc(3, 29)) == utc(3, 29, 1)  # 03:00 CEST, the first instant after
    assert cal.elapsed(utc(3, 28), utc(3, 30)) == 2 * H


def test_a_window_ending_in_the_spring_gap_closes_when_the_gap_starts() -> None:
    cal = berlin_calendar(sun="00:00-02:30")
    assert cal.elapsed(utc(3, 28), utc(3, 30)) == 2 * H  # 23:00Z to 01:00Z
    assert not cal.is_open(utc(3, 29, 1))


def test_a_window_wholly_inside_the_spring_gap_has_no_open_time() -> None:
    cal = berlin_calendar(sun="02:00-02:45")
    assert cal.elapsed(utc(3, 28), utc(3, 30)) == timedelta(0)
    assert cal.next_open(utc(3, 29)) == utc(4, 5, 0)  # the next Sunday's 02:00 CEST


def test_an_ambiguous_fall_back_time_means_its_first_occurrence() -> None:
    cal = berlin_calendar(sun="02:30-05:00")
    assert cal.next_open(utc(10, 25)) == utc(10, 25, 0, 30)  # 02:30 CEST, not CET
    assert cal.elapsed(utc(10, 24), utc(10, 26)) == 3 * H + 30 * M


# --- Holidays are local dates, and a holiday closes every window that starts on it ---


def test_holidays_are_local_dates() -> None:
    every_day = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "00:00-24:00")
    cal = Calendar.from_config(
        "xmas", timezone="Europe/Berlin", hours=every_day, holiday_dates=["2026-12-24"]
    )
    assert cal.is_open(utc(12, 23, 22, 30))  # 23:30 on the 23rd in Berlin
    assert not cal.is_open(utc(12, 23, 23, 30))  # already the 24th in Berlin
    assert cal.is_open(utc(12, 24, 23, 30))  # the 25th in Berlin
    assert cal.next_open(utc(12, 24, 12)) == utc(12, 24, 23)


def test_a_holiday_closes_the_overnight_tail_of_its_window() -> None:
    cal = Calendar.from_config(
        "nights", hours={"fri": "22:00-06:00"}, holiday_dates=[date(2026, 5, 15)]
    )
    assert not cal.is_open(utc(5, 15, 23))
    assert not cal.is_open(utc(5, 16, 3))
    assert cal.is_open(utc(5, 23, 3))


def test_country_holidays_close_the_day() -> None:
    cal = Calendar.from_config(
        "de",
        timezone="Europe/Berlin",
        hours=dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:00-17:00"),
        holiday_country="DE",
    )
    assert not cal.is_open(berlin(5, 1, 10))  # Labour Day, a Friday
    assert cal.add(berlin(4, 30, 16), 2 * H) == berlin(5, 4, 10)


def test_a_subdivision_adds_its_own_holidays() -> None:
    hours = {"tue": "09:00-17:00"}
    bavaria = Calendar.from_config(
        "by", timezone="Europe/Berlin", hours=hours, holiday_country="DE", holiday_subdivision="BY"
    )
    berlin_state = Calendar.from_config(
        "be", timezone="Europe/Berlin", hours=hours, holiday_country="DE", holiday_subdivision="BE"
    )
    epiphany = berlin(1, 6, 10)
    assert not bavaria.is_open(epiphany)
    assert berlin_state.is_open(epiphany)


def test_a_calendar_whose_every_open_day_is_a_holiday_raises_instead_of_looping() -> None:
    mondays = [date(2026, 1, 5) + timedelta(weeks=n) for n in range(4 * 53)]
    cal = Calendar.from_config("never", hours={"mon": "09:00-17:00"}, holiday_dates=mondays)
    for call in (
        lambda: cal.add(utc(1, 1), H),
        lambda: cal.subtract(utc(12, 31, year=2029), H),
        lambda: cal.next_open(utc(1, 1)),
    ):
        with pytest.raises(CalendarError, match="'never' has no open time within 3 years"):
            call()
    assert not cal.is_open(utc(1, 5, 10))
    assert cal.elapsed(utc(1, 1), utc(1, 1, year=2029)) == timedelta(0)


# --- Configuration errors name the calendar and the problem ---


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown timezone 'Mars/Olympus'"),
        ({"hours": {"monday": "09:00-17:00"}}, "unknown day 'monday'"),
        ({"hours": {"mon": "9-17"}}, "mon hours '9-17' are not like \"09:00-17:00\""),
        ({"hours": {"mon": "09:00-25:00"}}, "mon hours '09:00-25:00' are not like"),
        ({"hours": {"mon": "24:00-06:00"}}, "mon hours '24:00-06:00' are not like"),
        ({"hours": {"mon": "09:60-17:00"}}, "mon hours '09:60-17:00' are not like"),
        ({"hours": {"mon": "09:00-17:00,"}}, "mon hours '' are not like"),
        ({"holiday_country": "XX"}, "unknown holiday calendar"),
        ({"holiday_country": "DE", "holiday_subdivision": "XX"}, "unknown holiday calendar"),
        ({"holiday_subdivision": "BY"}, "holiday subdivision 'BY' needs a holiday country"),
        ({"holiday_dates": ["2026-13-01"]}, "holiday '2026-13-01' is not a date"),
        ({"holiday_dates": ["24.12.2026"]}, "holiday '24.12.2026' is not a date"),
        ({"holiday_dates": ["20261224"]}, "holiday '20261224' is not a date"),
        (
            {"holiday_dates": [datetime(2026, 12, 24, tzinfo=UTC)]},
            "holiday 2026-12-24T00:00:00+00:00 is not a date",
        ),
        ({"hours": {"mon": "09:00-09:00"}}, "mon window 09:00-09:00 has zero length"),
        (
            {"hours": {"wed": "09:00-12:00,11:00-13:00"}},
            "wed 09:00-12:00 overlaps wed 11:00-13:00",
        ),
        (
            {"hours": {"fri": "22:00-06:00", "sat": "05:00-10:00"}},
            "fri 22:00-06:00 overlaps sat 05:00-10:00",
        ),
        (
            {"hours": {"sun": "22:00-06:00", "mon": "05:00-09:00"}},
            "mon 05:00-09:00 overlaps sun 22:00-06:00",
        ),
    ],
)
def test_bad_configuration_names_the_calendar_and_the_problem(
    config: dict[str, Any], problem: str
) -> None:
    with pytest.raises(CalendarError, match=re.escape(f"calendar 'x': {problem}")):
        Calendar.from_config("x", **{"hours": {"mon": "09:00-17:00"}, **config})


@pytest.mark.parametrize("hours", [None, {}])
def test_a_calendar_without_open_hours_is_refused(hours: dict[str, str] | None) -> None:
    with pytest.raises(CalendarError, match=re.escape("calendar 'x' has no open hours")):
        Calendar.from_config("x", hours=hours)


def test_calendar_errors_are_value_errors_and_config_errors() -> None:
    assert issubclass(CalendarError, ValueError)
    assert issubclass(CalendarError, ConfigError)


def test_holiday_country_codes_are_not_case_sensitive() -> None:
    cal = Calendar.from_config(
        "de", timezone="Europe/Berlin", hours={"fri": "09:00-17:00"}, holiday_country="de"
    )
    assert not cal.is_open(berlin(5, 1, 10))


# --- always open ---


def test_always_open_is_plain_arithmetic() -> None:
    cal = Calendar.always_open()
    assert cal.name == "24x7"
    start = utc(5, 16, 3, 17)
    assert cal.is_open(start)
    assert cal.next_open(start) == start
    assert cal.add(start, 1000 * H) == start + 1000 * H
    assert cal.subtract(start, 1000 * H) == start - 1000 * H
    assert cal.elapsed(start, start + 77 * H) == 77 * H
    assert cal.elapsed(start + H, start) == timedelta(0)


# --- parse_duration ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("0m", timedelta(0)),
        (" 15m ", timedelta(minutes=15)),
    ],
)
def test_durations_are_an_integer_and_a_unit(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "30", "m", "1.5h", "-5m", "+5m", "30 m", "2w", "1h30m", "30M", "\u0663m"]
)
def test_other_duration_text_says_what_was_expected(text: str) -> None:
    expected = 'expected an integer and a unit (s, m, h, d), like "30m"'
    with pytest.raises(ValueError, match=re.escape(expected)):
        parse_duration(text)


def test_a_duration_too_long_for_timedelta_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration("999999999999d")


# --- Properties on a Berlin calendar with a split day, an overnight window and holidays ---

MIXED = Calendar.from_config(
    "mixed",
    timezone="Europe/Berlin",
    hours={
        "mon": "09:00-17:00",
        "tue": "08:00-24:00",
        "wed": "09:00-12:00,13:00-17:00",
        "fri": "22:00-06:00",
        "sun": "01:30-03:30",  # touches both DST changes
    },
    holiday_country="DE",
    holiday_dates=["2026-12-24", "2027-01-08"],  # a Thursday (closed anyway) and a Friday
)

instants = st.datetimes(
    min_value=datetime(2025, 12, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2028, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=400))
fast = settings(max_examples=200, deadline=None)


@fast
@given(instants, durations)
def test_elapsed_undoes_add(start: datetime, duration: timedelta) -> None:
    assert MIXED.elapsed(start, MIXED.add(start, duration)) == duration


@fast
@given(instants, durations)
def test_elapsed_undoes_subtract(end: datetime, duration: timedelta) -> None:
    assert MIXED.elapsed(MIXED.subtract(end, duration), end) == duration


@fast
@given(instants, durations, durations)
def test_adding_in_two_steps_is_adding_the_sum(
    start: datetime, first: timedelta, second: timedelta
) -> None:
    assert MIXED.add(MIXED.add(start, first), second) == MIXED.add(start, first + second)


@fast
@given(instants, durations.filter(bool))
def test_the_open_time_ends_at_the_due_time_and_starts_at_the_reminder(
    at: datetime, duration: timedelta
) -> None:
    assert MIXED.is_open(MIXED.add(at, duration) - timedelta(microseconds=1))
    assert MIXED.is_open(MIXED.subtract(at, duration))


@fast
@given(instants)
def test_next_open_is_the_instant_exactly_when_open(at: datetime) -> None:
    upcoming = MIXED.next_open(at)
    assert (upcoming == at) == MIXED.is_open(at)
    assert upcoming >= at
    assert MIXED.is_open(upcoming)
    assert MIXED.elapsed(at, upcoming) == timedelta(0)


@fast
@given(instants, durations)
def test_always_open_adds_and_measures_plainly(start: datetime, duration: timedelta) -> None:
    cal = Calendar.always_open()
    assert cal.add(start, duration) == start + duration
    assert cal.subtract(start, duration) == start - duration
    assert cal.elapsed(start, start + duration) == duration
