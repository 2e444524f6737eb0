"""Benchmark: the whole loop, the real bot between both emulators.

Latency (default): `python bench/bench_loop.py [--rate 50] [--tickets 100] [--seconds 10]`
  - a customer's DM → its post in the ticket's Slack thread, and
  - an agent's thread reply → the customer's DM,
  each at `--rate` messages a second spread over `--tickets` open tickets, p50 and p99.
  Slack's and Discord's limits are off, and so is the bot's pacing: this measures the bot.

Burst: `python bench/bench_loop.py --burst 1000 --tickets 200 [--speedup 20] [--channels 4]`
  - `--burst` customer messages at once over `--tickets` open tickets, with Slack's real
    per-channel limit on (one post a second, bursts of three) and the bot pacing itself just
    under it (its default pacing);
    reports how long the backlog takes to drain and checks that none is lost or reordered
    within a ticket. `--speedup N` runs Slack's limit and the bot's pacing N times faster (the
    real drain time is then N times the measured one, which is printed too). `--channels 4`
    spreads the tickets over four support channels (SLACK_CHANNEL_ROUTES by priority: the
    tickets are given normal, urgent, high and low in turn, and their threads move), each with
    Slack's limit of its own. A ticket's messages that wait behind the pacing are posted
    together (one post, a section each: integrations/slack/grouped.py), so even one channel
    drains far faster than one post per message. The drain is compared with the floor of one
    channel (one post per message at its limit), against a goal of 0.3 of it with at most 10
    answers of 429, with one channel or several.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from figures import percentile  # beside this script

from bot.app import Bot, settle_heap
from bot.config import SlackPolicy, load_settings
from bot.core.domain import Action, Actor, Agent, AgentId, Priority
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.discord import DiscordEmulator, demo_world
from integrations.sandbox.discord.seed import DiscordSeed, SeedUser
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import SlackEmulator, demo_workspace
from integrations.sandbox.slack.limits import Rate
from integrations.sandbox.slack.seed import ChannelSeed, WorkspaceSeed

FIRST_CUSTOMER = 3_000_000_000_000_000_000
# Support channels by priority for `--channels`: the first is SLACK_SUPPORT_CHANNEL (normal).
SPREAD = (
    (Priority.NORMAL, SLACK.support),
    (Priority.URGENT, "CURGENT"),
    (Priority.HIGH, "CHIGH"),
    (Priority.LOW, "CLOW"),
)
GOAL = 0.3  # of one channel's floor
MOST_429 = 10


def world(customers: int) -> DiscordSeed:
    seed = demo_world()
    users = tuple(SeedUser(FIRST_CUSTOMER + i, f"c{i}", f"Customer {i}") for i in range(customers))
    guild = replace(seed.guilds[0], member_ids=(*seed.guilds[0].member_ids, *(u.id for u in users)))
    return replace(seed, users=(*seed.users, *users), guilds=(guild,))


def workspace(channels: int) -> WorkspaceSeed:
    """The demo workspace, with the extra support channels `--channels` spreads tickets over."""
    seed = demo_workspace()
    everyone = (SLACK.agent1, SLACK.agent2, SLACK.lead)
    extra = tuple(ChannelSeed(c, f"support-{p}", everyone) for p, c in SPREAD[1:channels])
    return replace(seed, channels=(*seed.channels, *extra))


def configure(folder: str, box: Sandbox, posts_per_second: float, channels: int = 1) -> None:
    policy = Path(folder) / "threadline.toml"
    policy.write_text(
        f"[slack]\nposts_per_second = {posts_per_second}\nburst = 3\n"
        "[customers]\nnew_tickets_per_hour = 100000\nmessages_per_minute = 100000\n"
    )
    os.environ.update(box.settings())
    os.environ.update(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{folder}/bench.db",
            "HTTP_PORT": "0",
            "THREADLINE_CONFIG": str(policy),
            "SLACK_AGENTS": SLACK.agent1,
            "LOG_LEVEL": "WARNING",
            "SLACK_CHANNEL_ROUTES": ",".join(f"{p}={c}" for p, c in SPREAD[1:channels]),
        }
    )


async def open_tickets(box: Sandbox, bot: Bot, count: int, within: float = 300) -> dict[int, str]:
    """One ticket per customer; returns each customer's thread ts in Slack once every card and
    every first message is posted (the queue is empty again), or fails after `within` seconds."""
    for i in range(count):
        await box.discord.user(FIRST_CUSTOMER + i).send_dm(f"ticket of customer {i}")
    assert bot.service is not None
    deadline = time.time() + within
    while _first_messages_posted(box) < count:
        if time.time() > deadline:
            raise SystemExit(f"only {_first_messages_posted(box)} of {count} tickets opened")
        await asyncio.sleep(0.2)
    threads: dict[int, str] = {}
    for message in box.slack.messages(SLACK.support):
        for i in range(count):
            if f"ticket of customer {i}" in message.text and message.text.endswith(f" {i}"):
                threads[i] = message.ts
    if len(threads) < count:
        raise SystemExit(f"only {len(threads)} of {count} ticket cards found")
    return threads


def _first_messages_posted(box: Sandbox) -> int:
    calls = box.slack.calls_to("chat.postMessage")
    return sum(1 for c in calls if c.ok and str(c.args.get("text", "")).startswith("ticket of"))


async def at_rate(rate: float, count: int, send: object) -> list[float]:
    assert callable(send)
    started = time.perf_counter()
    sent = []
    tasks = []
    for i in range(count):
        sent.append(time.time())
        tasks.append(asyncio.create_task(send(i)))
        await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    return sent


async def latency(args: argparse.Namespace, box: Sandbox, bot: Bot) -> None:
    threads = await open_tickets(box, bot, args.tickets)
    count = int(args.rate * args.seconds)

    async def dm(i: int) -> None:
        await box.discord.user(FIRST_CUSTOMER + i % args.tickets).send_dm(f"dm {i}")

    sent = await at_rate(args.rate, count, dm)
    arrived = await wait_for(lambda: _slack_arrivals(box, count), count)
    inbound = [(arrived[i] - sent[i]) * 1000 for i in arrived]

    agent = box.slack.user(SLACK.agent1)

    async def reply(i: int) -> None:
        await agent.post(SLACK.support, f"reply {i}", thread_ts=threads[i % args.tickets])

    sent = await at_rate(args.rate, count, reply)
    delivered = await wait_for(lambda: _discord_arrivals(box, args.tickets, count), count)
    outbound = [(delivered[i] - sent[i]) * 1000 for i in delivered]
    print(f"{count} messages each way at {args.rate}/s over {args.tickets} tickets (SQLite)")
    for name, values in (("DM -> Slack thread", inbound), ("Slack reply -> DM", outbound)):
        lost = count - len(values)
        print(
            f"  {name:20} p50 {percentile(values, 0.5):7.2f} ms   "
            f"p99 {percentile(values, 0.99):7.2f} ms   lost {lost}"
        )


def _slack_arrivals(box: Sandbox, count: int) -> dict[int, float]:
    found = {}
    for call in box.slack.calls_to("chat.postMessage"):
        text = str(call.args.get("text", ""))
        if text.startswith("dm ") and call.ok:
            found.setdefault(int(text[3:]), call.at)
    return found


def _discord_arrivals(box: Sandbox, customers: int, count: int) -> dict[int, float]:
    found = {}
    for i in range(customers):
        for message in box.discord.user(FIRST_CUSTOMER + i).dm_messages():
            if message.content.startswith("**alice:** reply ") and message.created_at:
                found[int(message.content.rsplit(" ", 1)[1])] = message.created_at.timestamp()
    return found


async def wait_for(read: object, count: int, within: float = 600) -> dict[int, float]:
    assert callable(read)
    deadline = time.time() + within
    found: dict[int, float] = read()
    while len(found) < count and time.time() < deadline:
        await asyncio.sleep(0.2)
        found = read()
    return found


async def burst(args: argparse.Namespace, box: Sandbox, bot: Bot) -> bool:
    # Opening takes a card and a first message per ticket at the bot's pacing: let it finish,
    # so that the burst starts from an empty queue.
    opening = 60 + 4 * args.tickets / args.speedup
    opened = await open_tickets(box, bot, args.tickets, within=opening)
    threads = await spread(bot, box, opened, args.channels)
    box.slack.limits.enabled = True
    limits = box.slack.limits
    limits.set_rate("chat.postMessage", Rate(args.speedup, 1.0, 3))
    # Slack's workspace-wide limit, sped up alike, so that the per-channel one is what binds.
    limits.post_message_workspace = Rate(600 * args.speedup, 60, 60)
    started = time.time()
    per_ticket = args.burst // args.tickets
    for part in range(per_ticket):
        for i in range(args.tickets):
            await box.discord.user(FIRST_CUSTOMER + i).send_dm(f"burst {part}")
    total = per_ticket * args.tickets

    def arrived() -> dict[int, float]:
        seen = {}
        for i, (channel, ts) in threads.items():
            texts = [t for t in _shown(box, channel, ts) if t.startswith("burst")]
            for n, _ in enumerate(texts):
                seen[i * per_ticket + n] = 0.0
        return seen

    async def progress() -> None:
        while True:
            await asyncio.sleep(60)
            print(
                f"  after {time.time() - started:.0f} s: {len(arrived())} of {total} delivered",
                flush=True,
            )

    reporting = asyncio.create_task(progress())  # a long run shows that it moves
    await wait_for(arrived, total, within=3600)
    reporting.cancel()
    drained = time.time() - started
    in_order = all(
        [t for t in _shown(box, channel, ts) if t.startswith("burst")]
        == [f"burst {p}" for p in range(per_ticket)]
        for channel, ts in threads.values()
    )
    posts = sum(
        1
        for channel, ts in threads.values()
        for m in box.slack.thread(channel, ts)
        if any(t.startswith("burst") for t in _sections(m.blocks) or [m.text])
    )
    refused = sum(1 for c in box.slack.calls_to("chat.postMessage") if c.status == 429)
    others = sum(1 for c in box.slack.api.calls if c.status == 429) - refused
    got = len(arrived())
    print(
        f"burst of {total} customer messages over {args.tickets} tickets, Slack's per-channel "
        f"limit on (x{args.speedup} speed)"
    )
    real = drained * args.speedup
    floor = total / args.speedup  # one post per message at one channel's limit
    print(f"  drained in {drained:.1f} s (at Slack's real limit: about {real:.0f} s)")
    print(f"  one channel's floor (a post per message at its limit): {floor:.1f} s")
    print(
        f"  delivered {got} of {total} in {posts} posts, in order within every ticket: "
        f"{in_order}, 429s: {refused} on chat.postMessage, {others} on other methods"
    )
    whole = got == total and in_order
    ratio = drained / floor
    met = ratio <= GOAL and refused + others <= MOST_429
    print(
        f"  over {args.channels} channel(s): {ratio:.2f} of the floor "
        f"(goal: at most {GOAL} with at most {MOST_429} answers of 429) "
        f"{'met' if met else 'MISSED'}"
    )
    return whole and met


def _shown(box: Sandbox, channel: str, ts: str) -> list[str]:
    """The messages a thread shows, in order: a post of several (its sections named after the
    messages they hold) shows each of them."""
    shown: list[str] = []
    for message in box.slack.thread(channel, ts):
        shown += _sections(message.blocks) or [message.text]
    return shown


def _sections(blocks: list[dict[str, Any]] | None) -> list[str]:
    """The messages a post of several holds (none for a post of one)."""
    return [
        str(block["text"]["text"])
        for block in blocks or []
        if block.get("type") == "section" and str(block.get("block_id", "")).startswith("msg")
    ]


async def spread(
    bot: Bot, box: Sandbox, opened: dict[int, str], channels: int
) -> dict[int, tuple[str, str]]:
    """Each ticket's thread (channel, ts) once its priority has sent it to its channel: the
    tickets get SPREAD's priorities in turn, and those whose route names another channel move
    there (the queue is left empty again)."""
    assert bot.service is not None
    service = bot.service
    numbers = {}
    for i, ts in opened.items():
        ticket = await service.ticket_at(f"{SLACK.support}:{ts}")
        assert ticket is not None
        numbers[i] = ticket.number
    if channels == 1:
        return {i: (SLACK.support, ts) for i, ts in opened.items()}
    alice = Actor.of_agent(Agent(AgentId(SLACK.agent1), "alice"))
    wanted = {i: SPREAD[i % channels] for i in numbers}
    for i, (priority, _) in wanted.items():
        if priority is not Priority.NORMAL:
            await service.act(numbers[i], Action.SET_PRIORITY, alice, priority=priority)

    async def places() -> dict[int, tuple[str, str]] | None:
        found = {}
        for i, (_, channel) in wanted.items():
            ref = (await service.get_ticket(numbers[i])).workspace_ref or ""
            where, _, ts = ref.partition(":")
            moved = where == SLACK.support or box.slack.thread(where, ts)  # its history is in
            if where != channel or not moved:
                return None
            found[i] = (where, ts)
        return found

    deadline = time.time() + 120
    while (found := await places()) is None:
        if time.time() > deadline:
            raise SystemExit("the tickets did not all move to their channels")
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)  # the old cards' last edits
    return found


async def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("integrations.sandbox").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        async with (
            SlackEmulator(workspace(args.channels)) as slack,
            DiscordEmulator(world(args.tickets)) as discord,
        ):
            box = Sandbox(slack, discord)
            pacing = SlackPolicy().posts_per_second * args.speedup  # the default, sped up
            configure(folder, box, pacing if args.burst else 0, args.channels)
            bot = Bot(load_settings())
            await bot.start()
            settle_heap()  # as `threadline run` does
            try:
                if args.burst:
                    return 0 if await burst(args, box, bot) else 1
                await latency(args, box, bot)
                return 0
            finally:
                await bot.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=0)
    parser.add_argument("--speedup", type=float, default=20.0)
    parser.add_argument("--channels", type=int, default=1, choices=range(1, len(SPREAD) + 1))
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    assert DISCORD.customer_id < FIRST_CUSTOMER
    main()
