"""Fixtures: a running Discord emulator with the demo world, and real discord.py clients on it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from integrations.sandbox.discord import DiscordEmulator, EmulatorConfig, demo_world, pointed_at
from integrations.sandbox.discord.testing import running_client

# The emulator package imports discord.py with its `audioop` DeprecationWarning muted; importing
# discord here at module level first would fail under `filterwarnings = error`.
if TYPE_CHECKING:
    import discord

BotFactory = Callable[..., Awaitable["discord.Client"]]


@pytest.fixture
def config() -> EmulatorConfig:
    """Emulator settings; override in a module to tune."""
    return EmulatorConfig()


@pytest.fixture
async def emu(config: EmulatorConfig) -> AsyncIterator[DiscordEmulator]:
    """The emulator with the demo world; discord.py pointed at it for the test."""
    async with DiscordEmulator(demo_world(), config=config) as emulator:
        with pointed_at(emulator.api_url, emulator.gateway_url):
            yield emulator


@pytest.fixture
async def http(emu: DiscordEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    """Raw HTTP with the bot's Authorization header, for requests discord.py would not send."""
    headers = {"Authorization": f"Bot {emu.token}"}
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=headers) as session:
        yield session


@pytest.fixture
async def start_bot(emu: DiscordEmulator) -> AsyncIterator[BotFactory]:
    """Start real discord.py clients on the emulator (ready on return); closed after the test."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(client: discord.Client | None = None, **kwargs: Any) -> discord.Client:
            return await stack.enter_async_context(running_client(emu, client, **kwargs))

        yield start
