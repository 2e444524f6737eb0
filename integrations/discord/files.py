"""Fetching files agents attach in a Discord ticket thread, to send them on to the customer:
Discord's attachment URLs answer without credentials, and none are sent."""

from __future__ import annotations

import aiohttp

DOWNLOAD_SECONDS = 30


async def fetch_attachment(url: str, limit: int) -> bytes:
    """The file's bytes; ValueError past `limit`, aiohttp errors if unreachable."""
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
