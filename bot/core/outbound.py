"""Typed outbound events: one frozen dataclass for each thing the outside world is told.

A use case queues an event in the same transaction as the change that causes it; the dispatcher
hands it to the port method its type names (`bot/core/routes.py`). Which people see it is the
lane's business: the agents' lane goes to the agent workspace, the customer's lane to the
customer's channel. How it reads (words, emoji, markup) is the adapter's business: nothing here
is text for a person, except what a person wrote.

Queued events are stored as a type name, a schema version and their fields (`encode`). A build
that meets a type or version it does not know (a newer build queued it, a row was damaged) gets
an `UnreadableEvent`, which the dispatcher fails loudly and shows to the agents: never dropped
silently. Changing an event's fields means a new `version` and a migration of queued rows.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, ClassVar


class Audience(StrEnum):
    """Who on the agents' side an event is for."""

    THREAD = "thread"  # the ticket's own thread, where its agents work
    LEADS = "leads"  # the team leads, wherever they are reached
    ESCALATIONS = "escalations"  # whoever takes escalated tickets


@dataclass(frozen=True, slots=True)
class OutboundEvent:
    """Base of every queued event; `type` is its stored name, `version` its schema."""

    type: ClassVar[str] = ""
    version: ClassVar[int] = 1


# --- for the agents ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardChanged(OutboundEvent):
    """The ticket's card should show the ticket as it is now (drawn when sent); the first
    one opens the ticket's card and thread."""

    type: ClassVar[str] = "card_changed"


@dataclass(frozen=True, slots=True)
class CustomerWrote(OutboundEvent):
    """A customer's message (the delivery's message) for the agents to read."""

    type: ClassVar[str] = "customer_wrote"


@dataclass(frozen=True, slots=True)
class FollowsUp(OutboundEvent):
    """A new ticket continues one the customer had before."""

    type: ClassVar[str] = "follows_up"
    number: int
    subject: str


@dataclass(frozen=True, slots=True)
class TicketEscalated(OutboundEvent):
    """Someone (or the SLA) escalated the ticket: a line in its thread, or a call to whoever
    takes escalations."""

    type: ClassVar[str] = "ticket_escalated"
    by: str
    detail: str | None
    reason: str | None
    audience: Audience = Audience.THREAD


@dataclass(frozen=True, slots=True)
class TicketAssigned(OutboundEvent):
    """Someone gave the ticket to an agent."""

    type: ClassVar[str] = "ticket_assigned"
    by: str
    detail: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class TicketResolved(OutboundEvent):
    """The ticket was resolved (both sides are told, each in its own words)."""

    type: ClassVar[str] = "ticket_resolved"
    by: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class TicketReopened(OutboundEvent):
    """The ticket is open again (both sides are told)."""

    type: ClassVar[str] = "ticket_reopened"
    by: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class ReplyDelivered(OutboundEvent):
    """The agents' reply (the delivery's message) reached the customer."""

    type: ClassVar[str] = "reply_delivered"


@dataclass(frozen=True, slots=True)
class DeliveryFailed(OutboundEvent):
    """A send to the customer failed for good (the message, when there is one, is the
    delivery's); or a queued event could not be read."""

    type: ClassVar[str] = "delivery_failed"
    delivery_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class SlaReminder(OutboundEvent):
    """A deadline is near: the agent holding the ticket is reminded, or with nobody holding
    it, everyone watching the queue."""

    type: ClassVar[str] = "sla_reminder"
    metric: str
    due_at: datetime | None
    holder: str | None  # the agent id of whoever holds the ticket


@dataclass(frozen=True, slots=True)
class SlaBreached(OutboundEvent):
    """A deadline passed unmet: shown in the ticket's thread, and the leads are told."""

    type: ClassVar[str] = "sla_breached"
    metric: str
    due_at: datetime | None
    late_seconds: int
    audience: Audience = Audience.THREAD


@dataclass(frozen=True, slots=True)
class SurveyAnswered(OutboundEvent):
    """The customer rated the help they had, or commented on it; an unhappy answer also
    goes to the leads."""

    type: ClassVar[str] = "survey_answered"
    customer: str
    rating: int | None
    comment: str | None
    audience: Audience = Audience.THREAD


@dataclass(frozen=True, slots=True)
class LegacyLine(OutboundEvent):
    """A line of text queued by a build from before typed events; only ever read, never
    queued (the migration to typed events made it from such rows)."""

    type: ClassVar[str] = "legacy_line"
    text: str
    audience: Audience = Audience.THREAD


# --- for either side: the copy of a message on the side that did not write it -------------


@dataclass(frozen=True, slots=True)
class CopyEdited(OutboundEvent):
    """The delivery's message was edited: its copy on this lane's side follows."""

    type: ClassVar[str] = "copy_edited"


@dataclass(frozen=True, slots=True)
class CopyDeleted(OutboundEvent):
    """The delivery's message was deleted: its copy on this lane's side goes too."""

    type: ClassVar[str] = "copy_deleted"


@dataclass(frozen=True, slots=True)
class AgentWrote(OutboundEvent):
    """An agent's reply or internal note (the delivery's message), written in another agent
    workspace: shown in this one too, so every agent sees the whole conversation."""

    type: ClassVar[str] = "agent_wrote"


# --- for the customer --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentReplied(OutboundEvent):
    """An agent's reply (the delivery's message) for the customer."""

    type: ClassVar[str] = "agent_replied"


@dataclass(frozen=True, slots=True)
class TicketOpened(OutboundEvent):
    """The customer's first message opened a ticket: they learn its number and when to
    expect an answer."""

    type: ClassVar[str] = "ticket_opened"
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class TicketClaimed(OutboundEvent):
    """Someone took the ticket (`agent` is their name, shown unless the team answers
    anonymously)."""

    type: ClassVar[str] = "ticket_claimed"
    agent: str | None


@dataclass(frozen=True, slots=True)
class TicketClosed(OutboundEvent):
    """The ticket is closed; writing again opens a new one."""

    type: ClassVar[str] = "ticket_closed"


@dataclass(frozen=True, slots=True)
class AwaitingCustomer(OutboundEvent):
    """The team waits on the customer and has heard nothing for a while."""

    type: ClassVar[str] = "awaiting_customer"


@dataclass(frozen=True, slots=True)
class SurveyRequested(OutboundEvent):
    """Ask the customer to rate the help they had."""

    type: ClassVar[str] = "survey_requested"


# --- the AI features ---------------------------------------------------------------------
# Asked of the assistant on the ticket's own lane (`Lane.ASSISTANT`): a slow or absent model
# holds up neither side, and what is asked survives a crash like every other delivery.


@dataclass(frozen=True, slots=True)
class AssistCustomerMessage(OutboundEvent):
    """A customer's message (the delivery's) for the assistant: triage a new ticket, a
    translation line, a draft, an automated answer, as the policy has them."""

    type: ClassVar[str] = "assist_customer_message"


@dataclass(frozen=True, slots=True)
class AssistSummary(OutboundEvent):
    """Summarise the ticket for the agents (`occasion`: escalation, takeover or asked)."""

    type: ClassVar[str] = "assist_summary"
    occasion: str
    by: str | None


@dataclass(frozen=True, slots=True)
class AssistDraft(OutboundEvent):
    """Draft a reply for the agents, asked by `by`."""

    type: ClassVar[str] = "assist_draft"
    by: str | None


@dataclass(frozen=True, slots=True)
class AssistReply(OutboundEvent):
    """An agent's reply (the delivery's message) to be sent in the customer's language."""

    type: ClassVar[str] = "assist_reply"


@dataclass(frozen=True, slots=True)
class AssistEdit(OutboundEvent):
    """An agent edited a reply (the delivery's message) on a ticket whose replies are
    translated: the customer's copy follows in their language."""

    type: ClassVar[str] = "assist_edit"


@dataclass(frozen=True, slots=True)
class SummaryShown(OutboundEvent):
    """A summary, as an internal note in the ticket's thread."""

    type: ClassVar[str] = "summary_shown"
    text: str
    occasion: str
    by: str | None
    fallback: str | None  # why no model wrote it, when none did


@dataclass(frozen=True, slots=True)
class DraftOffered(OutboundEvent):
    """A drafted reply for the agents only, with Send, Edit and Discard; or (`text` None)
    no draft, and the articles that may help (`citations`, encoded) if any."""

    type: ClassVar[str] = "draft_offered"
    draft_id: int | None
    text: str | None
    citations: str
    fallback: str | None
    asked_by: str | None


@dataclass(frozen=True, slots=True)
class DraftSettled(OutboundEvent):
    """A draft was sent or discarded (`status`) by an agent, maybe in another workspace: its
    post here (`post`) shows who decided it and offers its buttons no more."""

    type: ClassVar[str] = "draft_settled"
    draft_id: int
    status: str  # "sent" or "discarded"
    by: str
    by_id: str
    post: str


@dataclass(frozen=True, slots=True)
class TranslationShown(OutboundEvent):
    """The customer's message (the delivery's) in the team's language, beneath it."""

    type: ClassVar[str] = "translation_shown"
    source: str
    text: str


@dataclass(frozen=True, slots=True)
class ReplyTranslated(OutboundEvent):
    """The agent's reply (the delivery's message) went out in `target` as `text`; `text`
    None: it went out as written, because of `fallback`."""

    type: ClassVar[str] = "reply_translated"
    target: str
    text: str | None
    fallback: str | None


@dataclass(frozen=True, slots=True)
class TranslatedReply(OutboundEvent):
    """An agent's reply (the delivery's message) for the customer, in their language."""

    type: ClassVar[str] = "translated_reply"
    text: str
    target: str


@dataclass(frozen=True, slots=True)
class TranslatedEdit(OutboundEvent):
    """An agent's edited reply (the delivery's message): the customer's copy now reads `text`,
    in their language."""

    type: ClassVar[str] = "translated_edit"
    text: str
    target: str


@dataclass(frozen=True, slots=True)
class AutoAnswered(OutboundEvent):
    """An automated answer (the delivery's message): to the customer marked as automated with
    a way to a person; to the agents as what the customer was told."""

    type: ClassVar[str] = "auto_answered"
    citations: str


@dataclass(frozen=True, slots=True)
class HandedOff(OutboundEvent):
    """The automated answers stopped and a person is wanted (the customer asked, or the
    assistant could not answer)."""

    type: ClassVar[str] = "handed_off"
    by_customer: bool


@dataclass(frozen=True, slots=True)
class UnreadableEvent(OutboundEvent):
    """A stored event this build cannot read; never queued, only found."""

    type: ClassVar[str] = "unreadable"
    stored_type: str
    stored_version: int
    problem: str


EVENT_TYPES: Mapping[str, type[OutboundEvent]] = {
    cls.type: cls
    for cls in (
        CardChanged,
        CustomerWrote,
        FollowsUp,
        TicketEscalated,
        TicketAssigned,
        TicketResolved,
        TicketReopened,
        ReplyDelivered,
        DeliveryFailed,
        SlaReminder,
        SlaBreached,
        SurveyAnswered,
        LegacyLine,
        CopyEdited,
        CopyDeleted,
        AgentWrote,
        AgentReplied,
        TicketOpened,
        TicketClaimed,
        TicketClosed,
        AwaitingCustomer,
        SurveyRequested,
        AssistCustomerMessage,
        AssistSummary,
        AssistDraft,
        AssistReply,
        AssistEdit,
        SummaryShown,
        DraftOffered,
        DraftSettled,
        TranslationShown,
        ReplyTranslated,
        TranslatedReply,
        TranslatedEdit,
        AutoAnswered,
        HandedOff,
    )
}


# The fields' declared types, evaluated once: the annotations are text (postponed evaluation),
# and evaluating them on every read cost ten times the rest of decoding.
_HINTS: Mapping[type[OutboundEvent], dict[str, Any]] = {
    cls: typing.get_type_hints(cls) for cls in EVENT_TYPES.values()
}


def encode(event: OutboundEvent) -> tuple[str, int, dict[str, Any]]:
    """The event as stored: its type name, schema version and JSON-ready fields."""
    if isinstance(event, UnreadableEvent):
        raise ValueError("an unreadable event is never queued")
    data: dict[str, Any] = {}
    for f in fields(event):
        value = getattr(event, f.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Enum):
            value = value.value
        data[f.name] = value
    return event.type, event.version, data


def decode(type_name: str, version: int, data: Mapping[str, Any]) -> OutboundEvent:
    """The stored event; an `UnreadableEvent` saying why when this build cannot read it."""
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        return UnreadableEvent(type_name, version, f"unknown event type {type_name!r}")
    if version != cls.version:
        problem = f"{type_name} version {version} (this build reads version {cls.version})"
        return UnreadableEvent(type_name, version, problem)
    try:
        hints = _HINTS[cls]
        values = {
            f.name: _field(hints[f.name], data[f.name])
            for f in fields(cls)
            if f.name in data or f.default is MISSING  # a required one missing: KeyError
        }
        return cls(**values)
    except (KeyError, TypeError, ValueError) as exc:
        return UnreadableEvent(type_name, version, f"{type_name} fields unreadable: {exc!r}")


def _field(hint: Any, value: Any) -> Any:
    """One stored field as the dataclass declares it (datetimes and enums from text)."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None:
        if type(None) not in options:
            raise ValueError("a required field is empty")
        return None
    for option in options:
        if option is datetime:
            parsed = datetime.fromisoformat(str(value))
            if parsed.tzinfo is None:
                raise ValueError(f"{value!r} has no time zone")
            return parsed
        if isinstance(option, type) and issubclass(option, Enum):
            return option(value)
        if option in (str, int, bool):
            if type(value) is not option:
                raise ValueError(f"{value!r} is not {option.__name__}")
            return value
    raise ValueError(f"cannot read {value!r} as {hint}")
