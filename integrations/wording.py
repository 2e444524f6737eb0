"""Plain words and downloads the platform adapters share (they may not import each other)."""

from __future__ import annotations

from datetime import timedelta

import aiohttp

DOWNLOAD_SECONDS = 30


def late_text(seconds: int) -> str:
    """How late something is: "45s", "12m", "1h 30m", "2d 3h"."""
    span = timedelta(seconds=max(seconds, 0))
    if span < timedelta(minutes=1):
        return f"{span.seconds}s"
    hours, rest = divmod(int(span.total_seconds()), 3600)
    minutes = rest // 60
    if hours >= 24:
        return f"{hours // 24}d {hours % 24}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


async def download(url: str, limit: int) -> bytes:
    """A file from a URL that needs no credentials (a platform's file host); ValueError past
    `limit` bytes, aiohttp errors if unreachable."""
    timeout = aiohttp.ClientTimeout(total=DOWNLOAD_SECONDS)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url) as response,
    ):
        response.raise_for_status()
        data = await response.content.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit} bytes")
    return data
