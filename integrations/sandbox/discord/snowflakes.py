"""Snowflake ids the way Discord mints them: time-ordered, unique, sent as strings."""

from __future__ import annotations

import time
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeMint:
    """Mints strictly increasing snowflakes whose timestamp part is the current time.

    discord.py derives `created_at` from an id, and history paging compares ids, so ids must
    both carry a real time and grow monotonically even when many are minted in one millisecond.
    """

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        """Return a fresh snowflake, larger than every one returned before."""
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = now_ms << 22
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate


def snowflake_time(snowflake: int) -> datetime:
    """The UTC instant encoded in a snowflake."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso(moment: datetime) -> str:
    """Discord's ISO-8601 timestamp format (microseconds, explicit +00:00)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
