"""What every use case shares: the transaction and its retries, loading a ticket, applying a
move, keeping the SLA clocks in line, and queueing outbound events for either side."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from bot.config import CustomerPolicy
from bot.core import domain
from bot.core.ai_policy import AiPolicy
from bot.core.delivery import (
    MAIN_WORKSPACE,
    Delivery,
    Handoff,
    Lane,
    NewDelivery,
    for_agents,
    queue,
    workspace_names,
)
from bot.core.domain import (
    Action,
    Actor,
    ActorKind,
    Agent,
    Message,
    Priority,
    Ticket,
    TicketId,
    TicketNumber,
)
from bot.core.errors import ConcurrentUpdate, TicketNotFound
from bot.core.outbound import (
    AssistSummary,
    Audience,
    CardChanged,
    OutboundEvent,
    TicketAssigned,
    TicketClaimed,
    TicketClosed,
    TicketEscalated,
    TicketReopened,
    TicketResolved,
)
from bot.core.ports import Assistant, Clock, Storage, Transaction
from bot.core.sla import NO_CHANGE, Change
from bot.core.sla_keeper import SlaKeeper

log = logging.getLogger(__name__)

T = TypeVar("T")

ATTEMPTS = 5  # a use case retried this often lost that many races in a row: report it


@dataclass(slots=True)
class _Queued:
    """What the transaction under way queued: the lane heads it holds (handed to the
    dispatcher once it commits) and whether anything else waits for a claim."""

    tx: Transaction | None = None
    held: list[Delivery] = field(default_factory=list)
    others: bool = False


# The current use case's transaction's `_Queued` (a context variable: use cases run
# concurrently on one service, each in its caller's task).
_QUEUED: ContextVar[_Queued | None] = ContextVar("queued", default=None)


@dataclass(frozen=True, slots=True)
class MoveArgs:
    reason: str | None = None
    priority: Priority | None = None
    assignee: Agent | None = None
    tier: int | None = None


class UseCaseBase:
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
        workspaces: Sequence[str] = (MAIN_WORKSPACE,),
        ai: AiPolicy | None = None,
        assistant: Assistant | None = None,
    ) -> None:
        self.sla = sla or SlaKeeper()
        # The AI features: None when the deployment has none (no `[ai]` table, no model), and
        # then nothing is ever queued for the assistant.
        self.ai = ai
        self.assistant = assistant
        # Every agent workspace the deployment has, connected now or not: each is told of
        # everything in a lane of its own, and what waits for one that is away is kept.
        self._workspaces = workspace_names(workspaces)
        self._reopen_window = reopen_window
        self._limits = limits or CustomerPolicy()
        self._storage = storage
        self._clock = clock
        self._on_enqueued = on_enqueued
        self._handoff: Handoff | None = None
        self._default_priority = default_priority
        self._default_tier = default_tier

    def on_enqueued(self, wake: Callable[[], None]) -> None:
        """Call `wake` after every commit that queued deliveries (the dispatcher's doorbell)."""
        self._on_enqueued = wake

    def hand_off_to(self, handoff: Handoff) -> None:
        """Queue what a use case sends as its lane's head leased to `handoff` (the dispatcher
        of this process), which sends it once the transaction commits, with no claim."""
        self._handoff = handoff

    def now(self) -> datetime:
        return self._clock.now()

    async def _retrying(self, use_case: Callable[[Transaction], Awaitable[T]]) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self._queueing() as tx:
                    return await use_case(tx)
            except ConcurrentUpdate:
                if attempt == ATTEMPTS:
                    raise
                log.debug("Concurrent update, retrying (attempt %d)", attempt)
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def _once(self) -> AsyncIterator[Transaction]:
        """One transaction, not retried (a job's: the next sweep looks again); the dispatcher
        is woken once it has committed."""
        async with self._queueing() as tx:
            yield tx

    @asynccontextmanager
    async def _queueing(self) -> AsyncIterator[Transaction]:
        """A use case's transaction; once it commits, the lane heads it holds are handed to the
        dispatcher and, if it queued anything else, the dispatcher is woken to claim it."""
        queued = _Queued()
        token = _QUEUED.set(queued)
        try:
            async with self._storage.transaction() as tx:
                queued.tx = tx
                yield tx
                # What sending them needs, read in the same transaction (a claim would).
                jobs = await tx.jobs_for(queued.held) if queued.held else []
        finally:
            _QUEUED.reset(token)
        held = [job for job in jobs if job is not None]
        if held and self._handoff is not None:
            self._handoff.take(held)
            # Let the sends start (as far as their first wait on the platform) before the
            # caller goes on with its own bookkeeping: they are what a person waits for.
            await asyncio.sleep(0)
        # After commit, so the dispatcher sees the rows. Not needed when all that was queued
        # is handed over already (the claim would find nothing); anything else a use case
        # changed (queued in a batch, a delivery finished) is claimed as before.
        if not held or queued.others or len(held) < len(jobs):
            self._wake()

    def _wake(self) -> None:
        if self._on_enqueued is not None:
            self._on_enqueued()

    async def _add(self, tx: Transaction, new: NewDelivery) -> None:
        """Queue `new`: as its lane's head, leased to this process, when it can be sent at once
        after the commit; else for the dispatcher to claim in its turn."""
        queued = _QUEUED.get()
        if queued is None or queued.tx is not tx:
            # Not a use case's own transaction (one inside it, say): nothing is handed over.
            await tx.add_delivery(new)
            return
        held = await queue(tx, new, self._handoff)
        if held is not None:
            queued.held.append(held)
        else:
            queued.others = True

    async def _load(self, tx: Transaction, number: TicketNumber) -> Ticket:
        ticket = await tx.get_ticket(number)
        if ticket is None:
            raise TicketNotFound(number)
        return ticket

    async def _to_agents(
        self, tx: Transaction, ticket: Ticket, event: OutboundEvent, message: Message | None = None
    ) -> None:
        await self._queue(tx, ticket.id, Lane.AGENTS, event, message)

    async def _to_other_workspaces(
        self,
        tx: Transaction,
        ticket_id: TicketId,
        event: OutboundEvent,
        message: Message,
        origin: str,
    ) -> None:
        """Tell every agent workspace but `origin` (where the agent wrote `message`; "" for
        none) of it. A deployment with one workspace has nothing to mirror."""
        if len(self._workspaces) < 2:
            return
        now = self._clock.now()
        for new in for_agents(
            self._workspaces, ticket_id, event, now, message.id, besides=origin or None
        ):
            await self._add(tx, new)

    async def _to_customer(
        self, tx: Transaction, ticket: Ticket, event: OutboundEvent, message: Message | None = None
    ) -> None:
        await self._queue(tx, ticket.id, Lane.CUSTOMER, event, message)

    async def _to_assistant(
        self, tx: Transaction, ticket: Ticket, event: OutboundEvent, message: Message | None = None
    ) -> None:
        await self._queue(tx, ticket.id, Lane.ASSISTANT, event, message)

    async def _queue(
        self,
        tx: Transaction,
        ticket_id: TicketId,
        lane: Lane,
        event: OutboundEvent,
        message: Message | None,
    ) -> None:
        message_id = message.id if message else None
        now = self._clock.now()
        if lane is Lane.AGENTS:
            news = for_agents(self._workspaces, ticket_id, event, now, message_id)
        else:
            news = [NewDelivery(ticket_id, lane, event, now, message_id)]
        for new in news:
            await self._add(tx, new)

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
        if not card_queued:
            await self._redraw_if_due_moved(tx, ticket, refreshed)
        return refreshed

    async def _redraw_if_due_moved(self, tx: Transaction, before: Ticket, after: Ticket) -> None:
        """Queue a card update when the due time the card shows moved from `before` to
        `after`."""
        if shown_due(after) != shown_due(before):
            await self._to_agents(tx, after, CardChanged())

    async def _move(
        self,
        tx: Transaction,
        ticket: Ticket,
        action: Action,
        actor: Actor,
        args: MoveArgs,
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
        await self._assist_after_move(tx, ticket, saved, action, actor)
        await self._to_agents(tx, saved, CardChanged())
        for event in agents_hear(moved.event):
            await self._to_agents(tx, saved, event)
        # A customer who closed their own ticket is answered right there, not told again.
        if not (action is Action.CLOSE and actor.kind is ActorKind.CUSTOMER):
            told = customer_hears(moved.event, saved)
            if told is not None:
                await self._to_customer(tx, saved, told)
        log.info(
            "Ticket #%s: %s by %s (%s → %s)",
            ticket.number,
            action,
            actor.id,
            moved.event.from_status,
            moved.event.to_status,
        )
        return saved

    async def _assist_after_move(
        self, tx: Transaction, before: Ticket, after: Ticket, action: Action, actor: Actor
    ) -> None:
        """What a move means to the AI features: a person taking the ticket stops the automated
        answers (a reopen starts them afresh); an escalation, or a ticket changing hands, gets
        a summary for whoever picks it up."""
        if self.ai is None:
            return
        if action in (Action.CLAIM, Action.ASSIGN) and not after.auto_answer_stopped:
            await tx.set_auto_answer_stopped(after.id, True)
        if action is Action.REOPEN and after.auto_answer_stopped:
            await tx.set_auto_answer_stopped(after.id, False)
        if not self.ai.summary:
            return
        if action is Action.ESCALATE:
            await self._to_assistant(tx, after, AssistSummary("escalation", actor.name))
        elif (
            action in (Action.CLAIM, Action.ASSIGN)
            and before.assignee is not None
            and after.assignee is not None
            and before.assignee.id != after.assignee.id
        ):
            await self._to_assistant(tx, after, AssistSummary("takeover", after.assignee.name))


def shown_due(ticket: Ticket) -> datetime | None:
    """The SLA due time a ticket's card shows: the next deadline, while the ticket is open."""
    return ticket.due_at if ticket.status.is_open else None


def agents_hear(event: domain.TicketEvent) -> list[OutboundEvent]:
    """What the team is told of a move, besides the card: the moves worth a line in the
    thread, and an escalation also to whoever takes escalations."""
    by, detail, reason = event.actor.name, event.detail, event.reason
    match event.action:
        case Action.ESCALATE:
            return [
                TicketEscalated(by, detail, reason),
                TicketEscalated(by, detail, reason, audience=Audience.ESCALATIONS),
            ]
        case Action.ASSIGN:
            return [TicketAssigned(by, detail, reason)]
        case Action.RESOLVE:
            return [TicketResolved(by, reason)]
        case Action.REOPEN:
            return [TicketReopened(by, reason)]
    return []


def customer_hears(event: domain.TicketEvent, ticket: Ticket) -> OutboundEvent | None:
    """What the customer is told of a move, if anything."""
    holder = ticket.assignee.name if ticket.assignee else None
    match event.action:
        case Action.CLAIM | Action.ASSIGN:
            return TicketClaimed(agent=holder)
        case Action.RESOLVE:
            return TicketResolved(by=holder or "", reason=None)
        case Action.REOPEN:
            return TicketReopened(by=holder or "", reason=None)
        case Action.CLOSE:
            return TicketClosed()
    return None
