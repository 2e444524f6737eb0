"""Test support: run a bare discord.py client against an emulator until it is ready.

The bot's own Discord adapter owns its client and the pointing in production; this is for
tests and benchmarks of the emulator itself, and for quick end-to-end fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

# The package __init__ has already imported discord.py (see pointing.py about audioop).
import discord

from .emulator import DiscordEmulator
from .pointing import pointed_at

log = logging.getLogger(__name__)


def sandbox_intents() -> discord.Intents:
    """Default intents plus MESSAGE_CONTENT (enabled for the demo application)."""
    intents = discord.Intents.default()
    intents.message_content = True
    return intents


def sandbox_client(**kwargs: Any) -> discord.Client:
    """A `discord.Client` with sandbox intents and a tiny `guild_ready_timeout`."""
    kwargs.setdefault("intents", sandbox_intents())
    kwargs.setdefault("guild_ready_timeout", 0.01)
    return discord.Client(**kwargs)


@contextlib.asynccontextmanager
async def running_client(
    emu: DiscordEmulator,
    client: discord.Client | None = None,
    *,
    token: str | None = None,
    ready_timeout: float = 10.0,
) -> AsyncIterator[discord.Client]:
    """Log `client` in, connect it, wait for on_ready, and close it on exit.

    Raises what `connect()` raised if the client stops before it is ready (a bad token,
    disallowed intents).
    """
    client = client or sandbox_client()
    with pointed_at(emu.api_url, emu.gateway_url):
        try:
            await client.login(token or emu.token)
            runner = asyncio.create_task(client.connect(), name="discord-client")
            ready = asyncio.create_task(client.wait_until_ready(), name="discord-ready")
            done, _ = await asyncio.wait(
                [runner, ready], timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            ready.cancel()
            if runner in done:
                runner.result()
            if not client.is_ready():
                raise TimeoutError("the client did not become ready")
            yield client
        finally:
            await client.close()
            if "runner" in locals():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(runner, ready_timeout)
