"""What every REST handler needs: state, gateway fan-out, limits, faults, timing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from .broadcast import Broadcaster
from .config import EmulatorConfig
from .errors import ApiError, unknown_channel, unknown_message
from .faults import Faults
from .gateway import GatewayHub
from .limits import RateLimits
from .model import CallRecord, Channel, Message
from .world import World

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]
"""(method, path relative to /api/v10, handler)."""


@dataclass
class Context:
    """Shared by the route modules; one per emulator."""

    world: World
    config: EmulatorConfig
    hub: GatewayHub
    events: Broadcaster
    limits: RateLimits
    faults: Faults
    calls: list[CallRecord]
    changed: Callable[[], None]

    @property
    def token(self) -> str:
        """The bot token the app must present."""
        return self.world.seed.token

    def now(self) -> float:
        """Monotonic loop time (interaction windows are measured on it)."""
        return asyncio.get_running_loop().time()

    def visible_channel(self, raw_id: str) -> Channel:
        """A channel the bot can see, or 404 Unknown Channel."""
        channel = self.world.channels.get(snowflake(raw_id))
        if channel is None:
            raise unknown_channel()
        if channel.guild_id is not None and channel.guild_id not in self.world.guilds:
            raise unknown_channel()
        if channel.hidden_from(self.world.bot_id):  # a private thread it was never added to
            raise ApiError(403, 50001, "Missing Access")
        return channel

    def channel_message(self, channel: Channel, raw_id: str) -> Message:
        """A message of that channel, or 404 Unknown Message."""
        message = self.world.history.get(channel.id, {}).get(snowflake(raw_id))
        if message is None:
            raise unknown_message()
        return message


def snowflake(raw: str) -> int:
    """A path or body id as an int (-1 when it is not a number, so lookups miss)."""
    try:
        return int(raw)
    except ValueError:
        return -1
