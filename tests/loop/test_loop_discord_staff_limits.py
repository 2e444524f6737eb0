"""Agents in Discord under Discord's rate limits: a burst of tickets from a dozen customers, with
the emulator enforcing per-route buckets and a (smaller) global limit. Every ticket gets its one
forum post, every customer message is shown in it once, every agent's reply reaches its customer
once; discord.py waits out the 429s it meets, and nothing ends up failed in the outbox."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integrations.sandbox.launch import HOST, Sandbox
from integrations.sandbox.slack import SlackEmulator, Timing, demo_workspace
from tests.loop.kill_staff_support import (
    Token,
    deliveries,
    in_dms,
    in_forum,
    staff_world_with,
)
from tests.loop.loop_support import point_at_sandbox, running
from tests.loop.staff_support import SAM, posts
from tests.support import eventually

CUSTOMERS = 12
MESSAGES = 3  # each, at once
# Discord's global limit is 50 requests a second; a tenth of it makes this burst meet it for
# sure (the same rule, smaller), besides the per-channel buckets (5 messages per 5 s).
GLOBAL_LIMIT = 5
POLICY = "[customers]\nmessages_per_minute = 100\n"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    slack = SlackEmulator(demo_workspace(), host=HOST, timing=Timing.fast())
    discord, _ = staff_world_with(CUSTOMERS)
    discord.limits.enabled = True
    discord.limits.global_limit = GLOBAL_LIMIT
    async with slack, discord:
        yield Sandbox(slack, discord, staff=True)


@pytest.fixture
def settings_env(sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Discord only: no Slack setting at all."""
    point_at_sandbox(sandbox, workdir, monkeypatch, policy=POLICY)
    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)


async def test_a_burst_of_tickets_under_rate_limits_loses_and_doubles_nothing(
    sandbox: Sandbox, settings_env: None, workdir: Path
) -> None:
    emu = sandbox.discord
    customers = [u for u in emu.world.users.values() if u.username.startswith("customer")]
    ids = sorted(u.id for u in customers)
    database = workdir / "loop.db"
    async with running() as bot:
        assert bot.slack is None
        sent: list[Token] = []

        async def write(index: int) -> None:
            person = emu.user(ids[index])
            for number in range(1, MESSAGES + 1):
                sent.append((index, "m", number))
                await person.send_dm(f"my order c{index}-m{number} is late")

        await asyncio.gather(*(write(i) for i in range(CUSTOMERS)))

        post_of: dict[int, int] = {}

        async def every_message_shown() -> bool:
            forum = in_forum(sandbox)
            for post, seen in forum.items():
                for customer, _, _ in seen:
                    post_of[customer] = post
            shown = {t for seen in forum.values() for t in seen}
            return set(sent) <= shown

        await eventually(every_message_shown, what="every message in the forum", within=60)

        # Sam answers every ticket at once.
        sam = emu.user(SAM)
        replies = [(i, "r", 1) for i in range(CUSTOMERS)]
        for index, _, _ in replies:
            await sam.send(post_of[index], f"Sorry! Looking at it now c{index}-r1")

        async def every_reply_sent() -> bool:
            return all(in_dms(sandbox, ids[i])[(i, "r", 1)] for i in range(CUSTOMERS))

        await eventually(every_reply_sent, what="every reply with its customer", within=60)

        async def outbox_empty() -> bool:
            return deliveries(database).get("pending", 0) == 0

        await eventually(outbox_empty, what="nothing left to send", within=60)

    assert len(posts(sandbox)) == CUSTOMERS
    forum = in_forum(sandbox)
    for post, seen in forum.items():
        assert len({c for c, _, _ in seen}) == 1, f"post {post} mixes customers"
    shown = {t: n for seen in forum.values() for t, n in seen.items()}
    assert {t: n for t, n in shown.items() if n != 1} == {}
    assert set(shown) == set(sent)
    for index, customer_id in enumerate(ids):
        dms = in_dms(sandbox, customer_id)
        assert dms[(index, "r", 1)] == 1, f"customer {index} got the reply {dms} times"
        assert not [t for t in dms if t[0] != index]
    assert deliveries(database).get("failed", 0) == 0
    refused = [c for c in emu.calls if c.status == 429]
    assert refused, "the burst never met a rate limit"
