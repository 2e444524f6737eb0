"""Fetching files agents share in Slack: their private URLs answer only with the bot token,
which is sent to Slack's own hosts and nowhere else."""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp

DOWNLOAD_SECONDS = 30
FILE_HOST = "files.slack.com"  # where Slack serves `url_private_download`


class SlackFiles:
    def __init__(self, token: str, limit_bytes: int, api_url: str | None = None) -> None:
        self._token = token
        self._limit = limit_bytes
        # Slack's file host, and the API's (an API proxy, or the sandbox, serves files there).
        self._hosts = {FILE_HOST} | ({urlsplit(api_url).netloc} if api_url else set())

    def owns(self, url: str) -> bool:
        """Whether `url` is one of Slack's files (the only URLs the token is sent to)."""
        parts = urlsplit(url)
        return parts.scheme in ("https", "http") and parts.netloc in self._hosts

    async def fetch(self, url: str) -> bytes:
        """The file's bytes; ValueError past the size limit or for a URL that is not Slack's,
        aiohttp errors if unreachable."""
        if not self.owns(url):
            raise ValueError("not a Slack file: the bot token is not sent there")
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
