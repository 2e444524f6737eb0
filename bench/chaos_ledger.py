"""What the chaos suite's people said, and the verdict on where it ended up: lost, doubled,
out of order, how late. Pure: the world reads the emulators, this module only counts.

Every customer message carries a token `c3-m7` (customer 3's 7th message) and every agent's
reply `c3-r2`; `tests/loop/kill_staff_support.py` reads them back out of any text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from figures import percentile  # beside this script

Token = tuple[int, str, int]  # customer, kind ("m" from the customer, "r" an agent's reply), n


@dataclass(frozen=True)
class Episode:
    """One disruption: what it was, when it began and when the bot had all of it back
    (wall-clock seconds, time.time())."""

    kind: str  # "kill", "slack down", "discord down", "429 storm", "database restart"
    down_at: float
    up_at: float

    @property
    def length(self) -> float:
        return self.up_at - self.down_at


@dataclass
class Ledger:
    """Everything people wrote, in the order they wrote it, with when."""

    sent_at: dict[Token, float] = field(default_factory=dict)
    counts: Counter[tuple[int, str]] = field(default_factory=Counter)

    def next(self, customer: int, kind: str, at: float) -> Token:
        self.counts[customer, kind] += 1
        token = (customer, kind, self.counts[customer, kind])
        self.sent_at[token] = at
        return token

    def of_kind(self, kind: str) -> list[Token]:
        return [t for t in self.sent_at if t[1] == kind]


@dataclass(frozen=True)
class Copy:
    """One copy of a token as the bot posted it: where (a Slack thread or a customer's DMs),
    when (wall-clock seconds), in the order the place shows it."""

    token: Token
    place: str
    at: float


@dataclass
class Verdict:
    """One direction's count: customer messages into Slack, or agents' replies into DMs."""

    sent: int = 0
    lost: list[Token] = field(default_factory=list)
    doubled: list[Token] = field(default_factory=list)
    misplaced: list[Token] = field(default_factory=list)
    out_of_order: list[Token] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    arrived_at: dict[Token, float] = field(default_factory=dict)

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q) if self.latencies_ms else float("nan")


def judge(
    ledger: Ledger,
    kind: str,
    copies: list[Copy],
    home: dict[int, str],
) -> Verdict:
    """Each token of `kind` must be shown once, in its customer's `home` place, in the order it
    was written."""
    verdict = Verdict()
    expected = ledger.of_kind(kind)
    verdict.sent = len(expected)
    seen: dict[Token, list[Copy]] = {}
    for copy in copies:
        if copy.token[1] == kind:
            seen.setdefault(copy.token, []).append(copy)
    for token in expected:
        found = seen.get(token, [])
        if not found:
            verdict.lost.append(token)
            continue
        first = min(found, key=lambda c: c.at)
        verdict.arrived_at[token] = first.at
        verdict.latencies_ms.append(max(0.0, first.at - ledger.sent_at[token]) * 1000)
        if any(c.place != home.get(token[0]) for c in found):
            verdict.misplaced.append(token)
        if len(found) > 1:
            verdict.doubled.append(token)
    verdict.doubled += [t for t in seen if t not in ledger.sent_at]  # never written: invented
    verdict.out_of_order = _out_of_order(copies, kind)
    return verdict


def _out_of_order(copies: list[Copy], kind: str) -> list[Token]:
    """Per customer, the first copies in the order the place shows them: each must come after
    every one written before it. Returns the tokens shown ahead of an earlier one."""
    shown: set[Token] = set()
    highest: dict[int, int] = {}
    late: list[Token] = []
    for copy in copies:
        token = copy.token
        if token[1] != kind or token in shown:
            continue
        shown.add(token)
        customer, _, number = token
        if number < highest.get(customer, 0):
            late.append(token)
        highest[customer] = max(highest.get(customer, 0), number)
    return late


def drain_after(verdict: Verdict, ledger: Ledger, episodes: list[Episode]) -> float:
    """Seconds from the end of each disruption until the last message written during it was
    shown; the longest over the episodes (0 when nothing was held up)."""
    longest = 0.0
    for episode in episodes:
        held = [
            verdict.arrived_at[t]
            for t, at in ledger.sent_at.items()
            if episode.down_at <= at <= episode.up_at and t in verdict.arrived_at
        ]
        if held:
            longest = max(longest, max(held) - episode.up_at)
    return longest
