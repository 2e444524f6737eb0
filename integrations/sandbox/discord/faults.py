"""Injectable faults: failing, slow and hanging REST replies, platform outages, gateway drops."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Fault:
    """One armed fault.

    `route` is "METHOD /template" (e.g. "POST /channels/{channel_id}/messages") or None for
    every route; `remaining` None means until cleared.
    """

    kind: str  # "status", "slow", "hang", "rate_limit", "cloudflare"
    route: str | None
    remaining: int | None
    status: int = 500
    delay: float = 0.0
    retry_after: float = 0.0
    is_global: bool = False

    def matches(self, route: str) -> bool:
        """Whether this fault applies to a request on `route`."""
        return self.route is None or self.route == route


class Faults:
    """The fault switchboard a test or the demo arms; REST and gateway consult it."""

    def __init__(self, drop_gateway: Callable[[int | None], int]) -> None:
        self._faults: list[Fault] = []
        self._down_until = 0.0
        self._drop_gateway = drop_gateway
        self._release = asyncio.Event()
        self.hang_seconds = 30.0

    def fail_next(self, count: int = 1, *, status: int = 500, route: str | None = None) -> None:
        """The next `count` matching requests answer `status` (discord.py retries 500/502/504)."""
        self._faults.append(Fault("status", route, count, status=status))

    def slow(self, seconds: float, *, route: str | None = None, count: int | None = None) -> None:
        """Delay matching replies by `seconds` (for `count` requests, or until cleared)."""
        self._faults.append(Fault("slow", route, count, delay=seconds))

    def hang(self, *, route: str | None = None, count: int = 1) -> None:
        """Matching requests get no reply until cleared or `hang_seconds` pass (then a 504)."""
        self._faults.append(Fault("hang", route, count))

    def rate_limit_next(
        self,
        count: int = 1,
        *,
        route: str | None = None,
        retry_after: float = 0.01,
        is_global: bool = False,
    ) -> None:
        """Answer the next `count` matching requests with a proper 429 (with `Via`)."""
        self._faults.append(
            Fault("rate_limit", route, count, retry_after=retry_after, is_global=is_global)
        )

    def cloudflare_ban(self, count: int = 1, *, route: str | None = None) -> None:
        """A 429 without `Via` and with an HTML body, as Cloudflare sends when it bans an IP."""
        self._faults.append(Fault("cloudflare", route, count))

    def down_for(self, seconds: float) -> None:
        """The platform is down: REST answers 502 and the gateway refuses and drops connections."""
        self._down_until = time.monotonic() + seconds
        self._drop_gateway(None)

    def up(self) -> None:
        """End an outage early."""
        self._down_until = 0.0

    @property
    def is_down(self) -> bool:
        """Whether an outage is in progress."""
        return time.monotonic() < self._down_until

    def drop_gateway(self, code: int | None = None) -> int:
        """Close every gateway connection: abruptly (no close frame) when `code` is None.

        Returns how many connections were dropped.
        """
        return self._drop_gateway(code)

    def clear(self) -> None:
        """Disarm every fault, end any outage and release hanging requests."""
        self._faults.clear()
        self._down_until = 0.0
        self._release.set()
        self._release = asyncio.Event()

    def take(self, route: str) -> Fault | None:
        """The first armed fault matching `route`, consuming one of its uses."""
        for fault in self._faults:
            if not fault.matches(route):
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            return fault
        return None

    async def wait_released(self) -> None:
        """Block a hanging request until `clear()` or `hang_seconds` pass."""
        release = self._release
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), self.hang_seconds)
