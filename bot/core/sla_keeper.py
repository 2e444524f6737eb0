"""Keeps each ticket's SLA clocks in step with the ticket, inside the use case's transaction."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from bot.core.calendar import Calendar
from bot.core.domain import Priority, Ticket
from bot.core.ports import Transaction
from bot.core.sla import (
    NO_CHANGE,
    Change,
    Metric,
    Rules,
    can_escalate,
    earliest_due,
    planned,
    reconcile,
)
from bot.core.sla_policy import SlaPolicy


class SlaKeeper:
    def __init__(self, policy: SlaPolicy | None = None) -> None:
        self.policy = policy or SlaPolicy()
        self.rules = Rules(
            before_breach=self.policy.reminders.before_breach,
            after_breach=self.policy.escalation.after_breach,
        )

    def calendar(self, priority: Priority) -> Calendar:
        return self.policy.calendar(priority)

    def targets(self, priority: Priority) -> dict[Metric, timedelta]:
        chosen = self.policy.targets(priority)
        return {
            Metric.FIRST_RESPONSE: chosen.first_response,
            Metric.NEXT_RESPONSE: chosen.next_response,
            Metric.RESOLUTION: chosen.resolution,
        }

    async def refresh(
        self, tx: Transaction, ticket: Ticket, now: datetime, change: Change = NO_CHANGE
    ) -> Ticket:
        """Bring the ticket's clocks in line with it; returns the ticket with its new due
        time. Only clocks that changed are written."""
        before = {clock.metric: clock for clock in await tx.get_clocks(ticket.id)}
        cal = self.calendar(ticket.priority)
        after = reconcile(
            ticket, before, self.targets(ticket.priority), cal, now=now, change=change
        )
        escalate = can_escalate(ticket)
        after = {m: planned(c, cal, self.rules, now, escalate) for m, c in after.items()}
        changed = [clock for metric, clock in after.items() if before.get(metric) != clock]
        if changed:
            await tx.save_clocks(changed)
        due = earliest_due(after)
        if due != ticket.due_at:
            await tx.set_ticket_due(ticket.id, due)
            ticket = dataclasses.replace(ticket, due_at=due)
        return ticket
