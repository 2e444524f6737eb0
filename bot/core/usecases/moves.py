"""Moves: claim, unclaim, escalate, wait on the customer, resolve, reopen, close, priority.
`domain.apply` decides; the move is saved with a version check and both sides are told."""

from __future__ import annotations

from bot.core import domain
from bot.core.domain import Action, Actor, Agent, Priority, Ticket, TicketNumber
from bot.core.events import AgentMessage
from bot.core.ports import Transaction
from bot.core.usecases.base import MoveArgs
from bot.core.usecases.conversation import ConversationUseCases


class MoveUseCases(ConversationUseCases):
    """(A resolution note is a reply, so moves build on the conversation's use cases.)"""

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
        args = MoveArgs(reason=reason)

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
        args = MoveArgs(reason, priority, assignee, tier)

        async def attempt(tx: Transaction) -> Ticket:
            ticket = await self._load(tx, number)
            return await self._move(tx, ticket, action, actor, args)

        return await self._retrying(attempt)
