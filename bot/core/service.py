"""TicketService: the use cases. Each runs in one database transaction.

A use case loads the ticket, lets `domain.apply()` decide, saves with a version check and records
the event. When another writer got there first the whole use case is retried on fresh state, so
the loser of a race gets the domain's answer for the ticket as it now is (for a claim: who won).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from statistics import median
from typing import Any, TypeVar

from bot.config import CustomerPolicy
from bot.core import domain
from bot.core.delivery import DeliveryKind, Lane, NewDelivery
from bot.core.domain import (
    ACTIVE_STATUSES,
    Action,
    Actor,
    ActorKind,
    Agent,
    AgentId,
    Customer,
    Direction,
    Message,
    MessageRef,
    NewMessage,
    NewTicket,
    Platform,
    Priority,
    Status,
    Ticket,
    TicketEvent,
    TicketId,
    TicketNumber,
    TicketOrder,
    TicketQuery,
)
from bot.core.errors import (
    ConcurrentUpdate,
    CustomerRefused,
    DomainError,
    EventNotFound,
    IllegalTransition,
    OpenTicketExists,
    TicketNotFound,
)
from bot.core.events import AgentMessage, CustomerMessage, Intake
from bot.core.inbound import (
    MAX_ATTEMPTS,
    GatewayCheckpoint,
    InboundEvent,
    InboundId,
    InboundState,
    backoff,
)
from bot.core.ports import Clock, Storage, Transaction
from bot.core.sla import NO_CHANGE, Change, SlaClock
from bot.core.sla_keeper import SlaKeeper

log = logging.getLogger(__name__)

MOST_URGENT = TicketOrder.MOST_URGENT

T = TypeVar("T")

SUBJECT_LENGTH = 80
ATTEMPTS = 5  # a use case retried this often lost that many races in a row: report it


@dataclass(frozen=True, slots=True)
class Stats:
    open: int
    unassigned: int
    breaching_soon: int
    median_first_response: timedelta | None  # of tickets opened today (UTC)
    opened_today: int


@dataclass(frozen=True, slots=True)
class TicketDetail:
    ticket: Ticket
    customer: Customer
    messages: list[Message]
    events: list[TicketEvent]
    clocks: list[SlaClock] = field(default_factory=list)


class TicketService:
    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        default_priority: Priority = Priority.NORMAL,
        default_tier: int = domain.MIN_TIER,
        on_enqueued: Callable[[], None] | None = None,
        reopen_window: timedelta = timedelta(days=7),
        limits: CustomerPolicy | None = None,
        sla: SlaKeeper | None = None,
    ) -> None:
        self.sla = sla or SlaKeeper()
        self._reopen_window = reopen_window
        self._limits = limits or CustomerPolicy()
        self._storage = storage
        self._clock = clock
        self._on_enqueued = on_enqueued
        self._default_priority = default_priority
        self._default_tier = default_tier

    def on_enqueued(self, wake: Callable[[], None]) -> None:
        """Call `wake` after every commit that queued deliveries (the dispatcher's doorbell)."""
        self._on_enqueued = wake

    # --- customers -------------------------------------------------------------------

    async def receive_customer_message(self, msg: CustomerMessage) -> Intake:
        """Record a customer's message on their open ticket, opening one if they have none.

        A message seen before (same platform id) is recognised and changes nothing. A message to
        a resolved ticket reopens it; one to a ticket waiting on the customer wakes it.
        """
        if not msg.body.strip() and not msg.attachments:
            raise CustomerRefused(
                "An empty message cannot be recorded.",
                "I couldn't read that message: please write some text or attach a file.",
            )
        self._check_files(msg)
        return await self._retrying(lambda tx: self._intake(tx, msg))

    def _check_files(self, msg: CustomerMessage) -> None:
        limit, most = self._limits.max_attachment_mb, self._limits.max_attachments
        too_big = [a.filename for a in msg.attachments if a.size > limit * 1024 * 1024]
        if len(msg.attachments) > most or too_big:
            raise CustomerRefused(
                f"{len(msg.attachments)} attachment(s), too large: {too_big}",
                f"Please send at most {most} files of up to {limit} MB each; "
                "that message was not passed on.",
            )

    async def _check_limits(
        self, tx: Transaction, customer: Customer, ticket: Ticket | None, opening: bool
    ) -> None:
        if customer.blocked:
            raise CustomerRefused(f"Customer {customer.id} is blocked.", None)
        now = self._clock.now()
        recent = 0
        if ticket is not None:  # what floods is the open ticket; a new one starts at zero
            recent = await tx.count_customer_messages(ticket.id, now - timedelta(minutes=1))
        if recent >= self._limits.messages_per_minute:
            raise CustomerRefused(
                f"Customer {customer.id} wrote {recent} messages in a minute.",
                "You're writing faster than we can read! Please wait a minute; that message "
                "was not passed on.",
            )
        if opening:
            opened = await tx.count_tickets_opened(customer.id, now - timedelta(hours=1))
            if opened >= self._limits.new_tickets_per_hour:
                raise CustomerRefused(
                    f"Customer {customer.id} opened {opened} tickets in an hour.",
                    "You've opened several tickets in the last hour; please wait a little "
                    "before opening another.",
                )

    async def set_blocked(self, platform: Platform, external_id: str, blocked: bool) -> Customer:
        """Block (or unblock) a customer: a blocked customer's messages are dropped unanswered."""
        async with self._storage.transaction() as tx:
            customer = await tx.find_customer(platform, external_id)
            if customer is None:  # blocked before they ever wrote: remember them by id
                customer = await tx.upsert_customer(
                    platform, external_id, external_id, self._clock.now()
                )
            await tx.set_customer_blocked(customer.id, self._clock.now() if blocked else None)
            found = await tx.get_customer(customer.id)
        assert found is not None
        return found

    async def find_customer(self, platform: Platform, external_id: str) -> Customer | None:
        async with self._storage.reading() as tx:
            return await tx.find_customer(platform, external_id)

    async def claim_contact_channel(self, customer: Customer, channel: str) -> Customer:
        """Reach this customer at `channel` from now on (every delivery, after restarts too),
        unless another place was set first: the returned customer says which one holds."""
        async with self._storage.transaction() as tx:
            await tx.claim_customer_contact(customer.id, channel)
            found = await tx.get_customer(customer.id)
        if found is None:
            raise DomainError(f"Customer {customer.id} does not exist.")
        return found

    async def _intake(self, tx: Transaction, msg: CustomerMessage) -> Intake:
        customer = await tx.upsert_customer(
            msg.platform,
            msg.customer_id,
            msg.customer_name,
            self._clock.now(),
            msg.customer_avatar_url,
        )
        seen = await tx.find_message(msg.ref)
        if seen is not None:
            ticket = await tx.get_ticket_by_id(seen.ticket_id)
            assert ticket is not None
            return Intake(ticket, customer, None)
        ticket = await tx.find_open_ticket(customer.id)
        opening = ticket is None or self._past_reopen_window(ticket)
        await self._check_limits(tx, customer, ticket, opening)
        opened = reopened = False
        actor = Actor.of_customer(customer)
        follows: Ticket | None = None
        if ticket is not None and self._past_reopen_window(ticket):
            # Too long after resolution to reopen: close it and start afresh, linked to it.
            args = _MoveArgs(reason="The customer wrote again after the reopen window.")
            follows = await self._move(tx, ticket, Action.CLOSE, Actor.system(), args)
            ticket = None
        if ticket is None:
            ticket = await self._open(tx, customer, msg, actor, follows)
            opened = True
        elif ticket.status in (Status.RESOLVED, Status.PENDING):
            action = Action.REOPEN if ticket.status is Status.RESOLVED else Action.CUSTOMER_REPLY
            args = _MoveArgs(reason="The customer wrote again.")
            ticket = await self._move(tx, ticket, action, actor, args)
            reopened = True
        message = await tx.add_message(
            NewMessage(
                ticket_id=ticket.id,
                direction=Direction.FROM_CUSTOMER,
                author=actor,
                body=msg.body,
                created_at=msg.sent_at,
                attachments=msg.attachments,
                refs=(msg.ref,),
            )
        )
        if message is None:  # lost a race with the same message delivered twice at once
            raise ConcurrentUpdate(ticket.number)
        ticket = await self._refresh_sla(
            tx, ticket, Change(customer_wrote_at=msg.sent_at), card_queued=opened or reopened
        )
        if opened:  # a reopen already queued its card refresh in _move
            await self._enqueue(tx, ticket, DeliveryKind.TICKET_CARD)
            if follows is not None:
                line = f":link: This follows up on ticket #{follows.number} ({follows.subject})."
                await self._enqueue(tx, ticket, DeliveryKind.NOTICE, payload={"text": line})
            due = ticket.due_at.isoformat() if ticket.due_at else None
            await self._enqueue(
                tx, ticket, DeliveryKind.CUSTOMER_NOTICE, payload={"event": "opened", "due": due}
            )
        await self._enqueue(tx, ticket, DeliveryKind.CUSTOMER_MESSAGE, message)
        return Intake(ticket, customer, message, opened=opened, reopened=reopened)

    def _past_reopen_window(self, ticket: Ticket) -> bool:
        return (
            ticket.status is Status.RESOLVED
            and ticket.resolved_at is not None
            and self._clock.now() - ticket.resolved_at > self._reopen_window
        )

    async def _open(
        self,
        tx: Transaction,
        customer: Customer,
        msg: CustomerMessage,
        actor: Actor,
        follows: Ticket | None = None,
    ) -> Ticket:
        now = self._clock.now()
        try:
            ticket = await tx.create_ticket(
                NewTicket(
                    customer_id=customer.id,
                    subject=subject_of(msg.body, msg.attachments),
                    priority=self._default_priority,
                    tier=self._default_tier,
                    created_at=now,
                )
            )
        except OpenTicketExists:
            # Another delivery of this customer's first messages opened it first.
            raise ConcurrentUpdate(TicketNumber(0)) from None
        detail = f"follows up on #{follows.number}" if follows else None
        await tx.add_event(_opened_event(ticket, actor, detail))
        log.info("Opened ticket #%s for customer %s", ticket.number, customer.id)
        return ticket

    # --- agents ----------------------------------------------------------------------

    async def add_agent_message(self, number: TicketNumber, msg: AgentMessage) -> Message | None:
        """Record an agent's reply (for the customer) or internal note on a ticket.

        Returns None when this platform message was recorded before.
        """
        if not msg.body.strip() and not msg.attachments:
            raise DomainError("An empty message cannot be recorded.")
        return await self._retrying(lambda tx: self._agent_message(tx, number, msg))

    async def _agent_message(
        self, tx: Transaction, number: TicketNumber, msg: AgentMessage
    ) -> Message | None:
        if msg.ref is not None and await tx.find_message(msg.ref) is not None:
            return None
        ticket = await self._load(tx, number)
        direction = Direction.NOTE if msg.internal else Direction.TO_CUSTOMER
        if direction is Direction.TO_CUSTOMER and ticket.status is Status.CLOSED:
            raise IllegalTransition(
                number, ticket.status, "reply", "Closed tickets take notes only."
            )
        if direction is Direction.TO_CUSTOMER and ticket.first_response_at is None:
            ticket = await tx.save_ticket(replace(ticket, first_response_at=msg.sent_at))
        message = await tx.add_message(
            NewMessage(
                ticket_id=ticket.id,
                direction=direction,
                author=Actor.of_agent(msg.agent),
                body=msg.body,
                created_at=msg.sent_at,
                attachments=msg.attachments,
                refs=(msg.ref,) if msg.ref is not None else (),
            )
        )
        if message is not None and direction is Direction.TO_CUSTOMER:
            await self._refresh_sla(tx, ticket, Change(agent_replied_at=msg.sent_at))
            await self._enqueue(tx, ticket, DeliveryKind.AGENT_REPLY, message)
        return message

    async def edit_message(
        self, ref: MessageRef, body: str, at: datetime | None = None
    ) -> Message | None:
        """Someone edited a message we hold; the copy on the other side follows.

        Returns None for a message Threadline never recorded (nothing to do).
        """
        when = at or self._clock.now()
        return await self._retrying(lambda tx: self._change_message(tx, ref, when, body))

    async def delete_message(self, ref: MessageRef, at: datetime | None = None) -> Message | None:
        """Someone deleted a message we hold; the copy on the other side is removed."""
        when = at or self._clock.now()
        return await self._retrying(lambda tx: self._change_message(tx, ref, when, None))

    async def delete_customer_message(
        self, ref: MessageRef, at: datetime | None = None
    ) -> Message | None:
        """A customer deleted one of their own messages; the agents' copy follows.

        A deletion at a ref that is not the customer's own message changes nothing: a platform
        that reports deletions without saying whose message it was (Discord) also reports the
        ones Threadline made itself, such as the pieces of a reply an edit made shorter.
        """
        when = at or self._clock.now()

        async def attempt(tx: Transaction) -> Message | None:
            found = await tx.find_message(ref)
            if found is None or found.direction is not Direction.FROM_CUSTOMER:
                return None
            return await self._change_message(tx, ref, when, None)

        return await self._retrying(attempt)

    async def _change_message(
        self, tx: Transaction, ref: MessageRef, at: datetime, body: str | None
    ) -> Message | None:
        message = await tx.find_message(ref)
        if message is None or message.deleted_at is not None:
            return None
        if body is None:
            await tx.mark_message_deleted(message.id, at)
        elif body != message.body:
            await tx.mark_message_edited(message.id, body, at)
        else:
            return message  # an edit that changed nothing we relay (an unfurl, say)
        other_side = _OTHER_SIDE.get(message.direction)
        if other_side is not None:
            await tx.add_delivery(
                NewDelivery(
                    ticket_id=message.ticket_id,
                    kind=DeliveryKind.COPY_DELETE if body is None else DeliveryKind.COPY_EDIT,
                    created_at=self._clock.now(),
                    message_id=message.id,
                    to_lane=other_side,
                )
            )
        return await tx.get_message(message.id)

    async def send_note(
        self, ref: MessageRef, agent: Agent, as_sent: Callable[[str], Awaitable[str]] | None = None
    ) -> Message:
        """Send a message recorded as an internal note to the customer after all (the agent's
        explicit choice, for teams whose thread messages stay internal by default).
        `as_sent` turns the note's text into what the customer will read (the workspace's
        markup converted); that becomes the reply's recorded body."""
        return await self._retrying(lambda tx: self._send_note(tx, ref, agent, as_sent))

    async def _send_note(
        self,
        tx: Transaction,
        ref: MessageRef,
        agent: Agent,
        as_sent: Callable[[str], Awaitable[str]] | None,
    ) -> Message:
        message = await tx.find_message(ref)
        if message is None:
            raise DomainError("That message is not part of any ticket.")
        if message.direction is not Direction.NOTE or message.deleted_at is not None:
            raise DomainError("Only an internal note can be sent to the customer this way.")
        if message.author.id != agent.id:
            raise DomainError("Only its author can send a note to the customer.")
        ticket = await tx.get_ticket_by_id(message.ticket_id)
        assert ticket is not None
        if ticket.status is Status.CLOSED:
            raise IllegalTransition(
                ticket.number, ticket.status, "reply", "Closed tickets take notes only."
            )
        if ticket.first_response_at is None:
            ticket = await tx.save_ticket(replace(ticket, first_response_at=self._clock.now()))
        body = await as_sent(message.body) if as_sent is not None else None
        await tx.set_message_direction(message.id, Direction.TO_CUSTOMER, body)
        now = self._clock.now()
        await self._refresh_sla(tx, ticket, Change(agent_replied_at=now))
        sent = await tx.get_message(message.id)
        assert sent is not None
        await self._enqueue(tx, ticket, DeliveryKind.AGENT_REPLY, sent)
        return sent

    async def claim(self, number: TicketNumber, agent: Agent) -> Ticket:
        """Take the ticket. Of two agents claiming at once, one wins; the other gets
        AlreadyClaimed naming the winner."""
        return await self.act(number, Action.CLAIM, Actor.of_agent(agent))

    async def unclaim(self, number: TicketNumber, actor: Actor) -> Ticket:
        return await self.act(number, Action.UNCLAIM, actor)

    async def escalate(
        self, number: TicketNumber, actor: Actor, reason: str | None = None
    ) -> Ticket:
        """Raise the ticket one tier and release it for someone at that tier to claim."""
        return await self.act(number, Action.ESCALATE, actor, reason=reason)

    async def wait_on_customer(self, number: TicketNumber, actor: Actor) -> Ticket:
        return await self.act(number, Action.PEND, actor)

    async def resolve(
        self,
        number: TicketNumber,
        actor: Actor,
        reason: str | None = None,
        *,
        note_for_customer: AgentMessage | None = None,
    ) -> Ticket:
        """Resolve the ticket; a resolution note, when given, goes to the customer first."""
        args = _MoveArgs(reason=reason)

        async def attempt(tx: Transaction) -> Ticket:
            ticket = await self._load(tx, number)
            if note_for_customer is not None and note_for_customer.body.strip():
                domain.apply(ticket, Action.RESOLVE, actor, self._clock.now())  # refuse early
                await self._agent_message(tx, number, note_for_customer)
                ticket = await self._load(tx, number)
            return await self._move(tx, ticket, Action.RESOLVE, actor, args)

        return await self._retrying(attempt)

    async def reopen(self, number: TicketNumber, actor: Actor, reason: str | None = None) -> Ticket:
        return await self.act(number, Action.REOPEN, actor, reason=reason)

    async def close(self, number: TicketNumber, actor: Actor, reason: str | None = None) -> Ticket:
        return await self.act(number, Action.CLOSE, actor, reason=reason)

    async def set_priority(self, number: TicketNumber, actor: Actor, priority: Priority) -> Ticket:
        return await self.act(number, Action.SET_PRIORITY, actor, priority=priority)

    async def act(
        self,
        number: TicketNumber,
        action: Action,
        actor: Actor,
        *,
        reason: str | None = None,
        priority: Priority | None = None,
        assignee: Agent | None = None,
        tier: int | None = None,
    ) -> Ticket:
        """Apply one action to a ticket and record it."""
        args = _MoveArgs(reason, priority, assignee, tier)

        async def attempt(tx: Transaction) -> Ticket:
            ticket = await self._load(tx, number)
            return await self._move(tx, ticket, action, actor, args)

        return await self._retrying(attempt)

    # --- raw platform events -----------------------------------------------------------

    async def record_inbound(
        self, platform: Platform, event_id: str, payload: Mapping[str, Any]
    ) -> bool:
        """Store a platform event before it is acknowledged; False if it was processed
        before (a redelivery to acknowledge and drop). True for a new event, and for one stored
        earlier whose processing never finished."""
        async with self._storage.transaction() as tx:
            return await tx.record_inbound_event(platform, event_id, payload, self._clock.now())

    async def first_time(
        self, platform: Platform, event_id: str, payload: Mapping[str, Any]
    ) -> bool:
        """Record an event that is acted on now or never (a click): True the first time, False
        for a replay. Recorded and marked in one transaction, so of two copies racing (two
        replicas, say) only one is ever True: the unique key decides."""
        async with self._storage.transaction() as tx:
            if not await tx.record_inbound_event(platform, event_id, payload, self._clock.now()):
                return False
            await tx.mark_inbound_processed(platform, event_id, self._clock.now())
            return True

    async def mark_processed(self, platform: Platform, event_id: str) -> None:
        async with self._storage.transaction() as tx:
            await tx.mark_inbound_processed(platform, event_id, self._clock.now())

    async def unprocessed(
        self, platform: Platform, older_than: timedelta, limit: int = 500
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """Events stored and acknowledged but never processed: a crash in between."""
        async with self._storage.transaction() as tx:
            return await tx.unprocessed_inbound(platform, self._clock.now() - older_than, limit)

    async def inbound_failed(self, platform: Platform, event_id: str, error: str) -> InboundState:
        """Count a failed attempt at a stored event: PENDING when it will be retried after a
        backoff, DEAD when it has failed MAX_ATTEMPTS times and now waits for a person."""
        now = self._clock.now()
        async with self._storage.transaction() as tx:
            event = await tx.find_inbound(platform, event_id)
            made = (event.attempts if event is not None else 0) + 1
            retry_at = now + backoff(made) if made < MAX_ATTEMPTS else None
            await tx.inbound_failed(platform, event_id, error, now, retry_at)
        return InboundState.PENDING if retry_at is not None else InboundState.DEAD

    async def retry_due(
        self, platform: Platform, limit: int = 100
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """Failed events whose retry is due now, oldest first."""
        async with self._storage.reading() as tx:
            return await tx.retry_due_inbound(platform, self._clock.now(), limit)

    async def inbound_events(
        self, *, dead: bool = True, platform: Platform | None = None, limit: int = 100
    ) -> list[InboundEvent]:
        """Dead letters (by default), or events still waiting to be processed."""
        async with self._storage.reading() as tx:
            return await tx.list_inbound(dead=dead, platform=platform, limit=limit)

    async def inbound_event(self, inbound_id: InboundId) -> InboundEvent:
        async with self._storage.reading() as tx:
            event = await tx.get_inbound(inbound_id)
        if event is None:
            raise EventNotFound(f"No stored event {inbound_id}")
        return event

    async def stored_event(self, platform: Platform, event_id: str) -> InboundEvent | None:
        """A stored inbound event by its platform id, if any."""
        async with self._storage.reading() as tx:
            return await tx.find_inbound(platform, event_id)

    async def retry_dead_letter(self, inbound_id: InboundId) -> InboundEvent:
        """Put a dead letter back in line: the running bot processes it at its next retry pass."""
        async with self._storage.transaction() as tx:
            if not await tx.revive_inbound(inbound_id, self._clock.now()):
                raise EventNotFound(f"Stored event {inbound_id} is not a dead letter")
            event = await tx.get_inbound(inbound_id)
        assert event is not None
        return event

    async def drop_dead_letter(self, inbound_id: InboundId) -> InboundEvent:
        """Set a dead letter aside for good (it stays on record; a redelivery is dropped)."""
        async with self._storage.transaction() as tx:
            if not await tx.drop_inbound(inbound_id, self._clock.now()):
                raise EventNotFound(f"Stored event {inbound_id} is not a dead letter")
            event = await tx.get_inbound(inbound_id)
        assert event is not None
        return event

    async def recent_conversations(
        self, platform: Platform, active_within: timedelta, limit: int
    ) -> list[tuple[Customer, str | None]]:
        """Customers on `platform` with a ticket open or active within `active_within`, most
        recent first, with the platform id of the last message recorded from each: where a
        catch-up from history starts."""
        async with self._storage.reading() as tx:
            since = self._clock.now() - active_within
            return await tx.recent_conversations(platform, since, limit)

    async def gateway_checkpoint(self, name: str) -> GatewayCheckpoint | None:
        async with self._storage.reading() as tx:
            return await tx.load_gateway_checkpoint(name)

    async def save_gateway_checkpoint(self, name: str, checkpoint: GatewayCheckpoint) -> None:
        async with self._storage.transaction() as tx:
            await tx.save_gateway_checkpoint(name, checkpoint, self._clock.now())

    async def clear_gateway_checkpoint(self, name: str) -> None:
        async with self._storage.transaction() as tx:
            await tx.clear_gateway_checkpoint(name)

    # --- reading ---------------------------------------------------------------------

    async def message_at(self, ref: MessageRef) -> Message | None:
        """The recorded message with this platform copy, if any."""
        async with self._storage.reading() as tx:
            return await tx.find_message(ref)

    async def ticket_at(self, workspace_ref: str) -> Ticket | None:
        """The ticket whose card is at this place on the agents' side, if any."""
        async with self._storage.transaction() as tx:
            return await tx.find_ticket_by_workspace_ref(workspace_ref)

    async def customer_of(self, ticket: Ticket) -> Customer:
        async with self._storage.transaction() as tx:
            customer = await tx.get_customer(ticket.customer_id)
        assert customer is not None  # a foreign key guarantees it
        return customer

    async def ping(self) -> None:
        """Raise StorageError unless the database answers."""
        await self._storage.ping()

    async def get_ticket(self, number: TicketNumber) -> Ticket:
        async with self._storage.transaction() as tx:
            return await self._load(tx, number)

    async def list_tickets(self, status: Status | None = None, limit: int = 100) -> list[Ticket]:
        async with self._storage.transaction() as tx:
            return await tx.list_tickets(statuses=[status] if status else None, limit=limit)

    async def query(self, query: TicketQuery) -> list[Ticket]:
        async with self._storage.transaction() as tx:
            return await tx.query_tickets(query)

    async def held_by(self, agent_id: AgentId, limit: int = 20) -> list[Ticket]:
        """An agent's tickets still in play, most urgent first."""
        return await self.query(
            TicketQuery(ACTIVE_STATUSES, assignee_id=agent_id, order=MOST_URGENT, limit=limit)
        )

    async def queue(self, limit: int = 20) -> list[Ticket]:
        """Tickets nobody holds, most urgent SLA first."""
        return await self.query(
            TicketQuery(ACTIVE_STATUSES, unassigned=True, order=MOST_URGENT, limit=limit)
        )

    async def breaching_soon(self, within: timedelta, limit: int = 20) -> list[Ticket]:
        """Tickets in play whose next SLA deadline falls within `within` (or has passed)."""
        due = self._clock.now() + within
        return await self.query(
            TicketQuery(ACTIVE_STATUSES, due_before=due, order=MOST_URGENT, limit=limit)
        )

    async def find(self, text: str, limit: int = 20) -> list[Ticket]:
        """Tickets whose subject or messages contain `text` (any case), newest first."""
        if not text.strip():
            raise DomainError("Say what to look for.")
        return await self.query(TicketQuery(text=text.strip(), limit=limit))

    async def stats(self, breach_window: timedelta) -> Stats:
        now = self._clock.now()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        open_now = await self.query(TicketQuery(ACTIVE_STATUSES, limit=100_000))
        today = await self.query(TicketQuery(created_since=midnight, limit=100_000))
        waits = sorted(
            (t.first_response_at - t.created_at).total_seconds()
            for t in today
            if t.first_response_at is not None
        )
        soon = [t for t in open_now if t.due_at is not None and t.due_at <= now + breach_window]
        return Stats(
            open=len(open_now),
            unassigned=sum(t.assignee is None for t in open_now),
            breaching_soon=len(soon),
            median_first_response=timedelta(seconds=median(waits)) if waits else None,
            opened_today=len(today),
        )

    async def ticket_detail(self, number: TicketNumber) -> TicketDetail:
        async with self._storage.transaction() as tx:
            ticket = await self._load(tx, number)
            customer = await tx.get_customer(ticket.customer_id)
            assert customer is not None  # a foreign key guarantees it
            messages = await tx.list_messages(ticket.id)
            events = await tx.list_events(ticket.id)
            clocks = await tx.get_clocks(ticket.id)
        return TicketDetail(ticket, customer, messages, events, clocks)

    # --- for the scheduled jobs (bot/core/sweeps.py) --------------------------------------

    def now(self) -> datetime:
        return self._clock.now()

    @asynccontextmanager
    async def working(self) -> AsyncIterator[Transaction]:
        """One transaction of a job; the dispatcher is woken once it has committed."""
        async with self._storage.transaction() as tx:
            yield tx
        if self._on_enqueued is not None:
            self._on_enqueued()

    def reading(self) -> AbstractAsyncContextManager[Transaction]:
        return self._storage.reading()

    async def move_in(
        self, tx: Transaction, ticket: Ticket, action: Action, actor: Actor, reason: str
    ) -> Ticket:
        """Apply one action inside a job's transaction (see `act`)."""
        return await self._move(tx, ticket, action, actor, _MoveArgs(reason=reason))

    async def enqueue_in(
        self, tx: Transaction, ticket: Ticket, kind: DeliveryKind, payload: Mapping[str, Any]
    ) -> None:
        await self._enqueue(tx, ticket, kind, payload=payload)

    # --- the agents' workspace ---------------------------------------------------------

    async def messages_shown_on(self, ticket_id: TicketId, platform: Platform) -> list[Message]:
        """The ticket's messages that have a copy (or their original) on `platform`, oldest
        first, deleted ones left out: what a thread there showed, to show again if it is lost."""
        async with self._storage.reading() as tx:
            messages = await tx.list_messages(ticket_id)
        return [
            m
            for m in messages
            if m.deleted_at is None and any(r.platform is platform for r in m.refs)
        ]

    async def move_workspace(self, ticket_id: TicketId, workspace_ref: str) -> None:
        """The ticket's card and thread now live at `workspace_ref` (the old ones were lost):
        agents' replies there find the ticket, and later deliveries go there."""
        async with self._storage.transaction() as tx:
            await tx.set_workspace_ref(ticket_id, workspace_ref)
        log.info("Ticket %s: its card and thread moved to %s", ticket_id, workspace_ref)

    # --- internals -------------------------------------------------------------------

    async def _refresh_sla(
        self,
        tx: Transaction,
        ticket: Ticket,
        change: Change = NO_CHANGE,
        *,
        card_queued: bool = False,
    ) -> Ticket:
        """Bring the ticket's clocks in line; when the due time its card shows moved, queue a
        card update, unless this use case has queued one already (a card is drawn from the
        database when it is sent, so one queued earlier in the transaction shows the change)."""
        refreshed = await self.sla.refresh(tx, ticket, self._clock.now(), change)
        if not card_queued and shown_due(refreshed) != shown_due(ticket):
            await self._enqueue(tx, refreshed, DeliveryKind.TICKET_CARD)
        return refreshed

    async def _load(self, tx: Transaction, number: TicketNumber) -> Ticket:
        ticket = await tx.get_ticket(number)
        if ticket is None:
            raise TicketNotFound(number)
        return ticket

    async def _move(
        self,
        tx: Transaction,
        ticket: Ticket,
        action: Action,
        actor: Actor,
        args: _MoveArgs,
    ) -> Ticket:
        moved = domain.apply(
            ticket,
            action,
            actor,
            self._clock.now(),
            reason=args.reason,
            priority=args.priority,
            assignee=args.assignee,
            tier=args.tier,
        )
        saved = await tx.save_ticket(moved.ticket)
        saved = await self._refresh_sla(tx, saved, card_queued=True)  # queued just below
        await tx.add_event(moved.event)
        await self._enqueue(tx, saved, DeliveryKind.TICKET_CARD)
        line = activity_line(moved.event)
        if line is not None:
            await self._enqueue(tx, saved, DeliveryKind.NOTICE, payload={"text": line})
        if action is Action.ESCALATE:
            await self._enqueue(
                tx, saved, DeliveryKind.NOTICE, payload={"text": line, "to": "escalations"}
            )
        told = _CUSTOMER_SEES.get(action)
        # A customer who closed their own ticket is answered right there, not told again.
        if told is not None and not (action is Action.CLOSE and actor.kind is ActorKind.CUSTOMER):
            payload = {"event": told, "agent": saved.assignee.name if saved.assignee else None}
            await self._enqueue(tx, saved, DeliveryKind.CUSTOMER_NOTICE, payload=payload)
        log.info(
            "Ticket #%s: %s by %s (%s → %s)",
            ticket.number,
            action,
            actor.id,
            moved.event.from_status,
            moved.event.to_status,
        )
        return saved

    async def _enqueue(
        self,
        tx: Transaction,
        ticket: Ticket,
        kind: DeliveryKind,
        message: Message | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        await tx.add_delivery(
            NewDelivery(
                ticket_id=ticket.id,
                kind=kind,
                created_at=self._clock.now(),
                message_id=message.id if message else None,
                payload=payload or {},
            )
        )

    async def _retrying(self, use_case: Callable[[Transaction], Awaitable[T]]) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self._storage.transaction() as tx:
                    result = await use_case(tx)
                if self._on_enqueued is not None:
                    self._on_enqueued()  # after commit, so the dispatcher sees the rows
                return result
            except ConcurrentUpdate:
                if attempt == ATTEMPTS:
                    raise
                log.debug("Concurrent update, retrying (attempt %d)", attempt)
        raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class _MoveArgs:
    reason: str | None = None
    priority: Priority | None = None
    assignee: Agent | None = None
    tier: int | None = None


# Where a message's relayed copy lives; notes have none.
_OTHER_SIDE = {Direction.FROM_CUSTOMER: Lane.AGENTS, Direction.TO_CUSTOMER: Lane.CUSTOMER}


# What the customer is told about, by the name of the event.
_CUSTOMER_SEES = {
    Action.CLAIM: "claimed",
    Action.ASSIGN: "claimed",
    Action.RESOLVE: "resolved",
    Action.REOPEN: "reopened",
    Action.CLOSE: "closed",
}

_ACTIVITY = {
    Action.ESCALATE: ":arrow_double_up: Escalated by {actor} ({detail})",
    Action.ASSIGN: ":bust_in_silhouette: Assigned by {actor} ({detail})",
    Action.RESOLVE: ":white_check_mark: Resolved by {actor}",
    Action.REOPEN: ":leftwards_arrow_with_hook: Reopened by {actor}",
}


def shown_due(ticket: Ticket) -> datetime | None:
    """The SLA due time a ticket's card shows: the next deadline, while the ticket is open."""
    return ticket.due_at if ticket.status.is_open else None


def activity_line(event: TicketEvent) -> str | None:
    """A line for the ticket's thread about a move worth telling the team about."""
    template = _ACTIVITY.get(event.action)
    if template is None:
        return None
    line = template.format(actor=event.actor.name, detail=event.detail or "")
    return f"{line}: {event.reason}" if event.reason else line


def _opened_event(ticket: Ticket, actor: Actor, detail: str | None = None) -> TicketEvent:
    return TicketEvent(
        ticket_id=ticket.id,
        actor=actor,
        action=Action.OPEN,
        from_status=ticket.status,
        to_status=ticket.status,
        at=ticket.created_at,
        detail=detail,
    )


def subject_of(body: str, attachments: tuple[domain.Attachment, ...] = ()) -> str:
    """A one-line subject from a customer's first message."""
    for raw in body.splitlines():
        line = " ".join(raw.split())
        if line:
            return line if len(line) <= SUBJECT_LENGTH else line[: SUBJECT_LENGTH - 1] + "…"
    if attachments:
        return f"Attachment: {attachments[0].filename}"[:SUBJECT_LENGTH]
    return "(no subject)"
