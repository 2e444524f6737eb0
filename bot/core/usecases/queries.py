"""Queries: tickets, messages and customers as they stand, the queues agents look at, stats."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from statistics import median

from bot.core.delivery import MAIN_WORKSPACE
from bot.core.domain import (
    ACTIVE_STATUSES,
    AgentId,
    Customer,
    Message,
    MessageRef,
    Status,
    Ticket,
    TicketEvent,
    TicketNumber,
    TicketOrder,
    TicketQuery,
)
from bot.core.errors import DomainError
from bot.core.sla import SlaClock
from bot.core.usecases.base import UseCaseBase

MOST_URGENT = TicketOrder.MOST_URGENT


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


class QueryUseCases(UseCaseBase):
    async def message_at(self, ref: MessageRef) -> Message | None:
        """The recorded message with this platform copy, if any."""
        async with self._storage.reading() as tx:
            return await tx.find_message(ref)

    async def ticket_at(self, ref: str, workspace: str = MAIN_WORKSPACE) -> Ticket | None:
        """The ticket whose card is at this place in an agent workspace, if any."""
        async with self._storage.reading() as tx:
            return await tx.find_ticket_by_card(workspace, ref)

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
