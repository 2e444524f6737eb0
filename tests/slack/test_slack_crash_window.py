"""Slack's crash window: a post Slack made for a delivery that was never recorded as sent (the
process was killed right after, or Slack's answer was lost) is not posted again.

Slack has no idempotency key, so each post carries its delivery in message metadata; a delivery
taken up after an interrupted attempt looks for its posts before making them. Here a process is
"killed" after each single post of a ticket's life, one at a time: the next process must finish
every delivery without a second copy of anything."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.core.delivery import MAIN_WORKSPACE, DeliveryStatus, Lane
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Ticket
from bot.core.errors import PlatformError
from bot.core.events import CustomerMessage
from bot.core.routes import Routes
from bot.core.service import TicketService
from integrations.platforms import DISCORD
from integrations.sandbox.slack import DEMO, SlackEmulator, Timing, demo_workspace
from integrations.slack.client import web_client
from integrations.slack.refs import split_ref
from integrations.slack.workspace import SlackWorkspace
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repository import SqlStorage
from tests.slack.conftest import CustomerInbox, point_at
from tests.support import FakeClock

LEASE = 20.0
LONG = "word " * 9000  # over one Slack post (39,000 characters): sent as two posts


@dataclass
class Bot:
    slack: SlackEmulator
    storage: SqlStorage
    service: TicketService
    routes: Routes
    clock: FakeClock

    def next_process(self) -> Dispatcher:
        """A fresh dispatcher, as the next process has (its own leases, nothing in flight)."""
        return Dispatcher(self.storage, self.clock, self.routes, lease_seconds=LEASE)

    async def killed_after_one_post(self) -> bool:
        """A process takes up the next Slack delivery; Slack accepts its first post and the
        process dies before it hears back (nothing after that runs, nothing is recorded).
        False when nothing is left to take up."""
        async with self.storage.transaction() as tx:
            heads = await tx.claim_due_deliveries(
                self.clock.now(), Lane.AGENTS, MAIN_WORKSPACE, 1, LEASE
            )
            jobs = await tx.jobs_for(heads)
        if not heads:
            return False
        [job] = jobs
        assert job is not None
        self.slack.faults.lose_answer(method="chat.postMessage")
        with contextlib.suppress(PlatformError):  # the answer that never came
            await self.routes.carry(job)
        self.slack.faults.clear()  # a delivery that makes no post (a reaction, an edit)
        self.clock.advance(seconds=LEASE + 1)  # the dead process's lease runs out
        return True

    async def customer_writes(self, message_id: str, body: str) -> Ticket:
        intake = await self.service.receive_customer_message(
            CustomerMessage(DISCORD, message_id, "42", "Dana", body, datetime.now(UTC))
        )
        return intake.ticket

    async def thread(self, ticket: Ticket) -> list[str]:
        fresh = await self.service.get_ticket(ticket.number)
        assert fresh.workspace_ref is not None
        channel, ts = split_ref(fresh.workspace_ref)
        return [m.text for m in self.slack.thread(channel, ts)]

    async def deliveries_done(self, ticket: Ticket) -> bool:
        async with self.storage.transaction() as tx:
            deliveries = await tx.list_deliveries(ticket.id)
        return all(d.status is DeliveryStatus.DONE for d in deliveries)

    def looks(self) -> int:
        """How many times the bot looked for an earlier post."""
        return len(self.slack.calls_to("conversations.history")) + len(
            self.slack.calls_to("conversations.replies")
        )


@pytest.fixture
async def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Bot]:
    async with SlackEmulator(demo_workspace(), timing=Timing.fast()) as slack:
        settings = point_at(slack, monkeypatch)
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
        await upgrade(engine)
        storage = SqlStorage(engine)
        clock = FakeClock()
        workspace = SlackWorkspace(web_client(settings), DEMO.support, DEMO.escalations)
        routes = Routes(workspace, {DISCORD: CustomerInbox()})
        try:
            yield Bot(slack, storage, TicketService(storage, clock), routes, clock)
        finally:
            await engine.dispose()


async def test_a_kill_after_each_post_shows_everything_once(bot: Bot) -> None:
    ticket = await bot.customer_writes("m1", "My printer is on fire")
    await bot.customer_writes("m2", LONG)
    await bot.customer_writes("m3", "Still burning")
    kills = 0
    while await bot.killed_after_one_post():
        kills += 1
        await bot.next_process().run_once()  # finishes the delivery it was cut off in
    assert kills >= 4  # the card, each message (the long one cut after its first piece)

    cards = bot.slack.messages(DEMO.support)
    assert len(cards) == 1, "the ticket's card was posted again"
    fresh = await bot.service.get_ticket(ticket.number)
    assert fresh.workspace_ref == f"{cards[0].channel}:{cards[0].ts}"
    assert "My printer is on fire" in cards[0].text  # the first message is on the card
    shown = await bot.thread(ticket)
    assert [t for t in shown if not t.startswith("word")] == [
        "My printer is on fire",
        "Still burning",
    ]
    long_pieces = [t for t in shown if t.startswith("word")]
    assert len(long_pieces) > 1
    assert " ".join(long_pieces).split() == LONG.split(), "a piece of the long message twice"
    assert await bot.deliveries_done(ticket)


async def test_a_post_whose_answer_was_lost_is_not_made_again(bot: Bot) -> None:
    """Slack made the post but its answer was lost (a server error after the work): neither
    the SDK nor the delivery queue posts it again."""
    ticket = await bot.customer_writes("m1", "My printer is on fire")
    dispatcher = bot.next_process()
    while await dispatcher.run_once():  # the card
        pass
    await bot.customer_writes("m2", "Still burning")
    bot.slack.faults.lose_answer(method="chat.postMessage")
    await dispatcher.run_once()  # the message: posted, answered 500, to be retried
    assert await bot.thread(ticket) == ["My printer is on fire", "Still burning"]
    assert not await bot.deliveries_done(ticket)
    bot.clock.advance(minutes=1)
    while await dispatcher.run_once():
        bot.clock.advance(minutes=1)
    assert await bot.thread(ticket) == ["My printer is on fire", "Still burning"]
    assert bot.looks() == 1
    assert await bot.deliveries_done(ticket)


async def test_a_clean_delivery_never_looks_for_earlier_posts(bot: Bot) -> None:
    ticket = await bot.customer_writes("m1", "My printer is on fire")
    await bot.customer_writes("m2", LONG)
    dispatcher = bot.next_process()
    while await dispatcher.run_once():
        pass
    assert await bot.deliveries_done(ticket)
    assert bot.looks() == 0
    # Every post a delivery made carries it, invisibly.
    posts = [c for c in bot.slack.calls_to("chat.postMessage") if c.ok]
    assert posts
    assert all(_tag(c.args) == "threadline_delivery" for c in posts)


def _tag(args: dict[str, Any]) -> object:
    metadata = args.get("metadata")
    metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
    return metadata.get("event_type") if isinstance(metadata, dict) else None
