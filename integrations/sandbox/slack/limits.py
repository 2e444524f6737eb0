"""Rate limits: Slack's per-method tiers and chat.postMessage's one message per second per channel.

Token buckets: each key may spend up to `burst` requests at once, refilled at `count/window` per
second. Over the limit the API answers HTTP 429 with an integer `Retry-After`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rate:
    """`count` requests per `window` seconds, allowing bursts of up to `burst` requests."""

    count: float
    window: float
    burst: int

    @property
    def per_second(self) -> float:
        """The refill rate."""
        return self.count / self.window


# https://api.slack.com/docs/rate-limits: Tier 1 1+/min, 2 20+/min, 3 50+/min, 4 100+/min.
DEFAULT_TIERS: dict[int, Rate] = {
    1: Rate(1, 60, 5),
    2: Rate(20, 60, 20),
    3: Rate(50, 60, 50),
    4: Rate(100, 60, 100),
}

# The tier of each method, from its page under https://api.slack.com/methods/.
METHOD_TIERS: dict[str, int] = {
    "apps.connections.open": 1,
    "auth.test": 4,
    "chat.delete": 3,
    "chat.getPermalink": 4,
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "conversations.history": 3,
    "conversations.info": 3,
    "conversations.open": 3,
    "conversations.replies": 3,
    "files.completeUploadExternal": 4,
    "files.getUploadURLExternal": 4,
    "reactions.add": 3,
    "reactions.remove": 2,
    "usergroups.users.list": 2,
    "users.info": 4,
    "views.open": 4,
    "views.publish": 4,
    "views.push": 4,
    "views.update": 4,
}


@dataclass
class _Bucket:
    tokens: float
    updated: float

    def refill(self, rate: Rate, now: float) -> None:
        self.tokens = min(rate.burst, self.tokens + (now - self.updated) * rate.per_second)
        self.updated = now

    def wait(self, rate: Rate) -> float:
        """Seconds until one request is allowed (0 when allowed now)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / rate.per_second


@dataclass
class RateLimits:
    """Switchable, tunable limits. Off by default (tests); the demo turns them on."""

    enabled: bool = False
    post_message_per_channel: Rate = Rate(1, 1.0, 3)
    post_message_workspace: Rate = Rate(600, 60, 60)
    tiers: dict[int, Rate] = field(default_factory=lambda: dict(DEFAULT_TIERS))
    method_tiers: dict[str, int] = field(default_factory=lambda: dict(METHOD_TIERS))
    overrides: dict[str, Rate] = field(default_factory=dict)
    retry_after_floor: int = 1
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict, repr=False)

    def set_rate(self, method: str, rate: Rate) -> None:
        """Give `method` its own rate (for chat.postMessage: the per-channel rate)."""
        if method == "chat.postMessage":
            self.post_message_per_channel = rate
        else:
            self.overrides[method] = rate
        self.reset()

    def reset(self) -> None:
        """Forget what was spent: every bucket starts full again."""
        self._buckets.clear()

    def check(self, method: str, channel: str | None = None) -> int | None:
        """Spend one request; return the integer Retry-After when over the limit, else None."""
        if not self.enabled:
            return None
        keys = self._keys(method, channel)
        now = self.clock()
        buckets = [(self._bucket(key, rate, now), rate) for key, rate in keys]
        wait = max((bucket.wait(rate) for bucket, rate in buckets), default=0.0)
        if wait > 0:
            return max(self.retry_after_floor, math.ceil(wait))
        for bucket, _ in buckets:
            bucket.tokens -= 1
        return None

    def _keys(self, method: str, channel: str | None) -> list[tuple[tuple[str, str], Rate]]:
        if method == "chat.postMessage":
            keys = [((method, ""), self.post_message_workspace)]
            if channel:
                keys.append(((method, channel), self.post_message_per_channel))
            return keys
        rate = self.overrides.get(method) or self.tiers.get(self.method_tiers.get(method, 4))
        return [((method, ""), rate)] if rate else []

    def _bucket(self, key: tuple[str, str], rate: Rate, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(rate.burst), now)
        else:
            bucket.refill(rate, now)
        return bucket
