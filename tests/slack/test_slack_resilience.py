"""Delivery to Slack under its rate limits and through an outage: nothing lost, nothing out of
order. And notes, whatever they say, never reach the customer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import SlackPolicy
from bot.core.domain import Ticket
from bot.core.events import CustomerMessage
from integrations.platforms import DISCORD
from integrations.sandbox.slack import DEMO, mention, special
from integrations.sandbox.slack.limits import Rate
from tests.slack.conftest import Desk, Sent
from tests.support import eventually

SLACK_RATE = Rate(20, 1.0, 3)  # Slack's shape (per channel, short bursts), sped up twentyfold


@pytest.fixture
def slack_pacing() -> SlackPolicy:
    return SlackPolicy(posts_per_second=18, burst=3)


def shown(desk: Desk, channel: str, root: str) -> list[str]:
    """The customer's messages a thread shows, in order: a ticket's messages that waited behind
    the pacing are one post, a section each (integrations/slack/grouped.py)."""
    texts: list[str] = []
    for message in desk.slack.thread(channel, root):
        parts = [
            str(block["text"]["text"])
            for block in message.blocks or []
            if str(block.get("block_id", "")).startswith("msg")
        ]
        texts += parts or [message.text]
    return texts


async def threads_hold(desk: Desk, tickets: list[Ticket], per_ticket: int) -> None:
    async def complete() -> bool:
        for ticket in tickets:
            fresh = await desk.service.get_ticket(ticket.number)
            if fresh.workspace_ref is None:
                return False
            channel, root = desk.thread_of(fresh)
            if len(shown(desk, channel, root)) < per_ticket:
                return False
        return True

    await eventually(complete, what="every thread to fill", within=30)


async def test_a_burst_is_paced_and_arrives_whole_and_in_order(desk: Desk) -> None:
    desk.slack.limits.enabled = True
    desk.slack.limits.set_rate("chat.postMessage", SLACK_RATE)
    tickets = []
    for customer in range(8):
        for part in range(4):
            intake = await desk.service.receive_customer_message(
                _message(f"{customer}-{part}", str(customer), f"part {part}")
            )
        tickets.append(intake.ticket)
    await threads_hold(desk, tickets, 4)

    for ticket in tickets:
        fresh = await desk.service.get_ticket(ticket.number)
        channel, root = desk.thread_of(fresh)
        assert shown(desk, channel, root) == [f"part {i}" for i in range(4)]
    posts = desk.slack.calls_to("chat.postMessage")
    refused = [c for c in posts if c.status == 429]
    # Unpaced, all but the first few of these posts would be refused. Paced, only the odd one is:
    # on a loaded machine the event loop can bunch a few paced requests on the wire.
    assert len(refused) <= len(posts) // 8, f"{len(refused)} of {len(posts)} posts were refused"


@pytest.mark.parametrize("desk", ["socket"], indirect=True)  # no events: one mode will do
async def test_a_429_storm_delays_messages_and_loses_or_reorders_none(desk: Desk) -> None:
    # Slack's limit, much tighter than the bot's own pacing: most posts are refused at first.
    desk.slack.limits.enabled = True
    desk.slack.limits.set_rate("chat.postMessage", Rate(8, 1.0, 2))
    tickets = []
    for customer in range(6):
        for part in range(6):
            intake = await desk.service.receive_customer_message(
                _message(f"{customer}-{part}", str(customer), f"part {part}")
            )
        tickets.append(intake.ticket)
    async with _time_passing(desk):  # a post refused past the SDK's retries is due again later
        await threads_hold(desk, tickets, 6)

    for ticket in tickets:
        channel, root = desk.thread_of(await desk.service.get_ticket(ticket.number))
        assert shown(desk, channel, root) == [f"part {i}" for i in range(6)]
    refused = [c for c in desk.slack.calls_to("chat.postMessage") if c.status == 429]
    assert len(refused) >= 5, f"only {len(refused)} posts were refused: no storm"
    assert len(desk.slack.messages(DEMO.support)) == len(tickets)  # one card each, no repeats


@contextlib.asynccontextmanager
async def _time_passing(desk: Desk) -> AsyncIterator[None]:
    """Move the test's clock on about as fast as real time, so that deliveries the dispatcher
    put off (Retry-After) come due again; never faster, or a delivery's lease would expire
    while it is still being sent."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.5)
            desk.clock.advance(seconds=0.5)
            desk.dispatcher.wake()

    ticking = asyncio.create_task(tick())
    try:
        yield
    finally:
        ticking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticking


async def test_a_slack_outage_delays_messages_and_loses_none(desk: Desk) -> None:
    first = await desk.customer_writes("m0", "before the outage")
    await desk.slack.faults.outage(3600, refuse=False)  # every call answered 503
    for part in range(3):
        await desk.service.receive_customer_message(
            _message(f"m{part + 1}", "42", f"during {part}")
        )
    # The dispatcher keeps trying with backoff while Slack is down (about a minute here).
    for _ in range(6):
        desk.clock.advance(seconds=10)
        await desk.dispatcher.run_once()
    await desk.slack.faults.end_outage()
    desk.clock.advance(minutes=5)
    await threads_hold(desk, [first], 4)
    channel, root = desk.thread_of(await desk.service.get_ticket(first.number))
    assert shown(desk, channel, root) == [
        "before the outage",
        "during 0",
        "during 1",
        "during 2",
    ]


def _message(message_id: str, customer: str, body: str) -> CustomerMessage:
    sent = datetime(2026, 3, 2, 9, tzinfo=UTC)
    return CustomerMessage(DISCORD, message_id, customer, "Dana", body, sent)


note_texts = st.builds(
    lambda prefix, lead, text: lead + prefix + text,
    st.sampled_from(
        [";;", "note:", "NOTE:", ";; ", f"{mention(DEMO.agent2)} ", f"{special('here')} "]
    ),
    st.sampled_from(["", " ", "\n"]),
    # Private-use characters are left out: the emulator marks its mentions with them.
    st.text(st.characters(blacklist_categories=["Cs", "Cc", "Co"]), max_size=60),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=note_texts)
async def test_whatever_a_note_says_it_never_reaches_the_customer(desk: Desk, text: str) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    before = len((await desk.detail(ticket.number)).messages)
    await desk.slack.user(DEMO.agent1).post(channel, text, thread_ts=root)

    async def recorded() -> bool:
        return len((await desk.detail(ticket.number)).messages) > before

    await eventually(recorded, what="the note to be recorded")
    assert desk.inbox.changes == []


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=note_texts)
async def test_whatever_a_reply_is_edited_into_if_it_is_a_note_it_never_reaches_the_customer(
    desk: Desk, text: str
) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    before = list(desk.inbox.changes)
    told = len(desk.slack.ephemerals(DEMO.agent1))
    reply = f"Reply {len(before)}"
    ts = await agent.post(channel, reply, thread_ts=root)
    await eventually(lambda: _arrived(desk, len(before) + 1), what="the reply")

    await agent.edit(channel, ts, text)
    await desk.slack.wait_for(lambda: len(desk.slack.ephemerals(DEMO.agent1)) > told, timeout=5)
    # The thread's events are handled in order and the customer's lane delivers in order, so
    # once a later reply has arrived anything the edit queued would have arrived before it.
    await agent.post(channel, f"After {len(before)}", thread_ts=root)
    arrived = await eventually(lambda: _arrived(desk, len(before) + 2), what="the next reply")
    assert [(s.what, s.message and s.message.body) for s in arrived[len(before) :]] == [
        ("reply", reply),
        ("reply", f"After {len(before)}"),
    ]


async def _arrived(desk: Desk, count: int) -> list[Sent] | None:
    changes = desk.inbox.changes
    return changes if len(changes) >= count else None
