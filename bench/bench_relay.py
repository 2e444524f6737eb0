"""Benchmark: relay latency, measured from outside the bot, in both directions.

    .venv/bin/python bench/bench_relay.py [--rate 50] [--tickets 100] [--seconds 10] [--pg]

The real `threadline run`, in a child process of its own (as it runs in production, with Slack
and Discord on other machines), between the two emulators in this process, limits off and
nothing paced. Once a ticket is open for each of `--tickets` customers:

  - customers write DMs at `--rate` a second, spread over the tickets; a message's latency runs
    from the moment it is written to the moment its post reaches the ticket's Slack thread
    (the emulator's log of the chat.postMessage call);
  - then an agent replies in the tickets' threads at the same rate; a reply's latency runs from
    its post in Slack to the moment the DM reaches the customer (the emulator's log of the
    message's creation);
  - then the customers answer at the same rate, measured as their first DMs were. A ticket's
    first answer starts its next-response clock: its card shows a new due time, which the
    first DMs (all on tickets awaiting their first response) never did.

Each message crosses both platforms once, so the loopback floor of a direction is one Discord
round trip plus one Slack round trip (GET /users/@me, auth.test), measured in the same run at
the same rate. What the bot adds is the latency less that floor. Every message is stored before
it is acknowledged or sent. Goals (issue: relay latency): the bot adds at most p50 2.5 ms and
p99 6 ms on SQLite, p50 5 ms and p99 12 ms on PostgreSQL (`--pg`: a throwaway database on the
server at 127.0.0.1:5432). Exits 1 when a goal is missed or a message is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from chaos_postgres import SharedServer  # beside this script
from figures import Steal, percentile

from integrations.sandbox.discord import DiscordEmulator, demo_world
from integrations.sandbox.discord.seed import DiscordSeed, SeedUser
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import SlackEmulator, demo_workspace
from tests.loop.bot_process import BotProcess, bot_env

FIRST_CUSTOMER = 4_000_000_000_000_000_000
STARTED = "Threadline is running"
GOALS = {"SQLite": (2.5, 6.0), "PostgreSQL": (5.0, 12.0)}  # the bot adds, p50 and p99, in ms


def world(customers: int) -> DiscordSeed:
    seed = demo_world()
    users = tuple(SeedUser(FIRST_CUSTOMER + i, f"c{i}", f"Customer {i}") for i in range(customers))
    guild = replace(seed.guilds[0], member_ids=(*seed.guilds[0].member_ids, *(u.id for u in users)))
    return replace(seed, users=(*seed.users, *users), guilds=(guild,))


async def at_rate(rate: float, count: int, act: Callable[[int], Awaitable[None]]) -> list[float]:
    """Run `act(i)` for i in range(count) at `rate` a second; when each began."""
    began, sent, tasks = time.perf_counter(), [], []
    for i in range(count):
        sent.append(time.time())
        tasks.append(asyncio.create_task(act(i)))
        await asyncio.sleep(max(0.0, began + (i + 1) / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    return sent


async def until(check: Callable[[], bool], what: str, within: float) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        await asyncio.sleep(0.1)


async def floor(box: Sandbox, rate: float, calls: int = 60) -> float:
    """p50 of one Discord round trip plus p50 of one Slack round trip, at `rate`, in ms."""
    async with aiohttp.ClientSession() as session:
        slack_url = f"{box.slack.api_url.rstrip('/')}/auth.test"
        discord_url = f"{box.discord.api_url.rstrip('/')}/users/@me"
        slack_auth = {"Authorization": f"Bearer {box.slack.bot_token}"}
        discord_auth = {"Authorization": f"Bot {box.discord.token}"}

        async def timed(url: str, headers: dict[str, str], post: bool) -> float:
            began = time.perf_counter()
            request = session.post if post else session.get
            async with request(url, headers=headers) as response:
                await response.read()
            return (time.perf_counter() - began) * 1000

        slack, discord = [], []
        for _ in range(calls):
            slack.append(await timed(slack_url, slack_auth, True))
            discord.append(await timed(discord_url, discord_auth, False))
            await asyncio.sleep(1 / rate)
    return statistics.median(slack) + statistics.median(discord)


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database = SharedServer("terminate") if args.pg else None
        if database is not None:
            await database.create()
        try:
            async with (
                SlackEmulator(demo_workspace()) as slack,
                DiscordEmulator(world(args.tickets)) as discord,
            ):
                box = Sandbox(slack, discord)
                env = bot_env(box, workdir)
                env["LOG_LEVEL"] = "WARNING"
                if database is not None:
                    env["DATABASE_URL"] = database.url
                bot = BotProcess(env, workdir)
                bot.start()
                try:
                    # Started as its log says (its start-up ends with a full garbage collection,
                    # which must not fall in the measured minute).
                    await until(lambda: STARTED in bot.logs(), "the bot to start", within=60)
                    return await measure(args, box, "PostgreSQL" if args.pg else "SQLite")
                except SystemExit:
                    print(f"the bot's log, last lines:\n{bot.logs()[-4000:]}", file=sys.stderr)
                    raise
                finally:
                    bot.stop()
        finally:
            if database is not None:
                await database.close()


async def measure(args: argparse.Namespace, box: Sandbox, label: str) -> int:
    slack, discord = box.slack, box.discord
    # Identified, not only connected: Discord sends a session nothing before it identifies, so
    # a DM written in between never reaches the bot (nor would it from Discord itself).
    gateway = discord.gateway
    await until(
        lambda: (
            gateway.count("identify") >= 1
            and len(gateway.connections) == 1
            and slack.connections >= 1
        ),
        "the bot to connect",
        within=60,
    )
    threads = await open_tickets(box, args.tickets)
    # The emulators stand in for Slack's and Discord's servers: a full collection of this
    # process's heap (theirs, the cards and messages so far) is no time the bot adds.
    gc.collect()
    gc.freeze()
    count = int(args.rate * args.seconds)
    steal = Steal()

    async def dm(i: int) -> None:
        await discord.user(FIRST_CUSTOMER + i % args.tickets).send_dm(f"dm {i}")

    sent = await at_rate(args.rate, count, dm)
    await until(lambda: len(slack_arrivals(box)) >= count, "the DMs in Slack", within=120)
    arrived = slack_arrivals(box)
    inbound = latencies(sent, arrived)

    agent = slack.user(SLACK.agent1)

    async def reply(i: int) -> None:
        await agent.post(SLACK.support, f"reply {i}", thread_ts=threads[i % args.tickets])

    sent = await at_rate(args.rate, count, reply)
    await until(
        lambda: len(dm_arrivals(box, args.tickets)) >= count, "the replies in DMs", within=120
    )
    delivered = dm_arrivals(box, args.tickets)
    outbound = latencies(sent, delivered)

    # Customers answering the replies: each ticket's first answer starts its next-response
    # clock, so its card shows a new due time, drawn again in the same lane as the message.
    async def follow_up(i: int) -> None:
        await discord.user(FIRST_CUSTOMER + i % args.tickets).send_dm(f"dm {count + i}")

    sent = await at_rate(args.rate, count, follow_up)
    await until(lambda: len(slack_arrivals(box)) >= 2 * count, "the answers in Slack", within=120)
    arrived = slack_arrivals(box)
    answers = latencies(sent, arrived, first=count)
    floor_ms = await floor(box, args.rate)

    goal50, goal99 = GOALS[label]
    print(f"{count} messages each way at {args.rate}/s over {args.tickets} tickets ({label})")
    print(f"  loopback floor (a Discord and a Slack round trip)  p50 {floor_ms:6.2f} ms")
    stolen = steal.share()
    if stolen is not None:
        print(f"  processor time the hypervisor gave elsewhere meanwhile (steal): {stolen:.0%}")
    met = True
    for name, values in (
        ("DM -> Slack thread", inbound),
        ("Slack reply -> DM", outbound),
        ("Answer DM -> Slack", answers),
    ):
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        add50, add99 = p50 - floor_ms, p99 - floor_ms
        lost = count - len(values)
        ok = add50 <= goal50 and add99 <= goal99 and lost == 0
        met = met and ok
        print(
            f"  {name:19} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  the bot adds p50 {add50:6.2f}"
            f" / p99 {add99:6.2f} ms (goal {goal50} / {goal99})  lost {lost}"
            f"  {'met' if ok else 'MISSED'}"
        )
    return 0 if met else 1


async def open_tickets(box: Sandbox, count: int) -> dict[int, str]:
    """A ticket for each customer; each one's Slack thread, once its first message is in it."""
    for i in range(count):
        await box.discord.user(FIRST_CUSTOMER + i).send_dm(f"ticket of customer {i}")

    def opened() -> dict[int, str]:
        found = {}
        for message in box.slack.messages(SLACK.support):
            for i in range(count):
                text = message.text
                if f"ticket of customer {i}" in text and text.endswith(f" {i}"):
                    found[i] = message.ts
        return found

    def first_posted() -> int:
        calls = box.slack.calls_to("chat.postMessage")
        return sum(1 for c in calls if c.ok and str(c.args.get("text", "")).startswith("ticket of"))

    await until(lambda: first_posted() >= count, "the tickets to open", within=60 + count)
    threads = opened()
    if len(threads) < count:
        raise SystemExit(f"only {len(threads)} of {count} ticket cards found")
    return threads


def latencies(sent: list[float], arrived: dict[int, float], first: int = 0) -> list[float]:
    """Each arrived message's latency in ms; message `first + i` was sent at `sent[i]`."""
    return [(arrived[first + i] - at) * 1000 for i, at in enumerate(sent) if first + i in arrived]


def slack_arrivals(box: Sandbox) -> dict[int, float]:
    found: dict[int, float] = {}
    for call in box.slack.calls_to("chat.postMessage"):
        text = str(call.args.get("text", ""))
        if text.startswith("dm ") and call.ok:
            found.setdefault(int(text[3:]), call.at)
    return found


def dm_arrivals(box: Sandbox, customers: int) -> dict[int, float]:
    found: dict[int, float] = {}
    for i in range(customers):
        for message in box.discord.user(FIRST_CUSTOMER + i).dm_messages():
            if " reply " in f" {message.content}" and message.created_at is not None:
                tail = message.content.rsplit(" ", 1)[-1]
                if tail.isdigit():
                    found.setdefault(int(tail), message.created_at.timestamp())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL at 127.0.0.1:5432")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
