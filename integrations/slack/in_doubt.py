"""Agents' replies in the order they wrote them, after a restart or a failure.

Slack delivers each event until it is acknowledged, but an event that a killed process never
acknowledged, or that could not be stored while the database was away, comes again later: after
newer events of the same thread, which the bot relays at once. A customer would read the replies
out of order. So for a while after either (`InDoubt`), before relaying an agent's message the
desk reads the thread's earlier messages and relays first those not recorded yet; when Slack
delivers them again, they are known and dropped. The look costs a conversations.replies call a
message, and only while in doubt.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DOUBT_SECONDS = 120.0  # Slack's first redelivery comes about a minute later
LOOK_BACK_SECONDS = 300.0  # how far before the doubt began a missing message may be


class InDoubt:
    """Whether events may be missing from what was relayed, and since when."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._since = 0.0
        self._until = 0.0

    def begin(self) -> None:
        """Something may have gone missing just now (a start, a failure)."""
        now = self._now()
        if not self.active:
            self._since = now
        self._until = now + DOUBT_SECONDS

    @property
    def active(self) -> bool:
        return self._now() < self._until

    @property
    def oldest(self) -> str:
        """The earliest Slack ts a missing message may have."""
        return f"{self._since - LOOK_BACK_SECONDS:.6f}"
