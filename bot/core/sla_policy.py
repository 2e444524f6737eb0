"""The SLA, jobs and CSAT sections of `threadline.toml`: targets per priority, business
calendars, and the timings of reminders, escalations, surveys and auto-close."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)

from bot.core.calendar import Calendar, CalendarError, business_default, parse_duration
from bot.core.domain import Priority

ALWAYS_OPEN = "24x7"
BUSINESS = "business"


def _duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError('expected a duration: an integer and a unit (s, m, h, d), like "30m"')
    return parse_duration(value)


# "30m", "2h", "7d": an integer and a unit.
Duration = Annotated[timedelta, BeforeValidator(_duration)]


class Targets(BaseModel):
    """What one priority promises: first response, next response, resolution."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first_response: Duration
    next_response: Duration
    resolution: Duration
    calendar: str = BUSINESS

    @model_validator(mode="after")
    def _positive(self) -> Targets:
        for name in ("first_response", "next_response", "resolution"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be longer than 0")
        return self


def _targets(first: str, resolution: str, calendar: str) -> dict[str, str]:
    # The next response is promised as fast as the first one unless the file says otherwise.
    return {
        "first_response": first,
        "next_response": first,
        "resolution": resolution,
        "calendar": calendar,
    }


DEFAULT_TARGETS: dict[Priority, dict[str, str]] = {
    Priority.URGENT: _targets("30m", "4h", ALWAYS_OPEN),
    Priority.HIGH: _targets("1h", "8h", BUSINESS),
    Priority.NORMAL: _targets("8h", "24h", BUSINESS),
    Priority.LOW: _targets("24h", "72h", BUSINESS),
}


class SlaSection(BaseModel):
    """`[sla]` with a table per priority; a table that names only some keys keeps the
    defaults of the others."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_priority: Priority | None = None
    urgent: Targets
    high: Targets
    normal: Targets
    low: Targets

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for priority, defaults in DEFAULT_TARGETS.items():
            given = merged.get(priority.value, {})
            merged[priority.value] = {**defaults, **given} if isinstance(given, dict) else given
        return merged

    def of(self, priority: Priority) -> Targets:
        targets: Targets = getattr(self, priority.value)
        return targets


class Holidays(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str | None = None  # ISO code, e.g. "DE" (the `holidays` package's calendars)
    subdivision: str | None = None  # e.g. "BY" for Bavaria
    dates: tuple[date, ...] = ()  # local dates, e.g. ["2026-12-24"]


class CalendarSection(BaseModel):
    """`[calendars.NAME]`: opening hours in a time zone, with holidays."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "UTC"
    hours: dict[str, str] = Field(default_factory=dict)
    holidays: Holidays = Holidays()


class Reminders(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    before_breach: Duration = timedelta(minutes=15)


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # A breached target still unmet this long after the breach escalates the ticket one tier,
    # and again after each further interval, up to the top tier.
    after_breach: Duration = timedelta(hours=1)


class Jobs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: Duration = timedelta(seconds=30)
    digest_at: str = Field(default="09:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    digest_timezone: str = "UTC"


class Csat(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    delay: Duration = timedelta(hours=1)
    cooldown: Duration = timedelta(days=7)
    expire_after: Duration = timedelta(days=7)


class SlaPolicy(BaseModel):
    """The parts of the policy the jobs run on, with the calendars built once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sla: SlaSection = Field(default_factory=lambda: SlaSection.model_validate({}))
    calendars: dict[str, CalendarSection] = Field(default_factory=dict)
    reminders: Reminders = Reminders()
    escalation: Escalation = Escalation()
    jobs: Jobs = Jobs()
    csat: Csat = Csat()
    _built: dict[str, Calendar] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _build_calendars(self) -> SlaPolicy:
        built = {ALWAYS_OPEN: Calendar.always_open(ALWAYS_OPEN), BUSINESS: business_default()}
        for name, section in self.calendars.items():
            if name == ALWAYS_OPEN:
                raise ValueError(f"calendars.{name}: {ALWAYS_OPEN} is built in and always open")
            try:
                built[name] = Calendar.from_config(
                    name,
                    timezone=section.timezone,
                    hours=section.hours,
                    holiday_country=section.holidays.country,
                    holiday_subdivision=section.holidays.subdivision,
                    holiday_dates=section.holidays.dates,
                )
            except CalendarError as exc:
                raise ValueError(f"calendars.{name}: {exc}") from None
        for priority in Priority:
            wanted = self.sla.of(priority).calendar
            if wanted not in built:
                raise ValueError(
                    f"sla.{priority.value}.calendar: no calendar named {wanted!r}; "
                    f"define [calendars.{wanted}] or use {ALWAYS_OPEN!r}"
                )
        self._built.update(built)
        return self

    def targets(self, priority: Priority) -> Targets:
        return self.sla.of(priority)

    def calendar(self, priority: Priority) -> Calendar:
        return self._built[self.sla.of(priority).calendar]
