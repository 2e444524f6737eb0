"""Benchmark: one `/metrics` scrape over HTTP, as a database's history grows.

Run: `python bench/bench_metrics_scrape.py [--sizes 10000,100000] [--backends sqlite,postgres]
[--scrapes 50] [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
[--skip-postgres-if-down]`.

The real `Metrics` and `MetricsReader` behind the real `HttpServer` on 127.0.0.1, with a
database holding `size` tickets: OPEN_TICKETS open (over the open statuses), the rest closed; three
deliveries done for each ticket and 200 pending over the lanes; one SLA notification a ticket
and a breach for every tenth; a survey for every second ticket, every other one answered. What
grows is the history (closed tickets, deliveries done, notifications, surveys); the open tickets
and the pending queue stay as they are, as in a team that keeps up.

Each figure is the scrape's p50 and p99 over `--scrapes` GETs of /metrics (after one untimed,
which tallies the history), and the CPU this process spent on it (server and client: on SQLite
the queries run on the event loop, so that is what a scrape holds the relays up), beside the
floor measured in the same run: GET /healthz on the same listener, which is the loopback HTTP
round trip plus one `SELECT 1` in a read-only transaction. Then, at the largest size, the
first read of a new process (it tallies the whole history once, in steps) with the longest it
held the event loop, and the plan of every query a scrape runs.

Goals: a scrape at the largest size within GOAL_MS at p50, and at most MAX_RATIO times the
smallest size's (a scrape reads by index, not the whole history). Exits 1 when a goal is
missed or a scrape reads wrong figures.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import asyncpg
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.figures import percentile
from bot.core.delivery import Lane
from bot.core.ports import SystemClock
from integrations.http import HttpServer
from integrations.metrics import Metrics
from storage import models as m
from storage.db import begin, create_engine
from storage.metrics_repository import STEP, MetricsReader
from storage.repository import SqlStorage

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
GOAL_MS = 25.0  # p50 of a scrape at the largest size
MAX_RATIO = 3.0  # ... beside the smallest size's (each counted as at least FLOOR_MS)
FLOOR_MS = 1.0
PENDING = 200  # deliveries waiting, whatever the size
OPEN_TICKETS = 1_000  # ... and tickets open: a team works a steady load while history grows
CHUNK = 5_000
OPEN_STATUSES = ("new", "claimed", "escalated", "pending", "resolved")
OUTLETS = [(Lane.AGENTS, "main"), (Lane.CUSTOMER, ""), (Lane.ASSISTANT, "")]


def rows(first: int, last: int, now: datetime) -> dict[Any, list[dict[str, Any]]]:
    """The rows of tickets `first`..`last` (ticket i has customer i)."""
    customers, tickets, deliveries, notices, surveys = [], [], [], [], []
    for i in range(first, last + 1):
        at = now - timedelta(minutes=i % 10_000)
        status = OPEN_STATUSES[i % len(OPEN_STATUSES)] if i <= OPEN_TICKETS else "closed"
        customers.append(
            {"id": i, "platform": "discord", "external_id": f"b{i}", "display_name": f"C{i}"}
            | {"created_at": at}
        )
        tickets.append(
            {"id": i, "number": i, "customer_id": i, "subject": "bench", "status": status}
            | {"priority": "normal", "tier": 1, "created_at": at, "updated_at": at}
        )
        for lane, workspace in OUTLETS:
            deliveries.append(
                {"ticket_id": i, "lane": lane.value, "workspace": workspace, "kind": "x"}
                | {"payload": {}, "status": "done", "created_at": at, "next_attempt_at": at}
            )
        notices.append(
            {"ticket_id": i, "metric": "first_response", "kind": "reminder", "level": 0}
            | {"due_version": 1, "sent_at": at}
        )
        if i % 10 == 0:
            notices.append(
                {"ticket_id": i, "metric": "first_response", "kind": "breach", "level": 0}
                | {"due_version": 1, "sent_at": at}
            )
        if i % 2 == 0:
            answered = i % 4 == 0
            surveys.append(
                {"ticket_id": i, "customer_id": i, "sent_at": at, "expires_at": at}
                | {"outcome": "answered" if answered else "sent"}
                | {"rating": 1 + i % 5 if answered else None}
            )
    return {
        m.customers: customers,
        m.tickets: tickets,
        m.deliveries: deliveries,
        m.notifications: notices,
        m.surveys: surveys,
    }


async def grow(engine: AsyncEngine, have: int, size: int, now: datetime) -> None:
    for first in range(have + 1, size + 1, CHUNK):
        batch = rows(first, min(first + CHUNK - 1, size), now)
        async with begin(engine) as conn:
            for table, values in batch.items():
                if values:
                    await conn.execute(table.insert(), values)


async def pend(engine: AsyncEngine, now: datetime) -> None:
    """PENDING deliveries waiting (the oldest an hour), spread over the lanes."""
    values = [
        {"ticket_id": 1 + i, "lane": lane.value, "workspace": workspace, "kind": "x"}
        | {"payload": {}, "status": "pending", "next_attempt_at": now}
        | {"created_at": now - timedelta(hours=1) + timedelta(seconds=i)}
        for i in range(PENDING)
        for lane, workspace in [OUTLETS[i % len(OUTLETS)]]
    ]
    async with begin(engine) as conn:
        await conn.execute(m.deliveries.insert(), values)


async def analyse(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            await conn.execute(text("ANALYZE"))
            await conn.commit()
        else:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))


@dataclass
class Timed:
    wall: list[float]  # ms per request
    cpu: list[float]  # ms of this process's CPU per request (the server and the client)
    body: str


async def timed(http: aiohttp.ClientSession, url: str, count: int) -> Timed:
    async with http.get(url) as response:  # untimed: connections warm
        body = await response.text()
    wall, cpu = [], []
    for _ in range(count):
        start, start_cpu = time.perf_counter(), time.process_time()
        async with http.get(url) as response:
            body = await response.text()
            assert response.status == 200, response.status
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return Timed(wall, cpu, body)


async def first_read(engine: AsyncEngine) -> tuple[float, float]:
    """A new reader's first read: its time, and the longest the event loop waited meanwhile
    (a task that yields at once notes every gap)."""
    gaps: list[float] = []

    async def ticking() -> None:
        before = time.perf_counter()
        while True:
            await asyncio.sleep(0)
            now = time.perf_counter()
            gaps.append(now - before)
            before = now

    ticker = asyncio.create_task(ticking())
    await asyncio.sleep(0)
    start = time.perf_counter()
    await MetricsReader(engine).read(datetime.now(UTC))
    total = time.perf_counter() - start
    ticker.cancel()
    return total * 1000, max(gaps, default=0.0) * 1000


async def plans(engine: AsyncEngine, http: aiohttp.ClientSession, url: str) -> list[str]:
    """The query plan of every statement one scrape runs (each must use an index)."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with http.get(url) as response:
            await response.read()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    lines = []
    async with engine.connect() as conn:
        for statement, parameters in seen:
            found = await conn.exec_driver_sql(explain + statement, tuple(parameters))
            steps = [str(row[-1]) for row in found]
            lines.append(" ".join(statement.split())[:90] + "...")
            lines += [f"    {step}" for step in steps]
    return lines


def check(body: str, size: int) -> None:
    """The scrape read what the database holds."""
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    depth = sum(v for (name, _), v in found.items() if name == "threadline_queue_depth")
    tickets = sum(v for (name, _), v in found.items() if name == "threadline_tickets")
    breaches = found["threadline_notices_total", (("kind", "breach"), ("metric", "first_response"))]
    if (depth, tickets, breaches) != (PENDING, OPEN_TICKETS, size // 10):
        raise SystemExit(f"wrong figures at {size}: {depth=} {tickets=} {breaches=}")


async def run_backend(name: str, engine: AsyncEngine, sizes: list[int], scrapes: int) -> bool:
    from storage.migrate import upgrade

    await upgrade(engine)
    storage = SqlStorage(engine)
    metrics = Metrics(SystemClock())
    metrics.read_from(MetricsReader(engine).read, OUTLETS)

    async def database() -> str:
        await storage.ping()
        return "ok"

    server = HttpServer("127.0.0.1", 0, {"database": database}, metrics.handle)
    await server.start()
    now = datetime.now(UTC)
    ok, have, smallest = True, 0, 0.0
    try:
        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{server.port}"
            for size in sizes:
                await grow(engine, have, size, now)
                if not have:
                    await pend(engine, now)  # on the first tickets
                have = size
                await analyse(engine)
                scrape = await timed(http, f"{base}/metrics", scrapes)
                floor = await timed(http, f"{base}/healthz", scrapes)
                check(scrape.body, size)
                p50 = percentile(scrape.wall, 0.5)
                last = size == sizes[-1]
                smallest = smallest or max(p50, FLOOR_MS)
                goal = not last or (p50 <= GOAL_MS and p50 <= MAX_RATIO * smallest)
                ok = ok and goal
                print(
                    f"{name:8} {size:>8,} tickets  GET /metrics p50 {p50:6.2f} ms "
                    f"p99 {percentile(scrape.wall, 0.99):6.2f} ms cpu p50 "
                    f"{percentile(scrape.cpu, 0.5):5.2f} ms | floor GET /healthz p50 "
                    f"{percentile(floor.wall, 0.5):5.2f} ms p99 "
                    f"{percentile(floor.wall, 0.99):5.2f} ms cpu p50 "
                    f"{percentile(floor.cpu, 0.5):5.2f} ms"
                    + (
                        f" | goal p50 <= {GOAL_MS:.0f} ms and <= {MAX_RATIO:.0f}x the "
                        f"smallest size's: {'met' if goal else 'MISSED'}"
                        if last
                        else ""
                    )
                )
                if last:
                    total, stall = await first_read(engine)
                    print(
                        f"{name:8} a new process's first read (tallies the history, "
                        f"{STEP:,} ids a step): {total:.1f} ms in all, the event loop held "
                        f"at most {stall:.1f} ms at a time"
                    )
                    print("\n".join(await plans(engine, http, f"{base}/metrics")))
    finally:
        await server.stop()
    return ok


async def postgres(url: str, skip_if_down: bool) -> tuple[AsyncEngine, str, str] | None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"tl_bench_{uuid.uuid4().hex[:10]}"
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if skip_if_down:
            print(f"postgres: skipped ({exc})")
            return None
        raise SystemExit(f"PostgreSQL is unreachable: {exc}") from None
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    engine = create_engine(url, connect_args={"server_settings": {"search_path": schema}})
    return engine, dsn, schema


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--skip-postgres-if-down", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    ok = True
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                engine = create_engine(f"sqlite+aiosqlite:///{folder}/bench.db")
                try:
                    ok = await run_backend("sqlite", engine, sizes, args.scrapes) and ok
                finally:
                    await engine.dispose()
        elif backend == "postgres":
            made = await postgres(args.pg_url, args.skip_postgres_if_down)
            if made is None:
                continue
            engine, dsn, schema = made
            try:
                ok = await run_backend("postgres", engine, sizes, args.scrapes) and ok
            finally:
                await engine.dispose()
                conn = await asyncpg.connect(dsn, timeout=5)
                try:
                    await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                finally:
                    await conn.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
