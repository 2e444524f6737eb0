"""The promise under kill -9 with agents in Discord: the real `threadline run`, killed without
warning and restarted while customers write and agents answer and note in the staff forum.

Slack and the Discord staff forum at once: every customer message is in its ticket's Slack
thread and forum post once; every agent's reply reaches the customer once and is mirrored into
Slack once; no note ever reaches the customer; each ticket has one card in each workspace. The
bot's outbox is read from its database to know when nothing is left to send (a send cut off by a
kill is taken again when its lease runs out, 20 s later), and so whether a send was doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integrations.sandbox.discord import DiscordEmulator
from integrations.sandbox.discord import Message as DiscordMessage
from integrations.sandbox.launch import HOST, Sandbox
from integrations.sandbox.slack import DEMO as SLACK_DEMO
from integrations.sandbox.slack import SlackEmulator, Timing, demo_workspace
from tests.loop.bot_process import BotProcess, bot_env
from tests.loop.kill_staff_support import (
    Token,
    deliveries,
    in_dms,
    in_forum,
    in_slack,
    recorded,
    staff_world_with,
    tokens,
)
from tests.loop.staff_support import FORUM, LEE, SAM, posts, shown, until
from tests.support import eventually

pytestmark = pytest.mark.e2e

CUSTOMERS = 5
KILLS = 3
CUSTOMER_RATE = 8.0  # customer messages a second, all customers together
STAFF_RATE = 8.0  # agents' messages a second while they write


@dataclass
class Said:
    """Everything people wrote, by token."""

    customer: list[Token] = field(default_factory=list)
    replies: list[Token] = field(default_factory=list)
    notes: list[Token] = field(default_factory=list)
    counts: Counter[tuple[int, str]] = field(default_factory=Counter)

    def next(self, customer: int, kind: str) -> Token:
        self.counts[customer, kind] += 1
        token = (customer, kind, self.counts[customer, kind])
        {"m": self.customer, "r": self.replies, "n": self.notes}[kind].append(token)
        return token


def text_of(token: Token) -> str:
    customer, kind, number = token
    mark = f"c{customer}-{kind}{number}"
    return {
        "m": f"hello, still waiting {mark}",
        "r": f"We are on it {mark}",
        "n": f";; checked the courier {mark}",
    }[kind]


class World:
    """The sandbox, the bot in its child process, and the people acting in it."""

    def __init__(self, sandbox: Sandbox, ids: list[int], workdir: Path) -> None:
        self.sandbox = sandbox
        self.discord: DiscordEmulator = sandbox.discord
        self.ids = ids
        env = bot_env(sandbox, workdir)
        # These customers write faster than people do: the flood limit (20 a minute) is
        # tested elsewhere and would refuse them here.
        Path(env["THREADLINE_CONFIG"]).write_text(
            "[slack]\nposts_per_second = 0\n[customers]\nmessages_per_minute = 1000\n"
            # What a killed process had in flight is taken up after 3 s, not 20.
            '[delivery]\nlease = "3s"\n'
        )
        self.bot = BotProcess(env, workdir)
        self.database = workdir / "kill.db"
        self.said = Said()
        self.post_of: dict[int, int] = {}
        self.starts = 0
        self.kills: list[datetime] = []

    def kill(self) -> None:
        self.kills.append(datetime.now(UTC))
        self.bot.kill()

    async def start(self) -> None:
        """Start the bot and wait until discord.py's own session is ready and the resumed
        session of the process before (if any) is closed: only from then on are messages in
        the forum taken live."""
        self.starts += 1
        self.bot.start()
        gateway = self.discord.gateway

        async def up() -> bool:
            return gateway.count("identify") >= self.starts and len(gateway.connections) == 1

        await eventually(up, what="the bot on Discord's gateway", within=60)

    async def customer_writes(self, customer: int) -> None:
        text = text_of(self.said.next(customer, "m"))
        await self.discord.user(self.ids[customer]).send_dm(text)

    async def agent_writes(self, customer: int, kind: str) -> None:
        """Sam answers ("r"), Lee notes ("n"), in the customer's ticket's forum post."""
        text = text_of(self.said.next(customer, kind))
        await self.discord.user(SAM if kind == "r" else LEE).send(self.post_of[customer], text)

    async def every_post(self, customers: int = CUSTOMERS) -> None:
        """Wait for the forum posts of the first `customers` customers (each known by the
        first message shown in it)."""

        async def found() -> bool:
            for post, seen in in_forum(self.sandbox).items():
                for customer, _, _ in seen:
                    self.post_of[customer] = post
            return len(self.post_of) == customers

        await eventually(found, what="a forum post for every ticket", within=20)

    async def agents_recorded(self) -> None:
        """Wait until the bot has recorded every agent's message written so far."""
        wanted = set(self.said.replies + self.said.notes)

        async def there() -> bool:
            kept = recorded(self.database, "agent")
            return wanted <= {t for _, body, _ in kept for t in tokens(body)}

        await eventually(there, what="every agent's message recorded", within=20)

    async def settled(self) -> None:
        """Wait until everything is where it belongs and nothing is left in the outbox."""

        async def done() -> bool:
            return not self.missing() and deliveries(self.database).get("pending", 0) == 0

        try:
            await eventually(done, what="everything delivered", within=60)
        except AssertionError:
            raise AssertionError(f"{self.missing()}; outbox: {deliveries(self.database)}") from None

    def missing(self) -> str:
        forum = merged(in_forum(self.sandbox).values())
        slack = merged(in_slack(self.sandbox).values())
        dms = merged(in_dms(self.sandbox, i) for i in self.ids)
        said = self.said
        lost = {
            "not in the forum": [t for t in said.customer if not forum[t]],
            "not in Slack": [t for t in said.customer + said.replies + said.notes if not slack[t]],
            "replies not sent": [t for t in said.replies if not dms[t]],
        }
        return "; ".join(f"{what}: {tokens}" for what, tokens in lost.items() if tokens)


@asynccontextmanager
async def world(workdir: Path) -> AsyncIterator[World]:
    slack = SlackEmulator(demo_workspace(), host=HOST, timing=Timing.fast())
    discord, ids = staff_world_with(CUSTOMERS)
    async with slack, discord:
        here = World(Sandbox(slack, discord, staff=True), ids, workdir)
        try:
            yield here
        except BaseException:
            here.bot.stop()
            print(here.bot.logs()[-20000:])
            raise
        here.bot.stop()


async def test_kill_nine_while_customers_write_and_agents_answer_in_the_forum(
    tmp_path: Path,
) -> None:
    """Killed at random moments while customers write (before, during and after each kill)
    and replies and notes are on their way: nothing lost, nothing twice, no note outside."""
    rng = random.Random(14_009)
    async with world(tmp_path) as here:
        await here.start()
        for customer in range(CUSTOMERS):
            await here.customer_writes(customer)
        await here.every_post()
        stop = asyncio.Event()

        async def customers() -> None:
            while not stop.is_set():
                await here.customer_writes(rng.randrange(CUSTOMERS))
                await asyncio.sleep(1 / CUSTOMER_RATE)

        async def agents(count: int) -> None:
            for _ in range(count):
                kind = rng.choices("rn", weights=(3, 2))[0]
                await here.agent_writes(rng.randrange(CUSTOMERS), kind)
                await asyncio.sleep(1 / STAFF_RATE)

        writing = asyncio.create_task(customers())
        try:
            for _ in range(KILLS):
                await agents(rng.randint(4, 10))
                # The kill lands among customers' messages and the replies' deliveries.
                await asyncio.sleep(rng.uniform(0.0, 0.6))
                here.kill()
                await asyncio.sleep(rng.uniform(0.3, 0.8))  # down: customers go on writing,
                await agents(rng.randint(1, 3))  # and agents too (replayed after the restart)
                await here.start()
            await agents(rng.randint(4, 10))
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await writing
        await here.settled()
        here.bot.stop()
        assert_each_once(here)
        assert deliveries(here.database).get("failed", 0) == 0
        assert "Traceback" not in here.bot.logs()


async def test_an_agents_reply_and_note_written_while_the_bot_is_down_are_replayed_as_such(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as here:
        await here.start()
        await here.customer_writes(0)
        await here.every_post(1)
        await here.agent_writes(0, "r")  # live: the baseline
        await here.agents_recorded()
        here.bot.kill()
        await here.agent_writes(0, "r")  # while it is down
        await here.agent_writes(0, "n")
        await here.customer_writes(0)
        await here.start()

        def kept(author_kind: str) -> dict[Token, str]:
            """What the bot recorded from this kind of author: each token's direction."""
            found = recorded(here.database, author_kind)
            return {t: direction for direction, body, _ in found for t in tokens(body)}

        async def all_recorded() -> bool:
            both = kept("agent") | kept("customer")
            return all(t in both for t in here.said.replies + here.said.notes) and (
                deliveries(here.database).get("pending", 0) == 0
            )

        await eventually(all_recorded, what="the messages recorded and sent", within=30)
        here.bot.stop()
        agents = kept("agent")
        reply, note = here.said.replies[1], here.said.notes[0]
        assert agents.get(reply) == "to_customer", f"the reply recorded as {kept('customer')}"
        assert agents.get(note) == "note", "the note recorded as an agent's note"
        assert len(posts(here.sandbox)) == 1, "a ticket opened for an agent"
        assert not here.discord.user(SAM).dm_messages(), "the agent was written to as a customer"
        _exactly_once("reply DM'd", here.said.replies, in_dms(here.sandbox, here.ids[0]))
        assert here.missing() == ""


@pytest.mark.parametrize(
    "moment",
    [
        "card",
        "copy",
        "reply",
    ],
)
async def test_a_post_discord_accepted_as_the_bot_was_killed_is_not_made_twice(
    tmp_path: Path, moment: str
) -> None:
    """The bot is killed at the very moment Discord makes one of its posts (the forum post of a
    new ticket, the copy of a customer's message in it, or an agent's reply in the customer's
    DMs), so that it never hears back: after a restart that post is there once."""
    async with world(tmp_path) as here:
        events, bot_id, forum = here.discord.events, here.discord.bot_id, FORUM
        world_ = here.discord.world
        original = events.message_created
        killed: list[int] = []

        def the_moment(message: DiscordMessage) -> bool:
            if message.author_id != bot_id or killed:
                return False
            where = world_.channels[message.channel_id]
            if moment == "card":
                return message.id == where.id and where.parent_id == forum
            mark = "c0-m2" if moment == "copy" else "c0-r1"
            return mark in shown(message) and (moment == "copy") == (where.parent_id == forum)

        def killing(message: DiscordMessage) -> None:
            original(message)
            if the_moment(message):
                killed.append(message.id)
                here.bot.kill()  # before Discord's answer leaves: the bot never hears of it

        events.message_created = killing  # type: ignore[method-assign]
        await here.start()
        await here.customer_writes(0)
        if moment != "card":
            await here.every_post(1)
            if moment == "copy":
                await here.customer_writes(0)
            else:
                await here.agent_writes(0, "r")
        await until(lambda: killed, "the bot killed as Discord makes its post")
        events.message_created = original  # type: ignore[method-assign]
        await here.start()
        if moment == "card":
            await here.every_post(1)
        await here.settled()
        here.bot.stop()
        assert len(posts(here.sandbox)) == 1, "the ticket's forum post made twice"
        forum_seen = merged(in_forum(here.sandbox).values())
        _exactly_once("customer message in the forum", here.said.customer, forum_seen)
        dms = in_dms(here.sandbox, here.ids[0])
        _exactly_once("reply DM'd", here.said.replies, dms)


def assert_each_once(here: World) -> None:
    sandbox, said, ids = here.sandbox, here.said, here.ids
    forum, slack = in_forum(sandbox), in_slack(sandbox)
    # One card per ticket in each workspace.
    assert len(posts(sandbox)) == len(ids)
    assert len(slack) == len(ids)
    # Each customer message once, in its own ticket's post and Slack thread.
    for post, seen in forum.items():
        customers = {c for c, _, _ in seen}
        assert len(customers) == 1, f"post {post} shows customers {customers}"
        assert here.post_of[customers.pop()] == post
    for ts, seen in slack.items():
        customers = {c for c, _, _ in seen}
        assert len(customers) == 1, f"Slack thread {ts} shows customers {customers}"
    forum_all, slack_all = merged(forum.values()), merged(slack.values())
    _exactly_once("customer message in the forum", said.customer, forum_all)
    _exactly_once("customer message in Slack", said.customer, slack_all)
    _exactly_once("agent's reply mirrored in Slack", said.replies, slack_all)
    _exactly_once("agent's note mirrored in Slack", said.notes, slack_all)
    # Agents' own lines in the forum are theirs: not copied there again.
    assert not [t for t in said.replies + said.notes if forum_all[t]]
    for index, customer_id in enumerate(ids):
        dms = in_dms(sandbox, customer_id)
        _exactly_once(f"reply DM'd to customer {index}", _of(said.replies, index), dms)
        assert not [t for t in dms if t[1] == "n"], f"a note reached customer {index}"
        assert not [t for t in dms if t[0] != index], f"customer {index} got another's reply"
    for agent in (SAM, LEE):
        assert not here.discord.user(agent).dm_messages(), "an agent written to as a customer"


SLACK_SUPPORT = SLACK_DEMO.support


def _of(tokens: list[Token], customer: int) -> list[Token]:
    return [t for t in tokens if t[0] == customer]


def _exactly_once(what: str, expected: list[Token], seen: Counter[Token]) -> None:
    wrong = {t: seen[t] for t in expected if seen[t] != 1}
    assert not wrong, f"{what}: not exactly once: {wrong}"


def merged(counters: Iterable[Counter[Token]]) -> Counter[Token]:
    total: Counter[Token] = Counter()
    for counter in counters:
        total.update(counter)
    return total
