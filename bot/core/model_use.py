"""What the AI features spend: tokens per call to a model, per ticket and per day, and the
daily budget past which the features fall back as if no model were configured."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.domain import TicketId


@dataclass(frozen=True, slots=True)
class ModelUse:
    """One call to a model: which feature made it, for which ticket (None: for none), and the
    tokens the server reported."""

    feature: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    used_at: datetime
    ticket_id: TicketId | None = None

    def __post_init__(self) -> None:
        if self.prompt_tokens < 0 or self.completion_tokens < 0:
            raise ValueError("token counts are never negative")
        if self.used_at.tzinfo is None:
            raise ValueError("used_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Spent:
    """Tokens spent over some calls."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def within_budget(spent_today: Spent, daily_tokens: int | None) -> bool:
    """Whether another call may be made today: always without a budget (None); with one, while
    the day's total is below it. A call under way may end a little past it: the budget bounds
    the spend to one call's worth over, rather than holding every call up to count first."""
    return daily_tokens is None or spent_today.total < daily_tokens
