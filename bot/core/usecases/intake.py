"""Intake: a customer's message becomes part of their ticket, opening one when they have none,
reopening a resolved one, or starting afresh (linked) after the reopen window; limits and blocks
are enforced before anything is recorded."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from bot.core.domain import (
    Action,
    Actor,
    Attachment,
    Customer,
    Direction,
    NewMessage,
    NewTicket,
    Platform,
    Status,
    Ticket,
    TicketEvent,
    TicketNumber,
)
from bot.core.errors import ConcurrentUpdate, CustomerRefused, DomainError, OpenTicketExists
from bot.core.events import CustomerMessage, Intake
from bot.core.outbound import (
    AssistCustomerMessage,
    CardChanged,
    CustomerWrote,
    FollowsUp,
    TicketOpened,
)
from bot.core.ports import Transaction
from bot.core.repositories import CustomerWriting
from bot.core.sla import Change
from bot.core.usecases.base import MoveArgs, UseCaseBase

log = logging.getLogger(__name__)

SUBJECT_LENGTH = 80


class IntakeUseCases(UseCaseBase):
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
        self, tx: Transaction, customer: Customer, recent: int, opening: bool
    ) -> None:
        """`recent`: the customer's messages on their open ticket in the last minute (what
        floods is the open ticket; a new one starts at zero)."""
        if customer.blocked:
            raise CustomerRefused(f"Customer {customer.id} is blocked.", None)
        now = self._clock.now()
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
        writing = await self._writing(tx, msg)
        customer = writing.customer
        if writing.seen_on is not None:
            ticket = await tx.get_ticket_by_id(writing.seen_on)
            assert ticket is not None
            return Intake(ticket, customer, None)
        ticket = writing.open_ticket
        opening = ticket is None or self._past_reopen_window(ticket)
        await self._check_limits(tx, customer, writing.recent, opening)
        opened = reopened = False
        actor = Actor.of_customer(customer)
        follows: Ticket | None = None
        if ticket is not None and self._past_reopen_window(ticket):
            # Too long after resolution to reopen: close it and start afresh, linked to it.
            args = MoveArgs(reason="The customer wrote again after the reopen window.")
            follows = await self._move(tx, ticket, Action.CLOSE, Actor.system(), args)
            ticket = None
        if ticket is None:
            ticket = await self._open(tx, customer, msg, actor, follows)
            opened = True
        elif ticket.status in (Status.RESOLVED, Status.PENDING):
            action = Action.REOPEN if ticket.status is Status.RESOLVED else Action.CUSTOMER_REPLY
            args = MoveArgs(reason="The customer wrote again.")
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
        before = ticket
        change = Change(customer_wrote_at=msg.sent_at)
        # The card's redraw is queued below (or was, by a reopen's move).
        ticket = await self._refresh_sla(tx, ticket, change, card_queued=True)
        if opened:  # a reopen already queued its card refresh in _move
            await self._to_agents(tx, ticket, CardChanged())
            if follows is not None:
                await self._to_agents(tx, ticket, FollowsUp(follows.number, follows.subject))
            await self._to_customer(tx, ticket, TicketOpened(due_at=ticket.due_at))
        await self._to_agents(tx, ticket, CustomerWrote(), message)
        if not (opened or reopened):
            # After the message, in the same lane: the agents wait for what the customer
            # wrote, not for the card to show the due time it moved (the card is drawn when
            # it is sent, so it shows the change either way).
            await self._redraw_if_due_moved(tx, before, ticket)
        if self.ai is not None:  # after the agents see it: the assistant is never in the way
            await self._to_assistant(tx, ticket, AssistCustomerMessage(), message)
        return Intake(ticket, customer, message, opened=opened, reopened=reopened)

    async def _writing(self, tx: Transaction, msg: CustomerMessage) -> CustomerWriting:
        """The customer (stored first when new; renamed when their name or picture changed),
        with what their message needs known: one read for a known customer."""
        since = self._clock.now() - timedelta(minutes=1)
        writing = await tx.customer_writing(msg.platform, msg.customer_id, msg.ref, since)
        renamed = writing is not None and writing.customer.renamed(
            msg.customer_name, msg.customer_avatar_url
        )
        if writing is not None and not renamed:
            return writing
        customer = await tx.upsert_customer(
            msg.platform,
            msg.customer_id,
            msg.customer_name,
            self._clock.now(),
            msg.customer_avatar_url,
        )
        if writing is not None:
            return replace(writing, customer=customer)
        stored = await tx.customer_writing(msg.platform, msg.customer_id, msg.ref, since)
        assert stored is not None
        return stored

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


def subject_of(body: str, attachments: tuple[Attachment, ...] = ()) -> str:
    """A one-line subject from a customer's first message."""
    for raw in body.splitlines():
        line = " ".join(raw.split())
        if line:
            return line if len(line) <= SUBJECT_LENGTH else line[: SUBJECT_LENGTH - 1] + "…"
    if attachments:
        return f"Attachment: {attachments[0].filename}"[:SUBJECT_LENGTH]
    return "(no subject)"
