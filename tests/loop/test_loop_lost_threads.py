"""A ticket's conversation outlives the places it was shown: a Slack thread that is gone (its card
deleted, its channel archived, the workspace wiped) is re-created with its recent history, and a
Discord DM channel that no longer resolves is replaced by a fresh one. Nothing is lost."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import Bot
from bot.core.domain import Agent, AgentId, TicketNumber
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import Message as SlackMessage
from tests.loop.loop_support import (
    ALICE,
    card,
    dm_says,
    point_at_sandbox,
    running,
    thread_says,
)
from tests.support import eventually

TICKET = TicketNumber(1001)


async def new_card(sandbox: Sandbox, channel: str, lost: SlackMessage) -> SlackMessage:
    """The ticket's card posted again in `channel`, in place of `lost`."""

    async def posted() -> SlackMessage | None:
        found = [m for m in sandbox.slack.messages(channel) if m.ts != lost.ts and m.bot_id]
        return found[-1] if found else None

    return await eventually(posted, what=f"a new ticket card in {channel}")


async def thread_of(sandbox: Sandbox, channel: str, root: SlackMessage, count: int) -> list[str]:
    async def filled() -> list[str] | None:
        texts = [m.text for m in sandbox.slack.thread(channel, root.ts)]
        return texts if len(texts) >= count else None

    return await eventually(filled, what=f"{count} message(s) in the new thread")


async def converse(sandbox: Sandbox) -> SlackMessage:
    """A customer message, an internal note and a reply: the thread's history."""
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("My printer is on fire")
    root = await card(sandbox)
    await thread_says(sandbox, root, "My printer is on fire")
    agent = sandbox.slack.user(SLACK.agent1)
    await agent.post(SLACK.support, ";; third printer this week", thread_ts=root.ts)
    await agent.post(SLACK.support, "Please unplug it.", thread_ts=root.ts)
    await dm_says(sandbox, "**alice:** Please unplug it.")
    return root


def assert_history(lines: list[str], why: str) -> None:
    first = lines[0]
    assert first.startswith(":recycle: This ticket's thread was re-created: " + why)
    history = first.splitlines()[2:]
    assert len(history) == 3
    assert "(customer): My printer is on fire" in history[0]
    assert "(:memo: internal note)" in history[1]
    assert "third printer this week" in history[1]
    assert "(reply): Please unplug it." in history[2]


async def answer_in(sandbox: Sandbox, bot: Bot, channel: str, root: SlackMessage) -> None:
    """An agent's reply in the new thread reaches the customer: the ticket moved there."""
    assert bot.service is not None
    ticket = await bot.service.get_ticket(TICKET)
    assert ticket.workspace_ref == f"{channel}:{root.ts}"
    agent = sandbox.slack.user(SLACK.agent1)
    await agent.post(channel, "Use the extinguisher.", thread_ts=root.ts)
    await dm_says(sandbox, "**alice:** Use the extinguisher.")


@pytest.mark.parametrize(
    ("lose", "why"),
    [
        (lambda s, root: s.slack.remove_message(SLACK.support, root.ts), "its card was deleted"),
        (lambda s, _root: s.slack.reset(), "its card was deleted"),
    ],
    ids=["card-deleted", "workspace-wiped"],
)
async def test_a_lost_thread_is_re_created_with_its_history(
    sandbox: Sandbox,
    bot: Bot,
    lose: Callable[[Sandbox, SlackMessage], None],
    why: str,
) -> None:
    root = await converse(sandbox)
    lose(sandbox, root)
    await sandbox.discord.user(ALICE).send_dm("Still smoking!")

    fresh = await new_card(sandbox, SLACK.support, root)
    assert "Ticket #1001" in fresh.text
    lines = await thread_of(sandbox, SLACK.support, fresh, 2)
    assert_history(lines, why)
    # Found by the message's post, first: the card showing her new due time follows it.
    assert "(Slack said `thread_not_found`)" in lines[0]
    assert lines[1] == "Still smoking!"
    await answer_in(sandbox, bot, SLACK.support, fresh)


async def test_an_archived_channel_gets_a_new_thread_in_the_support_channel(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at_sandbox(sandbox, workdir, monkeypatch)
    async with running():
        root = await converse(sandbox)
    # The old support channel is archived; the team moved to another one.
    sandbox.slack.archive_channel(SLACK.support)
    monkeypatch.setenv("SLACK_SUPPORT_CHANNEL", SLACK.escalations)
    async with running() as bot:
        await sandbox.discord.user(ALICE).send_dm("Hello? Anyone?")
        fresh = await new_card(sandbox, SLACK.escalations, root)
        lines = await thread_of(sandbox, SLACK.escalations, fresh, 2)
        assert_history(lines, "its channel was archived")
        assert lines[1] == "Hello? Anyone?"
        await answer_in(sandbox, bot, SLACK.escalations, fresh)
    assert len(sandbox.slack.thread(SLACK.support, root.ts)) == 3  # the old one, untouched


async def test_a_card_update_to_a_deleted_card_re_creates_the_thread(
    sandbox: Sandbox, bot: Bot
) -> None:
    root = await converse(sandbox)
    sandbox.slack.remove_message(SLACK.support, root.ts)
    assert bot.service is not None
    await bot.service.claim(TICKET, Agent(AgentId(SLACK.agent1), "alice"))  # redraws the card
    fresh = await new_card(sandbox, SLACK.support, root)
    lines = await thread_of(sandbox, SLACK.support, fresh, 1)
    assert_history(lines, "its card was deleted")
    await answer_in(sandbox, bot, SLACK.support, fresh)


async def test_a_stale_dm_channel_is_replaced_by_a_fresh_one(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Where is my order?")
    root = await card(sandbox)
    await thread_says(sandbox, root, "Where is my order?")
    await dm_says(sandbox, "your ticket is **#1001**")
    old = sandbox.discord.drop_dm(ALICE)
    assert old is not None

    agent = sandbox.slack.user(SLACK.agent1)
    await agent.post(SLACK.support, "It ships tomorrow.", thread_ts=root.ts)
    reply = await dm_says(sandbox, "**alice:** It ships tomorrow.")
    assert reply.channel_id != old
    assert reply.channel_id == sandbox.discord.dm_channel_id(ALICE)

    async def delivered() -> bool:
        thread = sandbox.slack.thread(SLACK.support, root.ts)
        mine = next(m for m in thread if m.text == "It ships tomorrow.")
        warned = any("Not delivered" in m.text for m in thread)
        return "white_check_mark" in mine.reactions and not warned

    await eventually(delivered, what="the reply marked delivered, with no warning")


async def test_a_customer_unreachable_after_a_stale_dm_is_shown_to_the_agents(
    sandbox: Sandbox, bot: Bot
) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Where is my order?")
    root = await card(sandbox)
    await thread_says(sandbox, root, "Where is my order?")
    await dm_says(sandbox, "your ticket is **#1001**")
    sandbox.discord.drop_dm(ALICE)
    alice.close_dms()  # and the fresh DM cannot be written to either

    agent = sandbox.slack.user(SLACK.agent1)
    await agent.post(SLACK.support, "It ships tomorrow.", thread_ts=root.ts)
    warning = await thread_says(sandbox, root, ":warning: Not delivered to")
    assert "50007" in warning
