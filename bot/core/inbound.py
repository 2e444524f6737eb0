"""Raw platform events as stored before they are acknowledged, and the gateway checkpoint.

An event is stored, then processed. A processing failure is counted and retried after a
backoff; after `MAX_ATTEMPTS` it is a dead letter: set aside, shown to people, never re-run at
start-up on its own, and retried or dropped only when a person says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NewType

from bot.core.domain import Platform

InboundId = NewType("InboundId", int)

MAX_ATTEMPTS = 5
RETRY_EVERY = 2.0  # seconds between the running bot's looks for failed events due again
# An event stored this long ago and never tried is stuck, not in hand: processing takes
# milliseconds, so its attempt failed where the failure itself could not be recorded.
STUCK_AFTER = timedelta(seconds=30)
FIRST_BACKOFF = timedelta(seconds=2)
LAST_BACKOFF = timedelta(minutes=5)


class InboundState(StrEnum):
    PENDING = "pending"  # stored, not processed yet (or failed and waiting for its retry)
    PROCESSED = "processed"
    DEAD = "dead"  # failed MAX_ATTEMPTS times: waits for a person
    DROPPED = "dropped"  # a dead letter a person chose to drop


@dataclass(frozen=True, slots=True)
class InboundEvent:
    id: InboundId
    platform: Platform
    event_id: str
    payload: dict[str, Any]
    received_at: datetime
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    processed_at: datetime | None
    dead_at: datetime | None

    @property
    def state(self) -> InboundState:
        if self.dead_at is not None:
            return InboundState.DROPPED if self.processed_at is not None else InboundState.DEAD
        return InboundState.PROCESSED if self.processed_at is not None else InboundState.PENDING


def backoff(attempts: int) -> timedelta:
    """How long to wait before attempt number `attempts + 1` (doubling, capped)."""
    doubled: timedelta = FIRST_BACKOFF * (2 ** max(attempts - 1, 0))
    return min(doubled, LAST_BACKOFF)


@dataclass(frozen=True, slots=True)
class GatewayCheckpoint:
    """A platform's event stream as far as it is stored: enough to resume it elsewhere."""

    session_id: str
    resume_url: str
    seq: int
