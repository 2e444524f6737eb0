"""Injectable faults for chat completions: errors, rate limits, slowness, bad or refused answers.

Each `*_next(count)` applies to the next `count` calls of `POST /v1/chat/completions`; faults of
different kinds armed together apply together (a delay, then a 500). Errors, rate limits and drops
are spent when a call arrives (after the key is checked); malformed answers and refusals only on
a call that would otherwise have succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

REFUSAL = "I'm sorry, but I can't help with that request."
ARRIVAL = frozenset({"error", "rate_limit", "drop"})
CONTENT = frozenset({"malformed", "refuse"})


@dataclass
class Fault:
    """One armed fault: `kind` for the next `remaining` calls."""

    kind: str  # "error" | "rate_limit" | "drop" | "delay" | "malformed" | "refuse"
    remaining: int
    status: int = 500
    seconds: float = 0.0


class Faults:
    """The fault switchboard (`emulator.faults`)."""

    def __init__(self) -> None:
        self._armed: list[Fault] = []
        self._closing = asyncio.Event()

    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        """Answer the next `count` calls with HTTP `status` in the API's error shape (the client
        retries 408, 409, 429 and 5xx)."""
        self._arm(Fault("error", count, status=status))

    def rate_limit_next(self, count: int = 1, *, retry_after: float = 2.0) -> None:
        """Answer the next `count` calls 429 `rate_limit_exceeded` with `Retry-After`,
        `retry-after-ms` and `x-ratelimit-*` headers (the client waits that long, up to 60 s)."""
        self._arm(Fault("rate_limit", count, status=429, seconds=retry_after))

    def delay_next(self, count: int = 1, *, seconds: float) -> None:
        """Answer the next `count` calls `seconds` late: a slow model, for client timeouts."""
        self._arm(Fault("delay", count, seconds=seconds))

    def malformed_next(self, count: int = 1) -> None:
        """The next `count` answers are not valid JSON, even when a schema or JSON was asked."""
        self._arm(Fault("malformed", count))

    def refuse_next(self, count: int = 1) -> None:
        """The next `count` answers are refusals: `message.refusal` set, `content` null."""
        self._arm(Fault("refuse", count))

    def drop_next(self, count: int = 1) -> None:
        """Close the connection of the next `count` calls without answering."""
        self._arm(Fault("drop", count))

    def clear(self) -> None:
        """Disarm every fault."""
        self._armed.clear()

    @property
    def armed(self) -> list[Fault]:
        """The faults still armed, in the order they were armed."""
        return list(self._armed)

    def take(self, kinds: frozenset[str]) -> Fault | None:
        """The first armed fault of one of `kinds`, spending one of its uses."""
        for fault in self._armed:
            if fault.kind in kinds:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._armed.remove(fault)
                return fault
        return None

    async def delay(self) -> None:
        """Wait out an armed delay, if any (cut short when the server stops)."""
        fault = self.take(frozenset({"delay"}))
        if fault is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.seconds)

    def closing(self) -> None:
        """The server is stopping: end every delay now."""
        self._closing.set()

    def _arm(self, fault: Fault) -> None:
        if fault.remaining > 0:
            self._armed.append(fault)
