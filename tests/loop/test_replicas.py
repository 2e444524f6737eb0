"""Two replicas of the real `threadline run` on one PostgreSQL database.

Both connect Slack's Socket Mode (the emulator spreads events over the connections, so an agent's
consecutive replies in one thread reach different replicas) and both send deliveries, but only
the one holding the gateway lease is on Discord's gateway; the other reports "standby". The
holder is killed with kill -9 while customers and agents go on writing: the standby takes the
gateway over within seconds, resuming the dead one's session so Discord replays what it missed.
At the end every customer message is in its ticket's Slack thread once, every reply in the
customer's DMs once, each in the order it was written.

Then, in this process, two bots on one database: an agent's first reply held up in one replica
while the second is taken by the other still reaches the customer first.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.core.domain import TicketNumber
from bot.core.events import AgentMessage
from integrations.sandbox.discord import DiscordEmulator, demo_world
from integrations.sandbox.discord.seed import SeedUser
from integrations.sandbox.launch import HOST, Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import SlackEmulator, Timing, demo_workspace
from integrations.slack import in_doubt
from tests.loop.bot_process import BotProcess, bot_env
from tests.loop.loop_support import ALICE, cards, running
from tests.support import eventually

pytestmark = pytest.mark.e2e

# The server the storage tests use (tests/conftest.py); each test makes a database of its own.
SERVER = make_url(
    os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
)
CUSTOMERS = 6
FIRST_ID = 1400000000000000000
TOKEN = re.compile(r"\bc(\d+)-([mr])(\d+)\b")
TAKEOVER_WITHIN = 15.0  # seconds from the kill to the standby on the gateway


@asynccontextmanager
async def _database() -> AsyncIterator[str]:
    """A throwaway database on the PostgreSQL server the storage tests use."""
    dsn = SERVER.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL is unreachable: {exc}"
        if os.environ.get("CI") or os.environ.get("THREADLINE_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    name = f"tl_replicas_{uuid.uuid4().hex[:10]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield SERVER.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def _sandbox() -> AsyncIterator[tuple[Sandbox, list[int]]]:
    seed = demo_world()
    extra = [SeedUser(FIRST_ID + i, f"customer{i}", f"Customer {i}") for i in range(CUSTOMERS)]
    guild = seed.guilds[0]
    guild = replace(guild, member_ids=(*guild.member_ids, *(u.id for u in extra)))
    seed = replace(seed, guilds=(guild,), users=(*seed.users, *extra))
    slack = SlackEmulator(demo_workspace(), host=HOST, timing=Timing.fast())
    discord = DiscordEmulator(seed, host=HOST)
    async with slack, discord:
        yield Sandbox(slack, discord), [u.id for u in extra]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


async def _health(port: int) -> dict[str, object]:
    url = f"http://{HOST}:{port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        found: dict[str, object] = json.loads(await response.text())
        return found


class People:
    """Customers writing DMs, agents answering in the tickets' threads, and what each side
    shows of them."""

    def __init__(self, sandbox: Sandbox, ids: list[int]) -> None:
        self.sandbox = sandbox
        self.ids = ids
        self.sent: dict[tuple[int, str], list[int]] = {}
        self.home: dict[int, str] = {}  # customer -> their ticket's Slack thread

    def _next(self, customer: int, kind: str) -> str:
        numbers = self.sent.setdefault((customer, kind), [])
        numbers.append(len(numbers) + 1)
        return f"c{customer}-{kind}{numbers[-1]}"

    async def customer_writes(self, customer: int) -> None:
        text = f"still waiting {self._next(customer, 'm')}"
        await self.sandbox.discord.user(self.ids[customer]).send_dm(text)

    async def agents_reply(self, customer: int) -> None:
        """Two replies at once, by two agents: Slack hands them to different replicas."""
        for agent in (SLACK.agent1, SLACK.agent2):
            text = f"on it {self._next(customer, 'r')}"
            await self.sandbox.slack.user(agent).post(
                SLACK.support, text, thread_ts=self.home[customer]
            )

    def in_slack(self) -> dict[int, list[int]]:
        seen: dict[int, list[int]] = {}
        for root in self.sandbox.slack.messages(SLACK.support):
            for post in self.sandbox.slack.thread(SLACK.support, root.ts):
                for customer, kind, number in TOKEN.findall(post.text):
                    if kind == "m":
                        seen.setdefault(int(customer), []).append(int(number))
                        if number == "1":
                            self.home.setdefault(int(customer), root.ts)
        return seen

    def in_dms(self) -> dict[int, list[int]]:
        bot = self.sandbox.discord.bot_id
        seen: dict[int, list[int]] = {}
        for customer, user_id in enumerate(self.ids):
            for message in self.sandbox.discord.user(user_id).dm_messages():
                if message.author_id == bot:
                    for _, kind, number in TOKEN.findall(message.content):
                        if kind == "r":
                            seen.setdefault(customer, []).append(int(number))
        return seen

    def all_there(self) -> bool:
        slack, dms = self.in_slack(), self.in_dms()
        return all(
            sorted(set(slack.get(c, []))) == self.sent.get((c, "m"), [])
            and sorted(set(dms.get(c, []))) == self.sent.get((c, "r"), [])
            for c in range(len(self.ids))
        )


async def test_two_replicas_hold_one_gateway_and_the_standby_takes_over_after_kill_nine(
    tmp_path: Path,
) -> None:
    async with _database() as url, _sandbox() as (sandbox, ids):
        env = bot_env(sandbox, tmp_path)
        env.update(DATABASE_URL=url)
        ports = {"a": _free_port(), "b": _free_port()}
        a = BotProcess({**env, "HTTP_PORT": str(ports["a"])}, tmp_path, "a")
        b = BotProcess({**env, "HTTP_PORT": str(ports["b"])}, tmp_path, "b")
        gateway, slack = sandbox.discord.gateway, sandbox.slack
        people = People(sandbox, ids)

        async def both_written(customers: range) -> None:
            for customer in customers:
                await people.customer_writes(customer)
                await people.agents_reply(customer)
                await asyncio.sleep(0.05)

        try:

            async def discord_is(bot: str, state: str) -> bool:
                try:
                    return (await _health(ports[bot])).get("discord") == state
                except aiohttp.ClientError:
                    return False

            a.start()

            async def a_up() -> bool:
                return slack.connections >= 1 and await discord_is("a", "connected")

            await eventually(a_up, what="replica a on both platforms", within=60)
            b.start()

            async def b_up() -> bool:
                return slack.connections >= 2

            await eventually(b_up, what="replica b on Socket Mode", within=60)

            async def b_standby() -> bool:
                return await discord_is("b", "standby")

            await eventually(b_standby, what="replica b on standby", within=30)
            assert (await _health(ports["b"]))["ready"] is True
            assert len(gateway.connections) == 1
            assert gateway.count("identify") == 1

            for customer in range(CUSTOMERS):
                await people.customer_writes(customer)

            async def homes() -> bool:
                people.in_slack()
                return len(people.home) == CUSTOMERS

            await eventually(homes, what="a Slack thread for every ticket", within=30)
            await both_written(range(CUSTOMERS))

            a.kill()  # the holder, while both sides go on writing
            killed = time.monotonic()
            await both_written(range(CUSTOMERS))

            async def taken_over() -> bool:
                return gateway.count("identify") >= 2 and len(gateway.connections) == 1

            await eventually(taken_over, what="replica b on the gateway", within=30)
            took = time.monotonic() - killed
            assert took < TAKEOVER_WITHIN, f"the takeover took {took:.1f} s"
            assert gateway.count("resume") >= 1  # the dead holder's session, resumed
            await both_written(range(CUSTOMERS))
            a.start()  # back as the standby

            async def everything() -> bool:
                return people.all_there()

            await eventually(everything, what="every message on the other side", within=45)

            async def a_standby() -> bool:
                return await discord_is("a", "standby")

            await eventually(a_standby, what="replica a back, on standby", within=30)
            await asyncio.sleep(1.0)  # a late double would show now
        except BaseException:
            for bot in (a, b):
                bot.stop()
                print(f"--- {bot.name} ---\n{bot.logs()[-15000:]}")
            raise
        a.stop()
        b.stop()

    slack_seen, dms_seen = people.in_slack(), people.in_dms()
    for customer in range(CUSTOMERS):
        assert slack_seen[customer] == people.sent[customer, "m"], f"customer {customer}"
        assert dms_seen[customer] == people.sent[customer, "r"], f"customer {customer}"
    assert gateway.count("identify") == 2  # a's first start, b's takeover; a came back on standby
    logs = a.logs() + b.logs()
    assert "Traceback" not in logs, logs[-20000:]


# --- an agent's consecutive replies taken by two replicas -------------------------------------


async def test_replies_taken_by_two_replicas_reach_the_customer_in_thread_order(
    sandbox: Sandbox, settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack hands an agent's first reply to one replica and the second to the other. The
    first is held up in its replica (a slow database, a pause) while the second is processed:
    the second replica reads the thread, relays the first ahead of it, and the customer reads
    them in the order they were written, once each."""
    # No doubt after the start (that is for a lone process's restart): only being one of
    # several replicas keeps the desk looking.
    monkeypatch.setattr(in_doubt, "DOUBT_SECONDS", 0.0)
    hub = sandbox.slack.hub
    alice = sandbox.discord.user(ALICE)
    async with _database() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        async with running() as first, running() as second:
            assert len(hub.connections) == 2  # first's is [0], second's [1]
            to: list[int] = [0]  # which connection (replica) gets the next envelope
            monkeypatch.setattr(hub, "_pick", lambda: hub.connections[to[0]])
            assert first.service is not None
            assert second.discord is not None
            assert second.discord.standby
            await alice.send_dm("My order never came")
            [root] = await cards(sandbox)
            held, release, done = asyncio.Event(), asyncio.Event(), asyncio.Event()
            add = first.service.add_agent_message

            async def slow_first(number: TicketNumber, message: AgentMessage) -> object:
                if message.body != "first reply" or held.is_set():
                    return await add(number, message)
                held.set()
                await release.wait()
                try:
                    return await add(number, message)
                finally:
                    done.set()

            monkeypatch.setattr(first.service, "add_agent_message", slow_first)
            try:
                agent = sandbox.slack.user(SLACK.agent1)
                await agent.post(SLACK.support, "first reply", thread_ts=root.ts)
                await eventually(_true_of(held.is_set), what="the first reply held up")
                to[0] = 1
                await agent.post(SLACK.support, "second reply", thread_ts=root.ts)

                def replies() -> list[str]:
                    said = [m.content for m in alice.dm_messages() if m.author_id != ALICE]
                    written = ("first reply", "second reply")
                    return [reply for text in said for reply in written if text.endswith(reply)]

                async def second_sent() -> bool:
                    return "second reply" in replies()

                await eventually(second_sent, what="the second reply sent", within=10)
                release.set()  # the first replica's own attempt now finds the reply recorded
                await eventually(_true_of(done.is_set), what="the first replica's own attempt")
                assert replies() == ["first reply", "second reply"]
            finally:
                release.set()  # never left holding the first replica's event


def _true_of(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def checked() -> bool:
        return check()

    return checked
