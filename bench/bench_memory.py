"""Benchmark: the idle memory of the real bot, with 100,000 tickets in its SQLite database.

Run: `python bench/bench_memory.py [--tickets 100000] [--open 200] [--settle 10] [--within 180]`.

`threadline run` starts in a child process against the Slack and Discord emulators (in this
process, as tests/loop/test_kill_nine.py runs them), on an SQLite database seeded in bulk:
`--tickets` tickets, each with its own customer and the customer's first message (and its
Discord copy), all closed 30 to 120 days ago but the last `--open`, which wait on their
customer (status pending, first response met, resolution paused: no SLA work is due) and whose
customers are people in the Discord emulator (the bot reads their DM history at start, as it
does for every recently active customer). The rows go in through a plain sqlite3 connection,
as bench/bench_sla_sweep.py loads its own.

Once the bot says it is running, its resident set (VmRSS in /proc/<pid>/status) is read every
half second until it has moved less than `--steady-mb` over the last `--settle` seconds: that
is the figure, printed beside the goal (150 MB) and two floors measured in the same run, the
same bot on an empty database, and a bare `python -c "import bot.app"`. Its peak (VmHWM) is
printed too. Exits 1 when the bot with the tickets is at or over the goal, or when a start
does not settle within `--within` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.domain import Direction, Priority, Status
from bot.core.sla import ClockState, Metric
from integrations.sandbox.discord import DiscordEmulator, demo_world
from integrations.sandbox.discord.seed import DiscordSeed, SeedUser
from integrations.sandbox.launch import HOST, Sandbox
from integrations.sandbox.slack import SlackEmulator, Timing, demo_workspace
from storage import models as m
from storage.db import create_engine
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
GOAL_MB = 150.0
FIRST_CUSTOMER = 4_000_000_000_000_000_000  # Discord ids of the seeded customers
FIRST_MESSAGE = 5_000_000_000_000_000_000  # ... and of their first messages
CHUNK = 20_000
SAMPLE_EVERY = 0.5  # seconds between reads of the child's VmRSS
RUNNING = b"Threadline is running"
CATCH_UP = re.compile(rb"Catching up from Discord history for (\d+) customer")


# --- the database ----------------------------------------------------------------------


def stamper(engine: Any) -> Callable[[datetime], Any]:
    """Instants as the SQLite driver takes them (what `UTCDateTime` binds), so rows can go in
    through plain sqlite3."""
    dialect = engine.dialect
    bind = m.UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert bind is not None
    return bind


@dataclass(frozen=True, slots=True)
class Rows:
    customers: list[tuple[Any, ...]]
    tickets: list[tuple[Any, ...]]
    messages: list[tuple[Any, ...]]
    refs: list[tuple[Any, ...]]
    clocks: list[tuple[Any, ...]]


def rows(first: int, last: int, *, total: int, opened: int, now: datetime, at: Any) -> Rows:
    """Tickets `first`..`last` of `total`; the last `opened` of them wait on their customer."""
    out = Rows([], [], [], [], [])
    for i in range(first, last + 1):
        waiting = i > total - opened
        age = timedelta(hours=1) if waiting else timedelta(days=30 + i % 90, seconds=i % 86_400)
        created = now - age
        answered = created + timedelta(minutes=20)
        closed = created + timedelta(days=1)
        external = str(FIRST_CUSTOMER + i)
        out.customers.append((i, "discord", external, f"Customer {i}", at(created)))
        status = Status.PENDING if waiting else Status.CLOSED
        out.tickets.append(
            (
                i,
                1000 + i,
                i,
                f"Question {i} about an order",
                status.value,
                Priority.NORMAL.value,
                1,
                2,
                at(created),
                at(answered if waiting else closed),
                at(answered),
                None if waiting else at(closed - timedelta(hours=2)),
                None if waiting else at(closed),
            )
        )
        body = f"Hello, my order {i} has not arrived yet. Could you look into it, please?"
        out.messages.append(
            (
                i,
                i,
                Direction.FROM_CUSTOMER.value,
                "customer",
                external,
                f"Customer {i}",
                body,
                "[]",
                at(created),
            )
        )
        out.refs.append((i, i, "discord", str(FIRST_MESSAGE + i), ""))
        if waiting:
            first, resolution = Metric.FIRST_RESPONSE.value, Metric.RESOLUTION.value
            met, held = ClockState.MET.value, ClockState.PAUSED.value
            due = at(created + timedelta(hours=8))
            never = (None, 0, 0, 0, None)  # breached_at .. next_action_at: nothing to do
            out.clocks.extend(
                [
                    (
                        i,
                        first,
                        met,
                        at(created),
                        28_800.0,
                        1200.0,
                        None,
                        due,
                        1,
                        at(answered),
                        *never,
                    ),
                    (
                        i,
                        resolution,
                        held,
                        at(created),
                        86_400.0,
                        1200.0,
                        None,
                        None,
                        1,
                        None,
                        *never,
                    ),
                ]
            )
    return out


INSERTS = {
    "customers": "id, platform, external_id, display_name, created_at",
    "tickets": (
        "id, number, customer_id, subject, status, priority, tier, version, created_at, "
        "updated_at, first_response_at, resolved_at, closed_at"
    ),
    "messages": (
        "id, ticket_id, direction, author_kind, author_id, author_name, body, attachments, "
        "created_at"
    ),
    "message_refs": "id, message_id, platform, external_id, workspace",
    "sla_clocks": (
        "ticket_id, metric, state, started_at, target_seconds, banked_seconds, running_since, "
        "due_at, due_version, met_at, breached_at, breaches, reminded_version, escalations, "
        "next_action_at"
    ),
}


def load(path: str, total: int, opened: int, now: datetime, at: Any) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for first in range(1, total + 1, CHUNK):
            last = min(first + CHUNK - 1, total)
            chunk = rows(first, last, total=total, opened=opened, now=now, at=at)
            db.execute("BEGIN IMMEDIATE")
            for table, values in (
                ("customers", chunk.customers),
                ("tickets", chunk.tickets),
                ("messages", chunk.messages),
                ("message_refs", chunk.refs),
                ("sla_clocks", chunk.clocks),
            ):
                if values:
                    columns = INSERTS[table]
                    marks = ", ".join("?" * len(values[0]))
                    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
                    db.executemany(sql, values)
            db.execute("COMMIT")
        db.execute("UPDATE counters SET value = ? WHERE name = 'ticket_number'", (1000 + total,))
        db.execute("ANALYZE")
    finally:
        db.close()


async def database(folder: Path, name: str, total: int, opened: int) -> str:
    """A migrated SQLite database with `total` tickets; returns its URL."""
    url = f"sqlite+aiosqlite:///{folder}/{name}.db"
    engine = create_engine(url)
    try:
        await upgrade(engine)
        at = stamper(engine)
    finally:
        await engine.dispose()
    if total:
        started = time.perf_counter()
        now = datetime.now(UTC)
        await asyncio.to_thread(load, f"{folder}/{name}.db", total, opened, now, at)
        print(f"  seeded {total:,} tickets in {time.perf_counter() - started:.1f} s", flush=True)
    return url


# --- the processes -----------------------------------------------------------------------


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


@dataclass(frozen=True, slots=True)
class Settled:
    rss: float
    peak: float
    seconds: float  # from the start of the process until its RSS held still


class Child:
    """A child process whose output is read as it comes (kept, for a report on failure)."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc, self.name = proc, name
        self.started = time.perf_counter()
        self.output = bytearray()
        self.said = asyncio.Event()  # `RUNNING` (or the marker given) was printed
        self._reading: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, name: str, argv: Sequence[str], **options: Any) -> Child:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            **options,
        )
        return cls(proc, name)

    def watch_for(self, marker: bytes) -> None:
        self._reading = asyncio.create_task(self._read(marker))

    async def _read(self, marker: bytes) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.output += line
            if marker in line:
                self.said.set()

    async def said_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.said.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def settle(self, args: argparse.Namespace) -> Settled | None:
        """Read its RSS until it moved less than `--steady-mb` over `--settle` seconds."""
        window = max(2, round(args.settle / SAMPLE_EVERY))
        samples: list[float] = []
        while time.perf_counter() - self.started < args.within:
            if self.proc.returncode is not None:
                return None
            rss, peak = rss_mb(self.proc.pid)
            samples.append(rss)
            recent = samples[-window:]
            if len(recent) == window and max(recent) - min(recent) < args.steady_mb:
                return Settled(rss, peak, time.perf_counter() - self.started)
            await asyncio.sleep(SAMPLE_EVERY)
        return None

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reading is not None:
            await self._reading

    def failed(self, why: str) -> SystemExit:
        tail = self.output[-5000:].decode(errors="replace")
        return SystemExit(f"{self.name}: {why}\n{tail}")


def bot_env(box: Sandbox, folder: Path, url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "OPENAI_", "THREADLINE_", "DATABASE_URL"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env.update(box.settings())
    env.update(DATABASE_URL=url, HTTP_PORT="0", THREADLINE_CONFIG=str(folder / "threadline.toml"))
    return env


async def measured(child: Child, marker: bytes, args: argparse.Namespace) -> Settled:
    """The child's RSS once it printed `marker` and then held still; it is stopped after."""
    child.watch_for(marker)
    try:
        if not await child.said_within(args.within):
            raise child.failed("did not start")
        found = await child.settle(args)
        if found is None:
            raise child.failed(f"its RSS did not settle within {args.within:g} s")
        return found
    finally:
        await child.stop()


async def bot(box: Sandbox, folder: Path, url: str, args: argparse.Namespace) -> Settled:
    """`threadline run` on the database at `url`."""
    argv = [sys.executable, "-c", "from bot.cli import main; main()", "run"]
    child = await Child.start(f"the bot on {url}", argv, env=bot_env(box, folder, url), cwd=folder)
    found = await measured(child, RUNNING, args)
    history = CATCH_UP.search(child.output)
    read = int(history.group(1)) if history else 0
    print(f"  {url.rsplit('/', 1)[-1]}: at start, read Discord history for {read} customer(s)")
    return found


async def bare_import(args: argparse.Namespace) -> Settled:
    """A child that imports `bot.app` and waits: the floor of the code alone."""
    code = "import sys, bot.app; print('imported', flush=True); sys.stdin.read()"
    child = await Child.start("import bot.app", [sys.executable, "-c", code], cwd=ROOT)
    return await measured(child, b"imported", args)


# --- the run -----------------------------------------------------------------------------


def world(opened: Sequence[int]) -> DiscordSeed:
    """The demo world, with the customers of the open tickets in its guild."""
    seed = demo_world()
    users = tuple(SeedUser(FIRST_CUSTOMER + i, f"c{i}", f"Customer {i}") for i in opened)
    guild = replace(seed.guilds[0], member_ids=(*seed.guilds[0].member_ids, *(u.id for u in users)))
    return replace(seed, users=(*seed.users, *users), guilds=(guild,))


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "threadline.toml").write_text("[slack]\nposts_per_second = 0\n")
        opened = range(args.tickets - args.open + 1, args.tickets + 1)
        full = await database(folder, "tickets", args.tickets, args.open)
        empty = await database(folder, "empty", 0, 0)
        slack = SlackEmulator(demo_workspace(), host=HOST, timing=Timing.fast())
        discord = DiscordEmulator(world(opened), host=HOST)
        async with slack, discord:
            box = Sandbox(slack, discord)
            floor = await bare_import(args)
            print(f"  import bot.app: {floor.rss:.1f} MB", flush=True)
            bare = await bot(box, folder, empty, args)
            print(f"  the bot, empty database: {bare.rss:.1f} MB", flush=True)
            loaded = await bot(box, folder, full, args)
            print(f"  the bot, {args.tickets:,} tickets: {loaded.rss:.1f} MB", flush=True)
    fine = loaded.rss < GOAL_MB
    print()
    print(
        f"Idle RSS of `threadline run` (VmRSS once it held within {args.steady_mb:g} MB for "
        f"{args.settle:g} s)"
    )
    print(
        f"  with {args.tickets:,} tickets ({args.open:,} open): {loaded.rss:.1f} MB, settled "
        f"{loaded.seconds:.0f} s after start, peak {loaded.peak:.1f} MB "
        f"(goal < {GOAL_MB:g} MB) {'ok' if fine else 'OVER'}"
    )
    print(
        f"  floors: the same bot on an empty database {bare.rss:.1f} MB (peak {bare.peak:.1f}); "
        f"python -c 'import bot.app' {floor.rss:.1f} MB"
    )
    print("PASS" if fine else "OVER THE GOAL")
    return 0 if fine else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=200)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds RSS must hold")
    parser.add_argument("--steady-mb", type=float, default=1.0)
    parser.add_argument("--within", type=float, default=180.0, help="seconds to settle, at most")
    args = parser.parse_args()
    if not 0 <= args.open <= args.tickets:
        parser.error("--open must be between 0 and --tickets")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
