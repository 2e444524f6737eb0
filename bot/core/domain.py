"""The ticket model and the one table that owns every legal move. Pure: no I/O, no clock.

`apply()` is the only way a ticket changes status, assignee, tier or priority. An illegal move
raises a `DomainError` and, since tickets are immutable, changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, NewType

from bot.core.errors import AlreadyClaimed, DomainError, IllegalTransition

TicketId = NewType("TicketId", int)
TicketNumber = NewType("TicketNumber", int)
CustomerId = NewType("CustomerId", int)
MessageId = NewType("MessageId", int)
AgentId = NewType("AgentId", str)

MIN_TIER: Final = 1
MAX_TIER: Final = 3


# Where a customer, a message copy or an inbound event lives, by the name its adapter gives it
# (integrations/platforms.py). The core never needs to know which one it is.
Platform = NewType("Platform", str)


class Status(StrEnum):
    NEW = "new"
    CLAIMED = "claimed"
    ESCALATED = "escalated"
    PENDING = "pending"  # waiting on the customer
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        """Open tickets hold the customer's one slot; a resolved ticket still does, so a
        follow-up reopens it instead of starting a new one."""
        return self is not Status.CLOSED


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Action(StrEnum):
    OPEN = "open"  # recorded when a ticket is created; not a move in the table
    CLAIM = "claim"
    ASSIGN = "assign"  # give the ticket to a named agent (reassign, take over)
    UNCLAIM = "unclaim"
    ESCALATE = "escalate"
    PEND = "pend"
    CUSTOMER_REPLY = "customer_reply"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"
    SET_PRIORITY = "set_priority"


class Direction(StrEnum):
    FROM_CUSTOMER = "from_customer"
    TO_CUSTOMER = "to_customer"
    NOTE = "note"  # internal: never leaves the agents' side


class ActorKind(StrEnum):
    AGENT = "agent"
    CUSTOMER = "customer"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Agent:
    """A person working tickets, identified by their id in the agent workspace."""

    id: AgentId
    name: str


@dataclass(frozen=True, slots=True)
class Customer:
    """A platform identity: one person on one platform."""

    id: CustomerId
    platform: Platform
    external_id: str
    display_name: str
    avatar_url: str | None = None
    blocked: bool = False
    # Where to reach them when the platform's usual place will not do (an opaque platform id:
    # on Discord, a private support thread for a customer whose DMs are closed). None: the
    # usual place.
    contact_channel: str | None = None

    def renamed(self, display_name: str, avatar_url: str | None) -> bool:
        """Whether a message from them under this name and picture changes what is stored (a
        message with no picture keeps the stored one)."""
        return display_name != self.display_name or bool(
            avatar_url and avatar_url != self.avatar_url
        )


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something: an agent, a customer, or Threadline itself (jobs)."""

    kind: ActorKind
    id: str
    name: str

    @classmethod
    def of_agent(cls, agent: Agent) -> Actor:
        return cls(ActorKind.AGENT, agent.id, agent.name)

    @classmethod
    def of_customer(cls, customer: Customer) -> Actor:
        return cls(
            ActorKind.CUSTOMER, f"{customer.platform}:{customer.external_id}", customer.display_name
        )

    @classmethod
    def system(cls, name: str = "Threadline") -> Actor:
        return cls(ActorKind.SYSTEM, "system", name)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    url: str
    size: int
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Where one copy of a message lives on a platform; opaque to the core. `workspace` names
    the agent workspace it is in ("" on the customer's side): two workspaces may be on one
    platform, or on the customers' own, and each edits only its own copies."""

    platform: Platform
    external_id: str
    workspace: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    id: MessageId
    ticket_id: TicketId
    direction: Direction
    author: Actor
    body: str
    created_at: datetime
    attachments: tuple[Attachment, ...] = ()
    refs: tuple[MessageRef, ...] = ()
    edited_at: datetime | None = None
    deleted_at: datetime | None = None

    def copies(self, platform: Platform, workspace: str = "") -> list[str]:
        """The platform ids of its copies (or original) on one side, in the order recorded: in
        an agent workspace, or ("") on the customer's side."""
        return [
            ref.external_id
            for ref in self.refs
            if ref.platform == platform and ref.workspace == workspace
        ]


@dataclass(frozen=True, slots=True)
class Ticket:
    id: TicketId
    number: TicketNumber
    customer_id: CustomerId
    subject: str
    status: Status
    priority: Priority
    tier: int
    created_at: datetime
    updated_at: datetime
    assignee: Agent | None = None
    version: int = 1
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    due_at: datetime | None = None  # the earliest SLA deadline still running
    workspace_ref: str | None = None  # where the ticket's card lives on the agents' side
    csat_rating: int | None = None  # the customer's satisfaction rating, 1 to 5
    # What the AI features know of it (`bot/core/assist.py`); kept beside the ticket, written
    # by their own setters, never by a move.
    triage: Triage | None = None
    translate_replies: bool = False  # agents' replies go out in the customer's language
    auto_answer_stopped: bool = False  # a person took over: no more automated answers


@dataclass(frozen=True, slots=True)
class Triage:
    """A ticket's triage: suggested by the model or the keyword fallback, each field with a
    confidence in [0, 1]; a field an agent set has confidence 1 and `edited_by` names them."""

    category: str
    category_confidence: float
    priority: Priority
    priority_confidence: float
    sentiment: str  # negative, neutral, positive
    sentiment_confidence: float
    language: str | None  # ISO 639-1
    title: str
    by_model: bool  # False: the keyword fallback
    edited_by: str | None = None

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Triage:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["priority"] = Priority(str(values["priority"]))
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One recorded move: who, when, what, from which status to which, and why."""

    ticket_id: TicketId
    actor: Actor
    action: Action
    from_status: Status
    to_status: Status
    at: datetime
    reason: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    ticket: Ticket
    event: TicketEvent


class _Target(StrEnum):
    """Targets that depend on the ticket rather than on the table alone."""

    HELD_OR_NEW = "held_or_new"  # back to claimed if someone holds it, else new
    SAME = "same"


_Dest = Status | _Target

TRANSITIONS: Final[Mapping[Status, Mapping[Action, _Dest]]] = {
    Status.NEW: {
        Action.CLAIM: Status.CLAIMED,
        Action.ASSIGN: Status.CLAIMED,
        Action.ESCALATE: Status.ESCALATED,
        Action.RESOLVE: Status.RESOLVED,
        Action.CLOSE: Status.CLOSED,
        Action.SET_PRIORITY: _Target.SAME,
    },
    Status.CLAIMED: {
        Action.ASSIGN: Status.CLAIMED,
        Action.UNCLAIM: Status.NEW,
        Action.ESCALATE: Status.ESCALATED,
        Action.PEND: Status.PENDING,
        Action.RESOLVE: Status.RESOLVED,
        Action.CLOSE: Status.CLOSED,
        Action.SET_PRIORITY: _Target.SAME,
    },
    Status.ESCALATED: {
        Action.CLAIM: Status.CLAIMED,
        Action.ASSIGN: Status.CLAIMED,
        Action.ESCALATE: Status.ESCALATED,
        Action.PEND: Status.PENDING,
        Action.RESOLVE: Status.RESOLVED,
        Action.CLOSE: Status.CLOSED,
        Action.SET_PRIORITY: _Target.SAME,
    },
    Status.PENDING: {
        Action.CLAIM: _Target.SAME,
        Action.ASSIGN: _Target.SAME,
        Action.UNCLAIM: _Target.SAME,
        Action.ESCALATE: Status.ESCALATED,
        Action.CUSTOMER_REPLY: _Target.HELD_OR_NEW,
        Action.RESOLVE: Status.RESOLVED,
        Action.CLOSE: Status.CLOSED,
        Action.SET_PRIORITY: _Target.SAME,
    },
    Status.RESOLVED: {
        Action.REOPEN: _Target.HELD_OR_NEW,
        Action.CLOSE: Status.CLOSED,
    },
    Status.CLOSED: {},
}


def legal_actions(ticket: Ticket) -> frozenset[Action]:
    """The actions that `apply()` would accept right now (before argument checks)."""
    allowed = set(TRANSITIONS[ticket.status])
    if ticket.assignee is not None:
        allowed.discard(Action.CLAIM)
    else:
        allowed.discard(Action.UNCLAIM)
    if ticket.tier >= MAX_TIER:
        allowed.discard(Action.ESCALATE)
    return frozenset(allowed)


def apply(
    ticket: Ticket,
    action: Action,
    actor: Actor,
    at: datetime,
    *,
    reason: str | None = None,
    priority: Priority | None = None,
    assignee: Agent | None = None,
    tier: int | None = None,
) -> Transition:
    """Make one move, or raise a DomainError naming why it is not allowed.

    `priority` is for SET_PRIORITY, `assignee` for ASSIGN; `tier` is ESCALATE's target (one
    above the current tier when not given).
    """
    dest = TRANSITIONS[ticket.status].get(action)
    if dest is None:
        if action is Action.CLAIM and ticket.status is Status.CLAIMED:
            raise _already_claimed(ticket)
        raise IllegalTransition(ticket.number, ticket.status, action)
    changes, detail = _effects(ticket, action, actor, at, _Args(priority, assignee, tier))
    to_status = _resolve_dest(ticket, dest, changes)
    changes["status"] = to_status
    changes["updated_at"] = at
    moved = dataclasses.replace(ticket, **changes)  # type: ignore[arg-type]
    event = TicketEvent(
        ticket_id=ticket.id,
        actor=actor,
        action=action,
        from_status=ticket.status,
        to_status=to_status,
        at=at,
        reason=reason,
        detail=detail,
    )
    return Transition(moved, event)


_Changes = dict[str, object]
_Effect = tuple[_Changes, str | None]


@dataclass(frozen=True, slots=True)
class _Args:
    priority: Priority | None
    assignee: Agent | None
    tier: int | None


def _effects(ticket: Ticket, action: Action, actor: Actor, at: datetime, args: _Args) -> _Effect:
    """What an action does besides moving the status, checked against the ticket."""
    match action:
        case Action.CLAIM:
            return _claim(ticket, actor)
        case Action.ASSIGN:
            return _assign(ticket, args.assignee)
        case Action.UNCLAIM:
            if ticket.assignee is None:
                raise IllegalTransition(ticket.number, ticket.status, action, "Nobody holds it.")
            return {"assignee": None}, f"released by {ticket.assignee.name}"
        case Action.ESCALATE:
            return _escalate(ticket, args.tier)
        case Action.SET_PRIORITY:
            return _set_priority(ticket, args.priority)
        case _:
            stamp = _STAMPS.get(action)
            return (stamp(at) if stamp else {}), None


_STAMPS: Final[Mapping[Action, Callable[[datetime], _Changes]]] = {
    Action.RESOLVE: lambda at: {"resolved_at": at},
    Action.REOPEN: lambda _at: {"resolved_at": None},
    Action.CLOSE: lambda at: {"closed_at": at},
}


def _claim(ticket: Ticket, actor: Actor) -> _Effect:
    if ticket.assignee is not None:
        raise _already_claimed(ticket)
    if actor.kind is not ActorKind.AGENT:
        raise DomainError(f"Only an agent can claim ticket #{ticket.number}.")
    return {"assignee": Agent(AgentId(actor.id), actor.name)}, None


def _assign(ticket: Ticket, assignee: Agent | None) -> _Effect:
    if assignee is None:
        raise DomainError("An agent to assign the ticket to is required.")
    if ticket.assignee is not None and ticket.assignee.id == assignee.id:
        raise IllegalTransition(
            ticket.number, ticket.status, Action.ASSIGN, f"{assignee.name} already holds it."
        )
    before = ticket.assignee.name if ticket.assignee else "nobody"
    return {"assignee": assignee}, f"{before} → {assignee.name}"


def _escalate(ticket: Ticket, target: int | None) -> _Effect:
    if ticket.tier >= MAX_TIER:
        raise IllegalTransition(
            ticket.number, ticket.status, Action.ESCALATE, f"It is already at tier {MAX_TIER}."
        )
    tier = ticket.tier + 1 if target is None else target
    if not ticket.tier < tier <= MAX_TIER:
        raise DomainError(
            f"Ticket #{ticket.number} is at tier {ticket.tier}; it can be escalated to a tier "
            f"from {ticket.tier + 1} to {MAX_TIER}."
        )
    return {"tier": tier, "assignee": None}, f"tier {ticket.tier} → {tier}"


def _set_priority(ticket: Ticket, priority: Priority | None) -> _Effect:
    if priority is None:
        raise DomainError("A new priority is required.")
    if priority is ticket.priority:
        raise IllegalTransition(
            ticket.number, ticket.status, Action.SET_PRIORITY, f"It is already {priority}."
        )
    return {"priority": priority}, f"priority {ticket.priority} → {priority}"


def _resolve_dest(ticket: Ticket, dest: _Dest, changes: _Changes) -> Status:
    if isinstance(dest, Status):
        return dest
    if dest is _Target.SAME:
        return ticket.status
    holder = changes.get("assignee", ticket.assignee)
    return Status.CLAIMED if holder is not None else Status.NEW


def _already_claimed(ticket: Ticket) -> AlreadyClaimed:
    holder = ticket.assignee
    assert holder is not None
    return AlreadyClaimed(ticket.number, ticket.status, holder.name, holder.id)


@dataclass(frozen=True, slots=True)
class NewTicket:
    """What the repository needs to open a ticket; it assigns the id and the public number."""

    customer_id: CustomerId
    subject: str
    priority: Priority
    tier: int
    created_at: datetime
    status: Status = Status.NEW


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to record; `refs` are its platform copies known so far (the inbound source)."""

    ticket_id: TicketId
    direction: Direction
    author: Actor
    body: str
    created_at: datetime
    attachments: tuple[Attachment, ...] = ()
    refs: tuple[MessageRef, ...] = ()


OPEN_STATUSES: Final = tuple(s for s in Status if s.is_open)
ACTIVE_STATUSES: Final = (Status.NEW, Status.CLAIMED, Status.ESCALATED, Status.PENDING)


class TicketOrder(StrEnum):
    NEWEST = "newest"  # highest number first
    MOST_URGENT = "most_urgent"  # earliest SLA deadline first, then priority, then oldest


@dataclass(frozen=True, slots=True)
class TicketQuery:
    """Which tickets to list; every given criterion must hold."""

    statuses: tuple[Status, ...] = ()
    assignee_id: AgentId | None = None
    unassigned: bool = False
    text: str | None = None  # in the subject or any message
    due_before: datetime | None = None
    created_since: datetime | None = None
    order: TicketOrder = TicketOrder.NEWEST
    limit: int = 100
