"""`DiscordEmulator`: REST API + gateway on one loopback port, driven and observed by tests."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

from aiohttp import web

from integrations.sandbox.notify import Notifier

from .actors import Person
from .broadcast import Broadcaster
from .config import EmulatorConfig
from .context import Context
from .faults import Faults
from .gateway import GatewayHub
from .limits import RateLimits
from .model import CallRecord, Channel, Command, Guild, Interaction, Message
from .rest import API_PREFIX, MAX_BODY, build_middleware
from .routes_core import CoreRoutes
from .routes_guilds import GuildRoutes
from .routes_interactions import InteractionRoutes
from .routes_messages import MessageRoutes
from .routes_threads import ThreadRoutes
from .seed import DiscordSeed, demo_world
from .snowflakes import SnowflakeMint
from .tasks import BackgroundTasks
from .world import World

log = logging.getLogger(__name__)
T = TypeVar("T")


class DiscordEmulator:
    """A wire-level Discord (REST /api/v10 + gateway) on 127.0.0.1 that discord.py talks to.

    Use as `async with DiscordEmulator(demo_world()) as emu:` or with `start()`/`stop()`.
    """

    def __init__(
        self,
        seed: DiscordSeed | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        config: EmulatorConfig | None = None,
    ) -> None:
        self.seed = seed or demo_world()
        self.config = config or EmulatorConfig()
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._notifier = Notifier()
        self._tasks = BackgroundTasks()
        self.world = World(self.seed, SnowflakeMint(), lambda: self.base_url)
        self.calls: list[CallRecord] = []
        self.limits = RateLimits()
        self.gateway = GatewayHub(
            self.world, self.config, self._tasks, self.notify, lambda: self.faults.is_down
        )
        self.faults = Faults(self.gateway.drop)
        self.events = Broadcaster(self.world, self.gateway)
        self._ctx = Context(
            self.world,
            self.config,
            self.gateway,
            self.events,
            self.limits,
            self.faults,
            self.calls,
            self.notify,
        )

    # ----- lifecycle ---------------------------------------------------------------------

    async def start(self) -> Self:
        """Bind the port and start serving."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._port = sock.getsockname()[1]
        self.gateway.resume_url = f"ws://{self.host}:{self._port}/resume"
        self._runner = web.AppRunner(self._build_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        log.info("Discord emulator listening on %s", self.base_url)
        return self

    async def stop(self) -> None:
        """Close gateway connections, release hanging requests and stop serving."""
        if self._runner is None:
            return
        self.faults.clear()
        await self.gateway.close_all()
        await self._runner.cleanup()
        await self._tasks.cancel_all()
        self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[build_middleware(self._ctx)], client_max_size=MAX_BODY)
        core = CoreRoutes(self._ctx, self.gateway_url)
        messages = MessageRoutes(self._ctx)
        for method, path, handler in [
            *core.routes(),
            *messages.routes(),
            *ThreadRoutes(self._ctx).routes(),
            *GuildRoutes(self._ctx).routes(),
            *InteractionRoutes(self._ctx).routes(),
        ]:
            app.router.add_route(method, API_PREFIX + path, handler)
        for method, path, handler in messages.file_routes():
            app.router.add_route(method, path, handler)
        app.router.add_get("/", self.gateway.handle)
        app.router.add_get("/resume", self.gateway.handle)
        return app

    # ----- addresses ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT (attachment URLs live under it)."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """What discord.http.Route.BASE must be set to."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """What DiscordWebSocket.DEFAULT_GATEWAY must be set to."""
        return f"ws://{self.host}:{self.port}/"

    @property
    def token(self) -> str:
        """The bot token the emulator accepts."""
        return self.seed.token

    @property
    def bot_id(self) -> int:
        """The bot user's id."""
        return self.seed.bot.id

    @property
    def application_id(self) -> int:
        """The application's id."""
        return self.seed.application_id

    # ----- people and observers ----------------------------------------------------------

    def user(self, user_id: int) -> Person:
        """Act as this (seeded) person."""
        return Person(self, self.world.users[user_id])

    def channel_messages(self, channel_id: int) -> list[Message]:
        """A channel's (or thread's, or DM's) visible messages, oldest first."""
        return list(self.world.history.get(channel_id, {}).values())

    def dm_channel_id(self, user_id: int) -> int | None:
        """The id of the bot's DM channel with that user, if one exists."""
        channel = self.world.dm_channel(user_id)
        return None if channel is None else channel.id

    def drop_dm(self, user_id: int) -> int | None:
        """Make the bot's DM channel with this user unknown (404 Unknown Channel, code 10003),
        as a stale cached channel is; the next DM opened is a new channel. Returns its old id."""
        dropped = self.world.drop_dm(user_id)
        self.notify()
        return dropped

    def delete_thread(self, thread_id: int) -> None:
        """A moderator deletes a thread (a forum post) with its messages: THREAD_DELETE, and
        404 for anything sent there afterwards."""
        thread = self.world.channels[thread_id]
        self.world.delete_thread(thread)
        self.events.thread_deleted(thread)
        self.notify()

    def message(self, message_id: int) -> Message:
        """Any existing message (ephemeral ones included)."""
        return self.world.messages[message_id]

    def threads(self, parent_id: int | None = None) -> list[Channel]:
        """Threads, optionally only those under one channel, oldest first."""
        return [
            c
            for c in self.world.channels.values()
            if c.parent_id is not None and (parent_id is None or c.parent_id == parent_id)
        ]

    def give_role(self, user_id: int, role_id: int) -> bool:
        """Give a member of a seeded guild a role, as a server admin would (GUILD_MEMBER_UPDATE,
        GUILD_MEMBERS intent only). False if they held it already."""
        guild = self._guild_with_role(user_id, role_id)
        given = self.world.give_role(guild, user_id, role_id)
        if given:
            self.events.member_updated(guild, user_id)
            self.notify()
        return given

    def take_role(self, user_id: int, role_id: int) -> bool:
        """Take a role from a member (GUILD_MEMBER_UPDATE). False if they did not hold it."""
        guild = self._guild_with_role(user_id, role_id)
        taken = self.world.take_role(guild, user_id, role_id)
        if taken:
            self.events.member_updated(guild, user_id)
            self.notify()
        return taken

    def roles_of(self, user_id: int, guild_id: int) -> list[int]:
        """The role ids a member holds in a guild."""
        return self.world.guilds[guild_id].roles_of(user_id)

    def _guild_with_role(self, user_id: int, role_id: int) -> Guild:
        for guild in self.world.guilds.values():
            if any(r.id == role_id for r in guild.roles) and role_id != guild.id:
                if user_id not in guild.member_ids:
                    raise KeyError(f"user {user_id} is not a member of guild {guild.id}")
                return guild
        raise KeyError(f"no guild has the role {role_id}")

    def interactions(self) -> list[Interaction]:
        """Every interaction people started, oldest first."""
        return list(self.world.interactions.values())

    def commands(self, guild_id: int | None = None) -> list[Command]:
        """Registered application commands (global, or for one guild)."""
        return [c for c in self.world.commands.values() if c.guild_id == guild_id]

    def register_commands(
        self, bodies: list[dict[str, object]], *, guild_id: int | None = None
    ) -> list[Command]:
        """Pre-register commands, as if the app had synced them earlier."""
        commands = self.world.register_commands(guild_id, [dict(b) for b in bodies])
        self.notify()
        return commands

    def calls_to(self, route: str) -> list[CallRecord]:
        """REST calls on one route, given as "POST /channels/{channel_id}/messages"."""
        return [c for c in self.calls if c.key == route]

    # ----- waiting -----------------------------------------------------------------------

    def now(self) -> float:
        """The event loop's clock (interaction windows are measured on it)."""
        return asyncio.get_running_loop().time()

    def notify(self) -> None:
        """Wake every `wait_for` so it re-checks its predicate (called on each state change)."""
        self._notifier.notify()

    @property
    def notifier(self) -> Notifier:
        """What state changes are counted on (`revision`) and awaited (`changed()`)."""
        return self._notifier

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Wait until `predicate()` is truthy and return its value.

        The predicate is re-checked whenever the emulator's state changes (a REST call, a
        gateway frame, an action by a person), so it should look at emulator state; for the
        bot's own state use discord.py's `client.wait_for`. Raises TimeoutError.
        """
        return await self._notifier.wait_for(predicate, timeout)
