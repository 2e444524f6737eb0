"""The repository's ports, one Protocol per aggregate, grouped as storage/ groups its mixins.

`bot.core.ports` puts them together: `Transaction` is all of them, `JobTransaction` the part the
scheduled jobs need. `TicketRepository` is made of two Protocols because the jobs need only
three of its methods (`JobTicketRepository`), and `JobTransaction` offers no other ticket method.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from bot.core.assist import Citation, Draft, DraftStatus
from bot.core.delivery import Delivery, DeliveryId, DeliveryJob, DeliveryStatus, Lane, NewDelivery
from bot.core.domain import (
    Customer,
    CustomerId,
    Direction,
    Message,
    MessageId,
    MessageRef,
    NewMessage,
    NewTicket,
    Platform,
    Status,
    Ticket,
    TicketEvent,
    TicketId,
    TicketNumber,
    TicketQuery,
    Triage,
)
from bot.core.inbound import GatewayCheckpoint, InboundEvent, InboundId
from bot.core.model_use import ModelUse, Spent
from bot.core.sla import Metric, NotificationKey, SlaClock
from bot.core.survey import Survey, SurveyOutcome


@dataclass(frozen=True, slots=True)
class CustomerWriting:
    """What taking in a customer's message needs to know first, read at once: see
    `CustomerRepository.customer_writing`."""

    customer: Customer
    seen_on: TicketId | None  # the ticket of the message, when it was recorded before
    open_ticket: Ticket | None
    recent: int  # their messages on the open ticket since the time asked about (0: none open)


class CustomerRepository(Protocol):
    """Customers: one per platform identity."""

    async def customer_writing(
        self, platform: Platform, external_id: str, ref: MessageRef, since: datetime
    ) -> CustomerWriting | None:
        """In one read, for the message `ref` from this platform identity: the customer, the
        ticket the message is on if it was recorded before, their open ticket, and how many
        messages they wrote on it since `since`. None when the customer is not stored yet."""
        ...

    async def upsert_customer(
        self,
        platform: Platform,
        external_id: str,
        display_name: str,
        seen_at: datetime,
        avatar_url: str | None = None,
    ) -> Customer:
        """The customer for this platform identity, created or renamed as needed."""
        ...

    async def get_customer(self, customer_id: CustomerId) -> Customer | None: ...

    async def find_customer(self, platform: Platform, external_id: str) -> Customer | None: ...

    async def set_customer_blocked(
        self, customer_id: CustomerId, blocked_at: datetime | None
    ) -> None: ...

    async def claim_customer_contact(self, customer_id: CustomerId, channel: str) -> str | None:
        """Make `channel` the place the customer is reached, unless one is set already; returns
        the place now stored (theirs if someone else got there first; None: no such customer)."""
        ...

    async def count_tickets_opened(self, customer_id: CustomerId, since: datetime) -> int: ...


class JobTicketRepository(Protocol):
    """The part of `TicketRepository` the scheduled jobs use (see `JobTransaction`): bookkeeping
    derived from the SLA clocks and the surveys, and the tickets left idle."""

    async def set_ticket_due(self, ticket_id: TicketId, due_at: datetime | None) -> None: ...

    async def idle_tickets(self, status: Status, before: datetime, limit: int) -> list[TicketId]:
        """Resolved tickets resolved before `before`; pending ones untouched since then."""
        ...

    async def set_ticket_rating(self, ticket_id: TicketId, rating: int) -> None: ...


class TicketRepository(JobTicketRepository, Protocol):
    """Tickets and their history of events."""

    async def create_ticket(self, new: NewTicket) -> Ticket:
        """Insert a ticket with the next public number.

        Raises OpenTicketExists when the customer already has an open ticket.
        """
        ...

    async def get_ticket(self, number: TicketNumber) -> Ticket | None: ...

    async def get_ticket_by_id(self, ticket_id: TicketId) -> Ticket | None: ...

    async def find_open_ticket(self, customer_id: CustomerId) -> Ticket | None: ...

    async def find_ticket_by_card(self, workspace: str, ref: str) -> Ticket | None:
        """The ticket whose card lives at `ref` in that agent workspace."""
        ...

    async def save_ticket(self, ticket: Ticket) -> Ticket:
        """Write the ticket if its stored version is still `ticket.version`.

        Returns the ticket with its new version; raises ConcurrentUpdate otherwise.
        """
        ...

    async def list_tickets(
        self, *, statuses: Sequence[Status] | None = None, limit: int = 100
    ) -> list[Ticket]:
        """Newest first."""
        ...

    async def query_tickets(self, query: TicketQuery) -> list[Ticket]: ...

    async def add_event(self, event: TicketEvent) -> None: ...

    async def list_events(self, ticket_id: TicketId) -> list[TicketEvent]:
        """Oldest first."""
        ...

    async def set_card(self, ticket_id: TicketId, workspace: str, ref: str) -> None:
        """Remember where the ticket's card lives in an agent workspace (not version-checked:
        it is bookkeeping of a delivery, not a decision about the ticket). The main
        workspace's card is the ticket's `workspace_ref`."""
        ...


class MessageRepository(Protocol):
    """Messages on tickets, with their platform refs (the ids of their copies)."""

    async def add_message(self, new: NewMessage) -> Message | None:
        """Record a message with its platform refs; None when a ref is already stored
        (a redelivered message), in which case nothing is written."""
        ...

    async def add_message_ref(self, message_id: MessageId, ref: MessageRef) -> bool:
        """Remember one more platform copy of a message; False if that ref is taken."""
        ...

    async def find_message(self, ref: MessageRef) -> Message | None: ...

    async def list_messages(self, ticket_id: TicketId) -> list[Message]:
        """Oldest first."""
        ...

    async def mark_message_edited(self, message_id: MessageId, body: str, at: datetime) -> None: ...

    async def mark_message_deleted(self, message_id: MessageId, at: datetime) -> None: ...

    async def set_message_direction(
        self, message_id: MessageId, direction: Direction, body: str | None = None
    ) -> None:
        """A note sent out after all (with `body`, the text as the customer will read it)."""
        ...

    async def get_message(self, message_id: MessageId) -> Message | None: ...


class DeliveryRepository(Protocol):
    """The delivery queue: what is still to be sent to each side of a ticket."""

    async def add_delivery(self, new: NewDelivery) -> Delivery: ...

    async def add_lane_head(self, new: NewDelivery, until: datetime) -> tuple[Delivery, bool]:
        """Queue `new`; when nothing is pending before it in its lane, it is leased to the
        caller until `until`, as a claim leases it. Returns it and whether the caller holds it."""
        ...

    async def claim_due_deliveries(
        self, now: datetime, lane: Lane, workspace: str, limit: int, lease_seconds: float
    ) -> list[Delivery]:
        """Lease the due heads of one lane (of one workspace, on the agents' lane: "" on the
        customer's) in one step; returns those this caller now holds."""
        ...

    async def waiting_behind(
        self, heads: Sequence[Delivery], most: int
    ) -> dict[DeliveryId, list[Delivery]]:
        """The pending deliveries after each of these lane heads in its lane, oldest first, at
        most `most` of each, leased or not (`lease_deliveries` takes only those free)."""
        ...

    async def lease_deliveries(
        self, delivery_ids: Sequence[DeliveryId], now: datetime, until: datetime
    ) -> list[Delivery]:
        """Lease these pending deliveries (those not leased by another holder) until `until`,
        as a claim does; returns those this caller now holds."""
        ...

    async def extend_leases(self, delivery_ids: Sequence[DeliveryId], until: datetime) -> None:
        """Keep holding these leased deliveries until `until` (their sends are under way)."""
        ...

    async def hasten_retries(self, now: datetime) -> int:
        """Every pending delivery waiting out a retry's backoff made due `now` (a platform that
        was away is back); returns how many."""
        ...

    async def jobs_for(self, deliveries: Sequence[Delivery]) -> list[DeliveryJob | None]:
        """Each delivery with its ticket, customer and message (None if its ticket is gone)."""
        ...

    async def set_delivery_steps(self, delivery_id: DeliveryId, steps: Sequence[str]) -> None:
        """Remember the parts of a delivery sent so far (a retry skips them)."""
        ...

    async def retry_delivery(
        self, delivery_id: DeliveryId, next_attempt_at: datetime, error: str, *, unsure: bool
    ) -> None:
        """`unsure`: the attempt may have been sent though it failed (no answer came), so the
        next one is `maybe_sent`, like one taken up after a crash."""

    async def finish_delivery(
        self,
        delivery_id: DeliveryId,
        status: DeliveryStatus,
        at: datetime,
        *,
        external_id: str | None = None,
        error: str | None = None,
    ) -> bool:
        """Record how a delivery ended; True when another delivery of its ticket's lane (in
        its workspace) is still to be sent."""
        ...

    async def list_deliveries(self, ticket_id: TicketId) -> list[Delivery]:
        """Oldest first."""
        ...


class AssistRepository(Protocol):
    """What the AI features keep: a ticket's triage and switches, and drafted replies."""

    async def set_ticket_triage(self, ticket_id: TicketId, triage: Triage) -> None: ...

    async def set_translate_replies(self, ticket_id: TicketId, on: bool) -> None: ...

    async def set_auto_answer_stopped(self, ticket_id: TicketId, stopped: bool) -> None: ...

    async def add_draft(
        self,
        ticket_id: TicketId,
        text: str,
        citations: tuple[Citation, ...],
        by_model: bool,
        at: datetime,
    ) -> Draft: ...

    async def get_draft(self, draft_id: int) -> Draft | None: ...

    async def decide_draft(
        self,
        draft_id: int,
        status: DraftStatus,
        by: str,
        at: datetime,
        message_id: MessageId | None = None,
    ) -> bool:
        """Mark an offered draft sent or discarded; False (and nothing changed) when it was
        decided already: a draft is sent once, however many agents press Send."""
        ...

    async def set_draft_post(self, draft_id: int, workspace: str, ref: str) -> None:
        """Where an agent workspace shows the draft (its post there); nothing for a draft that
        does not exist."""
        ...

    async def draft_posts(self, draft_id: int) -> dict[str, str]:
        """Where each agent workspace shows the draft: its post's ref, by workspace."""
        ...


class ModelUseRepository(Protocol):
    """What the AI features spent on models."""

    async def record_model_use(self, use: ModelUse) -> None: ...

    async def spent_between(self, start: datetime, end: datetime) -> Spent:
        """Tokens of the calls made at or after `start` and before `end`."""
        ...

    async def spent_on_ticket(self, ticket_id: TicketId) -> Spent: ...


class SlaRepository(Protocol):
    """SLA clocks, the notifications sent about them, and the leads' daily digest."""

    async def get_clocks(self, ticket_id: TicketId) -> list[SlaClock]: ...

    async def save_clocks(self, clocks: Sequence[SlaClock]) -> None: ...

    async def due_clocks(self, now: datetime, limit: int) -> list[SlaClock]:
        """Clocks with work due by `now`, earliest first."""
        ...

    async def next_action_at(self) -> datetime | None:
        """When the earliest clock next has work (a reminder, breach or escalation); None
        when no clock is waiting for anything."""
        ...

    async def lock_due_clock(
        self, ticket_id: TicketId, metric: Metric, now: datetime
    ) -> SlaClock | None:
        """The clock if it is still due, held for this transaction; None if another sweep
        holds it or got to it first."""
        ...

    async def claim_notification(self, key: NotificationKey, at: datetime) -> bool:
        """Take the right to send one notification; False if it was taken before."""
        ...

    async def count_notifications(self, ticket_id: TicketId, kind: str | None = None) -> int: ...

    async def claim_digest(self, day: date, at: datetime) -> bool:
        """Take the right to send the digest for a local day; False if it was taken."""
        ...

    async def forget_digest(self, day: date) -> None:
        """Give the claim back (the digest could not be sent)."""
        ...

    # --- a sweep's batch: a fixed number of statements for many clocks ---------------

    async def lock_due_clocks(self, now: datetime, limit: int) -> list[SlaClock]:
        """Up to `limit` clocks with work due by `now`, earliest first, held for this
        transaction; those another sweep holds are left out."""
        ...

    async def tickets_by_id(self, ticket_ids: Collection[TicketId]) -> dict[TicketId, Ticket]:
        """These tickets (those that exist), read at once."""
        ...

    async def save_steps(self, clocks: Sequence[SlaClock]) -> None:
        """Write back what a sweep's step changed in these clocks (`sla.STEP_FIELDS`)."""
        ...

    async def claim_notifications(
        self, keys: Sequence[NotificationKey], at: datetime
    ) -> set[NotificationKey]:
        """Take the right to send each of these notifications; returns those taken here."""
        ...

    async def add_deliveries(self, news: Sequence[NewDelivery]) -> None:
        """Queue many deliveries at once, in the order given."""
        ...


class SurveyRepository(Protocol):
    """Satisfaction surveys (at most one per ticket) and their ratings."""

    async def unsurveyed_resolved(
        self, resolved_before: datetime, limit: int
    ) -> list[TicketId]: ...

    async def last_survey_at(self, customer_id: CustomerId) -> datetime | None: ...

    async def add_survey(
        self,
        ticket_id: TicketId,
        customer_id: CustomerId,
        outcome: SurveyOutcome,
        at: datetime,
        expires_after: timedelta,
    ) -> Survey | None:
        """Record a survey (or the decision to skip it); None if the ticket has one."""
        ...

    async def get_survey(self, ticket_id: TicketId) -> Survey | None: ...

    async def answer_survey(
        self, survey_id: int, rating: int | None, comment: str | None, at: datetime
    ) -> None: ...

    async def ratings_since(self, since: datetime) -> list[int]: ...


class InboundRepository(Protocol):
    """Raw inbound platform events (with their retries and dead letters), and gateway
    checkpoints."""

    async def record_inbound_event(
        self, platform: Platform, event_id: str, payload: Mapping[str, Any], received_at: datetime
    ) -> bool:
        """Store a raw platform event before it is acknowledged.

        True when it needs processing: new, or stored before but never processed (and not set
        aside as a dead letter). False for a redelivery to acknowledge and drop.
        """
        ...

    async def mark_inbound_processed(
        self, platform: Platform, event_id: str, at: datetime
    ) -> None: ...

    async def add_processed_inbound(
        self, platform: Platform, event_id: str, payload: Mapping[str, Any], at: datetime
    ) -> bool:
        """Store an event processed in this same transaction. False (nothing stored) when it
        was stored before, whatever became of it: a redelivery, for the usual way."""
        ...

    async def inbound_failed(
        self, platform: Platform, event_id: str, error: str, at: datetime, retry_at: datetime | None
    ) -> int:
        """Count a failed attempt; with no `retry_at` it becomes a dead letter. Returns the
        attempts made so far."""
        ...

    async def unprocessed_inbound(
        self, platform: Platform, received_before: datetime, limit: int
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """Stored events nobody is handling (a crash after the ack, or a failure whose retry is
        due by `received_before`), oldest first; dead letters excluded."""
        ...

    async def retry_due_inbound(
        self, platform: Platform, now: datetime, limit: int, stuck_before: datetime | None = None
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """Failed events whose retry is due by `now`, oldest first; with `stuck_before`, also
        those received before it and never tried."""
        ...

    async def list_inbound(
        self, *, dead: bool, platform: Platform | None = None, limit: int = 100
    ) -> list[InboundEvent]:
        """Dead letters (`dead=True`), or events still waiting to be processed."""
        ...

    async def find_inbound(self, platform: Platform, event_id: str) -> InboundEvent | None: ...

    async def get_inbound(self, inbound_id: InboundId) -> InboundEvent | None: ...

    async def revive_inbound(self, inbound_id: InboundId, at: datetime) -> bool:
        """A dead letter back in line with a fresh count of attempts; False if it is none."""
        ...

    async def drop_inbound(self, inbound_id: InboundId, at: datetime) -> bool:
        """A dead letter set aside for good (kept, so a redelivery is still dropped)."""
        ...

    async def recent_conversations(
        self, platform: Platform, active_since: datetime, limit: int
    ) -> list[tuple[Customer, str | None]]:
        """Customers on `platform` with a ticket open or changed since `active_since`, most
        recently active first, each with the platform id of the last message recorded from
        them."""
        ...

    async def load_gateway_checkpoint(self, name: str) -> GatewayCheckpoint | None: ...

    async def save_gateway_checkpoint(
        self, name: str, checkpoint: GatewayCheckpoint, at: datetime
    ) -> None: ...

    async def clear_gateway_checkpoint(self, name: str) -> None: ...
