"""Rate limits: per-route buckets with Discord's headers, and the global per-bot limit.

Discord answers every REST call with X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket and
a 429 (`{"message","retry_after","global"}`, Retry-After, X-RateLimit-Scope) once a bucket or the
global 50 req/s is used up. Interaction callbacks and interaction webhooks are exempt from the
global limit. discord.py pre-emptively waits when Remaining hits 0, so while enforcement is off
the headers describe a bucket that never runs dry.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from dataclasses import dataclass

from .errors import CONTENT_TYPE, json_body

UNLIMITED = 1_000_000


@dataclass(frozen=True)
class BucketSpec:
    """`limit` requests per `window` seconds."""

    limit: int
    window: float


DEFAULT_ROUTES: dict[str, BucketSpec] = {
    "POST /channels/{channel_id}/messages": BucketSpec(5, 5.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": BucketSpec(5, 5.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": BucketSpec(5, 1.0),
    "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me": BucketSpec(1, 0.25),
    "POST /users/@me/channels": BucketSpec(10, 10.0),
}


@dataclass
class _Bucket:
    used: int = 0
    reset_at: float = 0.0


@dataclass(frozen=True)
class Verdict:
    """The rate-limit headers for a reply and, when refused, the 429 body."""

    headers: dict[str, str]
    refused: bytes | None = None


class RateLimits:
    """Switchable, tunable rate limiting (off by default; the demo turns it on)."""

    def __init__(self) -> None:
        self.enabled = False
        self.global_limit = 50
        self.global_window = 1.0
        self.default = BucketSpec(50, 1.0)
        self.routes: dict[str, BucketSpec] = dict(DEFAULT_ROUTES)
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._global: deque[float] = deque()

    def set_route(self, route: str, limit: int, window: float) -> None:
        """Tune one route's bucket.

        Example: `set_route("POST /channels/{channel_id}/messages", 2, 0.1)`.
        """
        self.routes[route] = BucketSpec(limit, window)

    def reset(self) -> None:
        """Forget all usage (buckets and the global window)."""
        self._buckets.clear()
        self._global.clear()

    def check(self, route: str, major: str, *, global_exempt: bool) -> Verdict:
        """Count one request and say whether it may proceed."""
        spec = self.routes.get(route, self.default)
        bucket_hash = hashlib.sha1(route.encode(), usedforsecurity=False).hexdigest()[:32]
        if not self.enabled:
            return Verdict(_headers(bucket_hash, UNLIMITED, UNLIMITED - 1, spec.window))
        now = time.monotonic()
        if not global_exempt:
            refused = self._check_global(now, bucket_hash, spec)
            if refused is not None:
                return refused
        bucket = self._buckets.setdefault((route, major), _Bucket())
        if now >= bucket.reset_at:
            bucket.used, bucket.reset_at = 0, now + spec.window
        reset_after = bucket.reset_at - now
        if bucket.used >= spec.limit:
            headers = _headers(bucket_hash, spec.limit, 0, reset_after)
            headers.update(_refusal_headers(reset_after, scope="user"))
            return Verdict(headers, _refusal_body(reset_after, is_global=False))
        bucket.used += 1
        return Verdict(_headers(bucket_hash, spec.limit, spec.limit - bucket.used, reset_after))

    def _check_global(self, now: float, bucket_hash: str, spec: BucketSpec) -> Verdict | None:
        while self._global and self._global[0] <= now - self.global_window:
            self._global.popleft()
        if len(self._global) < self.global_limit:
            self._global.append(now)
            return None
        retry_after = self._global[0] + self.global_window - now
        headers = _headers(bucket_hash, spec.limit, spec.limit, spec.window)
        headers.update(_refusal_headers(retry_after, scope="global"))
        headers["X-RateLimit-Global"] = "true"
        return Verdict(headers, _refusal_body(retry_after, is_global=True))


def _headers(bucket_hash: str, limit: int, remaining: int, reset_after: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(remaining, 0)),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket_hash,
    }


def _refusal_headers(retry_after: float, *, scope: str) -> dict[str, str]:
    # discord.py treats a 429 without Via as a Cloudflare ban and gives up at once.
    return {
        "Retry-After": str(math.ceil(max(retry_after, 0.001))),
        "X-RateLimit-Scope": scope,
        "Via": "1.1 google",
        "Content-Type": CONTENT_TYPE,
    }


def _refusal_body(retry_after: float, *, is_global: bool) -> bytes:
    return json_body(
        {
            "message": "You are being rate limited.",
            "retry_after": round(max(retry_after, 0.001), 3),
            "global": is_global,
        }
    )
