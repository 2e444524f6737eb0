"""Slack failures as PlatformErrors: what may succeed later, and what never will."""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.errors import PlatformError

# Errors that say "not now" rather than "never".
TRANSIENT = frozenset(
    {
        "ratelimited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


def platform_error(exc: BaseException) -> PlatformError:
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        data = exc.response.data  # a dict, or the text of a reply that was not JSON (a 503 page)
        code = (
            str(data.get("error", "unknown_error")) if isinstance(data, dict) else f"HTTP {status}"
        )
        retry_after = _retry_after(exc)
        retryable = status == 429 or status >= 500 or code in TRANSIENT
        return PlatformError(
            f"Slack refused: {code}",
            retryable=retryable,
            retry_after=retry_after,
            unsure=status >= 500,  # a server error may come after the post was made
        )
    if isinstance(exc, (SlackClientError, aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        # The request may have reached Slack before the connection failed.
        return PlatformError(f"Slack is unreachable: {exc!r}", retryable=True, unsure=True)
    return PlatformError(f"Slack call failed: {exc!r}", retryable=False)


def _retry_after(exc: SlackApiError) -> float | None:
    headers = exc.response.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
