"""Customers whose DMs are closed, end to end: with DISCORD_SUPPORT_CHANNEL set, Threadline
answers them in a private thread of that channel, remembered in the database across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.domain import Status
from integrations import platforms
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.discord import Channel, ChannelType
from integrations.sandbox.discord import Message as DiscordMessage
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from tests.loop.loop_support import (
    ALICE,
    BOB,
    ask_for_support,
    bot_dms,
    card,
    dm_says,
    point_at_sandbox,
    running,
    ticket_is,
)
from tests.support import eventually

SUPPORT = DISCORD.support_channel_id


@pytest.fixture
def settings_env(sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    point_at_sandbox(sandbox, workdir, monkeypatch, DISCORD_SUPPORT_CHANNEL=str(SUPPORT))


async def their_thread(sandbox: Sandbox, user_id: int = ALICE) -> Channel:
    async def opened() -> Channel | None:
        threads = sandbox.discord.user(user_id).threads()
        return threads[0] if threads else None

    return await eventually(opened, what="a support thread with the customer in it")


async def thread_says(sandbox: Sandbox, thread: Channel, text: str) -> DiscordMessage:
    """Wait for the bot to write `text` in the customer's thread."""

    async def seen() -> DiscordMessage | None:
        for message in sandbox.discord.channel_messages(thread.id):
            if message.author_id == sandbox.discord.bot_id and text in message.content:
                return message
        return None

    return await eventually(seen, what=f"the thread to show {text!r}")


async def test_support_with_closed_dms_goes_on_in_a_private_thread(
    sandbox: Sandbox, settings_env: None
) -> None:
    alice = sandbox.discord.user(ALICE)
    alice.close_dms()
    async with running() as bot:
        await ask_for_support(sandbox, {"subject": "Login", "description": "Cannot log in"})
        thread = await their_thread(sandbox)
        told = await sandbox.discord.wait_for(alice.ephemeral_messages, timeout=5)
        assert "Your direct messages are closed" in told[-1].content
        assert f"<#{thread.id}>" in told[-1].content

        assert (thread.type, thread.parent_id) == (ChannelType.PRIVATE_THREAD, SUPPORT)
        assert set(thread.member_ids) == {sandbox.discord.bot_id, ALICE}
        await thread_says(sandbox, thread, "your ticket is **#1001**")
        assert bot_dms(sandbox) == []  # nothing could go there

        root = await card(sandbox)
        agent = sandbox.slack.user(SLACK.agent1)
        await agent.post(SLACK.support, "Try resetting your password.", thread_ts=root.ts)
        await thread_says(sandbox, thread, "**alice:** Try resetting your password.")
        await alice.send(thread.id, "That worked, thanks!")
        await thread_says_in_slack(sandbox, root.ts, "That worked, thanks!")

        assert bot.service is not None
        customer = await bot.service.find_customer(platforms.DISCORD, str(ALICE))
        assert customer is not None
        assert customer.contact_channel == str(thread.id)  # kept in the database
        ack = await thread_says(sandbox, thread, "your ticket is **#1001**")
        await alice.click(ack, label="Close ticket")
        await thread_says(sandbox, thread, "Your ticket #1001 is closed")
        await ticket_is(bot, 1001, Status.CLOSED)


async def thread_says_in_slack(sandbox: Sandbox, root_ts: str, text: str) -> None:
    async def seen() -> bool:
        return any(text in m.text for m in sandbox.slack.thread(SLACK.support, root_ts))

    await eventually(seen, what=f"Slack to show {text!r}")


async def test_the_thread_is_still_where_the_customer_is_answered_after_a_restart(
    sandbox: Sandbox, settings_env: None
) -> None:
    alice = sandbox.discord.user(ALICE)
    alice.close_dms()
    async with running():
        await ask_for_support(sandbox, {"subject": "Billing", "description": "Charged twice"})
        thread = await their_thread(sandbox)
        await thread_says(sandbox, thread, "your ticket is **#1001**")
        root = await card(sandbox)
    await alice.send(thread.id, "Written while you were away")
    alice.open_dms()  # even so, the thread is where this customer is answered now
    async with running():
        await thread_says_in_slack(sandbox, root.ts, "Written while you were away")
        agent = sandbox.slack.user(SLACK.agent1)
        await agent.post(SLACK.support, "Refunded.", thread_ts=root.ts)
        await agent.click(SLACK.support, root.ts, "Claim")
        await thread_says(sandbox, thread, "**alice:** Refunded.")
        await thread_says(sandbox, thread, "is looking into your ticket #1001")
    assert bot_dms(sandbox) == []
    assert len(alice.threads()) == 1  # one thread per customer, reused


async def test_a_customer_who_closes_dms_later_is_moved_to_a_thread(
    sandbox: Sandbox, settings_env: None
) -> None:
    alice = sandbox.discord.user(ALICE)
    async with running():
        await alice.send_dm("My order is late")
        root = await card(sandbox)
        await dm_says(sandbox, "your ticket is **#1001**")
        alice.close_dms()
        agent = sandbox.slack.user(SLACK.agent1)
        ts = await agent.post(SLACK.support, "It ships tomorrow.", thread_ts=root.ts)
        thread = await their_thread(sandbox)
        await thread_says(sandbox, thread, "**alice:** It ships tomorrow.")
        await sandbox.slack.wait_for(  # delivered, so no warning for the agents
            lambda: sandbox.slack.message(SLACK.support, ts).reactions.get("white_check_mark"),
            timeout=5,
        )
        assert not [m for m in sandbox.slack.thread(SLACK.support, root.ts) if "50007" in m.text]


async def test_other_people_s_messages_in_the_support_channel_are_not_taken_in(
    sandbox: Sandbox, settings_env: None
) -> None:
    alice, bob = sandbox.discord.user(ALICE), sandbox.discord.user(BOB)
    alice.close_dms()
    async with running() as bot:
        await ask_for_support(sandbox, {"subject": "Login", "description": "Cannot log in"})
        thread = await their_thread(sandbox)
        await thread_says(sandbox, thread, "your ticket is")
        await bob.send(SUPPORT, "Anyone around?")  # the channel itself is not a ticket
        await alice.send(thread.id, "Still locked out")
        root = await card(sandbox)
        await thread_says_in_slack(sandbox, root.ts, "Still locked out")
        assert bot.service is not None
        assert len(await bot.service.list_tickets()) == 1
        texts = [m.text for m in sandbox.slack.thread(SLACK.support, root.ts)]
        assert not any("Anyone around" in t for t in texts)
