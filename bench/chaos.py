"""The chaos suite: the real `threadline run` between the Slack and Discord emulators while
customers write DMs and agents answer in the tickets' Slack threads at a steady rate, and
something goes wrong in the middle. Scenarios (`--only` takes their keys, comma-separated):

  kill      kill -9 at random moments, the bot started again each time (several per run)
  slack     Slack down (connections refused, Socket Mode cut), then back
  discord   Discord down (gateway and REST), then back
  storm     429 storms: both emulators' rate limits far below the traffic, then lifted
  postgres  PostgreSQL restarted under the bot (`--pg`: see bench/chaos_postgres.py)
  replicas  two, then three `threadline run` on one PostgreSQL database, one on Discord's
            gateway by a lease; kill -9 at random moments, the gateway's holder every other
            time (run only when named: `--only replicas`, or `replicas-2` / `replicas-3`)

After the traffic stops and the bot drains (bounded), each scenario checks: nothing lost,
nothing twice (every customer message in its ticket's Slack thread once, every agent's reply in
the customer's DMs once), each ticket's order kept, and the probe tickets' SLA notices and
surveys once each. It prints, per scenario, messages each way, lost, duplicated, out of order,
the disruption (kills, outage length), the time to drain after recovery and p50/p99 latency
beside the loopback floor (an emulator round trip measured in the same run), and exits
non-zero on any loss, duplicate or reorder.

A post accepted in the last moments before the bot lost its record of it (a kill, the database
cut away) is a duplicate like any other: Discord's sends carry nonces and Slack's posts their
delivery in message metadata, so the bot must find it rather than post it again.

    .venv/bin/python bench/chaos.py            # the full run: 1,000 messages each way per
                                               # scenario, 60 s outages: about 12 minutes
                                               # (a scenario that never drains waits 10 more)
    .venv/bin/python bench/chaos.py --short    # CI: smaller counts, 5 s outages, under 3 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos_ledger import Episode, Verdict, drain_after, judge  # beside this script
from chaos_postgres import Sqlite, open_postgres
from chaos_scenarios import SCENARIOS, Scenario
from chaos_world import Database, Shown, Size, World, world

SHORT = Size(
    customers=6,
    messages=50,
    rate=8.0,
    outage=5.0,
    kills=2,
    quiet=2,
    resolved=2,
    first_response=10,
    survey_after=5,
    drain_within=60.0,
)
FULL = Size(
    customers=20,
    messages=1000,
    rate=10.0,
    outage=60.0,
    kills=6,
    quiet=4,
    resolved=4,
    first_response=60,
    survey_after=45,
    drain_within=600.0,
)
SETTLE = 1.0  # seconds after the drain for a late double to show


@dataclass
class Result:
    scenario: Scenario
    database: str = ""
    episodes: list[Episode] = field(default_factory=list)
    inbound: Verdict = field(default_factory=Verdict)
    outbound: Verdict = field(default_factory=Verdict)
    shown: Shown = field(default_factory=Shown)
    inbound_customers: int = 0
    quiet: int = 0
    resolved: int = 0
    drain: float = 0.0
    drained: bool = False
    floor: tuple[float, float] = (0.0, 0.0)
    refused: tuple[int, int] = (0, 0)  # 429s answered by Slack, by Discord
    failed: int = 0  # deliveries the bot gave up on
    notes: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    def failures(self) -> list[str]:
        found = [self.error] if self.error else []
        for name, v in (("customer messages", self.inbound), ("agents' replies", self.outbound)):
            for what, tokens in (
                ("lost", v.lost),
                ("duplicated", v.doubled),
                ("out of order", v.out_of_order),
                ("in another ticket", v.misplaced),
            ):
                if tokens:
                    found.append(f"{name} {what}: {sorted(tokens)[:20]}")
        shown = self.shown
        wrong = {
            "SLA reminders more than once": [p for p, n in shown.reminders.items() if n > 1],
            "SLA breach notices not exactly once": [p for p, n in shown.breaches.items() if n != 1],
            "surveys not exactly once": [p for p, n in shown.surveys.items() if n != 1],
        }
        found += [f"{what}: probes {probes}" for what, probes in wrong.items() if probes]
        if self.quiet and shown.leads_breaches != self.quiet:
            found.append(f"{shown.leads_breaches} breach notices for the leads, {self.quiet} due")
        tickets = self.inbound_customers + self.quiet + self.resolved
        if shown.cards != tickets:
            found.append(f"{shown.cards} ticket cards in Slack for {tickets} customers")
        if self.failed:
            found.append(f"{self.failed} deliveries failed for good")
        if not self.drained and not self.error:
            found.append("the outbox did not drain in time")
        return found


async def run(scenario: Scenario, size: Size, args: argparse.Namespace, index: int) -> Result:
    result = Result(scenario)
    workdir = Path(tempfile.mkdtemp(prefix=f"chaos-{scenario.key}-"))
    started = time.monotonic()
    database: Database
    try:
        if scenario.database == "postgres":
            database = await open_postgres(args.pg, workdir)
        else:
            database = Sqlite(workdir)
    except Exception as exc:
        result.error = f"no database: {exc}"
        return result
    result.database = database.label
    here: World | None = None
    try:
        async with world(workdir, database, size, scenario.replicas) as here:
            await exercise(here, scenario, args.seed + index, result)
    except Exception:
        result.error = traceback.format_exc(limit=3).strip().splitlines()[-1]
        if here is not None:
            print(here.logs()[-6000:])
    finally:
        await database.close()
    result.seconds = time.monotonic() - started
    if result.failures() or args.keep:
        result.notes.append(f"the bot's logs and database are kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


async def exercise(here: World, scenario: Scenario, seed: int, result: Result) -> None:
    here.write_policy()
    result.floor = await here.floor()
    result.quiet, result.resolved = len(here.quiet), len(here.resolved)
    result.inbound_customers = here.size.customers
    if scenario.replicas > 1:
        await here.start_replicas()
    else:
        await here.start()
    await here.open_tickets()
    rng = random.Random(seed)
    traffic = asyncio.create_task(here.traffic(rng))
    try:
        result.episodes = await scenario.disturb(here, rng)
    finally:
        await traffic
    result.drained = await here.drained()
    await asyncio.sleep(SETTLE)
    shown = result.shown = here.read()
    result.notes += here.notes
    outbox = await here.database.outbox() or {}
    result.failed = outbox.get("failed", 0)
    here.stop()
    threads, dms = here.homes()
    result.inbound = judge(here.ledger, "m", shown.slack, threads)
    result.outbound = judge(here.ledger, "r", shown.dms, dms)
    result.drain = max(
        drain_after(result.inbound, here.ledger, result.episodes),
        drain_after(result.outbound, here.ledger, result.episodes),
    )
    result.refused = (
        sum(1 for c in here.slack.calls if c.status == 429),
        sum(1 for c in here.discord.calls if c.status == 429),
    )
    tracebacks = here.logs().count("Traceback")
    if tracebacks:  # discord.py logs each failed reconnect with one: a note, not a failure
        result.notes.append(f"{tracebacks} tracebacks in the bot's log")


def disruption(result: Result) -> str:
    episodes = result.episodes
    if not episodes:
        return "none"
    lengths = [e.length for e in episodes]
    if episodes[0].kind.startswith("kill -9"):
        holders = sum(e.kind == "kill -9 (holder)" for e in episodes)
        which = f" ({holders} of the gateway's holder)" if holders else ""
        return f"{len(episodes)} kills{which}, down {min(lengths):.1f} to {max(lengths):.1f} s each"
    return f"{episodes[0].kind} for {sum(lengths):.1f} s"


def report(result: Result) -> None:
    s, i, o = result.scenario, result.inbound, result.outbound
    failures = result.failures()
    print(f"{s.key}: {s.title} ({result.database}, {result.seconds:.0f} s)")
    print(f"   disruption: {disruption(result)}")
    for note in result.notes:
        print(f"   {note}")
    print(
        f"   messages each way: {i.sent} customer -> Slack, {o.sent} agent -> DM; "
        f"lost {len(i.lost)} / {len(o.lost)}, duplicated {len(i.doubled)} / {len(o.doubled)}, "
        f"out of order {len(i.out_of_order)} / {len(o.out_of_order)}"
    )
    slack_floor, discord_floor = result.floor
    print(
        f"   time to drain after recovery {result.drain:.1f} s; latency DM -> Slack thread "
        f"p50 {i.p(0.5):.0f} ms p99 {i.p(0.99):.0f} ms, reply -> DM p50 {o.p(0.5):.0f} ms "
        f"p99 {o.p(0.99):.0f} ms; loopback floor {slack_floor:.2f} ms (Slack), "
        f"{discord_floor:.2f} ms (Discord)"
    )
    shown = result.shown
    print(
        f"   SLA and surveys: reminders {sorted(shown.reminders.values())} "
        f"breaches {sorted(shown.breaches.values())} (leads' channel {shown.leads_breaches}) "
        f"over {result.quiet} quiet tickets, surveys {sorted(shown.surveys.values())} over "
        f"{result.resolved} resolved; 429s answered: {result.refused[0]} Slack, "
        f"{result.refused[1]} Discord"
    )
    print(f"   {'FAIL: ' + '; '.join(failures) if failures else 'ok'}", flush=True)


async def main_async(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("integrations.sandbox").setLevel(logging.CRITICAL)
    # The emulators' server, when a killed or stopped bot's socket goes: expected here.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    size = SHORT if args.short else FULL
    wanted = args.only.split(",") if args.only else [s.key for s in SCENARIOS if not s.named_only]
    chosen = [s for s in SCENARIOS if s.key in wanted or s.group in wanted]
    unknown = set(wanted) - {s.key for s in chosen} - {s.group for s in chosen}
    if unknown:
        print(f"unknown scenarios: {sorted(unknown)}; known: {[s.key for s in SCENARIOS]}")
        return 2
    print(
        f"chaos suite ({'short' if args.short else 'full'}): {size.messages} messages each way "
        f"per scenario at {size.rate:g}/s each way over {size.customers} tickets, "
        f"outages {size.outage:g} s, {size.kills} kills; seed {args.seed}",
        flush=True,
    )
    started = time.monotonic()
    results = []
    for index, scenario in enumerate(chosen):
        result = await run(scenario, size, args, index)
        report(result)
        results.append(result)
    failed = [r.scenario.key for r in results if r.failures()]
    print(
        f"{len(results)} scenarios in {time.monotonic() - started:.0f} s: "
        f"{'failed: ' + ', '.join(failed) if failed else 'all passed'}"
    )
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="the CI size (under 3 minutes)")
    parser.add_argument("--only", default="", help="scenario keys, comma-separated")
    parser.add_argument(
        "--pg",
        choices=("auto", "own", "cluster", "terminate"),
        default="auto",
        help="how PostgreSQL is restarted (see bench/chaos_postgres.py)",
    )
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep each run's folder (logs, db)")
    sys.exit(asyncio.run(stoppable(main_async(parser.parse_args()))))


async def stoppable(work: Coroutine[Any, Any, int]) -> int:
    """Run `work`; SIGTERM (a test's time running out) cancels it, so that each scenario's
    cleanup still stops its bot and its database server."""
    task = asyncio.ensure_future(work)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        print("stopped (SIGTERM)")
        return 3


if __name__ == "__main__":
    main()
