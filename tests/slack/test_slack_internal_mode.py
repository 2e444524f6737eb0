"""reply_mode = "internal": thread messages stay internal unless sent out on purpose."""

from __future__ import annotations

import pytest

from bot.config import Policy, ReplyPolicy
from bot.core.domain import Direction, TicketNumber
from integrations.sandbox.slack import DEMO
from tests.slack.conftest import Desk, Sent
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


async def test_an_edit_that_drops_the_reply_prefix_is_not_sent(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    ts = await agent.post(channel, ">> A technician comes at 3pm.", thread_ts=root)
    await eventually(lambda: _bodies(desk, 1), what="the >> reply")
    await agent.edit(channel, ts, "A technician comes at 3pm, if Bob is back by then.")
    told = await desk.slack.wait_for(lambda: desk.slack.ephemerals(DEMO.agent1), timeout=5)
    assert told[0].text.startswith("Your edit now reads as an internal note")
    await agent.post(channel, ">> See you then.", thread_ts=root)
    assert await eventually(lambda: _bodies(desk, 2), what="the next reply") == [
        "A technician comes at 3pm.",
        "See you then.",
    ]
    reply = (await desk.detail(ticket.number)).messages[1]
    assert (reply.direction, reply.body) == (Direction.TO_CUSTOMER, "A technician comes at 3pm.")


async def test_a_file_stays_a_note_unless_sent_on_purpose(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.post(channel, "", thread_ts=root, files=[("trace.txt", b"stack trace")])
    await agent.post(channel, ">>", thread_ts=root, files=[("fix.sh", b"#!/bin/sh")])
    (sent,) = await eventually(lambda: _sent(desk, 1), what="the >> file")
    assert sent.message is not None
    assert (sent.message.body, [a.filename for a in sent.message.attachments]) == (
        "",
        ["fix.sh"],
    )
    detail = await desk.detail(ticket.number)
    assert [m.direction for m in detail.messages[1:]] == [Direction.NOTE, Direction.TO_CUSTOMER]
    assert [a.filename for a in detail.messages[1].attachments] == ["trace.txt"]


async def _bodies(desk: Desk, count: int) -> list[str] | None:
    return desk.inbox.bodies() if len(desk.inbox.bodies()) >= count else None


async def _sent(desk: Desk, count: int) -> list[Sent] | None:
    return desk.inbox.changes if len(desk.inbox.changes) >= count else None


async def test_the_shortcut_sends_a_note_as_the_customer_reads_it_and_within_the_cap(
    desk: Desk,
) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    note = await agent.post(channel, "Q&A is *here* <b>", thread_ts=root)
    await eventually(lambda: _recorded(desk, ticket.number, 2), what="the note")
    await agent.shortcut(channel, note, "reply_to_customer")
    assert await eventually(lambda: _bodies(desk, 1), what="the shortcut reply") == [
        "Q&A is **here** <b>"
    ]
    huge = await agent.post(channel, "x" * 8001, thread_ts=root)
    await eventually(lambda: _recorded(desk, ticket.number, 3), what="the long note")
    await agent.shortcut(channel, huge, "reply_to_customer")
    told = await desk.slack.wait_for(lambda: desk.slack.ephemerals(DEMO.agent1), timeout=5)
    assert "8,001 characters" in told[-1].text
    assert desk.inbox.bodies() == ["Q&A is **here** <b>"]
    detail = await desk.detail(ticket.number)
    assert [m.direction for m in detail.messages[1:]] == [Direction.TO_CUSTOMER, Direction.NOTE]


async def _recorded(desk: Desk, number: TicketNumber, count: int) -> bool:
    return len((await desk.detail(number)).messages) >= count
