"""The customer's side end to end: the real bot between both emulators. What the customer reads
(and never reads), long replies edited and deleted, buttons that lie, messages missed while the
bot was down, the /support form, deletions seen by the agents."""

from __future__ import annotations

import discord

from bot.app import Bot
from bot.core.domain import Status
from integrations.sandbox.discord import CallbackType
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from tests.loop.loop_support import (
    ALICE,
    BOB,
    ask_for_support,
    bot_dms,
    card,
    dm_says,
    running,
    thread_says,
    thread_texts,
    ticket_is,
)
from tests.support import eventually

COULD_NOT_READ = "I couldn't read that message"
SENTENCE = "This is one sentence of a very long answer. "


async def test_a_refused_dm_while_down_does_not_stop_the_catch_up(
    sandbox: Sandbox, settings_env: None
) -> None:
    alice = sandbox.discord.user(ALICE)
    async with running():
        await alice.send_dm("Hello?")
        root = await card(sandbox)
        await thread_says(sandbox, root, "Hello?")
    await alice.send_dm("   ")
    await alice.send_dm("Sent after a blank one")
    async with running() as second:
        await thread_says(sandbox, root, "Sent after a blank one")
        await dm_says(sandbox, COULD_NOT_READ)
        assert second.discord is not None
        assert await second.discord.recovery.catch_up() == 0  # a second pass finds nothing new
    assert thread_texts(sandbox, root) == ["Hello?", "Sent after a blank one"]
    assert sum(COULD_NOT_READ in m.content for m in bot_dms(sandbox)) == 1


async def test_a_refused_dm_last_in_line_is_answered_once_across_restarts(
    sandbox: Sandbox, settings_env: None
) -> None:
    alice = sandbox.discord.user(ALICE)
    async with running():
        await alice.send_dm("Hello?")
        root = await card(sandbox)
        await thread_says(sandbox, root, "Hello?")
    await alice.send_dm("   ")  # nothing recorded after it: every start reads it again
    async with running():
        await dm_says(sandbox, COULD_NOT_READ)
    async with running() as third:
        assert third.discord is not None
        assert await third.discord.recovery.catch_up() == 0
    assert sum(COULD_NOT_READ in m.content for m in bot_dms(sandbox)) == 1
    assert thread_texts(sandbox, root) == ["Hello?"]


async def test_a_split_reply_is_edited_and_deleted_piece_by_piece(
    sandbox: Sandbox, bot: Bot
) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Tell me everything")
    root = await card(sandbox)
    agent = sandbox.slack.user(SLACK.agent1)
    long_reply = (SENTENCE * 115).strip()  # about 5,000 characters: three pieces
    ts = await agent.post(SLACK.support, long_reply, thread_ts=root.ts)

    def showing() -> list[str]:  # everything the bot wrote but the acknowledgement
        return [m.content for m in bot_dms(sandbox) if "your ticket is" not in m.content]

    async def reads(text: str) -> list[str] | None:
        got = showing()
        return got if " ".join(got) == f"**alice:** {text}" else None

    first = await eventually(lambda: reads(long_reply), what="the whole long reply")
    assert len(first) == 3

    await agent.edit(SLACK.support, ts, "Short answer now.")
    assert await eventually(lambda: reads("Short answer now."), what="the short edit") == [
        "**alice:** Short answer now."
    ]

    longer = ("And this is a longer answer again. " * 150).strip()  # more pieces than before
    await agent.edit(SLACK.support, ts, longer)
    grown = await eventually(lambda: reads(longer), what="the long edit")
    assert len(grown) >= 3
    assert all(len(piece) <= 2000 for piece in grown)

    await agent.delete(SLACK.support, ts)

    async def gone() -> bool:
        return not showing()

    await eventually(gone, what="every piece of the deleted reply to go")


async def test_a_long_reply_deleted_at_once_leaves_no_piece(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Tell me everything")
    root = await card(sandbox)
    agent = sandbox.slack.user(SLACK.agent1)
    ts = await agent.post(SLACK.support, (SENTENCE * 115).strip(), thread_ts=root.ts)

    def pieces() -> int:
        return sum("one sentence" in m.content for m in alice.dm_messages())

    async def all_three() -> bool:
        return pieces() == 3

    async def none_left() -> bool:
        return pieces() == 0

    await eventually(all_three, what="three pieces")
    await agent.delete(SLACK.support, ts)
    await eventually(none_left, what="no piece left")


async def test_the_customer_sees_the_resolution_and_never_an_escalation_or_a_note(
    sandbox: Sandbox, bot: Bot
) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("I was charged twice")
    root = await card(sandbox)
    await dm_says(sandbox, "your ticket is **#1001**")
    agent = sandbox.slack.user(SLACK.agent1)
    await agent.post(SLACK.support, ";; internal: refund needs billing approval", thread_ts=root.ts)
    await agent.post(SLACK.support, "note: customer sounded upset", thread_ts=root.ts)
    await agent.click(SLACK.support, root.ts, "Escalate")
    await sandbox.slack.wait_for(lambda: agent.modal is not None, timeout=5)
    await agent.submit({"tier": "2", "reason": "Needs a billing admin"})
    await ticket_is(bot, 1001, Status.ESCALATED)
    await thread_says(sandbox, root, "Escalated by alice")

    await agent.click(SLACK.support, root.ts, "Resolve")
    await sandbox.slack.wait_for(lambda: agent.modal is not None, timeout=5)
    await agent.submit({"note": "Refunded the second charge; sorry for the trouble."})
    await dm_says(sandbox, "Your ticket #1001 is resolved")

    told = [m.content for m in bot_dms(sandbox)]
    note = told.index("**alice:** Refunded the second charge; sorry for the trouble.")
    assert note < next(i for i, t in enumerate(told) if "is resolved" in t)  # the note first
    for secret in ("internal", "billing approval", "upset", "scalat", "tier", "billing admin"):
        assert not any(secret in t for t in told), secret


async def test_a_customer_deleting_a_dm_strikes_it_through_for_the_agents(
    sandbox: Sandbox, bot: Bot
) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("My printer is broken")
    oops = await alice.send_dm("my card number is 4242")
    root = await card(sandbox)
    await thread_says(sandbox, root, "4242")
    await alice.delete(oops)
    struck = await thread_says(sandbox, root, "deleted by the customer")
    assert struck == "~my card number is 4242~\n_(deleted by the customer)_"
    assert thread_texts(sandbox, root)[0] == "My printer is broken"


async def test_support_form_with_a_blank_subject_asks_again(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    submitted = await ask_for_support(sandbox, {"subject": "   ", "description": "Something broke"})
    told = await sandbox.discord.wait_for(alice.ephemeral_messages, timeout=5)
    assert told[-1].content == "Please fill in both the subject and what happened."
    assert submitted.response_type == CallbackType.CHANNEL_MESSAGE_WITH_SOURCE  # nothing slow
    assert bot.service is not None
    assert await bot.service.list_tickets() == []
    assert sandbox.slack.messages(SLACK.support) == []


async def test_support_form_and_close_button_answer_at_once(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    submitted = await ask_for_support(sandbox, {"subject": "Login", "description": "Cannot log in"})
    told = await sandbox.discord.wait_for(alice.ephemeral_messages, timeout=5)
    assert told[-1].content == "Thanks! Your request is ticket #1001; we'll continue in your DMs."
    # The first answer was "thinking…": the database work came after it, then the follow-up.
    assert submitted.response_type == CallbackType.DEFERRED_CHANNEL_MESSAGE

    ack = await dm_says(sandbox, "your ticket is **#1001**")
    clicked = await alice.click(ack, label="Close ticket")
    await dm_says(sandbox, "Your ticket #1001 is closed")
    assert clicked.response_type == CallbackType.DEFERRED_CHANNEL_MESSAGE
    await ticket_is(bot, 1001, Status.CLOSED)


async def test_a_forged_close_button_closes_nothing(sandbox: Sandbox, bot: Bot) -> None:
    bob, alice = sandbox.discord.user(BOB), sandbox.discord.user(ALICE)
    await bob.send_dm("Bob's problem")
    await dm_says(sandbox, "your ticket is **#1001**", BOB)
    await alice.send_dm("Alice's problem")
    await dm_says(sandbox, "your ticket is **#1002**")
    assert bot.discord is not None
    channel = await (await bot.discord.client.fetch_user(ALICE)).create_dm()
    forged = discord.ui.View(timeout=None)
    for number in (1001, 9999):  # someone else's ticket, and one that does not exist
        button = discord.ui.Button(label=f"Close {number}", custom_id=f"threadline:close:{number}")
        forged.add_item(button)
    await channel.send("Buttons with numbers that are not yours", view=forged)
    message = await dm_says(sandbox, "Buttons with numbers")

    await alice.click(message, label="Close 1001")
    await dm_says(sandbox, "This button belongs to someone else's ticket.")
    await alice.click(message, label="Close 9999")
    await dm_says(sandbox, "Ticket #9999 does not exist.")
    assert bot.service is not None
    tickets = await bot.service.list_tickets()
    assert [(t.number, t.status) for t in tickets] == [(1002, Status.NEW), (1001, Status.NEW)]
    assert not [m for m in bot_dms(sandbox, BOB) if "is closed" in m.content]
