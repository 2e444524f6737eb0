"""Agents' replies in the order they wrote them, after a restart or a failure.

Slack delivers each event until it is acknowledged, but an event that a killed process never
acknowledged, or that could not be stored while the database was away, comes again later: after
newer events of the same thread, which the bot relays at once. A customer would read the replies
out of order. So for a while after either (`InDoubt`), before relaying an agent's message the
desk reads the thread's earlier messages and relays first those not recorded yet; when Slack
delivers them again, they are known and dropped.

A message that may be missing was written before the start or failure that began the doubt, so
a thread needs looking at only until one look has covered that moment: after it, every earlier
message of the thread is recorded, and later ones arrive live. That is a conversations.replies
call per thread active around a start (a Tier 3 method), not one per message for two minutes.
A thread begun after that moment (its root's ts is later) holds nothing from before it, so it is
not looked at at all: tickets opened since a start relay their replies at once.

Replicas (several processes on one database, each with its own Socket Mode connection) are in
doubt all the time while others run (`shared`, told by integrations/replicas.py): Slack spreads
a thread's events over the connections, so an agent's earlier message may still be on its way
through another replica when a later one arrives here. Reading the thread first relays the
earlier one ahead of it; if the other replica records it meanwhile, one of the two is refused by
the message's unique platform id and retried, and the retry finds it recorded. A replica that
vanished may have left events unacknowledged: that begins a doubt, as a restart does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DOUBT_SECONDS = 120.0  # Slack's first redelivery comes about a minute later
LOOK_BACK_SECONDS = 300.0  # how far before the doubt began a missing message may be
# Slack's clock against ours (both kept by NTP): a message Slack stamped this much after our
# moment of doubt may still have been written before it.
CLOCK_MARGIN_SECONDS = 2.0


class InDoubt:
    """Whether events may be missing from what was relayed, and since when."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._since = 0.0
        self._until = 0.0
        self._always = False
        self._latest = 0.0  # when something last may have gone missing
        self._covered: dict[str, float] = {}  # thread -> the ts its looks have reached

    def shared(self, others: bool) -> None:
        """Whether other replicas take some of the events now (see the module's docstring):
        in doubt all the while they do."""
        self._always = others

    def begin(self) -> None:
        """Something may have gone missing just now (a start, a failure)."""
        now = self._now()
        if not self.active:
            self._since = now
            self._covered.clear()
        self._until = now + DOUBT_SECONDS
        self._latest = now

    def needs_look(self, thread: str, ts: str) -> bool:
        """Whether the messages of `thread` before `ts` may hold one not delivered yet."""
        if self._always:
            return True
        if not self.active:
            self._covered.clear()
            return False
        may_be_missing_before = min(_instant(ts), self._latest + CLOCK_MARGIN_SECONDS)
        if _root(thread) >= may_be_missing_before:
            return False  # every message of the thread came after the moment of doubt
        return self._covered.get(thread, 0.0) < may_be_missing_before

    def looked(self, thread: str, ts: str) -> None:
        """The thread's messages before `ts` were read and the unrecorded ones relayed."""
        self._covered[thread] = max(self._covered.get(thread, 0.0), _instant(ts))

    @property
    def active(self) -> bool:
        return self._always or self._now() < self._until

    @property
    def oldest(self) -> str:
        """The earliest Slack ts a missing message may have."""
        now = self._now()
        since = self._since if now < self._until else now
        return f"{since - LOOK_BACK_SECONDS:.6f}"


def _root(thread: str) -> float:
    """When `thread` ("<channel>:<root ts>") began; the earliest moment if that cannot be read,
    so that such a thread is looked at."""
    try:
        return float(thread.rpartition(":")[2])
    except ValueError:
        return float("-inf")


def _instant(ts: str) -> float:
    try:
        return float(ts)
    except ValueError:
        return float("inf")  # not a Slack ts: look (the look itself decides what is earlier)
