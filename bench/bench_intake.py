"""Benchmark: one customer message's transaction (the intake use case), back to back and paced.

Run: `python bench/bench_intake.py [--pg] [--count 1500] [--rate 50]`.
The real `TicketService` on SQLite (a file in a temporary folder) or PostgreSQL (a schema of its
own in the database at 127.0.0.1:5432/test), 100 customers with a ticket open each, then
`--count` follow-up messages recorded one after another: first back to back, then paced at
`--rate` a second as `bench/bench_relay.py` sends them. It prints each run's p50 and p99 beside
the floor of the same run: an empty transaction. The paced figure is what a relayed message
pays at that rate; the gap between the two is the processor starting cold after each pause
(on a two-core virtual machine, three times the back-to-back time), so it falls only with the
amount of code a message runs. No goal: it explains `bench_relay.py`'s figures, and it exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from figures import percentile  # beside this script

from bot.config import CustomerPolicy
from bot.core.events import CustomerMessage
from bot.core.ports import SystemClock
from bot.core.service import TicketService
from integrations.platforms import DISCORD
from storage.db import begin_statements, create_engine
from storage.migrate import upgrade
from storage.repository import SqlStorage

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
CUSTOMERS = 100


def message(n: int) -> CustomerMessage:
    who = n % CUSTOMERS
    return CustomerMessage(
        DISCORD, f"m{n}", f"c{who}", f"Customer {who}", f"message {n}", datetime.now(UTC)
    )


async def timed(act: Callable[[], Awaitable[object]], count: int, pause: float) -> list[float]:
    """Milliseconds each of `count` calls of `act` took, `pause` seconds apart."""
    took = []
    for _ in range(count):
        began = time.perf_counter()
        await act()
        took.append((time.perf_counter() - began) * 1000)
        if pause:
            await asyncio.sleep(pause)
    return took


def line(name: str, took: list[float], floor: list[float]) -> str:
    p50, p99 = statistics.median(took), percentile(took, 0.99)
    return (
        f"  {name:26} p50 {p50:6.3f} ms  p99 {p99:6.3f} ms   "
        f"(an empty transaction: p50 {statistics.median(floor):6.3f} ms)"
    )


async def measure(url: str, args: argparse.Namespace, **engine_args: object) -> None:
    engine = create_engine(url, **engine_args)
    try:
        await upgrade(engine)
        # Many messages a minute from each customer: the flood limit is not what is measured.
        limits = CustomerPolicy(messages_per_minute=10**6)
        service = TicketService(SqlStorage(engine), SystemClock(), limits=limits)
        counter = iter(range(10**9))
        for _ in range(CUSTOMERS):  # a ticket open for each customer
            await service.receive_customer_message(message(next(counter)))

        async def intake() -> object:
            return await service.receive_customer_message(message(next(counter)))

        async def empty() -> None:
            async with begin_statements(engine):
                pass

        await timed(intake, 300, 0)  # warm up: caches, compiled statements
        paced = f"paced at {args.rate:g} a second"
        for name, pause in (("back to back", 0.0), (paced, 1 / args.rate)):
            took = await timed(intake, args.count, pause)
            floor = await timed(empty, min(args.count, 500), pause)
            print(line(name, took, floor))
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> None:
    if not args.pg:
        with tempfile.TemporaryDirectory() as folder:
            print("SQLite: a customer's follow-up message recorded (TicketService)")
            await measure(f"sqlite+aiosqlite:///{folder}/bench.db", args)
        return
    schema = f"bench_intake_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_DSN)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        print("PostgreSQL: a customer's follow-up message recorded (TicketService)")
        url = PG_DSN.replace("postgresql://", "postgresql+asyncpg://")
        await measure(url, args, connect_args={"server_settings": {"search_path": schema}})
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL at 127.0.0.1:5432/test")
    parser.add_argument("--count", type=int, default=1500)
    parser.add_argument("--rate", type=float, default=50.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
