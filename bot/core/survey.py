"""Satisfaction surveys: sent a while after resolution, answered with a rating of 1 to 5."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from bot.core.domain import CustomerId, TicketId

RATINGS: Final = range(1, 6)
SATISFIED: Final = 4  # ratings from here up count as satisfied
UNHAPPY: Final = 2  # ratings up to here are brought to the leads


class SurveyOutcome(StrEnum):
    SENT = "sent"
    ANSWERED = "answered"
    SKIPPED = "skipped"  # within the customer's cooldown: this ticket is not surveyed


@dataclass(frozen=True, slots=True)
class Survey:
    id: int
    ticket_id: TicketId
    customer_id: CustomerId
    outcome: SurveyOutcome
    sent_at: datetime
    expires_at: datetime
    rating: int | None = None
    comment: str | None = None
    answered_at: datetime | None = None


def satisfaction(ratings: list[int]) -> float | None:
    """CSAT: the share of ratings that are 4 or 5 (None without any rating)."""
    if not ratings:
        return None
    return sum(r >= SATISFIED for r in ratings) / len(ratings)
