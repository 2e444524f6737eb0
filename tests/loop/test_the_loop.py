"""The whole loop, end to end: a customer on Discord, agents in Slack, the real bot between,
each platform's real library against its emulator."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from bot.app import Bot
from bot.config import load_settings
from bot.core.domain import Status, TicketNumber
from integrations import platforms
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from tests.loop.loop_support import ALICE, ask_for_support, card, dm_says
from tests.support import eventually


async def test_a_dm_becomes_a_ticket_and_the_answer_comes_back(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("My printer is on fire")
    root = await card(sandbox)
    assert "My printer is on fire" in root.text
    await dm_says(sandbox, "your ticket is **#1001**")
    thread = await sandbox.slack.wait_for(
        lambda: sandbox.slack.thread(SLACK.support, root.ts), timeout=5
    )
    assert thread[0].text == "My printer is on fire"

    agent = sandbox.slack.user(SLACK.agent1)
    await agent.post(SLACK.support, ";; third printer this week", thread_ts=root.ts)
    await agent.post(SLACK.support, "Please unplug it.", thread_ts=root.ts)
    await dm_says(sandbox, "**alice:** Please unplug it.")
    assert not any("third printer" in m.content for m in alice.dm_messages())

    await alice.send_dm("Done, it stopped smoking")
    await sandbox.slack.wait_for(
        lambda: any(
            m.text == "Done, it stopped smoking"
            for m in sandbox.slack.thread(SLACK.support, root.ts)
        ),
        timeout=5,
    )
    await agent.click(SLACK.support, root.ts, "Claim")
    await dm_says(sandbox, "alice is looking into your ticket #1001")


async def test_the_customer_closes_with_the_button(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Never mind, found it")
    await dm_says(sandbox, "your ticket is **#1001**")
    notice = next(m for m in alice.dm_messages() if "your ticket is" in m.content)
    await alice.click(notice, label="Close ticket")
    await dm_says(sandbox, "Your ticket #1001 is closed")
    service = bot.service
    assert service is not None

    async def closed() -> bool:
        return (await service.get_ticket(TicketNumber(1001))).status is Status.CLOSED

    await eventually(closed, what="the ticket to close")


async def test_closed_dms_are_shown_to_the_agents(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Help")
    root = await card(sandbox)
    await dm_says(sandbox, "your ticket is")
    alice.close_dms()
    agent = sandbox.slack.user(SLACK.agent1)
    ts = await agent.post(SLACK.support, "Are you there?", thread_ts=root.ts)
    await sandbox.slack.wait_for(
        lambda: sandbox.slack.message(SLACK.support, ts).reactions.get("warning"), timeout=10
    )
    warnings = await sandbox.slack.wait_for(
        lambda: [m.text for m in sandbox.slack.thread(SLACK.support, root.ts) if "50007" in m.text],
        timeout=10,
    )
    assert warnings[0].startswith(":warning: Not delivered to Alice: The customer cannot be")


async def test_dms_sent_while_the_bot_was_down_are_caught_up_once(
    sandbox: Sandbox, settings_env: None
) -> None:
    alice = sandbox.discord.user(ALICE)
    first = Bot(load_settings())
    await first.start()
    try:
        await alice.send_dm("Hello?")
        root = await card(sandbox)
        await sandbox.slack.wait_for(
            lambda: sandbox.slack.thread(SLACK.support, root.ts), timeout=5
        )
    finally:
        await first.stop()
    await alice.send_dm("Sent while you were away")
    await alice.send_dm("And this too")
    second = Bot(load_settings())
    await second.start()
    try:
        await sandbox.slack.wait_for(
            lambda: len(sandbox.slack.thread(SLACK.support, root.ts)) >= 3, timeout=10
        )
        texts = [m.text for m in sandbox.slack.thread(SLACK.support, root.ts)]
        assert texts[:3] == ["Hello?", "Sent while you were away", "And this too"]
    finally:
        await second.stop()
    assert texts.count("Sent while you were away") == 1


async def test_blocked_and_unreadable_messages(sandbox: Sandbox, bot: Bot) -> None:
    bob = sandbox.discord.user(DISCORD.second_customer_id)
    assert bot.service is not None
    await bot.service.set_blocked(platforms.DISCORD, str(DISCORD.second_customer_id), True)
    await bob.send_dm("spam spam spam")
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("   ")
    await dm_says(sandbox, "I couldn't read that message")
    await alice.send_dm("Real question")
    await card(sandbox)
    tickets = await bot.service.list_tickets()
    assert [t.subject for t in tickets] == ["Real question"]  # nothing from bob
    assert [m.content for m in bob.dm_messages()] == ["spam spam spam"]  # and no answer


async def test_a_long_reply_is_split_for_discord(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Tell me everything")
    root = await card(sandbox)
    sentence = "This is one sentence of a very long answer. "
    long_reply = (sentence * 170).strip()  # about 7,500 characters: under max_reply_chars
    await sandbox.slack.user(SLACK.agent1).post(SLACK.support, long_reply, thread_ts=root.ts)

    async def pieces() -> list[str] | None:
        got = [m.content for m in alice.dm_messages() if "one sentence" in m.content]
        return got if sum(len(p) for p in got) >= len(long_reply) else None

    received = await eventually(pieces, what="the whole long reply")
    assert all(len(p) <= 2000 for p in received)
    assert len(received) >= 4
    assert " ".join(received) == f"**alice:** {long_reply}"


async def test_support_command_opens_a_ticket_from_a_form(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    await ask_for_support(sandbox, {"subject": "Billing", "description": "I was charged twice"})
    told = await sandbox.discord.wait_for(alice.ephemeral_messages, timeout=5)
    assert told[-1].content == "Thanks! Your request is ticket #1001; we'll continue in your DMs."
    root = await card(sandbox)
    assert "Billing" in root.text
    await dm_says(sandbox, "your ticket is **#1001**")
    await sandbox.slack.user(SLACK.agent1).post(SLACK.support, "Refunded!", thread_ts=root.ts)
    await dm_says(sandbox, "**alice:** Refunded!")


async def test_support_command_with_closed_dms_says_so(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    alice.close_dms()
    await ask_for_support(sandbox, {"subject": "Login", "description": "Cannot log in"})
    told = await sandbox.discord.wait_for(alice.ephemeral_messages, timeout=5)
    assert "your direct messages are closed" in told[-1].content
    assert await card(sandbox)  # the team has the request all the same


async def test_edits_and_deletes_go_both_ways(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    typo = await alice.send_dm("My printr is broken")
    root = await card(sandbox)
    await sandbox.slack.wait_for(lambda: sandbox.slack.thread(SLACK.support, root.ts), timeout=5)
    await alice.edit(typo, "My printer is broken")
    await sandbox.slack.wait_for(
        lambda: (
            sandbox.slack.thread(SLACK.support, root.ts)[0].text
            == "My printer is broken\n_(edited)_"
        ),
        timeout=5,
    )
    agent = sandbox.slack.user(SLACK.agent1)
    ts = await agent.post(SLACK.support, "Try restartng it", thread_ts=root.ts)
    await dm_says(sandbox, "**alice:** Try restartng it")
    await agent.edit(SLACK.support, ts, "Try restarting it")
    await dm_says(sandbox, "**alice:** Try restarting it")
    await agent.delete(SLACK.support, ts)

    async def gone() -> bool:
        return not any("restarting" in m.content for m in alice.dm_messages())

    await eventually(gone, what="the deleted reply to disappear")


async def test_the_close_button_works_after_a_restart(sandbox: Sandbox, settings_env: None) -> None:
    alice = sandbox.discord.user(ALICE)
    first = Bot(load_settings())
    await first.start()
    try:
        await alice.send_dm("Help")
        await dm_says(sandbox, "your ticket is **#1001**")
    finally:
        await first.stop()
    second = Bot(load_settings())
    await second.start()
    try:
        notice = next(m for m in alice.dm_messages() if "your ticket is" in m.content)
        await alice.click(notice, label="Close ticket")
        await dm_says(sandbox, "Your ticket #1001 is closed")
    finally:
        await second.stop()


async def test_a_dropped_gateway_resumes_and_dms_keep_flowing(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Before the drop")
    root = await card(sandbox)
    assert sandbox.discord.faults.drop_gateway() >= 1
    await sandbox.discord.wait_for(lambda: sandbox.discord.gateway.count("resume") >= 1, timeout=10)
    await alice.send_dm("After the drop")
    await sandbox.slack.wait_for(
        lambda: (
            [m.text for m in sandbox.slack.thread(SLACK.support, root.ts)]
            == ["Before the drop", "After the drop"]
        ),
        timeout=10,
    )


async def test_discord_rate_limits_are_honoured_and_nothing_is_dropped(
    sandbox: Sandbox, bot: Bot
) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Lots of questions")
    root = await card(sandbox)
    await dm_says(sandbox, "your ticket is")
    limits = sandbox.discord.limits
    limits.set_route("POST /channels/{channel_id}/messages", 2, 0.5)
    limits.enabled = True
    agent = sandbox.slack.user(SLACK.agent1)
    for i in range(8):
        await agent.post(SLACK.support, f"answer {i}", thread_ts=root.ts)

    async def all_there() -> list[str] | None:
        got = [m.content for m in alice.dm_messages() if "**alice:** answer" in m.content]
        return got if len(got) == 8 else None

    got = await eventually(all_there, what="every answer", within=20)
    assert got == [f"**alice:** answer {i}" for i in range(8)]


async def test_support_form_offers_the_configured_categories(
    sandbox: Sandbox, settings_env: None, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = workdir / "threadline.toml"
    policy.write_text('[discord]\nsupport_categories = ["Billing", "Technical"]\n')
    monkeypatch.setenv("THREADLINE_CONFIG", str(policy))
    running = Bot(load_settings())
    await running.start()
    try:
        await ask_for_support(
            sandbox,
            {"subject": "Charged twice", "description": "On my card", "category": "Billing"},
        )
        root = await card(sandbox)
        assert "[Billing] Charged twice" in root.text
    finally:
        await running.stop()


async def test_files_go_both_ways(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Here is the error log", files=[("error.log", b"Traceback: boom\n")])
    root = await card(sandbox)
    uploaded = await sandbox.slack.wait_for(
        lambda: [f for m in sandbox.slack.thread(SLACK.support, root.ts) for f in m.files],
        timeout=10,
    )
    assert uploaded[0]["name"] == "error.log"

    await sandbox.slack.user(SLACK.agent1).post(
        SLACK.support,
        "Here is the fix",
        thread_ts=root.ts,
        files=[("fix.patch", b"--- a\n+++ b\n")],
    )

    async def with_file() -> list[object] | None:
        for message in alice.dm_messages():
            if message.content == "**alice:** Here is the fix" and message.attachments:
                return list(message.attachments)
        return None

    (attached,) = await eventually(with_file, what="the agent's file to reach alice")
    assert getattr(attached, "filename", None) == "fix.patch"
    assert getattr(attached, "size", None) == len(b"--- a\n+++ b\n")


async def test_an_unknown_button_is_answered(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Hello")
    await dm_says(sandbox, "your ticket is")
    # A button left over from some older message, which nothing handles any more.
    assert bot.discord is not None
    client = bot.discord.client
    user = await client.fetch_user(ALICE)
    old = discord.ui.View(timeout=None)
    old.add_item(discord.ui.Button(label="Rate us", custom_id="legacy:rate:5"))
    await (await user.create_dm()).send("How did we do?", view=old)
    message = next(m for m in alice.dm_messages() if m.content == "How did we do?")
    await alice.click(message, label="Rate us")
    told = await sandbox.discord.wait_for(alice.ephemeral_messages, timeout=5)
    assert told[-1].content == "This button no longer does anything. Write here to reach the team."
