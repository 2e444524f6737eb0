"""The chaos suite's world: both emulators in this process, the real `threadline run` in a
child, customers writing DMs on Discord and agents answering in the tickets' Slack threads at
a steady rate, and what each side shows read back as copies of the people's tokens.

With `replicas` above one, that many `threadline run` share one PostgreSQL database: each has
its own Socket Mode connection and sends deliveries, one holds Discord's gateway (by a lease)
and the others stand by to take it over.

Besides the traffic, a few probe tickets carry the scheduled work: quiet ones nobody answers
(each must get its SLA reminder at most once and its breach notice exactly once) and resolved
ones (each must get its satisfaction survey exactly once). Their SLA and survey times are
seconds, so they fall due while the disruption is under way.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import aiohttp
from chaos_ledger import Copy, Ledger, Token
from figures import percentile

from integrations.sandbox.discord import DiscordEmulator, demo_world
from integrations.sandbox.discord.config import EmulatorConfig
from integrations.sandbox.discord.seed import SeedUser
from integrations.sandbox.launch import HOST, Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import Message as SlackMessage
from integrations.sandbox.slack import SlackEmulator, Timing, demo_workspace
from tests.loop.bot_process import BotProcess, bot_env
from tests.loop.kill_staff_support import tokens

FIRST_ID = 1300000000000000000
PROBE = re.compile(r"\bprobe(\d+)\b")
AGENTS = (SLACK.agent1, SLACK.agent2)
# How each side words what the probes wait for (integrations/slack/alerts.py, discord texts).
REMINDER = ":alarm_clock:"
BREACH = ":rotating_light:"
SURVEY = "How did we do"
RESOLVED = "is resolved"


@dataclass(frozen=True)
class Size:
    """How much traffic, and how long each disruption lasts."""

    customers: int  # tickets the traffic is spread over
    messages: int  # each way: customer messages, and agents' replies
    rate: float  # messages a second, each way
    outage: float  # seconds a platform is down, or a 429 storm lasts
    kills: int
    quiet: int  # probe tickets nobody answers: SLA reminder and breach
    resolved: int  # probe tickets resolved at once: the survey
    first_response: int  # seconds: the SLA's first-response target
    survey_after: int  # seconds after resolution
    drain_within: float  # seconds allowed for the drain after the traffic stops

    @property
    def traffic_seconds(self) -> float:
        return (self.messages - self.customers) / self.rate


class Database(Protocol):
    """Where the bot keeps its state, as the suite sees it from outside."""

    url: str
    label: str

    async def outbox(self) -> dict[str, int] | None:
        """The bot's deliveries by status; None while they cannot be read."""

    async def close(self) -> None:
        """Drop what the run made (a throwaway database, a server of its own)."""


def policy(size: Size) -> str:
    """threadline.toml: no pacing and no flood limits (the emulators' limits are the test),
    a short delivery lease (a killed process's sends are taken up after 3 s), and SLA and
    survey times in seconds on an always-open calendar."""
    reminder = max(1, size.first_response // 2)
    return (
        "[slack]\nposts_per_second = 0\n"
        "[customers]\nmessages_per_minute = 100000\nnew_tickets_per_hour = 100000\n"
        '[delivery]\nlease = "3s"\n'
        '[jobs]\ninterval = "1s"\n'
        f'[sla.normal]\nfirst_response = "{size.first_response}s"\n'
        'next_response = "7d"\nresolution = "7d"\ncalendar = "24x7"\n'
        f'[reminders]\nbefore_breach = "{reminder}s"\n'
        '[escalation]\nafter_breach = "7d"\n'
        f'[csat]\ndelay = "{size.survey_after}s"\n'
    )


def seed(people: int) -> tuple[DiscordEmulator, list[int]]:
    """The demo world plus `people` customers, with room to replay a long outage on RESUME."""
    world = demo_world()
    extra = [SeedUser(FIRST_ID + i, f"customer{i}", f"Customer {i}") for i in range(people)]
    guild = world.guilds[0]
    guild = replace(guild, member_ids=(*guild.member_ids, *(u.id for u in extra)))
    world = replace(world, guilds=(guild,), users=(*world.users, *extra))
    config = EmulatorConfig(resume_buffer=100_000)
    return DiscordEmulator(world, host=HOST, config=config), [u.id for u in extra]


@dataclass
class Shown:
    """One reading of both sides: every copy of a token, and the probes' notices."""

    slack: list[Copy] = field(default_factory=list)  # customers' messages, in thread order
    dms: list[Copy] = field(default_factory=list)  # agents' replies, in DM order
    reminders: dict[int, int] = field(default_factory=dict)  # per quiet probe
    breaches: dict[int, int] = field(default_factory=dict)
    surveys: dict[int, int] = field(default_factory=dict)  # per resolved probe
    leads_breaches: int = 0  # breach notices in the leads' channel
    cards: int = 0  # tickets' cards in the support channel


class World:
    """The sandbox, the bot in its child process, and the people acting in it."""

    def __init__(  # noqa: PLR0917
        self,
        sandbox: Sandbox,
        ids: list[int],
        workdir: Path,
        database: Database,
        size: Size,
        replicas: int = 1,
    ) -> None:
        self.sandbox = sandbox
        self.slack: SlackEmulator = sandbox.slack
        self.discord: DiscordEmulator = sandbox.discord
        self.ids = ids
        self.size = size
        self.database = database
        self.env = bot_env(sandbox, workdir)
        self.env.update(DATABASE_URL=database.url, LOG_LEVEL="WARNING")
        self.bot = BotProcess(self.env, workdir)
        self.bots = [self.bot]
        self.ports: list[int] = []  # each replica's /healthz port (replicas only)
        if replicas > 1:
            self.ports = [free_port() for _ in range(replicas)]
            self.bots = [
                BotProcess({**self.env, "HTTP_PORT": str(port)}, workdir, f"bot{n}")
                for n, port in enumerate(self.ports)
            ]
            self.bot = self.bots[0]
        self.ledger = Ledger()
        self.home: dict[int, str] = {}  # customer (and probe) -> their ticket's Slack thread
        self.notes: list[str] = []  # what a scenario did, in words, for the report
        self.starts = 0
        self.quiet = range(size.customers, size.customers + size.quiet)
        self.resolved = range(self.quiet.stop, self.quiet.stop + size.resolved)

    def write_policy(self) -> None:
        Path(self.env["THREADLINE_CONFIG"]).write_text(policy(self.size))

    # --- the bot ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the bot; return once discord.py's own session is ready (the resumed session
        of a process before, if any, closed) and Socket Mode is connected."""
        self.starts += 1
        self.bot.start()
        gateway = self.discord.gateway

        def up() -> bool:
            identified = gateway.count("identify") >= self.starts
            return identified and len(gateway.connections) == 1 and self.slack.connections >= 1

        await until(up, "the bot connected to both platforms", within=60)

    def kill(self) -> float:
        at = time.time()
        self.bot.kill()
        return at

    def stop(self) -> None:
        for bot in self.bots:
            bot.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {bot.name} ---\n{bot.logs()}" for bot in self.bots)

    # --- replicas -----------------------------------------------------------------------

    async def start_replicas(self) -> None:
        """Start every replica; return once one holds the gateway and all are on Socket Mode
        and answer /healthz."""
        for bot in self.bots:
            bot.start()
        await self.replicas_up()

    async def replicas_up(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while True:
            states = await self.discord_states()
            running = sum(bot.running for bot in self.bots)
            one = len(self.discord.gateway.connections) == 1 and states.count("connected") == 1
            if one and None not in states and self.slack.connections >= running:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for the replicas: {states}")
            await asyncio.sleep(0.1)

    async def discord_states(self) -> list[str | None]:
        """What each replica's /healthz says of Discord (None: not answering)."""
        return list(await asyncio.gather(*(health(port) for port in self.ports)))

    async def holder(self) -> int | None:
        """The replica on Discord's gateway, if one is."""
        states = await self.discord_states()
        return states.index("connected") if "connected" in states else None

    # --- people -------------------------------------------------------------------------

    async def customer_writes(self, customer: int) -> None:
        token = self.ledger.next(customer, "m", time.time())
        await self.discord.user(self.ids[customer]).send_dm(f"hello, still waiting {mark(token)}")

    async def agent_replies(self, customer: int) -> None:
        token = self.ledger.next(customer, "r", time.time())
        agent = self.slack.user(AGENTS[token[2] % len(AGENTS)])
        await agent.post(
            SLACK.support, f"We are on it {mark(token)}", thread_ts=self.home[customer]
        )

    async def open_tickets(self) -> None:
        """Every traffic customer and probe writes once; each ticket gets its first answer
        (the first-response target met), and the resolved probes are resolved. Returns once
        all of it has reached the other side."""
        for customer in range(self.size.customers):
            await self.customer_writes(customer)
        for probe in (*self.quiet, *self.resolved):
            await self.discord.user(self.ids[probe]).send_dm(f"Is anyone there? probe{probe}")
        await until(self._homes_known, "a Slack thread for every ticket", within=60)
        for customer in range(self.size.customers):
            await self.agent_replies(customer)
        for probe in self.resolved:
            await self._resolve(probe)

        def answered() -> bool:
            shown = self.read()
            replies = {c.token for c in shown.dms}
            resolved = all(any(RESOLVED in m for m in self.bot_dms(p)) for p in self.resolved)
            return resolved and all(t in replies for t in self.ledger.of_kind("r"))

        await until(answered, "every ticket answered or resolved", within=60)

    async def _resolve(self, probe: int) -> None:
        agent = self.slack.user(SLACK.agent1)
        await agent.click(SLACK.support, self.home[probe], "Resolve")
        await self.slack.wait_for(lambda: agent.modal is not None, timeout=10)
        await agent.submit({})

    def _homes_known(self) -> bool:
        for root in self.roots():
            for post in self.slack.thread(SLACK.support, root.ts):
                for customer, kind, number in tokens(post.text):
                    if (kind, number) == ("m", 1):
                        self.home.setdefault(customer, root.ts)
                for probe in PROBE.findall(post.text):
                    self.home.setdefault(int(probe), root.ts)
        return len(self.home) == self.size.customers + self.size.quiet + self.size.resolved

    async def traffic(self, rng: random.Random) -> None:
        """The rest of the messages each way, at the steady rate, on random tickets."""
        count = self.size.messages - self.size.customers

        async def customers() -> None:
            await steady(count, self.size.rate, lambda: self.customer_writes(pick()))

        async def agents() -> None:
            await steady(count, self.size.rate, lambda: self.agent_replies(pick()))

        def pick() -> int:
            return rng.randrange(self.size.customers)

        await asyncio.gather(customers(), agents())

    # --- what each side shows -----------------------------------------------------------

    def roots(self) -> list[SlackMessage]:
        """The tickets' cards (a reminder broadcast to the channel is not one)."""
        return [
            m
            for m in self.slack.messages(SLACK.support)
            if m.subtype != "thread_broadcast" and m.thread_ts in (None, m.ts)
        ]

    def bot_dms(self, customer: int) -> list[str]:
        bot_id = self.discord.bot_id
        messages = self.discord.user(self.ids[customer]).dm_messages()
        return [m.content for m in messages if m.author_id == bot_id]

    def read(self) -> Shown:
        shown = Shown()
        quiet = {self.home.get(p): p for p in self.quiet}
        roots = self.roots()
        shown.cards = len(roots)
        for root in roots:
            probe = quiet.get(root.ts)
            for post in self.slack.thread(SLACK.support, root.ts):
                at = float(post.ts)
                shown.slack += [Copy(t, root.ts, at) for t in tokens(post.text) if t[1] == "m"]
                if probe is not None:
                    shown.reminders[probe] = shown.reminders.get(probe, 0) + (REMINDER in post.text)
                    shown.breaches[probe] = shown.breaches.get(probe, 0) + (BREACH in post.text)
        bot_id = self.discord.bot_id
        for customer in range(self.size.customers):
            for message in self.discord.user(self.ids[customer]).dm_messages():
                if message.author_id != bot_id or message.created_at is None:
                    continue
                at = message.created_at.timestamp()
                found = [t for t in tokens(message.content) if t[1] == "r"]
                shown.dms += [Copy(t, f"dm{customer}", at) for t in found]
        for probe in self.resolved:
            shown.surveys[probe] = sum(SURVEY in m for m in self.bot_dms(probe))
        shown.leads_breaches = sum(
            "SLA breached" in m.text for m in self.slack.messages(SLACK.leads)
        )
        return shown

    def complete(self, shown: Shown) -> bool:
        """Everything that must arrive has, at least once."""
        slack = {c.token for c in shown.slack}
        dms = {c.token for c in shown.dms}
        return (
            all(t in slack for t in self.ledger.of_kind("m"))
            and all(t in dms for t in self.ledger.of_kind("r"))
            and all(shown.breaches.get(p, 0) >= 1 for p in self.quiet)
            and all(shown.surveys.get(p, 0) >= 1 for p in self.resolved)
            and shown.leads_breaches >= len(self.quiet)
        )

    async def drained(self) -> bool:
        """Wait (bounded) until everything arrived and nothing is left in the bot's outbox;
        False if the bound passed first."""
        deadline = time.monotonic() + self.size.drain_within
        while time.monotonic() < deadline:
            outbox = await self.database.outbox()
            if outbox is not None and outbox.get("pending", 0) == 0 and self.complete(self.read()):
                return True
            await asyncio.sleep(0.5)
        return False

    def homes(self) -> tuple[dict[int, str], dict[int, str]]:
        """Where each customer's messages belong (their thread) and their replies (their DMs)."""
        threads = {c: self.home[c] for c in range(self.size.customers)}
        return threads, {c: f"dm{c}" for c in range(self.size.customers)}

    async def floor(self, calls: int = 40) -> tuple[float, float]:
        """The loopback floor: p50 of one emulator round trip (Slack auth.test, Discord
        GET /users/@me), in ms, measured now."""
        async with aiohttp.ClientSession() as session:

            async def timed(go: Callable[[], Awaitable[object]]) -> float:
                spent = []
                for _ in range(calls):
                    started = time.perf_counter()
                    await go()
                    spent.append((time.perf_counter() - started) * 1000)
                return percentile(spent, 0.5)

            async def slack() -> object:
                headers = {"Authorization": f"Bearer {self.slack.bot_token}"}
                async with session.post(self.slack.api_url + "auth.test", headers=headers) as r:
                    return await r.read()

            async def discord() -> object:
                headers = {"Authorization": f"Bot {self.discord.token}"}
                async with session.get(self.discord.api_url + "/users/@me", headers=headers) as r:
                    return await r.read()

            return await timed(slack), await timed(discord)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


async def health(port: int) -> str | None:
    """Discord's state in a bot's /healthz, or None when it does not answer."""
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://{HOST}:{port}/healthz"
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                found = json.loads(await response.text())
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    return str(found.get("discord"))


def mark(token: Token) -> str:
    customer, kind, number = token
    return f"c{customer}-{kind}{number}"


async def steady(count: int, rate: float, act: Callable[[], Awaitable[None]]) -> None:
    """`count` actions at `rate` a second, on a fixed schedule (a slow one is not made up by
    a burst beyond the schedule)."""
    started = time.perf_counter()
    for n in range(count):
        await act()
        await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.perf_counter()))


async def until(check: Callable[[], bool], what: str, within: float) -> None:
    """Poll `check` (it reads the emulators) until true; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@asynccontextmanager
async def world(
    workdir: Path, database: Database, size: Size, replicas: int = 1
) -> AsyncIterator[World]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(name, None)  # slack_sdk would send loopback calls through a proxy
    # Slack's own ack timeout, its retries sooner than Slack's (a minute, then five) so that a
    # run stays short: an event the bot never acknowledges is still given up after three.
    timing = replace(Timing.fast(), ack_timeout=3.0, retry_delays=(0.0, 1.0, 5.0))
    slack = SlackEmulator(demo_workspace(), host=HOST, timing=timing)
    discord, ids = seed(size.customers + size.quiet + size.resolved)
    async with slack, discord:
        here = World(Sandbox(slack, discord), ids, workdir, database, size, replicas)
        try:
            yield here
        finally:
            here.stop()
