"""What the playground may do with the bot's clock and its demo switches, and the refusals it
answers with."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol


class BotClock(Protocol):
    """The bot's clock as the playground moves it, and the demo's switch for the automated
    answer (implemented by the demo launcher)."""

    def now(self) -> datetime:
        """The bot's current time (timezone-aware UTC)."""
        ...

    def moved(self) -> timedelta:
        """How far the clock has been moved in total (zero when never moved)."""
        ...

    async def next_due(self) -> datetime | None:
        """When the next SLA event falls due, or None if none is scheduled."""
        ...

    async def advance(self, by: timedelta | None) -> str:
        """Move the clock by `by` (None: to the next due event), run every scheduled job once
        at the new time, and return a line saying what happened. A ValueError is shown to
        the visitor as a refusal."""
        ...

    def auto_answer(self) -> bool | None:
        """Whether the automated answer is on: the bot answers a customer's question from its
        help articles before a person does. None: the bot has no AI features (the page then
        shows no switch)."""
        ...

    def set_auto_answer(self, on: bool) -> str:
        """Switch the automated answer on or off and return a line saying so. Raises
        ValueError when the bot has no AI features (shown to the visitor as a refusal)."""
        ...


class Refused(Exception):
    """A visitor's request the playground turns down (HTTP 400 with this message): an unknown
    person or action, a missing or ill-typed argument, or a platform refusing the action."""
