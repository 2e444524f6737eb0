"""Discord, connected: the bot's client, customers' DMs in, replies and notices out."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
import discord

from bot.config import Policy, Settings
from bot.core.errors import ConfigError
from bot.core.service import TicketService
from integrations.discord.checkpoint import GatewayCheckpoints
from integrations.discord.client import point_at_settings
from integrations.discord.customer_channel import DiscordCustomerChannel, Fetch
from integrations.discord.intake import DiscordIntake
from integrations.discord.recovery import Recovery
from integrations.discord.set_aside import SetAside
from integrations.discord.staff import StaffPlace
from integrations.discord.staff_desk import StaffDesk
from integrations.discord.staff_workspace import DiscordWorkspace
from integrations.discord.views import ThreadlineClient

log = logging.getLogger(__name__)

READY_SECONDS = 30.0
# Closing the gateway with this code leaves its session resumable (1000 and 1001 end it).
HAND_OVER_CLOSE = 4000
RECONNECT_PAUSE = 1.0  # seconds before connecting again after the connection ended on an error
# What ends the connection for a reason only a person can fix: raised, not retried.
FATAL = (discord.LoginFailure, discord.PrivilegedIntentsRequired, discord.ConnectionClosed)
DRAIN_SECONDS = 10.0  # how long shutdown waits for handlers still at work
# discord.py runs every event handler, view callback and app command in a task of its own and
# keeps no handle on them; these names (given by discord.py) are how shutdown finds them. A
# handler cut off at the end of the event loop can leave a database connection half-open.
HANDLER_TASKS = (
    "discord.py: ",
    "discord-ui-view-dispatch-",
    "discord-ui-dynamic-item-",
    "discord-ui-modal-dispatch-",
    "CommandTree-invoker",
)


class _NoVoiceNotes(logging.Filter):
    """discord.py warns at every start that voice libraries are missing; Threadline has no
    use for voice, so the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "voice will NOT be supported" not in record.getMessage()


logging.getLogger("discord.client").addFilter(_NoVoiceNotes())


def intents(support_threads: bool = False) -> discord.Intents:
    """What the features need: servers and direct messages. DMs carry their content without
    the privileged message-content intent. Messages in a support thread (or an agents' ticket
    thread) are guild messages, which carry content only with it: it is asked for only when
    those threads are on."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.dm_messages = True
    wanted.dm_reactions = True
    if support_threads:
        wanted.guild_messages = True
        wanted.message_content = True
    return wanted


class DiscordSide:
    def __init__(
        self,
        settings: Settings,
        policy: Policy,
        service: TicketService,
        fetch: Fetch | None = None,
        http_trace: aiohttp.TraceConfig | None = None,
    ) -> None:
        """`http_trace`: sees each of discord.py's HTTP requests (for metrics)."""
        self._settings = settings
        threads = settings.discord_support_channel
        self.staff = StaffPlace.from_settings(settings)
        self.client = ThreadlineClient(
            service,
            settings.discord_guild_id,
            policy.discord.support_categories,
            threads,
            self.staff,
            intents=intents(support_threads=threads is not None or self.staff is not None),
            # The raw gateway messages carry the sequence numbers the checkpoint needs.
            enable_debug_events=True,
            http_trace=http_trace,
        )
        contacts = self.client.contacts
        self.checkpoints = GatewayCheckpoints(service)
        self.set_aside = SetAside(service)
        self.intake = DiscordIntake(
            service, self.client, contacts, self.checkpoints, self.set_aside
        )
        self.intake.register()
        # Agents in Discord: the staff channel's threads are an agent workspace.
        self.workspace: DiscordWorkspace | None = None
        if self.staff is not None:
            self.intake.staff = StaffDesk(service, policy, self.staff, self.client, self.set_aside)
            self.workspace = DiscordWorkspace(
                self.client,
                self.staff,
                ai=service.ai is not None and service.ai.summary,
                threads=service,
            )
        self.recovery = Recovery(service, self.client, contacts, self.intake, self.checkpoints)
        self.client.event(self.on_ready)
        self.client.event(self.on_connect)
        self.client.event(self.on_disconnect)
        self.client.event(self.on_resumed)
        self._connected = False
        self._ready = asyncio.Event()  # discord.py's own stays set after the gateway is dropped
        # Another replica holds the gateway: this one sends through REST only.
        self.standby = False
        replies = policy.replies
        team = replies.team_name if replies.anonymous_replies else None
        self.channel = DiscordCustomerChannel(contacts, team, fetch)
        self._running: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log in and connect the gateway: what one process does, or the replica that holds
        the gateway lease (integrations/discord/gateway_lease.py)."""
        await self.open()
        await self.connect_gateway()

    async def open(self) -> None:
        """Log in: REST calls work from here on (every replica sends its share of the Discord
        deliveries this way), but no gateway events arrive until `connect_gateway`."""
        token = self._settings.discord_bot_token
        assert token is not None
        point_at_settings(self._settings)
        try:
            await self.client.login(token.get_secret_value())
        except discord.LoginFailure:
            raise ConfigError("DISCORD_BOT_TOKEN was refused by Discord (401)") from None
        self.standby = True  # until the gateway is connected

    async def connect_gateway(self) -> None:
        """Resume the session stored by whoever held the gateway last (Discord replays what it
        missed), then connect discord.py's own; returns once it is ready."""
        token = self._settings.discord_bot_token
        assert token is not None
        self.standby = False
        self._ready.clear()
        await self.recovery.before_connecting(token.get_secret_value())
        await self.set_aside.load()  # before any live message can overtake them
        self._running = asyncio.create_task(self._stay_connected(), name="discord")
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait(
            {self._running, ready}, timeout=READY_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        if self._running in done:
            self._running.result()  # raises what stopped it (a bad token, refused intents)
        if not self._ready.is_set():
            raise ConfigError("Discord did not become ready in time; is DISCORD_GATEWAY_URL right?")
        self.set_aside.retries.start()
        log.info("Discord: connected as %s", self.client.user)

    async def drop_gateway(self, *, hand_over: bool) -> None:
        """Close the gateway connection but keep its session resumable (close code 4000, not
        1000, which would end it), so the replica that takes the gateway over resumes it and
        Discord replays what this one did not store. REST stays logged in. `hand_over`: a
        clean stop with the lease still held, so the latest checkpoint is stored first."""
        self.standby = True
        self._connected = False
        await self.set_aside.retries.stop()
        await self.checkpoints.hand_over(save=hand_over)
        await self.recovery.close()
        running, self._running = self._running, None
        if running is not None:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        ws = self.client.ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close(code=HAND_OVER_CLOSE)
        log.info("Discord: gateway connection closed; another replica may take it over")

    async def _stay_connected(self) -> None:
        """`client.connect()` until the client is closed. discord.py reconnects by itself after
        network trouble, but a dispatch its parser cannot read (a field missing) ends
        `connect()` for good, which would leave the bot deaf without a word: that is logged and
        the connection made again, as a new session (resuming would replay the same dispatch).
        What a person must fix (a refused token or intents) still ends it."""
        while not self.client.is_closed():
            try:
                await self.client.connect()
            except FATAL:
                raise
            except Exception:
                self._connected = False
                if self.client.is_closed():
                    return
                log.exception("Discord: the connection ended on an error; connecting again")
                with contextlib.suppress(Exception):
                    if self.client.ws is not None:
                        await self.client.ws.close(code=1000)
                await asyncio.sleep(RECONNECT_PAUSE)
            else:
                return  # connect() returns once the client is closed

    async def on_ready(self) -> None:
        self._connected = True
        self._ready.set()
        await self.recovery.after_ready()

    async def on_connect(self) -> None:
        self._connected = True

    async def on_resumed(self) -> None:
        self._connected = True

    async def on_disconnect(self) -> None:
        # is_ready() stays true until discord.py gives up on the connection; a dropped
        # connection is news to /healthz at once.
        self._connected = False

    async def health(self) -> str:
        if self.standby:
            return "standby"
        ended = self._running is not None and self._running.done()
        up = self._connected and self.client.is_ready() and not self.client.is_closed()
        up = up and not ended
        return "connected" if up else "disconnected"

    async def stop(self) -> None:
        await self.set_aside.retries.stop()
        await self.checkpoints.close()
        await self.recovery.close()
        await self.client.close()
        if self._running is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._running, 10)
        await handlers_done()


async def handlers_done() -> None:
    """Wait for discord.py's handler tasks to finish (after the client is closed, so no new
    ones start); what still runs after DRAIN_SECONDS is cancelled."""
    current = asyncio.current_task()
    running = {
        task
        for task in asyncio.all_tasks()
        if task is not current and task.get_name().startswith(HANDLER_TASKS)
    }
    if not running:
        return
    _, late = await asyncio.wait(running, timeout=DRAIN_SECONDS)
    for task in late:
        log.warning("Discord: %s still running at shutdown; cancelling it", task.get_name())
        task.cancel()
    if late:
        await asyncio.wait(late)
