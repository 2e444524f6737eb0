"""Text as each side reads it, end to end through Bolt and the Slack emulator: agents' mrkdwn
reaches the customer as Discord Markdown (never as entities), customers' Markdown reaches the
thread as mrkdwn, and a reply too long for the customer is refused, not sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import Policy, ReplyPolicy
from bot.core.domain import Direction
from bot.core.events import CustomerMessage
from integrations.platforms import DISCORD
from integrations.sandbox.slack import DEMO, link
from tests.slack.conftest import Desk
from tests.slack.test_slack_desk import ephemeral_to, reached_customer
from tests.support import eventually

LIMIT = 60


@pytest.fixture
def policy() -> Policy:
    return Policy(replies=ReplyPolicy(max_reply_chars=LIMIT))


async def test_an_agent_reply_reaches_the_customer_as_discord_markdown(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    ts = await agent.post(
        channel, f"Q&A <b>: *see* {link('https://x.test/?a=1&b=2', 'docs')}", thread_ts=root
    )
    assert desk.slack.message(channel, ts).text.startswith("Q&amp;A &lt;b&gt;")  # as Slack sends
    expected = "Q&A <b>: **see** [docs](https://x.test/?a=1&b=2)"
    assert await reached_customer(desk, 1) == [expected]
    assert (await desk.detail(ticket.number)).messages[-1].body == expected  # stored as seen

    await agent.edit(channel, ts, "Q&A: _fixed_ <3")
    assert await reached_customer(desk, 2) == [expected, "Q&A: *fixed* <3"]


async def test_a_customer_message_reaches_the_thread_as_mrkdwn(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    await desk.service.receive_customer_message(
        CustomerMessage(
            DISCORD,
            "m2",
            "42",
            "Dana",
            "**Q&A** <!channel> [logs](https://x.test/l?a=1&b=2) `a<b`",
            datetime(2026, 3, 2, 9, 1, tzinfo=UTC),
        )
    )

    async def posted() -> list[str] | None:
        texts = [m.text for m in desk.slack.thread(channel, root)]
        return texts if len(texts) >= 2 else None

    texts = await eventually(posted, what="the customer's second message in the thread")
    assert texts[-1] == "*Q&amp;A* &lt;!channel&gt; <https://x.test/l?a=1&amp;b=2|logs> `a&lt;b`"


async def test_a_reply_past_the_limit_is_refused_and_the_agent_told(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.post(channel, "x" * (LIMIT + 1), thread_ts=root)
    (told,) = await ephemeral_to(desk, DEMO.agent1)
    assert f"{LIMIT + 1:,} characters" in told
    assert f"limited to {LIMIT:,}" in told
    assert "nothing of it was sent" in told
    assert desk.slack.ephemerals(DEMO.agent1)[-1].thread_ts == root

    # What the agent posts next arrives alone: the long one was never queued.
    await agent.post(channel, "x" * LIMIT, thread_ts=root)
    assert await reached_customer(desk, 1) == ["x" * LIMIT]
    messages = (await desk.detail(ticket.number)).messages
    assert [m.direction for m in messages] == [Direction.FROM_CUSTOMER, Direction.TO_CUSTOMER]


async def test_a_long_message_in_a_thread_that_is_no_ticket_is_left_alone(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    agent = desk.slack.user(DEMO.agent1)
    chatter = await agent.post(DEMO.support, "Lunch, anyone?")
    await agent.post(DEMO.support, "y" * (LIMIT + 1), thread_ts=chatter)  # no reply: no limit
    # A later reply in the ticket's thread is handled, so the long one was seen.
    channel, root = desk.thread_of(ticket)
    await agent.post(channel, "Hello!", thread_ts=root)
    assert await reached_customer(desk, 1) == ["Hello!"]
    assert desk.slack.ephemerals(DEMO.agent1) == []


async def test_an_edit_past_the_limit_is_not_sent(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    ts = await agent.post(channel, "Short answer.", thread_ts=root)
    assert await reached_customer(desk, 1) == ["Short answer."]

    await agent.edit(channel, ts, "Short answer, " + "and more " * 10)
    (told,) = await ephemeral_to(desk, DEMO.agent1)
    assert told.startswith("Your edit makes this reply")
    assert "the edit was not sent" in told

    # A later reply in the same thread comes after the edit: had it been relayed, it would
    # have arrived first.
    await agent.post(channel, "Next.", thread_ts=root)
    assert await reached_customer(desk, 2) == ["Short answer.", "Next."]
    assert [s.what for s in desk.inbox.changes] == ["reply", "reply"]


async def test_a_long_note_is_still_a_note(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.post(channel, ";; " + "log line\n" * 20, thread_ts=root)

    async def noted() -> bool:
        messages = (await desk.detail(ticket.number)).messages
        return any(m.direction is Direction.NOTE for m in messages)

    await eventually(noted, what="the long note to be recorded")
    assert desk.slack.ephemerals(DEMO.agent1) == []
