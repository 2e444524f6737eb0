"""The chaos suite's scenarios: what goes wrong while the traffic runs.

Each scenario is a `Scenario`: a key, what it does in words, the database it runs on, and
`disturb`, a coroutine run beside the traffic that does the damage and returns each disruption
as an `Episode` (when it began, when it was over). A new one is a function and an entry in
SCENARIOS. The replicas ones run several bots on one PostgreSQL database, and only when
`--only` names them (`--only replicas` names both).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chaos_ledger import Episode
from chaos_postgres import Postgres
from chaos_world import World

from integrations.sandbox.slack import Rate

Disturb = Callable[[World, random.Random], Awaitable[list[Episode]]]


@dataclass(frozen=True)
class Scenario:
    key: str  # as `--only` names it
    title: str
    database: str  # "sqlite" or "postgres"
    disturb: Disturb
    replicas: int = 1  # bots on the one database
    named_only: bool = False  # run only when `--only` names it (or its group)

    @property
    def group(self) -> str:
        """`--only` takes this too: "replicas" for "replicas-2" and "replicas-3"."""
        return self.key.split("-")[0]


async def kills(here: World, rng: random.Random) -> list[Episode]:
    """kill -9 at random moments of the traffic, one in each equal part of it, each time
    started again after a random pause (while it is down, both sides go on writing). A start
    takes seconds; a kill due meanwhile comes soon after it, while the bot catches up."""
    size = here.size
    slot = size.traffic_seconds / size.kills
    began = time.time()
    episodes = []
    for n in range(size.kills):
        due = began + (n + rng.uniform(0.1, 0.9)) * slot
        await asyncio.sleep(max(rng.uniform(0.2, 1.0), due - time.time()))
        down = here.kill()
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        await here.start()
        episodes.append(Episode("kill -9", down, time.time()))
    return episodes


async def slack_down(here: World, rng: random.Random) -> list[Episode]:
    """Slack down: connections refused, Socket Mode cut, the API unreachable; agents' messages
    wait in Slack until it is back, as Slack's events do."""
    await asyncio.sleep(0.2 * here.size.traffic_seconds)
    faults = here.slack.faults
    down = time.time()
    await faults.outage(here.size.outage)
    await faults.up.wait()
    return [Episode("Slack down", down, time.time())]


async def discord_down(here: World, rng: random.Random) -> list[Episode]:
    """Discord down: REST answers 502, the gateway drops every connection and refuses new
    ones; customers' messages wait in the bot's gateway session, replayed on RESUME."""
    await asyncio.sleep(0.2 * here.size.traffic_seconds)
    down = time.time()
    here.discord.faults.down_for(here.size.outage)
    await asyncio.sleep(here.size.outage)
    here.discord.faults.up()
    return [Episode("Discord down", down, time.time())]


async def storms(here: World, rng: random.Random) -> list[Episode]:
    """429 storms: both platforms' rate limits far below the traffic (Slack one post a second
    into the channel and two calls a second per method; Discord two requests a second in all,
    one post a second per channel) for the outage's length, then back to none."""
    await asyncio.sleep(0.2 * here.size.traffic_seconds)
    slack, discord = here.slack.limits, here.discord.limits
    slow = Rate(2, 1.0, 2)
    slack.post_message_workspace = slow
    slack.tiers = {tier: slow for tier in slack.tiers}
    slack.set_rate("chat.postMessage", Rate(1, 1.0, 1))
    discord.global_limit, discord.global_window = 2, 1.0
    discord.set_route("POST /channels/{channel_id}/messages", 1, 1.0)
    discord.reset()
    down = time.time()
    slack.enabled = discord.enabled = True
    await asyncio.sleep(here.size.outage)
    slack.enabled = discord.enabled = False
    return [Episode("429 storm", down, time.time())]


async def database_restart(here: World, rng: random.Random) -> list[Episode]:
    """PostgreSQL restarted under the bot (see chaos_postgres for how)."""
    assert isinstance(here.database, Postgres)
    await asyncio.sleep(0.3 * here.size.traffic_seconds)
    down = time.time()
    here.notes.append(await here.database.restart())
    return [Episode("database restart", down, time.time())]


async def replica_kills(here: World, rng: random.Random) -> list[Episode]:
    """kill -9 among the replicas at random moments of the traffic: the gateway's holder at
    least every other time, another replica otherwise, each started again after a random pause
    (it comes back on standby, or holding the gateway if the lease was free). An episode lasts
    until one replica holds the gateway again and all are back; each takeover's time (from the
    holder's kill to another replica on the gateway) is noted."""
    size = here.size
    slot = size.traffic_seconds / size.kills
    began = time.time()
    episodes = []
    takeovers = []
    for n in range(size.kills):
        due = began + (n + rng.uniform(0.1, 0.9)) * slot
        await asyncio.sleep(max(rng.uniform(0.2, 1.0), due - time.time()))
        holder = await here.holder()
        others = [i for i in range(len(here.bots)) if i != holder]
        victim = holder if holder is not None and (n % 2 == 0 or rng.random() < 0.5) else None
        if victim is None:
            victim = rng.choice(others)
        identified = here.discord.gateway.count("identify")
        down = time.time()
        here.bots[victim].kill()
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        here.bots[victim].start()
        if victim == holder:
            deadline = time.monotonic() + 60
            while here.discord.gateway.count("identify") <= identified:
                if time.monotonic() > deadline:
                    raise TimeoutError("no replica took the gateway over within 60 s")
                await asyncio.sleep(0.05)
            takeovers.append(time.time() - down)
        await here.replicas_up()
        what = "kill -9 (holder)" if victim == holder else "kill -9 (standby)"
        episodes.append(Episode(what, down, time.time()))
    if takeovers:
        spans = ", ".join(f"{t:.1f}" for t in takeovers)
        here.notes.append(f"gateway taken over in {spans} s after the holder's kill")
    return episodes


SCENARIOS = (
    Scenario("kill", "kill -9 at random moments", "sqlite", kills),
    Scenario("slack", "Slack down, then back", "sqlite", slack_down),
    Scenario("discord", "Discord down (gateway and REST), then back", "sqlite", discord_down),
    Scenario("storm", "429 storms on both platforms", "sqlite", storms),
    Scenario("postgres", "PostgreSQL restarted mid-run", "postgres", database_restart),
    Scenario(
        "replicas-2",
        "two replicas on one PostgreSQL database, kill -9 at random (the gateway's holder too)",
        "postgres",
        replica_kills,
        replicas=2,
        named_only=True,
    ),
    Scenario(
        "replicas-3",
        "three replicas on one PostgreSQL database, kill -9 at random (the gateway's holder too)",
        "postgres",
        replica_kills,
        replicas=3,
        named_only=True,
    ),
)
