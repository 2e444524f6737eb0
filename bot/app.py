"""The composition root: the one place that wires storage and adapters to the core."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.config import Policy, Settings, load_policy
from bot.core.ai_policy import AiPolicy
from bot.core.delivery import MAIN_WORKSPACE
from bot.core.digest import Digest
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Platform
from bot.core.errors import ConfigError
from bot.core.ports import AgentWorkspace, Clock, CustomerChannel, SystemClock
from bot.core.routes import Routes
from bot.core.service import TicketService
from bot.core.sla_keeper import SlaKeeper
from bot.core.sweeps import DigestSender, Sweeps
from integrations.comebacks import Comebacks
from integrations.discord.customer_channel import UPLOAD_LIMIT, DiscordCustomerChannel
from integrations.discord.gateway_lease import GatewayLease
from integrations.discord.runtime import DiscordSide
from integrations.discord.staff import STAFF_WORKSPACE
from integrations.http import HealthCheck, HttpServer
from integrations.metrics import Metrics
from integrations.metrics_platforms import count_slack, discord_trace, model_hooks
from integrations.platforms import DISCORD, SLACK
from integrations.replicas import Replicas
from integrations.slack.runtime import SlackSide
from integrations.wording import download
from jobs.scheduler import JobScheduler, run_once
from storage.db import create_engine, describe, dispose, normalise_url
from storage.metrics_repository import MetricsReader
from storage.migrate import ensure_current, upgrade
from storage.repository import SqlStorage
from storage.wal import WalCheckpoints, in_memory

if TYPE_CHECKING:
    from integrations.ai.assistant import ModelAssistant

log = logging.getLogger(__name__)

# Customers on these platforms can be sent a satisfaction survey: their channel carries one.
SURVEYABLE = frozenset({DISCORD} if DiscordCustomerChannel.surveys else ())


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    policy: Policy
    storage: SqlStorage
    service: TicketService
    # SQLite's write-ahead log checkpoints, when the caller asked to run them off the loop.
    checkpoints: WalCheckpoints | None = None


@dataclass(frozen=True)
class Migration:
    database: str  # the URL without its password
    before: str | None
    after: str


def database_label(settings: Settings) -> str:
    return describe(normalise_url(settings.database_url))


async def migrate(settings: Settings) -> Migration:
    """Bring the database schema to the newest revision (creating it when empty)."""
    engine = create_engine(settings.database_url)
    try:
        before, after = await upgrade(engine)
    finally:
        await engine.dispose()
    return Migration(database_label(settings), before, after)


@asynccontextmanager
async def runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    require_schema: bool = True,
    http_hooks: Mapping[str, list[Callable[[Any], Any]]] | None = None,
    checkpoints_elsewhere: bool = False,
) -> AsyncIterator[Runtime]:
    """Open the database and build the service; refuses a database that is not migrated.
    `http_hooks`: event hooks on the model client's HTTP requests (the running bot's metrics).
    `checkpoints_elsewhere`: on SQLite, the runtime's `checkpoints` are for the caller to run
    (storage/wal.py)."""
    policy = load_policy(settings.policy_path())
    missing = settings.missing_for_discord_staff()
    if missing:
        raise ConfigError(
            "DISCORD_STAFF_CHANNEL is set, so agents work in Discord, but "
            + ", ".join(missing)
            + (" is" if len(missing) == 1 else " are")
            + " not set"
        )
    engine = create_engine(settings.database_url, checkpoints_elsewhere=checkpoints_elsewhere)
    checkpoints = None
    if checkpoints_elsewhere and engine.dialect.name == "sqlite" and not in_memory(engine.url):
        checkpoints = WalCheckpoints(engine.url)
    try:
        if require_schema:
            await ensure_current(engine)
        storage = SqlStorage(engine)
        ai = policy.ai_policy(settings)
        assistant = assistant_for(settings, ai, http_hooks) if ai is not None else None
        service = TicketService(
            storage,
            clock or SystemClock(),
            default_priority=policy.default_priority,
            default_tier=policy.tickets.default_tier,
            reopen_window=timedelta(days=policy.tickets.reopen_window_days),
            limits=policy.customers,
            sla=SlaKeeper(policy),
            ai=ai,
            assistant=assistant,
            workspaces=workspace_names_for(settings),
        )
        try:
            yield Runtime(settings, policy, storage, service, checkpoints)
        finally:
            if assistant is not None:
                await assistant.aclose()
    finally:
        await dispose(engine)
        if checkpoints is not None:
            checkpoints.close()


class Bot:
    """The running bot: the database, each configured platform, the delivery queue and the
    HTTP listener. `start()` returns once everything is up; `stop()` takes it down."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self._clock = clock or SystemClock()
        self._stack = AsyncExitStack()
        self._stop = asyncio.Event()
        self._delivering: asyncio.Task[None] | None = None
        self.migration: Migration | None = None
        self.slack: SlackSide | None = None
        self.discord: DiscordSide | None = None
        # Replicas on one PostgreSQL database: which one holds Discord's gateway.
        self.gateway: GatewayLease | None = None
        self.replicas: Replicas | None = None
        self.server: HttpServer | None = None
        self.service: TicketService | None = None
        self.sweeps: Sweeps | None = None
        self.jobs: JobScheduler | None = None
        self.checkpoints: WalCheckpoints | None = None  # SQLite's, run off the loop
        self.metrics = Metrics(self._clock)  # served at /metrics

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()  # whatever did start is taken down again
            raise

    def _checkpoint(self, rt: Runtime) -> None:
        """SQLite's write-ahead log is checkpointed off the event loop while the bot runs."""
        self.checkpoints = rt.checkpoints
        if rt.checkpoints is not None:
            checkpointing = asyncio.create_task(rt.checkpoints.run(self._stop), name="wal")
            self._stack.push_async_callback(_stopped, checkpointing)

    async def _start(self) -> None:
        self.migration = await migrate(self.settings)
        rt = await self._stack.enter_async_context(
            runtime(
                self.settings,
                clock=self._clock,
                require_schema=False,
                http_hooks=model_hooks(self.metrics),
                checkpoints_elsewhere=True,
            )
        )
        self._checkpoint(rt)
        self.service = rt.service
        workspaces: dict[str, AgentWorkspace] = {}
        customers: dict[Platform, CustomerChannel] = {}
        if not self.settings.missing_for_slack():
            self.slack = SlackSide(self.settings, rt.policy, rt.service)
            count_slack(self.slack.client, self.metrics)
            workspaces[MAIN_WORKSPACE] = self.slack.workspace
        if not self.settings.missing_for_discord():
            fetch = agents_files(self.slack) if self.slack or self.settings.discord_staff else None
            trace = discord_trace(self.metrics)
            self.discord = DiscordSide(self.settings, rt.policy, rt.service, fetch, trace)
            customers[DISCORD] = self.discord.channel
            if self.discord.workspace is not None:
                workspaces[STAFF_WORKSPACE] = self.discord.workspace
        # The assistant's lane is carried by the service itself: it asks the model, then writes.
        assistant = rt.service.assist if rt.service.ai is not None else None
        routes = Routes(workspaces, customers, assistant)
        dispatcher = Dispatcher(
            rt.storage,
            self._clock,
            routes,
            workspace_names_for(self.settings),
            lease_seconds=rt.policy.delivery.lease.total_seconds(),
            watcher=self.metrics,
        )
        _feed(rt.service, dispatcher)
        checks = {
            "database": _database_check(rt.service),
            "slack": self.slack.health if self.slack else _off,
            "discord": self.discord.health if self.discord else _off,
        }
        self._watch(rt, routes, checks)
        self.server = HttpServer(
            self.settings.http_host, self.settings.http_port, checks, self.metrics.handle
        )
        if self.slack is not None:
            self.slack.mount(self.server)
        # Each part is stopped even when a later one fails to start (their sessions are open).
        self._stack.push_async_callback(self.server.stop)
        if self.slack is not None:
            self._stack.push_async_callback(self.slack.stop)
        if self.discord is not None:
            self._stack.push_async_callback(self.discord.stop)
        try:
            await self.server.start()
        except OSError as exc:
            raise ConfigError(listen_failure(self.settings, exc)) from None
        await self._join_replicas(rt.storage)
        if self.slack is not None:
            await self.slack.start()
        if self.discord is not None:
            await self._start_discord(rt.storage)
        # Started last so that it stops first: nothing is sent through a closed connection
        # (and what is still queued then waits for the next start).
        self._delivering = asyncio.create_task(dispatcher.run(self._stop), name="dispatcher")
        self._stack.push_async_callback(self._stop_delivering, dispatcher)
        platforms = {name: checks[name] for name in ("slack", "discord")}
        comebacks = Comebacks(platforms, lambda _name: dispatcher.hasten())
        comebacks.repeating.start()
        self._stack.push_async_callback(comebacks.repeating.stop)
        # The jobs stop before the dispatcher, so what a last sweep queued is sent or kept.
        self.sweeps = sweeps_for(rt, self.slack, self.discord)
        self.jobs = JobScheduler(self.sweeps, rt.policy.jobs, self._clock)
        self.jobs.start()
        self._stack.push_async_callback(self.jobs.stop)

    async def _join_replicas(self, storage: SqlStorage) -> None:
        """On PostgreSQL replicas may share the database: they are counted (and this one is
        made known to them) before any event is taken."""
        if storage.engine.dialect.name == "sqlite":
            return
        self.replicas = Replicas(storage, self._replicas_changed)
        self._stack.push_async_callback(self.replicas.stop)
        self._replicas_changed(0, await self.replicas.start())

    def _replicas_changed(self, before: int, now: int) -> None:
        """Other replicas may be given some of a thread's events: while they run, each reply
        is relayed after the thread's earlier ones (integrations/slack/in_doubt.py). One that
        vanished may have left events unacknowledged, as a killed process does."""
        if self.slack is None:
            return
        self.slack.desk.doubt.shared(now > 0)
        if now < before:
            self.slack.desk.doubt.begin()

    async def _start_discord(self, storage: SqlStorage) -> None:
        """On SQLite (one process) the gateway is simply connected. On PostgreSQL several
        replicas may share the database: each logs in (it sends Discord deliveries through
        REST) and the one holding the gateway lease connects the gateway."""
        assert self.discord is not None
        if storage.engine.dialect.name == "sqlite":
            await self.discord.start()
            return
        await self.discord.open()
        holder = self.replicas.holder if self.replicas is not None else None
        self.gateway = GatewayLease(storage, self.discord, holder=holder)
        self._stack.push_async_callback(self.gateway.stop)  # before the client closes
        await self.gateway.start()

    def _watch(self, rt: Runtime, routes: Routes, checks: Mapping[str, HealthCheck]) -> None:
        """What /metrics reads at each scrape: the database, each part's state, and what each
        platform's catch-up recovered at start."""
        self.metrics.read_from(MetricsReader(rt.storage.engine).read, routes.outlets)
        self.metrics.checks(checks)
        slack, discord = self.slack, self.discord
        if slack is not None:
            self.metrics.caught_up(SLACK, "stored", lambda: slack.recovered)
        if discord is not None:
            self.metrics.caught_up(DISCORD, "history", lambda: discord.recovery.recorded)
            self.metrics.caught_up(DISCORD, "resume", lambda: discord.recovery.replayed)

    async def run_jobs_once(self) -> dict[str, int]:
        """Every job once, now (the clock's now): what `threadline jobs run-once` does."""
        assert self.sweeps is not None, "start() first"
        return await run_once(self.sweeps, self._clock.now())

    async def _stop_delivering(self, dispatcher: Dispatcher) -> None:
        self._stop.set()
        dispatcher.wake()
        if self._delivering is not None:
            await self._delivering

    async def stop(self) -> None:
        await self._stack.aclose()


def _feed(service: TicketService, dispatcher: Dispatcher) -> None:
    """The service wakes the dispatcher after each commit that queued something for it to
    claim, and hands it the lane heads it queued, to send at once."""
    service.on_enqueued(dispatcher.wake)
    service.hand_off_to(dispatcher)


async def _stopped(task: asyncio.Task[None]) -> None:
    """Stop a background task of the bot's (it may be waiting on the stop event itself)."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def listen_failure(settings: Settings, exc: OSError) -> str:
    """One line on why the HTTP listener could not start, naming the settings that fix it."""
    where = f"{settings.http_host}:{settings.http_port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"Cannot listen on {where}: the address is already in use (another Threadline, or "
            "another program). Set HTTP_PORT to a free port (0 picks one), or HTTP_HOST to "
            "another address."
        )
    reason = exc.strerror or str(exc)
    return f"Cannot listen on {where}: {reason}. Check HTTP_HOST and HTTP_PORT."


def settle_heap() -> None:
    """Keep what start-up made out of the garbage collector's sight, for the process's life.

    A full collection walks every tracked object, and after start-up most of them live as long
    as the process (modules, clients, caches). Walking them all stopped the event loop for about
    100 ms at a time, which was the p99 of message latency; frozen, they are never walked again.
    Call once, after start-up, in the process's entry point: objects frozen are never freed.
    """
    gc.collect()
    gc.freeze()


async def run_jobs(rt: Runtime) -> dict[str, int]:
    """Every job once, without the platforms (the digest needs Slack and is left out)."""
    return await run_once(sweeps_for(rt), rt.service.now())


def agents_files(slack: SlackSide | None) -> Callable[[str], Awaitable[bytes]]:
    """How files agents attach are fetched to be sent on to the customer: Slack's with the
    Slack bot token, any other (a Discord attachment) without credentials."""

    async def fetch(url: str) -> bytes:
        if slack is not None and slack.files.owns(url):
            return await slack.files.fetch(url)
        return await download(url, UPLOAD_LIMIT)

    return fetch


def workspace_names_for(settings: Settings) -> tuple[str, ...]:
    """The agent workspaces the settings describe, connected now or not: each is queued for.
    Slack's is "main" (also when none is configured, so what is queued waits for it)."""
    names = []
    if not settings.missing_for_slack() or not settings.discord_staff:
        names.append(MAIN_WORKSPACE)
    if settings.discord_staff:
        names.append(STAFF_WORKSPACE)
    return tuple(names)


def sweeps_for(
    rt: Runtime, slack: SlackSide | None = None, discord: DiscordSide | None = None
) -> Sweeps:
    digests: list[DigestSender] = []
    if slack is not None:
        digests.append(slack.workspace.send_digest)
    if discord is not None and discord.workspace is not None:
        digests.append(discord.workspace.send_digest)
    digest = _everywhere(digests) if digests else None
    # Surveys are queued whether or not the platform is connected now: they wait in the queue.
    return Sweeps(rt.service, rt.policy, digest, surveyable=SURVEYABLE)


def _everywhere(sends: list[DigestSender]) -> DigestSender:
    """The digest to the leads in every workspace; one that fails does not keep it from the
    others (it is logged). When none took it, the failure is raised: the day's digest is then
    tried again."""

    async def send(digest: Digest) -> None:
        failures: list[Exception] = []
        for one in sends:
            try:
                await one(digest)
            except Exception as exc:
                log.warning("The digest did not reach one workspace: %s", exc)
                failures.append(exc)
        if len(failures) == len(sends):
            raise failures[-1]

    return send


def assistant_for(
    settings: Settings,
    ai: AiPolicy,
    http_hooks: Mapping[str, list[Callable[[Any], Any]]] | None = None,
) -> ModelAssistant:
    """The AI features on the configured model, or on their fallbacks when there is none."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    # Imported here: the model client and the language and search libraries take about 28 MB,
    # which a deployment without the AI features never needs.
    from integrations.ai.assistant import build_assistant  # noqa: PLC0415

    return build_assistant(
        ai, key, settings.openai_base_url, settings.openai_model, http_hooks=http_hooks
    )


def _database_check(service: TicketService) -> HealthCheck:
    async def check() -> str:
        await service.ping()
        return "ok"

    return check


async def _off() -> str:
    return "off"
