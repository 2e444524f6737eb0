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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NewType, Protocol

from bot.core.domain import Customer, Message, MessageId, Ticket, TicketId
from bot.core.errors import PlatformError

log = logging.getLogger(__name__)

DeliveryId = NewType("DeliveryId", int)


class Lane(StrEnum):
    """Deliveries of one ticket in one lane are sent strictly in order."""

    AGENTS = "agents"  # the ticket's card and thread where agents work
    CUSTOMER = "customer"  # the customer's conversation


class DeliveryKind(StrEnum):
    TICKET_CARD = "ticket_card"  # create or refresh the ticket's card
    CUSTOMER_MESSAGE = "customer_message"  # show a customer's message to the agents
    AGENT_REPLY = "agent_reply"  # send an agent's reply to the customer
    NOTICE = "notice"  # a line from Threadline itself (a failure, a status change)
    REPLY_DELIVERED = "reply_delivered"  # mark the agent's message as delivered
    COPY_EDIT = "copy_edit"  # apply an edit to the message's copy on this lane's side
    COPY_DELETE = "copy_delete"  # remove the message's copy on this lane's side
    CUSTOMER_NOTICE = "customer_notice"  # tell the customer where their ticket stands


# Where each kind goes, unless the delivery names its lane (edits and deletes go to the side
# that holds the copy).
LANE_OF: Mapping[DeliveryKind, Lane] = {
    DeliveryKind.TICKET_CARD: Lane.AGENTS,
    DeliveryKind.CUSTOMER_MESSAGE: Lane.AGENTS,
    DeliveryKind.NOTICE: Lane.AGENTS,
    DeliveryKind.REPLY_DELIVERED: Lane.AGENTS,
    DeliveryKind.AGENT_REPLY: Lane.CUSTOMER,
    DeliveryKind.CUSTOMER_NOTICE: Lane.CUSTOMER,
}


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class NewDelivery:
    ticket_id: TicketId
    kind: DeliveryKind
    created_at: datetime
    message_id: MessageId | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    to_lane: Lane | None = None

    @property
    def lane(self) -> Lane:
        if self.to_lane is not None:
            return self.to_lane
        try:
            return LANE_OF[self.kind]
        except KeyError:
            raise ValueError(f"a {self.kind} delivery must name its lane") from None


@dataclass(frozen=True, slots=True)
class Delivery:
    id: DeliveryId
    ticket_id: TicketId
    kind: DeliveryKind
    lane: Lane
    status: DeliveryStatus
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    message_id: MessageId | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    last_error: str | None = None
    delivered_at: datetime | None = None
    external_id: str | None = None


Progress = Callable[[list[str]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """A delivery with everything a handler needs to carry it out."""

    delivery: Delivery
    ticket: Ticket
    customer: Customer
    message: Message | None
    progress: Progress | None = None

    @property
    def steps_done(self) -> list[str]:
        """Platform ids of the parts a previous attempt already sent (a split message)."""
        return [str(s) for s in self.delivery.payload.get("steps", [])]

    async def step_done(self, steps: list[str], total: int) -> None:
        """Remember the parts sent so far, so that a retry does not send them again. Nothing
        is written for a single part or after the last one: success is recorded anyway."""
        if self.progress is not None and len(steps) < total:
            await self.progress(steps)


class DeliveryHandler(Protocol):
    """An adapter's side of the queue: carry out one delivery.

    Returns the platform id of what was created (a message copy, the card), or None. Raises
    PlatformError(retryable=True, retry_after=…) for what may succeed later, and
    PlatformError(retryable=False) for what never will.
    """

    async def deliver(self, job: DeliveryJob) -> str | None: ...


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
