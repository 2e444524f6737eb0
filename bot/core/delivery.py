"""The delivery queue: every outbound send is a row before it is sent.

Use cases enqueue deliveries in the same transaction as the change that causes them. The
Dispatcher sends them through the adapters' handlers: in order within each ticket's lane (all that
goes to the agents, all that goes to the customer), retrying what is retryable with backoff, and
marking the rest failed, where the agents see it. A crash at any point loses nothing: rows still
pending are sent when the dispatcher next runs, and a lease that outlived its holder expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, NewType, Protocol

from bot.core.domain import Customer, Message, MessageId, Ticket, TicketId
from bot.core.errors import PlatformError
from bot.core.outbound import OutboundEvent

if TYPE_CHECKING:
    from bot.core.repositories import DeliveryRepository

log = logging.getLogger(__name__)

DeliveryId = NewType("DeliveryId", int)


class Lane(StrEnum):
    """Deliveries of one ticket in one lane are sent strictly in order."""

    AGENTS = "agents"  # the ticket's card and thread where agents work
    CUSTOMER = "customer"  # the customer's conversation
    ASSISTANT = "assistant"  # what the AI features are asked (their answers go to the others)


# The agent workspace a deployment has first (and, today, only): its cards are on the tickets'
# own rows. Each further workspace is named by the composition root; its lane and its cards are
# its own, so a slow workspace never holds up another.
MAIN_WORKSPACE = "main"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """An event to queue for one side of a ticket (`message`: the message it is about)."""

    ticket_id: TicketId
    lane: Lane
    event: OutboundEvent
    created_at: datetime
    message_id: MessageId | None = None
    workspace: str = ""  # which agent workspace, on the agents' lane ("" on the customer's)

    def __post_init__(self) -> None:
        # A row for no workspace would wait for nobody: refuse it here, loudly.
        if (self.lane is Lane.AGENTS) != bool(self.workspace):
            raise ValueError(
                f"a delivery on the {self.lane} lane with workspace {self.workspace!r}"
            )


@dataclass(frozen=True, slots=True)
class Delivery:
    id: DeliveryId
    ticket_id: TicketId
    lane: Lane
    event: OutboundEvent
    status: DeliveryStatus
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    message_id: MessageId | None = None
    steps: tuple[str, ...] = ()  # platform ids of the parts sent so far (a split message)
    workspace: str = ""  # which agent workspace, on the agents' lane ("" on the customer's)
    last_error: str | None = None
    delivered_at: datetime | None = None
    external_id: str | None = None
    claims: int = 0  # times a dispatcher took it up (`attempts`: those that ended)

    @property
    def maybe_sent(self) -> bool:
        """Whether an earlier holder stopped in the middle of an attempt (a kill, a lost
        machine, a send that outlived its lease), so the platform may already have it: a
        handler that cannot make a repeated send harmless should look before sending."""
        return self.claims > self.attempts + 1


WORKSPACE_NAME_LENGTH = 32  # the column's width


def workspace_names(names: Sequence[str]) -> tuple[str, ...]:
    """The agent workspaces a deployment has, checked: none at all would drop everything the
    agents are told, a name twice would tell them twice."""
    named = tuple(names)
    if not named:
        raise ValueError("at least one agent workspace is needed")
    if len(set(named)) != len(named):
        raise ValueError(f"an agent workspace is named twice: {named}")
    if any(not name or len(name) > WORKSPACE_NAME_LENGTH for name in named):
        raise ValueError(f"agent workspace names are 1 to {WORKSPACE_NAME_LENGTH} characters")
    return named


def for_agents(
    workspaces: Sequence[str],
    ticket_id: TicketId,
    event: OutboundEvent,
    created_at: datetime,
    message_id: MessageId | None = None,
    *,
    besides: str | None = None,
) -> list[NewDelivery]:
    """One delivery of `event` for each agent workspace (`besides` that one): each is told
    in its own lane."""
    return [
        NewDelivery(ticket_id, Lane.AGENTS, event, created_at, message_id, workspace)
        for workspace in workspaces
        if workspace != besides
    ]


Progress = Callable[[list[str]], Awaitable[None]]

# At most this many of a customer's waiting messages are sent together (a workspace may take
# fewer).
GROUP_MOST = 10


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """A delivery with everything a handler needs to carry it out."""

    delivery: Delivery
    ticket: Ticket
    customer: Customer
    message: Message | None
    progress: Progress | None = None
    card: str | None = None  # the ticket's card in the delivery's workspace, once it has one
    # The deliveries after this one in its lane sent with it as one platform message (several
    # customer's messages that waited behind a channel's pacing), leased with it.
    riders: tuple[DeliveryJob, ...] = ()

    @property
    def event(self) -> OutboundEvent:
        return self.delivery.event

    @property
    def group(self) -> tuple[DeliveryJob, ...]:
        """This job and those riding with it, in lane order."""
        return (self, *self.riders)

    @property
    def steps_done(self) -> list[str]:
        """Platform ids of the parts a previous attempt already sent (a split message)."""
        return list(self.delivery.steps)

    async def step_done(self, steps: list[str], total: int) -> None:
        """Remember the parts sent so far, so that a retry does not send them again. Nothing
        is written for a single part or after the last one: success is recorded anyway."""
        if self.progress is not None and len(steps) < total:
            await self.progress(steps)


class Handoff(Protocol):
    """Where a use case hands the lane heads it queued, leased to this process, to be sent as
    soon as their transaction commits (the Dispatcher): the send need not wait for a claim of
    its own, which is most of the time a message spends inside the bot."""

    def lease_until(self, lane: Lane, workspace: str) -> datetime | None:
        """Until when to lease a new head of such a lane, if it can be sent at once; None if
        it should wait its turn (no send slot free, or not sending at all)."""
        ...

    def take(self, jobs: Sequence[DeliveryJob]) -> None:
        """Send these leased heads (their transaction has committed)."""
        ...


async def queue(
    tx: DeliveryRepository, new: NewDelivery, handoff: Handoff | None
) -> Delivery | None:
    """Queue `new`. Returned when it is its lane's head and `handoff` can send it at once: it
    is then leased to that process, to be handed over once `tx` commits. None when it waits
    for a claim in its turn."""
    until = handoff.lease_until(new.lane, new.workspace) if handoff is not None else None
    if until is None:
        await tx.add_delivery(new)
        return None
    delivery, held = await tx.add_lane_head(new, until)
    return delivery if held else None


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff, capped; a platform's own Retry-After wins when it gives one."""

    first: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(minutes=5)
    give_up_after: timedelta = timedelta(hours=24)

    def delay(self, attempts: int, retry_after: float | None) -> timedelta:
        if retry_after is not None:
            return timedelta(seconds=max(retry_after, 0.0))
        grown: timedelta = self.first * (2 ** max(attempts - 1, 0))
        return min(grown, self.cap)


class _Outcome(StrEnum):
    DONE = "done"
    RETRY = "retry"
    FAILED = "failed"


def classify(error: Exception) -> _Outcome:
    if isinstance(error, PlatformError) and error.retryable:
        return _Outcome.RETRY
    return _Outcome.FAILED


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> None:
    """Wait until `event` is set or `seconds` pass, whichever is first; clears the event."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)
    event.clear()
