"""Discord failures as PlatformErrors: what may succeed later, and what never will."""

from __future__ import annotations

import asyncio

import aiohttp
import discord

from bot.core.errors import PlatformError

CANNOT_MESSAGE_USER = 50007  # DMs closed, or no server shared with the bot any more


def platform_error(exc: BaseException) -> PlatformError:
    if isinstance(exc, discord.RateLimited):
        return PlatformError("Discord rate limit", retryable=True, retry_after=exc.retry_after)
    if isinstance(exc, discord.Forbidden) and exc.code == CANNOT_MESSAGE_USER:
        return PlatformError(
            "The customer cannot be messaged on Discord: they closed their DMs or left every "
            "server shared with the bot (Discord error 50007)",
            retryable=False,
        )
    if isinstance(exc, discord.HTTPException):
        retryable = exc.status >= 500 or exc.status == 429
        return PlatformError(f"Discord refused: {exc.status} {exc.text}", retryable=retryable)
    if isinstance(exc, RuntimeError) and "Session is closed" in str(exc):
        return PlatformError("The Discord connection is closing", retryable=True)
    if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return PlatformError(f"Discord is unreachable: {exc!r}", retryable=True)
    return PlatformError(f"Discord call failed: {exc!r}", retryable=False)
