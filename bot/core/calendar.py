"""Business time for SLAs: opening hours, holidays and DST, with no I/O and no clock.

A calendar is a weekly pattern of opening windows in local wall-clock time, minus holidays
(local dates). Every computation first turns each local day's windows into UTC spans and then
works only in UTC, so daylight saving time never leaks into the arithmetic: a window whose local
start or end falls in a spring-forward gap moves to the first instant after the gap, and an
ambiguous fall-back time means its first occurrence.

Spans are half-open: a calendar is open at its opening instant and closed at its closing one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from bot.core.errors import ConfigError

__all__ = [
    "DAY_KEYS",
    "END_OF_DAY",
    "Calendar",
    "CalendarError",
    "Window",
    "business_default",
    "parse_duration",
]

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

END_OF_DAY = time.max
"""`Window.end` for "24:00": the window closes at the next local midnight."""

_ZERO = timedelta(0)
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
# Only a calendar whose every open day is a holiday goes this long without open time.
_SEARCH_DAYS = 3 * 366
# Sweeps revisit the same few days; the bound only keeps a long-lived process from growing.
_CACHE_DAYS = 4096

_Span: TypeAlias = tuple[datetime, datetime]

_CLOCK = r"([0-9]{1,2}):([0-9]{2})"
_WINDOW_TEXT = re.compile(rf"\s*{_CLOCK}\s*-\s*{_CLOCK}\s*")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DURATION_TEXT = re.compile(r"([0-9]+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class CalendarError(ConfigError, ValueError):
    """A calendar is misconfigured, or has no open time to count."""


@dataclass(frozen=True, slots=True)
class Window:
    """One opening window in local wall-clock time, belonging to the day it starts on.

    `end <= start` runs overnight into the next day; `END_OF_DAY` closes at the next midnight.
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times are local wall-clock times, without a time zone")

    @property
    def overnight(self) -> bool:
        return self.end != END_OF_DAY and self.end <= self.start

    def offsets(self) -> tuple[timedelta, timedelta]:
        """Start and end as wall-clock distances from the local midnight of the window's day."""
        start = _since_midnight(self.start)
        if self.end == END_OF_DAY:
            return start, _DAY
        end = _since_midnight(self.end)
        return start, end + _DAY if self.overnight else end

    def __str__(self) -> str:
        end = "24:00" if self.end == END_OF_DAY else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


class Calendar:
    """Opening hours in one time zone, minus holidays; all instants in and out are aware, and
    every instant returned is in UTC."""

    def __init__(
        self,
        name: str,
        *,
        zone: tzinfo,
        week: Sequence[Sequence[Window]],
        is_holiday: Callable[[date], bool] = lambda _day: False,
    ) -> None:
        """`week` holds the windows of Monday to Sunday; prefer `from_config`."""
        if len(week) != len(DAY_KEYS):
            raise CalendarError(f"calendar {name!r}: a week has 7 days, not {len(week)}")
        self.name = name
        self._zone = zone
        self._week = tuple(tuple(sorted(day, key=lambda w: w.start)) for day in week)
        self._is_holiday = is_holiday
        self._spans: dict[date, tuple[_Span, ...]] = {}
        _check_week(name, self._week)

    @classmethod
    def always_open(cls, name: str = "24x7") -> Calendar:
        """Open around the clock: `add` is plain addition and `elapsed` plain difference."""
        whole_day = (Window(time(0), END_OF_DAY),)
        return cls(name, zone=UTC, week=[whole_day] * len(DAY_KEYS))

    @classmethod
    def from_config(
        cls,
        name: str,
        *,
        timezone: str = "UTC",
        hours: Mapping[str, str] | None = None,
        holiday_country: str | None = None,
        holiday_subdivision: str | None = None,
        holiday_dates: Iterable[date | str] = (),
    ) -> Calendar:
        """Build a calendar from policy-file values; raises `CalendarError` naming the problem.

        `hours` maps `mon`..`sun` to comma-separated windows like "09:00-12:00,13:00-17:00";
        an absent day is closed. Holidays (a country's, and explicit dates) are local dates.
        """
        zone = _zone(name, timezone)
        week = _week(name, hours or {})
        explicit = frozenset(_holiday_date(name, item) for item in holiday_dates)
        country = _country_holidays(name, holiday_country, holiday_subdivision)

        def is_holiday(day: date) -> bool:
            return day in explicit or (country is not None and day in country)

        return cls(name, zone=zone, week=week, is_holiday=is_holiday)

    @property
    def timezone(self) -> str:
        return str(self._zone)

    def __repr__(self) -> str:
        return f"Calendar({self.name!r}, timezone={self.timezone!r})"

    def is_open(self, at: datetime) -> bool:
        instant = _utc(at)
        # Only the day before can reach into this one, through an overnight window.
        today = self._local_date(instant)
        days = (today - _DAY, today)
        return any(start <= instant < end for day in days for start, end in self._spans_on(day))

    def next_open(self, at: datetime) -> datetime:
        """`at` itself (in UTC) if the calendar is open then, else the next opening instant."""
        instant = _utc(at)
        for start, _end in self._spans_from(instant):
            return max(start, instant)
        raise self._nothing_open(instant)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant by which `duration` of open time has passed since `start`.

        A due time that lands on a closing instant stays there rather than moving to the next
        opening, and adding nothing returns `start` even when the calendar is closed.
        """
        origin = _utc(start)
        remaining = _non_negative(duration)
        if remaining == _ZERO:
            return origin
        for span_start, span_end in self._spans_from(origin):
            begin = max(span_start, origin)
            if remaining <= span_end - begin:
                return begin + remaining
            remaining -= span_end - begin
        raise self._nothing_open(origin)

    def subtract(self, end: datetime, duration: timedelta) -> datetime:
        """The latest instant from which `duration` of open time reaches `end`.

        Counting back exactly to an opening returns that opening, not the previous closing.
        """
        target = _utc(end)
        remaining = _non_negative(duration)
        if remaining == _ZERO:
            return target
        for span_start, span_end in self._spans_until(target):
            finish = min(span_end, target)
            if remaining <= finish - span_start:
                return finish - remaining
            remaining -= finish - span_start
        raise self._nothing_open(target)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Open time between two instants; zero if `end` is not after `start`."""
        origin, target = _utc(start), _utc(end)
        total = _ZERO
        day, last = self._local_date(origin) - _DAY, self._local_date(target)
        while origin < target and day <= last:
            for span_start, span_end in self._spans_on(day):
                overlap = min(span_end, target) - max(span_start, origin)
                total += max(overlap, _ZERO)
            day += _DAY
        return total

    def _spans_from(self, instant: datetime) -> Iterator[_Span]:
        """Spans that end after `instant`, in order; stops after `_SEARCH_DAYS` closed days."""
        day, idle = self._local_date(instant) - _DAY, 0
        while idle <= _SEARCH_DAYS:
            spans = self._spans_on(day)
            idle = 0 if spans else idle + 1
            yield from (span for span in spans if span[1] > instant)
            day += _DAY

    def _spans_until(self, instant: datetime) -> Iterator[_Span]:
        """Spans that start before `instant`, latest first; stops like `_spans_from`."""
        day, idle = self._local_date(instant), 0
        while idle <= _SEARCH_DAYS:
            spans = self._spans_on(day)
            idle = 0 if spans else idle + 1
            yield from (span for span in reversed(spans) if span[0] < instant)
            day -= _DAY

    def _spans_on(self, day: date) -> tuple[_Span, ...]:
        """The UTC spans of the windows that start on local date `day`, in order."""
        spans = self._spans.get(day)
        if spans is None:
            if len(self._spans) >= _CACHE_DAYS:
                self._spans.clear()
            spans = self._spans[day] = self._build_spans(day)
        return spans

    def _build_spans(self, day: date) -> tuple[_Span, ...]:
        if self._is_holiday(day):
            return ()
        midnight = datetime.combine(day, time(0))
        spans = []
        for window in self._week[day.weekday()]:
            start, end = window.offsets()
            # Wall-clock arithmetic on naive datetimes; only then into UTC.
            span = _to_utc(midnight + start, self._zone), _to_utc(midnight + end, self._zone)
            if span[0] < span[1]:  # a window wholly inside a DST gap has no open time
                spans.append(span)
        return tuple(spans)

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self._zone).date()

    def _nothing_open(self, instant: datetime) -> CalendarError:
        years = _SEARCH_DAYS // 366
        return CalendarError(
            f"calendar {self.name!r} has no open time within {years} years of {instant:%Y-%m-%d}"
        )


def business_default() -> Calendar:
    """Monday to Friday, 09:00 to 17:00 UTC, no holidays."""
    weekday = "09:00-17:00"
    return Calendar.from_config("business", hours=dict.fromkeys(DAY_KEYS[:5], weekday))


def parse_duration(text: str) -> timedelta:
    """ "30m", "2h", "7d", "45s": a non-negative integer and one unit."""
    match = _DURATION_TEXT.fullmatch(text.strip())
    if match is None:
        raise ValueError(f'expected an integer and a unit (s, m, h, d), like "30m", not {text!r}')
    amount, unit = match.groups()
    try:
        return timedelta(**{_UNITS[unit]: int(amount)})
    except OverflowError:
        raise ValueError(f"duration {text!r} is too long") from None


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {at.isoformat()}")
    return at.astimezone(UTC)


def _non_negative(duration: timedelta) -> timedelta:
    if duration < _ZERO:
        raise ValueError(f"expected a duration of zero or more, got {duration}")
    return duration


def _since_midnight(clock: time) -> timedelta:
    return timedelta(
        hours=clock.hour, minutes=clock.minute, seconds=clock.second, microseconds=clock.microsecond
    )


def _to_utc(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of a naive local wall-clock time: fold=0 (the first occurrence) when
    ambiguous, and the first instant after the gap when it does not exist."""
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    return _end_of_gap(wall, zone)


def _end_of_gap(wall: datetime, zone: tzinfo) -> datetime:
    # Inside a gap, fold=1 reads the wall time with the offset after the transition and fold=0
    # with the one before, which brackets the transition instant; bisect it to the microsecond.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(microseconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high


def _zone(name: str, key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"calendar {name!r}: unknown timezone {key!r}") from None


def _week(name: str, hours: Mapping[str, str]) -> list[tuple[Window, ...]]:
    unknown = sorted(set(hours) - set(DAY_KEYS))
    if unknown:
        raise CalendarError(
            f"calendar {name!r}: unknown day {unknown[0]!r} in hours; use {', '.join(DAY_KEYS)}"
        )
    return [_windows(name, key, hours[key]) if key in hours else () for key in DAY_KEYS]


def _windows(name: str, key: str, text: str) -> tuple[Window, ...]:
    return tuple(_window(name, key, piece) for piece in text.split(","))


def _window(name: str, key: str, piece: str) -> Window:
    match = _WINDOW_TEXT.fullmatch(piece)
    start = end = None
    if match is not None:
        start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
        start = _clock(start_h, start_m, allow_end_of_day=False)
        end = _clock(end_h, end_m, allow_end_of_day=True)
    if start is None or end is None:
        raise CalendarError(
            f'calendar {name!r}: {key} hours {piece.strip()!r} are not like "09:00-17:00" '
            "(HH:MM-HH:MM, 24:00 allowed as an end, several separated by commas)"
        )
    return Window(start, end)


def _clock(hour: int, minute: int, *, allow_end_of_day: bool) -> time | None:
    if allow_end_of_day and (hour, minute) == (24, 0):
        return END_OF_DAY
    if hour < 24 and minute < 60:
        return time(hour, minute)
    return None


def _check_week(name: str, week: Sequence[Sequence[Window]]) -> None:
    placed: list[tuple[str, Window, timedelta, timedelta]] = []
    for index, (key, windows) in enumerate(zip(DAY_KEYS, week, strict=True)):
        for window in windows:
            if window.start == window.end:
                raise CalendarError(
                    f"calendar {name!r}: {key} window {window} has zero length "
                    "(write 00:00-24:00 for a whole day)"
                )
            start, end = window.offsets()
            placed.append((key, window, start + index * _DAY, end + index * _DAY))
    if not placed:
        raise CalendarError(f"calendar {name!r} has no open hours")
    _check_overlaps(name, placed)


def _check_overlaps(name: str, placed: Sequence[tuple[str, Window, timedelta, timedelta]]) -> None:
    # Sunday's overnight tail reaches into Monday, so compare across the week's wrap as well.
    for i, (key_a, window_a, start_a, end_a) in enumerate(placed):
        for key_b, window_b, start_b, end_b in placed[i + 1 :]:
            if any(start_a < end_b + s and start_b + s < end_a for s in (-_WEEK, _ZERO, _WEEK)):
                raise CalendarError(
                    f"calendar {name!r}: {key_a} {window_a} overlaps {key_b} {window_b}"
                )


def _holiday_date(name: str, item: date | str) -> date:
    if isinstance(item, datetime):
        raise CalendarError(f"calendar {name!r}: holiday {item.isoformat()} is not a date")
    if isinstance(item, date):
        return item
    try:
        if _DATE_TEXT.fullmatch(item.strip()) is None:
            raise ValueError(item)
        return date.fromisoformat(item.strip())
    except ValueError:
        raise CalendarError(
            f"calendar {name!r}: holiday {item!r} is not a date like 2026-12-24"
        ) from None


def _country_holidays(
    name: str, country: str | None, subdivision: str | None
) -> holidays.HolidayBase | None:
    if country is None:
        if subdivision is not None:
            raise CalendarError(
                f"calendar {name!r}: holiday subdivision {subdivision!r} needs a holiday country"
            )
        return None
    try:
        return holidays.country_holidays(country.strip().upper(), subdiv=subdivision)
    except NotImplementedError as exc:
        # The package says which part it does not know: the country or its subdivision.
        raise CalendarError(f"calendar {name!r}: unknown holiday calendar: {exc}") from None
