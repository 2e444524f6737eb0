"""The ticket card keeps showing the SLA due time the database holds: redrawn when a reply, a
customer message, a priority change or a sweep moves it, and not redrawn when nothing shown
changed (each redraw is a Slack call)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import Bot
from bot.core.domain import Status, TicketNumber
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import Message as SlackMessage
from tests.loop.loop_support import ALICE, card, point_at_sandbox, running, thread_says
from tests.support import FakeClock, eventually

POLICY = """
[sla.normal]
first_response = "1h"
next_response = "2h"
resolution = "8h"
calendar = "24x7"
[sla.urgent]
first_response = "10m"
next_response = "20m"
resolution = "3h"
calendar = "24x7"
[reminders]
before_breach = "5m"
[escalation]
after_breach = "1h"
"""
TICKET = TicketNumber(1001)
DATE = re.compile(r"<!date\^(\d+)\^")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture
async def bot(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> AsyncIterator[Bot]:
    point_at_sandbox(sandbox, workdir, monkeypatch, policy=POLICY)
    async with running(clock) as started:
        yield started


def card_due(sandbox: Sandbox, root: SlackMessage) -> int | None:
    """The SLA due time the card shows, as a Unix time (None when it shows none)."""
    blocks = sandbox.slack.message(SLACK.support, root.ts).blocks
    fields = next(b["fields"] for b in blocks if b.get("block_id") == "ticket_fields")
    for field in fields:
        if field["text"].startswith("*SLA due*"):
            found = DATE.search(field["text"])
            assert found is not None
            return int(found.group(1))
    return None


async def db_due(bot: Bot) -> int | None:
    assert bot.service is not None
    due = (await bot.service.get_ticket(TICKET)).due_at
    return int(due.timestamp()) if due else None


async def due_moves(bot: Bot, sandbox: Sandbox, root: SlackMessage, before: int | None) -> int:
    """Wait for the database's due time to move from `before`, then for the card to show it."""

    async def moved() -> int | None:
        due = await db_due(bot)
        return due if due != before else None

    due = await eventually(moved, what="the ticket's due time to move")

    async def shown() -> bool:
        return card_due(sandbox, root) == due

    await eventually(shown, what="the card to show the database's due time")
    return due


def card_updates(sandbox: Sandbox) -> int:
    return len(sandbox.slack.calls_to("chat.update"))


async def test_the_card_follows_every_move_of_the_due_time(
    sandbox: Sandbox, bot: Bot, clock: FakeClock
) -> None:
    alice = sandbox.discord.user(ALICE)
    agent = sandbox.slack.user(SLACK.agent1)
    await alice.send_dm("The site is down")
    root = await card(sandbox)
    await thread_says(sandbox, root, "The site is down")
    first = await db_due(bot)
    assert first is not None
    assert card_due(sandbox, root) == first

    # A reply meets the first-response target: the resolution target is next.
    clock.advance(minutes=5)
    await agent.post(SLACK.support, "Looking into it.", thread_ts=root.ts)
    resolution = await due_moves(bot, sandbox, root, first)
    assert resolution > first

    # The customer writes again: the next-response clock starts, due before the resolution.
    clock.advance(minutes=5)
    await alice.send_dm("Any news?")
    await thread_says(sandbox, root, "Any news?")
    next_response = await due_moves(bot, sandbox, root, resolution)
    assert next_response < resolution

    # Nothing the card shows changes: no card update.
    updates = card_updates(sandbox)
    await alice.send_dm("Hello?")
    await thread_says(sandbox, root, "Hello?")
    await agent.post(SLACK.support, ";; checking the load balancer", thread_ts=root.ts)
    await alice.send_dm("Still down.")
    await thread_says(sandbox, root, "Still down.")  # sent after anything queued before it
    assert card_updates(sandbox) == updates
    assert card_due(sandbox, root) == next_response

    # A priority change retargets the running clocks.
    await agent.select(SLACK.support, root.ts, "Urgent")
    urgent = await due_moves(bot, sandbox, root, next_response)
    assert urgent < next_response

    # A sweep past the due time: a breach (the card shows nothing new), then an escalation.
    clock.advance(hours=1)
    updates = card_updates(sandbox)
    assert (await bot.run_jobs_once())["sla"] >= 1
    await thread_says(sandbox, root, ":rotating_light:")
    assert card_updates(sandbox) == updates
    assert card_due(sandbox, root) == await db_due(bot)

    clock.advance(hours=1)
    assert (await bot.run_jobs_once())["sla"] >= 1
    assert bot.service is not None

    async def escalated() -> bool:
        ticket = await bot.service.get_ticket(TICKET)  # type: ignore[union-attr]
        return ticket.status is Status.ESCALATED

    await eventually(escalated, what="the escalation")

    async def redrawn() -> bool:
        text = str(sandbox.slack.message(SLACK.support, root.ts).blocks)
        return "Escalated" in text and card_due(sandbox, root) == await db_due(bot)

    await eventually(redrawn, what="the card redrawn after the escalation")
