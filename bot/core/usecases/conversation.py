"""The conversation: agents' replies and internal notes, edits and deletions on either side
(the copy on the other side follows), a note sent to the customer after all, and what a lost
thread showed."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from bot.core.delivery import MAIN_WORKSPACE, Lane
from bot.core.domain import (
    Actor,
    Agent,
    Direction,
    Message,
    MessageRef,
    NewMessage,
    Status,
    Ticket,
    TicketId,
    TicketNumber,
)
from bot.core.errors import DomainError, EventSeenBefore, IllegalTransition, NoTicketAt
from bot.core.events import AgentMessage, CardAt
from bot.core.outbound import (
    AgentReplied,
    AgentWrote,
    AssistEdit,
    AssistReply,
    CopyDeleted,
    CopyEdited,
)
from bot.core.ports import Transaction
from bot.core.sla import Change
from bot.core.usecases.base import UseCaseBase

log = logging.getLogger(__name__)

# Where a message's relayed copy lives; notes have none.
_OTHER_SIDE = {Direction.FROM_CUSTOMER: Lane.AGENTS, Direction.TO_CUSTOMER: Lane.CUSTOMER}


class ConversationUseCases(UseCaseBase):
    async def add_agent_message(
        self, where: TicketNumber | CardAt, msg: AgentMessage
    ) -> Message | None:
        """Record an agent's reply (for the customer) or internal note on a ticket: the one
        numbered, or the one whose thread is at the place given (NoTicketAt when none is).

        Returns None when this platform message was recorded before.
        """
        if not msg.body.strip() and not msg.attachments:
            raise DomainError("An empty message cannot be recorded.")
        return await self._retrying(lambda tx: self._agent_message(tx, where, msg))

    async def _agent_message(
        self, tx: Transaction, where: TicketNumber | CardAt, msg: AgentMessage
    ) -> Message | None:
        if msg.ref is not None and msg.event_id is not None:
            now = self._clock.now()
            if msg.event is None:
                await tx.mark_inbound_processed(msg.ref.platform, msg.event_id, now)
            elif not await tx.add_processed_inbound(msg.ref.platform, msg.event_id, msg.event, now):
                raise EventSeenBefore(msg.event_id)
        ticket = await self._ticket_of(tx, where)
        direction = Direction.NOTE if msg.internal else Direction.TO_CUSTOMER
        if direction is Direction.TO_CUSTOMER and ticket.status is Status.CLOSED:
            if msg.ref is not None and await tx.find_message(msg.ref) is not None:
                return None  # recorded before the ticket was closed: nothing to refuse
            raise IllegalTransition(
                ticket.number, ticket.status, "reply", "Closed tickets take notes only."
            )
        # Recorded before (its ref is known): `add_message` writes nothing and says so, and
        # nothing else is written either. No look-up first: it would cost every message a read.
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
        if message is None:
            return None
        if direction is Direction.TO_CUSTOMER and ticket.first_response_at is None:
            ticket = await tx.save_ticket(replace(ticket, first_response_at=msg.sent_at))
        # Shown in the other agent workspaces first, so a delivery mark finds the copy there.
        origin = msg.ref.workspace if msg.ref is not None else ""
        await self._to_other_workspaces(tx, ticket.id, AgentWrote(), message, origin)
        if direction is Direction.TO_CUSTOMER:
            await self._refresh_sla(tx, ticket, Change(agent_replied_at=msg.sent_at))
            await self._reply_to_customer(tx, ticket, message)
        return message

    async def _ticket_of(self, tx: Transaction, where: TicketNumber | CardAt) -> Ticket:
        if not isinstance(where, CardAt):
            return await self._load(tx, where)
        ticket = await tx.find_ticket_by_card(where.workspace, where.ref)
        if ticket is None:
            raise NoTicketAt(where.ref)
        return ticket

    async def _reply_to_customer(self, tx: Transaction, ticket: Ticket, message: Message) -> None:
        """Queue an agent's reply for the customer. A person answering stops the automated
        answers; with translation on, the reply goes by the assistant's lane to be sent in the
        customer's language (as written when there is no translation: never held back)."""
        if self.ai is not None and not ticket.auto_answer_stopped:
            await tx.set_auto_answer_stopped(ticket.id, True)
        if self.ai is not None and self.ai.translation and ticket.translate_replies:
            await self._to_assistant(tx, ticket, AssistReply(), message)
        else:
            await self._to_customer(tx, ticket, AgentReplied(), message)

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
        that reports deletions without saying whose message it was also reports the
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
            if body is not None and await self._edits_translated(tx, message):
                # After the reply itself on the assistant's lane: the edit follows it, in order.
                await self._queue(tx, message.ticket_id, Lane.ASSISTANT, AssistEdit(), message)
            else:
                event = CopyDeleted() if body is None else CopyEdited()
                await self._queue(tx, message.ticket_id, other_side, event, message)
        if message.direction is not Direction.FROM_CUSTOMER:
            # An agent's reply or note: its copies in the other agent workspaces follow too.
            event = CopyDeleted() if body is None else CopyEdited()
            await self._to_other_workspaces(tx, message.ticket_id, event, message, ref.workspace)
        return await tx.get_message(message.id)

    async def _edits_translated(self, tx: Transaction, message: Message) -> bool:
        """Whether an edit of this message reaches the customer translated: an agent's reply on
        a ticket whose replies are translated."""
        if message.direction is not Direction.TO_CUSTOMER or self.ai is None:
            return False
        if not self.ai.translation:
            return False
        ticket = await tx.get_ticket_by_id(message.ticket_id)
        return ticket is not None and ticket.translate_replies

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
        # Its copies in the other workspaces are redrawn: a note no longer, but a reply.
        await self._to_other_workspaces(tx, ticket.id, CopyEdited(), sent, ref.workspace)
        await self._reply_to_customer(tx, ticket, sent)
        return sent

    # --- the agents' workspace ---

    async def messages_shown_on(
        self, ticket_id: TicketId, workspace: str = MAIN_WORKSPACE
    ) -> list[Message]:
        """The ticket's messages that have a copy (or their original) in `workspace`, oldest
        first, deleted ones left out: what a thread there showed, to show again if it is lost."""
        async with self._storage.reading() as tx:
            messages = await tx.list_messages(ticket_id)
        return [
            m
            for m in messages
            if m.deleted_at is None and any(r.workspace == workspace for r in m.refs)
        ]

    async def move_card(
        self, ticket_id: TicketId, ref: str, workspace: str = MAIN_WORKSPACE
    ) -> None:
        """The ticket's card and thread in `workspace` now live at `ref` (the old ones were
        lost): agents' replies there find the ticket, and later deliveries go there."""
        async with self._storage.transaction() as tx:
            await tx.set_card(ticket_id, workspace, ref)
        log.info("Ticket %s: its card and thread in %s moved to %s", ticket_id, workspace, ref)
