"""The scheduled jobs: find what is due and hand each item to its use case
(`bot/core/usecases/jobs.py`): SLA reminders, breaches and escalations, satisfaction surveys,
auto-close of quiet tickets, and the leads' digest. A failure on one item is logged and the
sweep goes on; the next sweep looks again. SLA clocks are handled in batches instead, each in
one transaction (`bot/core/usecases/sla_sweep.py`), and only escalations one by one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import Policy
from bot.core.digest import Digest
from bot.core.domain import Action, Platform, Status, Ticket
from bot.core.errors import ConcurrentUpdate, DomainError
from bot.core.service import TicketService
from bot.core.usecases.jobs import human

log = logging.getLogger(__name__)

BATCH = 500
# Due SLA clocks stepped per transaction. A batch costs a fixed number of statements, so batches
# of 100 to 1,000 handled 10,000 due clocks in the same time (within noise, 2 to 5 s on a loaded
# 2-core machine, either database); but a batch holds its clocks, and on SQLite the one write
# lock, until it commits, and how long it holds them grows with its size (median 30 ms at 100,
# 40 to 85 ms at 200, 125 to 150 ms at 500, 260 to 400 ms at 1,000). At 200, a person's message
# arriving in a mass breach waits for one short batch, not a long one.
SLA_BATCH = 200

# Sends the leads' digest; None when no agent workspace is connected.
DigestSender = Callable[[Digest], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class DigestLine:
    ticket: Ticket
    breached: bool


class Sweeps:
    def __init__(
        self,
        service: TicketService,
        policy: Policy,
        digest: DigestSender | None = None,
        *,
        surveyable: Collection[Platform] = (),
    ) -> None:
        self._service = service
        self._policy = policy
        self._digest = digest
        # Customers on these platforms can be sent a survey (their channel carries one). None
        # by default: a survey skipped is never sent later, so the composition root names them.
        self._surveyable = frozenset(surveyable)

    # --- SLA -----------------------------------------------------------------------------

    async def sla(self, now: datetime) -> int:
        """Reminders, breach notices and escalations due by `now`; returns how many.

        Batches of up to `SLA_BATCH` clocks, each in one transaction, until a batch comes back
        short. The clocks a batch hands back (they escalate) are stepped one by one after it.
        A clock can be due again at once (an old breach whose escalation is already due too),
        and an escalation that lost a race stays due: the loop also ends when a full batch
        moved nothing, so such a clock is left to the next sweep rather than tried forever."""
        sent = 0
        while True:
            batch = await self._service.sweep_clocks(now, SLA_BATCH)
            sent += batch.sent
            escalated = 0
            for clock in batch.escalating:
                work = self._service.step_clock(clock.ticket_id, clock.metric, now)
                escalated += await self._guarded(work, f"SLA of {clock.ticket_id}")
            sent += escalated
            if batch.taken < SLA_BATCH or not (batch.stepped or escalated):
                return sent

    async def _guarded(self, work: Awaitable[int], what: str) -> int:
        try:
            return await work
        except ConcurrentUpdate:
            log.info("%s: the ticket changed meanwhile; the next sweep looks again", what)
        except DomainError as exc:
            log.warning("%s: %s", what, exc)
        return 0

    # --- satisfaction surveys ----------------------------------------------------------

    async def csat(self, now: datetime) -> int:
        """Survey customers `csat.delay` after resolution; returns how many were sent."""
        policy = self._policy.csat
        if not policy.enabled:
            return 0
        due = await self._service.unsurveyed(now - policy.delay, BATCH)
        sent = 0
        for ticket_id in due:
            work = self._service.survey(
                ticket_id,
                now,
                cooldown=policy.cooldown,
                expire_after=policy.expire_after,
                reachable=self._surveyable,
            )
            sent += await self._guarded(work, f"survey of {ticket_id}")
        return sent

    # --- auto-close --------------------------------------------------------------------

    async def autoclose(self, now: datetime) -> int:
        """Close resolved tickets the customer left alone; nudge, then resolve, tickets that
        wait on a customer who does not answer. Returns how many tickets it acted on."""
        tickets = self._policy.tickets
        service = self._service
        acted = 0
        resolved = await service.idle(Status.RESOLVED, now - tickets.close_after, BATCH)
        stale = await service.idle(Status.PENDING, now - tickets.resolve_pending_after, BATCH)
        quiet = await service.idle(Status.PENDING, now - tickets.nudge_pending_after, BATCH)
        reason = f"No reply from the customer for {human(tickets.close_after)} after resolution."
        for ticket_id in resolved:
            acted += await self._guarded(
                service.move_if(ticket_id, Status.RESOLVED, Action.CLOSE, reason),
                f"close {ticket_id}",
            )
        gave_up = f"No answer from the customer for {human(tickets.resolve_pending_after)}."
        for ticket_id in stale:
            acted += await self._guarded(
                service.move_if(ticket_id, Status.PENDING, Action.RESOLVE, gave_up),
                f"resolve {ticket_id}",
            )
        for ticket_id in set(quiet) - set(stale):
            acted += await self._guarded(service.nudge(ticket_id, now), f"nudge {ticket_id}")
        return acted

    # --- the leads' digest --------------------------------------------------------------

    async def digest(self, now: datetime) -> int:
        """Once a day at `jobs.digest_at` (in `jobs.digest_timezone`), tell the leads which
        tickets breached and which are at risk. Returns 1 when it sent one."""
        if self._digest is None:
            return 0
        jobs = self._policy.jobs
        zone = ZoneInfo(jobs.digest_timezone)
        local = now.astimezone(zone)
        at = time.fromisoformat(jobs.digest_at)
        if local.time() < at:
            return 0
        day = local.date()
        if not await self._service.claim_digest(day):
            return 0
        digest = await self.digest_of(now, local.date())
        try:
            await self._digest(digest)
        except Exception:
            # The claim is given back, so the next sweep tries again.
            await self._service.forget_digest(day)
            raise
        return 1

    async def digest_of(self, now: datetime, day: date) -> Digest:
        """What the day's digest tells the leads."""
        within = self._policy.reminders.before_breach * 4
        at_risk = await self._service.breaching_soon(within, limit=50)
        breached = tuple(t for t in at_risk if t.due_at is not None and t.due_at <= now)
        soon = tuple(t for t in at_risk if t not in breached)
        stats = await self._service.satisfaction(now - timedelta(days=7))
        return Digest(day, breached, soon, within, stats)
