"""reply_mode = "internal": thread messages stay internal unless sent out on purpose."""

from __future__ import annotations

import pytest

from bot.config import Policy, ReplyPolicy
from bot.domain import Direction
from integrations.sandbox.slack import DEMO
from tests.slack.conftest import Desk
from tests.support import eventually


@pytest.fixture
def policy() -> Policy:
    return Policy(replies=ReplyPolicy(reply_mode="internal"))


async def test_only_the_prefix_or_the_shortcut_sends_to_the_customer(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    thinking = await agent.post(channel, "Looks like the fuser again", thread_ts=root)
    await agent.post(channel, ">> We are on it!", thread_ts=root)

    async def delivered(count: int) -> list[str] | None:
        return desk.inbox.bodies() if len(desk.inbox.bodies()) >= count else None

    assert await eventually(lambda: delivered(1), what="the >> reply") == ["We are on it!"]
    detail = await desk.detail(ticket.number)
    assert [m.direction for m in detail.messages[1:]] == [Direction.NOTE, Direction.TO_CUSTOMER]

    await agent.shortcut(channel, thinking, "reply_to_customer")
    assert await eventually(lambda: delivered(2), what="the shortcut reply") == [
        "We are on it!",
        "Looks like the fuser again",
    ]
    await desk.slack.wait_for(
        lambda: desk.slack.message(channel, thinking).reactions.get("white_check_mark"), timeout=5
    )


async def test_the_shortcut_refuses_what_is_no_note(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    await desk.slack.user(DEMO.agent1).shortcut(channel, root, "reply_to_customer")
    told = await desk.slack.wait_for(lambda: desk.slack.ephemerals(DEMO.agent1), timeout=5)
    assert told[0].text == "That message is not part of any ticket."
