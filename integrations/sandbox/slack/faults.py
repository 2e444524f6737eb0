"""Injectable faults: server errors, slow or hanging answers, dropped sockets, outages."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


class Platform(Protocol):
    """What an outage needs from the emulator's server."""

    async def stop_listening(self) -> None:
        """Refuse new connections and cut the open ones."""

    async def start_listening(self) -> None:
        """Accept connections again, on the same port."""

    async def drop_sockets(self) -> int:
        """Close every Socket Mode WebSocket; returns how many were open."""


@dataclass
class Rule:
    """One fault for one method (or every method when `method` is None)."""

    kind: str  # "error" | "delay" | "hang" | "lose" (the answer, after the call is carried out)
    method: str | None
    remaining: int | None  # None: until cleared
    status: int = 500
    seconds: float = 0.0

    def matches(self, method: str) -> bool:
        """Whether this rule applies to a call of `method`."""
        return self.method is None or self.method == method


@dataclass(frozen=True)
class Fault:
    """What to do to one call: answer `status`, wait `delay` s first, or never answer (`hang`)."""

    status: int | None = None
    delay: float = 0.0
    hang: bool = False


class Faults:
    """Fault controls for tests and the demo (`slack.faults`).

    Methods are Web API method names; the upload URL counts as `"upload"` and response_url
    posts as `"response_url"`.
    """

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._rules: list[Rule] = []
        self._release = asyncio.Event()
        self.up = asyncio.Event()
        self.up.set()
        self.refusing = False
        self._outage_end: asyncio.Task[None] | None = None

    @property
    def down(self) -> bool:
        """True while the platform is down."""
        return not self.up.is_set()

    def fail_next(self, count: int = 1, *, method: str | None = None, status: int = 500) -> None:
        """The next `count` calls (of `method`, or of any method) answer HTTP `status`."""
        self._rules.append(Rule("error", method, count, status=status))

    def slow(self, seconds: float, *, method: str | None = None, count: int | None = None) -> None:
        """Delay answers by `seconds` (the next `count` calls, or until cleared)."""
        self._rules.append(Rule("delay", method, count, seconds=seconds))

    def hang(self, *, method: str | None = None, count: int | None = 1) -> None:
        """Never answer the next `count` calls: the client's own timeout fires first."""
        self._rules.append(Rule("hang", method, count))

    def lose_answer(self, count: int = 1, *, method: str | None = None) -> None:
        """Carry out the next `count` calls (of `method`, or of any), then answer HTTP 500, as
        when a server fails after doing the work: the client cannot tell that it was done."""
        self._rules.append(Rule("lose", method, count))

    def answer_lost(self, method: str) -> bool:
        """Whether the answer to this call, already carried out, is lost (spends one use)."""
        for rule in list(self._rules):
            if rule.kind == "lose" and rule.matches(method):
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                return True
        return False

    def clear(self) -> None:
        """Remove every rule and let hanging calls finish."""
        self._rules.clear()
        self.release_hung()

    def release_hung(self) -> None:
        """Let calls hanging so far finish (their clients have usually given up)."""
        self._release.set()
        self._release = asyncio.Event()

    async def wait_released(self) -> None:
        """Block until `release_hung()`; what a hanging call does."""
        await self._release.wait()

    def take(self, method: str) -> Fault | None:
        """The fault for this call, if any, spending one use of its rule."""
        fault: Fault | None = None
        for rule in list(self._rules):
            if rule.kind == "lose" or not rule.matches(method):
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
            fault = _merge(fault, rule)
            if fault.status or fault.hang:
                break
        return fault

    async def drop_sockets(self) -> int:
        """Close every Socket Mode WebSocket (the client reconnects)."""
        return await self._platform.drop_sockets()

    async def outage(self, seconds: float, *, refuse: bool = True) -> None:
        """Platform down for `seconds`: connections refused (or, with `refuse=False`, every
        request answered 503), WebSockets closed; events wait until it is back."""
        await self.end_outage()
        self.up.clear()
        self.refusing = refuse
        await self._platform.drop_sockets()
        if refuse:
            await self._platform.stop_listening()
        self._outage_end = asyncio.create_task(self._end_after(seconds))

    async def _end_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._outage_end = None
        await self._restore()

    async def end_outage(self) -> None:
        """End an outage now (no-op when up)."""
        task, self._outage_end = self._outage_end, None
        if task is not None:
            task.cancel()
        if self.down:
            await self._restore()

    async def _restore(self) -> None:
        if self.refusing:
            await self._platform.start_listening()
        self.refusing = False
        self.up.set()
        log.info("slack emulator: platform back up")


def _merge(fault: Fault | None, rule: Rule) -> Fault:
    base = fault or Fault()
    if rule.kind == "error":
        return Fault(rule.status, base.delay, base.hang)
    if rule.kind == "delay":
        return Fault(base.status, base.delay + rule.seconds, base.hang)
    return Fault(base.status, base.delay, True)
