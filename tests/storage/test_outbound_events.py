"""Queued events as stored: every event type survives encode, JSON and decode unchanged, and
whatever this build cannot read decodes to an UnreadableEvent, never an exception."""

from __future__ import annotations

import json
import types
import typing
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.outbound import (
    EVENT_TYPES,
    Audience,
    FollowsUp,
    OutboundEvent,
    TicketEscalated,
    TicketOpened,
    UnreadableEvent,
    decode,
    encode,
)

ZONES = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
# Hypothesis takes naive bounds and adds the zones itself.
EARLIEST, LATEST = datetime(1900, 1, 1), datetime(2200, 1, 1)  # noqa: DTZ001
AWARE = st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=ZONES | st.just(UTC))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


def _values(hint: Any) -> st.SearchStrategy[Any]:
    """Any value a field of this declared type may hold."""
    if isinstance(hint, types.UnionType):
        return st.one_of(*(_values(option) for option in typing.get_args(hint)))
    if hint is type(None):
        return st.none()
    if hint is datetime:
        return AWARE
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(),  # any unicode, the empty string too
        int: st.integers(),
        bool: st.booleans(),
    }
    if hint in simple:
        return simple[hint]
    if isinstance(hint, type) and issubclass(hint, Enum):
        return st.sampled_from(list(hint))
    raise AssertionError(f"no strategy for {hint}: add one for the new field type")


def events_of(cls: type[OutboundEvent]) -> st.SearchStrategy[OutboundEvent]:
    hints = typing.get_type_hints(cls)
    return st.builds(cls, **{f.name: _values(hints[f.name]) for f in fields(cls)})


ANY_EVENT = st.sampled_from(sorted(EVENT_TYPES)).flatmap(lambda name: events_of(EVENT_TYPES[name]))


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_event_type_survives_storage(name: str, data: st.DataObject) -> None:
    event = data.draw(events_of(EVENT_TYPES[name]))
    kind, version, stored = encode(event)
    assert (kind, version) == (name, type(event).version)
    # Stored in a JSON column: what comes back is what JSON keeps.
    back = decode(kind, version, json.loads(json.dumps(stored)))
    assert back == event
    assert type(back) is type(event)
    # Equal is not enough: an enum read back as its plain text would compare equal too.
    assert [type(getattr(back, f.name)) for f in fields(back)] == [
        type(getattr(event, f.name)) for f in fields(event)
    ]


def test_every_event_type_is_registered_by_its_own_name() -> None:
    assert all(cls.type == name for name, cls in EVENT_TYPES.items())
    assert UnreadableEvent.type not in EVENT_TYPES  # it is found, never queued


def test_an_unreadable_event_is_never_queued() -> None:
    with pytest.raises(ValueError, match="never queued"):
        encode(UnreadableEvent("ticket_snoozed", 1, "unknown event type"))


@pytest.mark.parametrize(
    ("kind", "version", "stored", "problem"),
    [
        ("ticket_snoozed", 1, {"until": None}, "unknown event type 'ticket_snoozed'"),
        ("", 1, {}, "unknown event type ''"),
        ("unreadable", 1, {"stored_type": "x", "stored_version": 1, "problem": "p"}, "unknown"),
        ("follows_up", 2, {"number": 1, "subject": "x"}, "version 2 (this build reads version 1)"),
        ("follows_up", 0, {"number": 1, "subject": "x"}, "version 0"),
        ("follows_up", 1, {"number": 1}, "subject"),
        ("follows_up", 1, {}, "number"),
        ("follows_up", 1, {"number": "1001", "subject": "x"}, "is not int"),
        ("follows_up", 1, {"number": True, "subject": "x"}, "is not int"),
        ("follows_up", 1, {"number": 1.5, "subject": "x"}, "is not int"),
        ("follows_up", 1, {"number": 1, "subject": None}, "required field is empty"),
        ("follows_up", 1, {"number": 1, "subject": ["x"]}, "is not str"),
        ("ticket_opened", 1, {"due_at": "2026-03-02T10:00:00"}, "has no time zone"),
        ("ticket_opened", 1, {"due_at": "tomorrow"}, "ticket_opened fields unreadable"),
        ("ticket_opened", 1, {"due_at": 1772445600}, "ticket_opened fields unreadable"),
        (
            "ticket_escalated",
            1,
            {"by": "Ann", "detail": None, "reason": None, "audience": "all"},
            "ticket_escalated fields unreadable",
        ),
        ("sla_reminder", 1, {"metric": "first_response", "due_at": None}, "holder"),
    ],
)
def test_what_this_build_cannot_read_is_unreadable(
    kind: str, version: int, stored: dict[str, Any], problem: str
) -> None:
    event = decode(kind, version, stored)
    assert isinstance(event, UnreadableEvent)
    assert (event.stored_type, event.stored_version) == (kind, version)
    assert problem in event.problem


def test_a_stored_offset_is_kept_and_extra_fields_are_ignored() -> None:
    due = datetime(2026, 3, 2, 10, tzinfo=timezone(timedelta(hours=-5)))
    event = decode("ticket_opened", 1, {"due_at": due.isoformat(), "from_a_newer_build": 1})
    assert event == TicketOpened(due_at=due)
    assert isinstance(event, TicketOpened)
    assert event.due_at is not None
    assert event.due_at.utcoffset() == timedelta(hours=-5)
    # A field with a default may be left out (a row written before it was added).
    escalated = decode("ticket_escalated", 1, {"by": "Ann", "detail": None, "reason": None})
    assert escalated == TicketEscalated("Ann", None, None, audience=Audience.THREAD)
    assert decode("follows_up", 1, {"number": 7, "subject": "ü"}) == FollowsUp(7, "ü")


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(sorted(EVENT_TYPES)) | st.text(max_size=12),
    version=st.integers(min_value=-1, max_value=3),
    data=st.data(),
)
def test_decoding_never_raises(kind: str, version: int, data: st.DataObject) -> None:
    cls = EVENT_TYPES.get(kind)
    names = [f.name for f in fields(cls)] if cls is not None else []
    keys = st.sampled_from(names) | st.text(max_size=8) if names else st.text(max_size=8)
    stored = data.draw(st.dictionaries(keys, JSON, max_size=5))
    event = decode(kind, version, stored)
    assert isinstance(event, UnreadableEvent) or type(event) is cls
