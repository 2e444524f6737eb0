"""Inbound commands the adapters hand to the core, and what the core answers. Frozen data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.delivery import MAIN_WORKSPACE
from bot.core.domain import Agent, Attachment, Customer, Message, MessageRef, Platform, Ticket


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    """A customer wrote something on their platform."""

    platform: Platform
    message_id: str  # the platform's id of this message: the idempotency key
    customer_id: str  # the platform's id of the customer
    customer_name: str
    body: str
    sent_at: datetime
    attachments: tuple[Attachment, ...] = ()
    customer_avatar_url: str | None = None

    @property
    def ref(self) -> MessageRef:
        return MessageRef(self.platform, self.message_id)


@dataclass(frozen=True, slots=True)
class CardAt:
    """A place in an agent workspace where a ticket's card (and its thread) may be, as the
    workspace's adapter names it. A message written there is the ticket's, found in the
    transaction that records it (one read fewer than looking the ticket up first)."""

    ref: str
    workspace: str = MAIN_WORKSPACE


@dataclass(frozen=True, slots=True)
class AgentMessage:
    """An agent wrote in a ticket's thread: a reply for the customer or an internal note."""

    agent: Agent
    body: str
    internal: bool
    sent_at: datetime
    ref: MessageRef | None = None
    attachments: tuple[Attachment, ...] = ()
    # The platform event it came in (on `ref`'s platform), marked processed in the same
    # transaction as the message: one commit fewer on the way to the customer. With its
    # `event` (the raw body), an event not stored yet: it is stored with the message, as
    # processed, one transaction fewer again (EventSeenBefore if it was stored before).
    event_id: str | None = None
    event: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Intake:
    """What became of a customer message."""

    ticket: Ticket
    customer: Customer
    message: Message | None  # None when the message had been received before
    opened: bool = False  # a new ticket was opened for it
    reopened: bool = False  # it woke a resolved or pending ticket

    @property
    def duplicate(self) -> bool:
        return self.message is None
