"""Benchmark: a customer message reaching the bot → its post in the ticket's Slack thread.

Run: `python bench/bench_slack_delivery.py [--rate 50] [--tickets 100] [--seconds 10]`.
The real path runs: TicketService on SQLite (a file in a temporary folder), the delivery queue,
the Slack workspace and the real slack_sdk client, against the Slack emulator (limits off) in a
child process, as Slack is another machine in production. It is set up as `threadline run` is
(start-up objects kept out of the garbage collector's sight: `bot.app.settle_heap`). Messages
arrive at `--rate` per second, spread over `--tickets` open tickets whose cards are posted
beforehand. A message's latency ends when the emulator logs the thread post. The emulator's own
chat.postMessage round trip is measured at the same rate and reported beside it; what the bot
adds is the difference. Exits 1 when the bot adds 10 ms or more at p50 or 50 ms or more at p99
(override with --p50-ms / --p99-ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from figures import percentile  # beside this script
from slack_child import Served, SlackInChild
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import settle_heap
from bot.core.dispatcher import Dispatcher
from bot.core.domain import TicketNumber
from bot.core.events import CustomerMessage
from bot.core.ports import SystemClock
from bot.core.routes import Routes
from bot.core.service import TicketService
from integrations.platforms import DISCORD
from integrations.sandbox.slack import DEMO
from integrations.slack.workspace import SlackWorkspace
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repository import SqlStorage
from tests.fakes import QuietChannel


class Nowhere(QuietChannel):
    """The customer's side, not measured here: it takes what is sent and answers at once."""


def message(i: int, customer: int, body: str) -> CustomerMessage:
    return CustomerMessage(
        DISCORD,
        f"bench-{i}",
        f"customer-{customer}",
        f"Customer {customer}",
        body,
        datetime.now(UTC),
    )


async def emulator_round_trip(
    slack: SlackInChild, rate: float, count: int, session: aiohttp.ClientSession
) -> list[float]:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, session=session)
    root = await client.chat_postMessage(channel=DEMO.support, text="round trip")
    latencies: list[float] = []

    async def one() -> None:
        start = time.perf_counter()
        await client.chat_postMessage(channel=DEMO.support, text="x", thread_ts=root["ts"])
        latencies.append((time.perf_counter() - start) * 1000)

    tasks = []
    started = time.perf_counter()
    for i in range(count):
        tasks.append(asyncio.create_task(one()))
        await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    return latencies


async def open_tickets(service: TicketService, count: int) -> list[TicketNumber]:
    """Open `count` tickets and wait until each card is posted and remembered."""
    numbers = []
    for customer in range(count):
        intake = await service.receive_customer_message(message(-customer - 1, customer, "hi"))
        numbers.append(intake.ticket.number)
    for number in numbers:
        while (await service.get_ticket(number)).workspace_ref is None:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # the dispatcher posts in the background
    return numbers


async def send_at_rate(service: TicketService, args: argparse.Namespace) -> dict[str, float]:
    """Customer messages at `args.rate` per second; returns when each was handed over."""
    sent: dict[str, float] = {}
    tasks = []
    started = time.perf_counter()
    for i in range(int(args.rate * args.seconds)):
        body = f"bench message {i}"
        sent[body] = time.time()
        intake = service.receive_customer_message(message(i, i % args.tickets, body))
        tasks.append(asyncio.create_task(intake))
        await asyncio.sleep(max(0.0, started + (i + 1) / args.rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    return sent


async def arrivals(slack: SlackInChild, sent: dict[str, float]) -> dict[str, float]:
    """When the emulator logged each message's thread post (waits up to 30 s for all)."""
    arrived: dict[str, float] = {}
    deadline = time.time() + 30
    while len(arrived) < len(sent) and time.time() < deadline:
        calls: list[Served] = await asyncio.to_thread(slack.calls_to, "chat.postMessage")
        for call in calls:
            if call.text in sent and call.ok:
                arrived.setdefault(call.text, call.at)
        await asyncio.sleep(0.2)
    return arrived


async def measure(
    args: argparse.Namespace, folder: str, slack: SlackInChild
) -> tuple[dict[str, float], dict[str, float], list[float]]:
    engine = create_engine(f"sqlite+aiosqlite:///{folder}/bench.db")
    await upgrade(engine)
    storage, clock = SqlStorage(engine), SystemClock()
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, session=session)
        handler = SlackWorkspace(client, DEMO.support)
        dispatcher = Dispatcher(
            storage,
            clock,
            Routes(handler, {DISCORD: Nowhere()}),
            idle_poll_seconds=0.5,
        )
        service = TicketService(storage, clock, on_enqueued=dispatcher.wake)
        stop = asyncio.Event()
        loop = asyncio.create_task(dispatcher.run(stop))
        await open_tickets(service, args.tickets)
        settle_heap()
        sent = await send_at_rate(service, args)
        arrived = await arrivals(slack, sent)
        stop.set()
        dispatcher.wake()
        await loop
        rtt = await emulator_round_trip(slack, args.rate, len(sent), session)
    await engine.dispose()
    return sent, arrived, rtt


async def run(args: argparse.Namespace, slack: SlackInChild) -> int:
    with tempfile.TemporaryDirectory() as folder:
        sent, arrived, rtt = await measure(args, folder, slack)
    count = len(sent)
    if len(arrived) < count:
        print(f"LOST: only {len(arrived)} of {count} messages reached Slack")
        return 1
    latency = [(arrived[b] - sent[b]) * 1000 for b in sent]
    total = (percentile(latency, 0.5), percentile(latency, 0.99))
    emu = (percentile(rtt, 0.5), percentile(rtt, 0.99))
    added = (total[0] - emu[0], total[1] - emu[1])
    print(
        f"customer message -> Slack thread post, {count} messages at {args.rate}/s "
        f"over {args.tickets} tickets (SQLite)"
    )
    print(
        f"  end to end          p50 {total[0]:6.2f} ms   p99 {total[1]:6.2f} ms   "
        f"mean {statistics.fmean(latency):6.2f} ms"
    )
    print(f"  emulator round trip p50 {emu[0]:6.2f} ms   p99 {emu[1]:6.2f} ms")
    print(
        f"  the bot adds        p50 {added[0]:6.2f} ms   p99 {added[1]:6.2f} ms   "
        f"(target < {args.p50_ms} ms / < {args.p99_ms} ms)"
    )
    ok = added[0] < args.p50_ms and added[1] < args.p99_ms
    print("PASS" if ok else "BELOW TARGET")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--p50-ms", type=float, default=10.0)
    parser.add_argument("--p99-ms", type=float, default=50.0)
    args = parser.parse_args()
    with SlackInChild() as slack:
        code = asyncio.run(run(args, slack))
    sys.exit(code)


if __name__ == "__main__":
    main()
