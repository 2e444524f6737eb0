"""Fetching files agents share in Slack: their private URLs answer only with the bot token."""

from __future__ import annotations

import aiohttp

DOWNLOAD_SECONDS = 30


class SlackFiles:
    def __init__(self, token: str, limit_bytes: int) -> None:
        self._token = token
        self._limit = limit_bytes

    async def fetch(self, url: str) -> bytes:
        """The file's bytes; ValueError past the size limit, aiohttp errors if unreachable."""
        timeout = aiohttp.ClientTimeout(total=DOWNLOAD_SECONDS)
        headers = {"Authorization": f"Bearer {self._token}"}
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=headers) as response,
        ):
            response.raise_for_status()
            data = await response.content.read(self._limit + 1)
        if len(data) > self._limit:
            raise ValueError(f"larger than {self._limit} bytes")
        return data
