"""The leads' daily digest, as data: each agent workspace words it in its own markup (what
customers typed, such as subjects, is escaped there)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.core.domain import Ticket


@dataclass(frozen=True, slots=True)
class Digest:
    day: date  # in the digest's time zone
    breached: tuple[Ticket, ...]  # breached and still open
    at_risk: tuple[Ticket, ...]  # due within `within`
    within: timedelta
    satisfaction: float | None  # the share of good ratings over the last 7 days, if any

    @staticmethod
    def holder(ticket: Ticket) -> str | None:
        return ticket.assignee.name if ticket.assignee else None
