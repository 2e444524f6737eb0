"""Benchmark: the SLA sweep over 10k, 100k and 1M open tickets, with none, 1% and 10,000 due.

Run: `python bench/bench_sla_sweep.py [--sizes 10000,100000,1000000] [--backends sqlite,postgres]
[--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/test] [--skip-postgres-if-down]`.

The real sweep (`Sweeps.sla` on TicketService and SqlStorage, policy: normal priority on a 24x7
calendar, 1h first response, 8h resolution) runs on SQLite (a file in a temporary folder) and on
PostgreSQL (a throwaway schema, dropped at the end however the run ends). Every ticket is open
('new', normal, tier 1) with its own customer and a running first-response and resolution
clock, all of whose next actions lie 15 minutes or more after the sweep's `now`. The rows go in
bulk straight into customers, tickets and sla_clocks (SQLite: executemany on a sqlite3
connection of its own, with the secondary indexes dropped meanwhile and created again from
their own SQL; PostgreSQL: COPY, the loading session skipping the foreign-key triggers), and
are read back once through the repository to check them. The database grows from one size to
the next (10k, then up to 100k, then up to 1M) and is analysed after each step (ANALYZE on
SQLite, VACUUM ANALYZE on PostgreSQL).

At each size:
- nothing due: the median of `--repeats` sweeps (after one untimed warm-up), each of which
  must return 0;
- 1% due: the first-response clock of every hundredth ticket is made overdue by a minute, and
  one sweep call (`Sweeps.sla`, which takes batches of `SLA_BATCH` until one comes back short)
  sends a breach notice for each; it must return exactly that many, claim that many
  notifications and queue two deliveries for each (the leads' line and the thread's, in the
  one agent workspace), and a second sweep right after must find nothing. The clocks are then
  put back and the notifications and deliveries deleted.
At the largest size, also 10,000 due: the same, on 10,000 other tickets' clocks (at 1M, every
hundredth from the fiftieth), timed as the one sweep call that handles them all.

Goals, on each backend: the sweep with nothing due at the largest size under 20 ms; the 10,000
due handled in under 5 s; and the sweep must be index-driven: the nothing-due median at the
largest size may be at most 3 times (`--max-ratio`) the one at the smallest. A sweep that finds
nothing costs about a millisecond (a connection from the pool, BEGIN, one indexed read,
COMMIT), of which noise is a large part, so in that comparison the smallest size's median
counts as at least 1 ms (`--floor-ms`). Each figure is printed beside the loopback floor
measured in the same run: on PostgreSQL a `SELECT 1` round trip, on SQLite an empty write
transaction (the median of 200). The query plan of the due-clocks read at the largest size is
printed for each backend. Exits 1 when a goal is missed, when a sweep returns or writes a wrong
count, or when PostgreSQL is unreachable (unless `--skip-postgres-if-down`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from sqlalchemy import Integer, Table, bindparam, delete, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Policy
from bot.core.domain import TicketId
from bot.core.ports import SystemClock
from bot.core.service import TicketService
from bot.core.sla import ClockState, Metric
from bot.core.sla_keeper import SlaKeeper
from bot.core.sweeps import SLA_BATCH, Sweeps
from storage import models as m
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repository import SqlStorage

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
POLICY = Policy.model_validate(
    {
        "sla": {
            "normal": {
                "first_response": "1h",
                "next_response": "1h",
                "resolution": "8h",
                "calendar": "24x7",
            }
        }
    }
)
FIRST_RESPONSE = POLICY.sla.normal.first_response
RESOLUTION = POLICY.sla.normal.resolution
BEFORE_BREACH = POLICY.reminders.before_breach
DUE_EVERY = 100  # every hundredth ticket is due in the 1% case
MANY = 10_000  # due at once at the largest size, in the many-due case
MANY_GOAL_S = 5.0  # ... handled within this
IDLE_GOAL_MS = 20.0  # a sweep with nothing due, at the largest size
# What a breach notice queues: a line for the leads and one in the ticket's thread, in the one
# agent workspace the benchmark's service has.
DELIVERIES_PER_BREACH = 2
FLOOR_SAMPLES = 200
CHUNK = 20_000  # tickets per bulk insert (each also brings a customer and two clocks)
PROGRESS_EVERY = 100_000

CUSTOMER_COLUMNS = ("id", "platform", "external_id", "display_name", "created_at")
TICKET_COLUMNS = (
    "id",
    "number",
    "customer_id",
    "subject",
    "status",
    "priority",
    "tier",
    "version",
    "created_at",
    "updated_at",
    "due_at",
)
CLOCK_COLUMNS = (
    "ticket_id",
    "metric",
    "state",
    "started_at",
    "target_seconds",
    "banked_seconds",
    "running_since",
    "due_at",
    "due_version",
    "breaches",
    "reminded_version",
    "escalations",
    "next_action_at",
)

Rows = list[tuple[Any, ...]]
Batch = list[tuple[Table, Sequence[str], Rows]]


class Wrong(Exception):
    """The sweep did not do what it must (a wrong count), or the setup failed."""


# --- the rows --------------------------------------------------------------------------

SPREAD = 1800  # tickets were opened up to this many seconds before the sweep's `now`


def stamps(now: datetime, engine: AsyncEngine) -> list[tuple[Any, ...]]:
    """For each of the SPREAD opening times: (opened, first-response due, resolution due, and
    the two reminders 15 minutes before those), already as the database driver takes them
    (what `UTCDateTime` binds on this dialect), so rows can bypass SQLAlchemy's per-row type
    processing. Every next action is at least 15 minutes after `now`."""
    dialect = engine.dialect
    bind = m.UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert bind is not None
    out = []
    for ago in range(SPREAD):
        opened = now - timedelta(seconds=ago)
        first, resolution = opened + FIRST_RESPONSE, opened + RESOLUTION
        times = (opened, first, resolution, first - BEFORE_BREACH, resolution - BEFORE_BREACH)
        out.append(tuple(bind(t) for t in times))
    return out


def chunk(first: int, last: int, times: list[tuple[Any, ...]]) -> Batch:
    """Customers, tickets and clocks for ticket ids `first`..`last` (ticket i has customer i,
    was opened `i % SPREAD` seconds before `now`, and has two running clocks)."""
    customers: Rows = []
    tickets: Rows = []
    clocks: Rows = []
    first_target, resolution_target = FIRST_RESPONSE.total_seconds(), RESOLUTION.total_seconds()
    for i in range(first, last + 1):
        opened, first_due, resolution_due, first_next, resolution_next = times[i % SPREAD]
        customers.append((i, "discord", f"bench-{i}", f"Customer {i}", opened))
        tickets.append(
            (i, i, i, f"Bench ticket {i}", "new", "normal", 1, 1, opened, opened, first_due)
        )
        for metric, target, due, next_action in (
            (FIRST, first_target, first_due, first_next),
            (RESOLUTION_METRIC, resolution_target, resolution_due, resolution_next),
        ):
            clocks.append(
                (i, metric, RUNNING, opened, target, 0.0, opened, due, 1, 0, 0, 0, next_action)
            )
    return [
        (m.customers, CUSTOMER_COLUMNS, customers),
        (m.tickets, TICKET_COLUMNS, tickets),
        (m.sla_clocks, CLOCK_COLUMNS, clocks),
    ]


FIRST, RESOLUTION_METRIC = Metric.FIRST_RESPONSE.value, Metric.RESOLUTION.value
RUNNING = ClockState.RUNNING.value


def ranges(start: int, stop: int) -> list[tuple[int, int]]:
    """Ticket id ranges of at most CHUNK, from `start` + 1 up to `stop`."""
    return [(f, min(f + CHUNK - 1, stop)) for f in range(start + 1, stop + 1, CHUNK)]


# --- the databases -----------------------------------------------------------------------


class Target:
    """A database under test: the engine the sweep runs on, and a bulk path for the rows."""

    name = ""
    engine: AsyncEngine

    async def before_growth(self) -> None:
        """Ready for a run of `load` calls."""

    async def load(self, batch: Batch) -> None:
        raise NotImplementedError

    async def after_growth(self) -> None:
        """Back to the schema as migrated, with fresh planner statistics."""
        raise NotImplementedError

    async def plan(self, now: datetime) -> list[str]:
        raise NotImplementedError

    async def close(self) -> None:
        await self.engine.dispose()


DUE_QUERY = "SELECT * FROM sla_clocks WHERE next_action_at <= :now ORDER BY next_action_at LIMIT :n"


def due_query(prefix: str) -> Any:
    """The due-clocks read of `SlaRows.due_clocks`, written out, behind an EXPLAIN."""
    return text(f"{prefix} {DUE_QUERY}").bindparams(
        bindparam("now", type_=m.UTCDateTime()), bindparam("n", type_=Integer())
    )


def since(started: float) -> str:
    return f"{time.perf_counter() - started:.1f} s"


class Sqlite(Target):
    """Rows go in through a plain sqlite3 connection of their own (in a worker thread), with
    the secondary indexes dropped meanwhile and created again afterwards from their own SQL:
    maintaining them row by row nearly doubles the load time."""

    name = "sqlite"
    TABLES = ("customers", "tickets", "sla_clocks")

    def __init__(self, folder: str) -> None:
        self.path = f"{folder}/bench.db"
        self.engine = create_engine(f"sqlite+aiosqlite:///{self.path}")
        self._db: sqlite3.Connection | None = None
        self._indexes: list[tuple[str, str]] = []

    def _loader(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA cache_size=-131072")  # 128 MB
            self._db.execute("PRAGMA synchronous=NORMAL")
        return self._db

    def _drop_indexes(self) -> None:
        db = self._loader()
        tables = ", ".join(f"'{t}'" for t in self.TABLES)
        self._indexes = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({tables})"
        ).fetchall()
        for name, _ in self._indexes:
            db.execute(f'DROP INDEX "{name}"')

    def _insert(self, batch: Batch) -> None:
        db = self._loader()
        db.execute("BEGIN IMMEDIATE")
        try:
            for table, columns, rows in batch:
                marks = ", ".join("?" * len(columns))
                sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
                db.executemany(sql, rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _restore(self) -> None:
        db = self._loader()
        started = time.perf_counter()
        for _, sql in self._indexes:
            db.execute(sql)
        self._indexes = []
        print(f"  {self.name}: indexes created again in {since(started)}", flush=True)
        started = time.perf_counter()
        db.execute("ANALYZE")
        print(f"  {self.name}: ANALYZE in {since(started)}", flush=True)

    async def before_growth(self) -> None:
        await asyncio.to_thread(self._drop_indexes)

    async def load(self, batch: Batch) -> None:
        await asyncio.to_thread(self._insert, batch)

    async def after_growth(self) -> None:
        await asyncio.to_thread(self._restore)

    async def plan(self, now: datetime) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(due_query("EXPLAIN QUERY PLAN"), {"now": now, "n": SLA_BATCH})
            return [str(row[3]) for row in rows]

    async def close(self) -> None:
        try:
            await self.engine.dispose()
        finally:
            if self._db is not None:
                self._db.close()


class Postgres(Target):
    """A schema of its own; rows go in with COPY on a plain asyncpg connection."""

    name = "postgres"
    TABLES = ("customers", "tickets", "sla_clocks", "notifications", "deliveries")

    def __init__(self, url: str, schema: str, conn: asyncpg.Connection) -> None:
        self.schema, self.conn = schema, conn
        self.engine = create_engine(url, connect_args={"server_settings": {"search_path": schema}})

    @classmethod
    async def open(cls, url: str) -> Postgres:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            await conn.execute(f'CREATE SCHEMA "{schema}"')
            await conn.execute(f'SET search_path TO "{schema}"')
        except BaseException:
            await conn.close()
            raise
        with contextlib.suppress(asyncpg.PostgresError):
            # The loader alone skips the foreign-key triggers (superusers only): the rows are
            # consistent by construction, and checking each one costs a third of the load time.
            await conn.execute("SET session_replication_role = replica")
        return cls(url, schema, conn)

    async def load(self, batch: Batch) -> None:
        async with self.conn.transaction():
            for table, columns, rows in batch:
                await self.conn.copy_records_to_table(
                    table.name, records=rows, columns=list(columns), schema_name=self.schema
                )

    async def after_growth(self) -> None:
        started = time.perf_counter()
        # Autovacuum may be off (it is on the test server): VACUUM also sets the visibility map.
        await self.conn.execute(f"VACUUM ANALYZE {', '.join(self.TABLES)}")
        print(f"  {self.name}: VACUUM ANALYZE in {since(started)}", flush=True)

    async def plan(self, now: datetime) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                due_query("EXPLAIN (ANALYZE, BUFFERS)"), {"now": now, "n": SLA_BATCH}
            )
            return [str(row[0]) for row in rows]

    async def close(self) -> None:
        try:
            await self.engine.dispose()
        finally:
            try:
                await self.conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
            finally:
                await self.conn.close()


async def postgres_reachable(url: str) -> str | None:
    """None when PostgreSQL answers at `url`; otherwise why not."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        where = make_url(url).render_as_string(hide_password=True)
        return f"PostgreSQL at {where} is unreachable: {exc}"
    await conn.close()
    return None


# --- the measurements ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    backend: str
    size: int
    idle_ms: float  # median of the nothing-due sweeps
    due: int  # clocks due in the 1% case
    due_ms: float  # the one sweep that handled them
    many: int = 0  # clocks due in the many-due case (the largest size only)
    many_ms: float = 0.0  # the one sweep call that handled them


async def floor_ms(target: Target, storage: SqlStorage) -> float:
    """The loopback floor of one trip to the database, median of FLOOR_SAMPLES: on
    PostgreSQL a `SELECT 1` round trip on a connection held open; on SQLite an empty write
    transaction (BEGIN IMMEDIATE, COMMIT) through the storage, as each batch is one."""
    samples: list[float] = []
    if target.name == "postgres":
        async with target.engine.connect() as conn:
            await conn.execute(select(1))
            for _ in range(FLOOR_SAMPLES):
                started = time.perf_counter()
                await conn.execute(select(1))
                samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)
    for _ in range(FLOOR_SAMPLES + 1):
        started = time.perf_counter()
        async with storage.transaction():
            pass
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples[1:])


async def grow(target: Target, have: int, size: int, times: list[tuple[Any, ...]]) -> None:
    """Add tickets `have` + 1 .. `size`; the next chunk is built in a thread meanwhile."""
    started = time.perf_counter()
    await target.before_growth()
    todo = ranges(have, size)
    building = asyncio.create_task(asyncio.to_thread(chunk, *todo[0], times))
    for n, (_, last) in enumerate(todo):
        batch = await building
        if n + 1 < len(todo):
            building = asyncio.create_task(asyncio.to_thread(chunk, *todo[n + 1], times))
        await target.load(batch)
        if last % PROGRESS_EVERY == 0 or last == size:
            rate = (last - have) / (time.perf_counter() - started)
            print(
                f"  {target.name}: {last:>9,} / {size:,} tickets  ({rate:,.0f} tickets/s)",
                flush=True,
            )
    await target.after_growth()


async def check_rows(storage: SqlStorage, size: int, now: datetime) -> None:
    """The bulk rows read back through the repository as the clocks they stand for."""
    ticket_id = TicketId(min(size, SPREAD + 7))
    opened = now - timedelta(seconds=ticket_id % SPREAD)
    async with storage.reading() as tx:
        ticket = await tx.get_ticket_by_id(ticket_id)
        clocks = {c.metric: c for c in await tx.get_clocks(ticket_id)}
    first = clocks.get(Metric.FIRST_RESPONSE)
    if (
        ticket is None
        or ticket.created_at != opened
        or ticket.due_at != opened + FIRST_RESPONSE
        or first is None
        or first.next_action_at != opened + FIRST_RESPONSE - BEFORE_BREACH
        or first.state is not ClockState.RUNNING
        or set(clocks) != {Metric.FIRST_RESPONSE, Metric.RESOLUTION}
    ):
        raise Wrong(f"the bulk rows read back wrong: {ticket} {clocks}")


async def count(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


def picked(every: int, offset: int) -> Any:
    """The first-response clocks of every `every`-th ticket, from ticket `offset`."""
    c = m.sla_clocks.c
    return (c.metric == Metric.FIRST_RESPONSE.value) & (c.ticket_id % every == offset)


async def make_due(engine: AsyncEngine, now: datetime, every: int, offset: int) -> int:
    late = now - timedelta(minutes=1)  # breached a minute ago: an escalation is an hour away
    async with engine.begin() as conn:
        result = await conn.execute(
            update(m.sla_clocks)
            .where(picked(every, offset))
            .values(due_at=late, next_action_at=late)
        )
        return int(result.rowcount)


async def put_back(engine: AsyncEngine, now: datetime, every: int, offset: int) -> None:
    """The due clocks running again with their next action in the future; nothing sent."""
    due = now + timedelta(minutes=45)
    async with engine.begin() as conn:
        await conn.execute(
            update(m.sla_clocks)
            .where(picked(every, offset))
            .values(
                due_at=due,
                next_action_at=due - BEFORE_BREACH,
                breached_at=None,
                breaches=0,
                reminded_version=0,
                escalations=0,
            )
        )
        await conn.execute(delete(m.deliveries))
        await conn.execute(delete(m.notifications))


async def timed(sweeps: Sweeps, now: datetime) -> tuple[float, int]:
    started = time.perf_counter()
    sent = await sweeps.sla(now)
    return (time.perf_counter() - started) * 1000, sent


async def swept(
    target: Target, sweeps: Sweeps, size: int, now: datetime, every: int, *, offset: int = 0
) -> tuple[int, float]:
    """Make the first-response clock of every `every`-th ticket from `offset` overdue and time
    the one sweep call that sends a breach notice for each (in as many batches as it takes);
    check that each notice was claimed once and queued its deliveries, and that a sweep right
    after finds nothing; put everything back. Returns how many were due, and the sweep's
    milliseconds."""
    where = f"{target.name} at {size:,} tickets"
    due = await make_due(target.engine, now, every, offset)
    expected = len(range(offset or every, size + 1, every))
    if due != expected:
        raise Wrong(f"{where}: {due} clocks made due, expected {expected}")
    due_ms, sent = await timed(sweeps, now)
    notices = await count(target.engine, m.notifications)
    queued = await count(target.engine, m.deliveries)
    _, again = await timed(sweeps, now)
    expected = (due, due, DELIVERIES_PER_BREACH * due, 0)
    if (sent, notices, queued, again) != expected:
        raise Wrong(
            f"{where}: {due} clocks due; the sweep returned {sent}, claimed {notices} "
            f"notifications and queued {queued} deliveries (expected {expected[:3]}); "
            f"a second sweep returned {again} (expected 0)"
        )
    await put_back(target.engine, now, every, offset)
    return due, due_ms


async def measure(
    target: Target, sweeps: Sweeps, size: int, now: datetime, repeats: int, *, largest: bool
) -> Figures:
    where = f"{target.name} at {size:,} tickets"
    idle: list[float] = []
    for i in range(repeats + 1):  # the first is a warm-up
        ms, sent = await timed(sweeps, now)
        if sent:
            raise Wrong(f"{where}: a sweep with nothing due sent {sent}")
        if i:
            idle.append(ms)
    if largest:
        print(f"  {target.name}: plan of the due-clocks read with nothing due at {size:,} tickets:")
        for line in await target.plan(now):
            print(f"    {line}")
    due, due_ms = await swept(target, sweeps, size, now, DUE_EVERY)
    many, many_ms = 0, 0.0
    if largest and size >= MANY:
        # Clocks the 1% case did not use (its rows, keys and index entries are fresh).
        every = size // MANY
        many, many_ms = await swept(target, sweeps, size, now, every, offset=every // 2)
    return Figures(target.name, size, statistics.median(idle), due, due_ms, many, many_ms)


async def bench(
    target: Target, sizes: list[int], now: datetime, repeats: int, floors: dict[str, float]
) -> list[Figures]:
    """Every size on one database, which is closed (and dropped) however this ends; its
    loopback floor goes into `floors`."""
    try:
        return await grow_and_measure(target, sizes, now, repeats, floors)
    finally:
        await target.close()


async def grow_and_measure(
    target: Target, sizes: list[int], now: datetime, repeats: int, floors: dict[str, float]
) -> list[Figures]:
    await upgrade(target.engine)
    times = stamps(now, target.engine)
    storage = SqlStorage(target.engine)
    service = TicketService(storage, SystemClock(), sla=SlaKeeper(POLICY))
    sweeps = Sweeps(service, POLICY)
    figures = []
    have = 0
    for size in sizes:
        await grow(target, have, size, times)
        if not have:
            await check_rows(storage, size, now)
        have = size
        figures.append(await measure(target, sweeps, size, now, repeats, largest=size == sizes[-1]))
        f = figures[-1]
        many = f", {f.many:,} due {f.many_ms:.0f} ms" if f.many else ""
        print(
            f"  {target.name}: {size:,} tickets: nothing due {f.idle_ms:.2f} ms, "
            f"{f.due:,} due {f.due_ms:.0f} ms{many}",
            flush=True,
        )
    floors[target.name] = await floor_ms(target, storage)
    return figures


# --- the report ------------------------------------------------------------------------


def report(figures: list[Figures], floors: dict[str, float], args: argparse.Namespace) -> bool:
    print()
    print(
        f"SLA sweep, one sweep call at a time (batches of {SLA_BATCH}); "
        f"nothing due: median of {args.repeats}"
    )
    print(
        f"{'backend':<9} {'open tickets':>12} {'nothing due':>12} "
        f"{'1% due':>7} {'total':>10} {'per clock':>10}"
    )
    for f in figures:
        print(
            f"{f.backend:<9} {f.size:>12,} {f.idle_ms:>9.2f} ms {f.due:>7,} "
            f"{f.due_ms:>7.0f} ms {f.due_ms / f.due:>7.2f} ms"
        )
    ok = True
    for backend in dict.fromkeys(f.backend for f in figures):
        mine = [f for f in figures if f.backend == backend]
        ok = goals(mine, floors[backend], args) and ok
    return ok


FLOOR_NAMES = {"postgres": "a SELECT 1 round trip", "sqlite": "an empty write transaction"}


def goals(mine: list[Figures], floor: float, args: argparse.Namespace) -> bool:
    """One backend's figures beside their goals and its loopback floor; False if one is missed."""
    backend, small, large = mine[0].backend, mine[0], mine[-1]
    print(f"{backend}: loopback floor, {FLOOR_NAMES[backend]}: {floor:.3f} ms")
    fine_idle = large.idle_ms < IDLE_GOAL_MS
    print(
        f"{backend}: nothing due at {large.size:,}: {large.idle_ms:.2f} ms "
        f"(goal < {IDLE_GOAL_MS:g} ms; floor {floor:.3f} ms) {'ok' if fine_idle else 'TOO SLOW'}"
    )
    fine_many = True
    if large.many:
        seconds = large.many_ms / 1000
        fine_many = seconds < MANY_GOAL_S
        print(
            f"{backend}: {large.many:,} due at {large.size:,}, one sweep call "
            f"({-(-large.many // SLA_BATCH)} batches): {seconds:.2f} s, "
            f"{large.many_ms / large.many:.3f} ms a clock (goal < {MANY_GOAL_S:g} s; floor "
            f"{floor:.3f} ms a trip) {'ok' if fine_many else 'TOO SLOW'}"
        )
    else:
        print(f"{backend}: no size of at least {MANY:,}: the {MANY:,}-due case was not run")
    base = max(small.idle_ms, args.floor_ms)
    ratio = large.idle_ms / base
    below = f" (floor {args.floor_ms:g} ms)" if base > small.idle_ms else ""
    fine_ratio = ratio <= args.max_ratio
    print(
        f"{backend}: nothing due at {large.size:,} vs {small.size:,}: "
        f"{large.idle_ms:.2f} / {base:.2f} ms{below} = {ratio:.2f}x "
        f"(target <= {args.max_ratio:g}x) {'ok' if fine_ratio else 'TOO SLOW'}"
    )
    if not fine_ratio:
        print(
            f"{backend}: the sweep with nothing due grows with the table, as a scan "
            "would: it is not index-driven (see the plan printed above)"
        )
    return fine_idle and fine_many and fine_ratio


async def run(args: argparse.Namespace) -> int:
    logging.getLogger("bot").setLevel(logging.WARNING)
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgres"}
    if unknown or not sizes or sizes[0] < DUE_EVERY:
        print(f"backends: sqlite and/or postgres; sizes: at least {DUE_EVERY} (1% must be one)")
        return 1
    if "postgres" in backends:
        down = await postgres_reachable(args.pg_url)
        if down and not args.skip_postgres_if_down:
            print(f"{down} (give --skip-postgres-if-down to run without it)")
            return 1
        if down:
            print(f"{down}: skipping PostgreSQL")
            backends.remove("postgres")
    now = datetime.now(UTC).replace(microsecond=0)
    figures: list[Figures] = []
    floors: dict[str, float] = {}
    try:
        for backend in backends:
            print(f"{backend}: sizes {', '.join(f'{s:,}' for s in sizes)}", flush=True)
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as folder:
                    figures += await bench(Sqlite(folder), sizes, now, args.repeats, floors)
            else:
                figures += await bench(
                    await Postgres.open(args.pg_url), sizes, now, args.repeats, floors
                )
    except Wrong as exc:
        print(f"WRONG: {exc}")
        return 1
    if not figures:
        print("nothing measured")
        return 1
    ok = report(figures, floors, args)
    print("PASS" if ok else "BELOW TARGET")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--skip-postgres-if-down", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-ratio", type=float, default=3.0)
    parser.add_argument("--floor-ms", type=float, default=1.0)
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
