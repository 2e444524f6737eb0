"""The AI features with agents in Discord: the sandbox's model server answering the real `openai`
client, the real bot between the Discord emulator's staff forum (and, in the mixed case, Slack)
and a customer on Discord. The card shows the triage; a drafted reply waits in the ticket's
thread with Send and Discard and reaches the customer once, only when an agent sends it; the
card's Summary button posts an internal note; a customer writing German, French or Spanish is
read in English and answered in their language."""

from __future__ import annotations

import asyncio
import copy
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Bot
from integrations.sandbox.discord import STAFF
from integrations.sandbox.discord import Message as DiscordMessage
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.launch import sandbox as run_sandbox
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import Message as SlackMessage
from tests.loop.loop_support import ALICE, bot_dms, card, dm_says, point_at_sandbox, running
from tests.loop.staff_support import (
    LEE,
    SAM,
    card_fields,
    card_of,
    in_thread,
    post_for,
    shown,
    thread_shows,
    until,
)
from tests.loop.test_loop_ai import ai_policy, thread_post
from tests.support import eventually

DRAFTED = "Let me know if that helps"  # in every reply the sandbox model drafts
SEND = "threadline:staff:send:"
DISCARD = "threadline:staff:discard:"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with run_sandbox(fast=True, staff=True) as box:
        yield box


@pytest.fixture
def settings_env(sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Discord only (no Slack setting at all), with the sandbox's model and an `[ai]` table."""
    point_at_sandbox(sandbox, workdir, monkeypatch, policy=ai_policy(), ai=True)
    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)


def dm_count(sandbox: Sandbox, text: str) -> int:
    return sum(text in m.content for m in bot_dms(sandbox))


def control(message: DiscordMessage, start: str) -> str | None:
    """The custom id of the message's component starting with `start`, if it has one."""
    for component in message.walk_components():
        custom_id = str(component.get("custom_id", ""))
        if custom_id.startswith(start):
            return custom_id
    return None


async def draft_post(sandbox: Sandbox, thread_id: int) -> DiscordMessage:
    """The post in the thread carrying a draft's Send button."""

    async def offered() -> DiscordMessage | None:
        return next((m for m in in_thread(sandbox, thread_id) if control(m, SEND)), None)

    return await eventually(offered, what="a draft with Send in the staff thread", within=10)


async def refused(sandbox: Sandbox, user_id: int, text: str) -> str:
    """Wait for a private answer to this person containing `text` (case-insensitive)."""
    person = sandbox.discord.user(user_id)

    async def told() -> str | None:
        said = [m.content for m in person.ephemeral_messages()]
        return next((s for s in said if text.lower() in s.lower()), None)

    return await eventually(told, what=f"a private answer with {text!r}", within=10)


async def ticket_post(sandbox: Sandbox, text: str) -> int:
    """The customer writes; the id of the ticket's post in the staff forum once it shows it."""
    await sandbox.discord.user(ALICE).send_dm(text)
    post = await post_for(sandbox)
    await thread_shows(sandbox, post.id, text.split(".", maxsplit=1)[0])
    return post.id


def number_of(sandbox: Sandbox, thread_id: int) -> int:
    name = sandbox.discord.world.channels[thread_id].name
    assert name is not None
    return int(name.split(" ", 1)[0].lstrip("#"))


# --- Discord only --------------------------------------------------------------------------


async def test_the_card_shows_the_triage_and_a_draft_goes_once_when_sent(
    sandbox: Sandbox, bot: Bot
) -> None:
    emu = sandbox.discord
    sam, lee = emu.user(SAM), emu.user(LEE)
    assert bot.slack is None
    thread = await ticket_post(sandbox, "I was charged twice for my order. Can I get a refund?")

    async def triaged() -> str | None:
        return card_fields(sandbox, thread).get("AI triage")

    triage = await eventually(triaged, what="the triage on the Discord card", within=10)
    assert "Category" in triage
    assert "by the model" in triage
    assert control(card_of(sandbox, thread), "threadline:staff:summary:")  # summaries are on

    draft = await draft_post(sandbox, thread)
    assert "Drafted reply" in "\n".join(shown(m) for m in in_thread(sandbox, thread))
    assert control(draft, DISCARD)
    await dm_says(sandbox, "#")  # the customer's acknowledgement: the relay is done
    await asyncio.sleep(0.3)  # whatever would leak has had time to
    assert dm_count(sandbox, DRAFTED) == 0
    stale = copy.deepcopy(draft)  # the draft as a slow client still shows it, buttons and all

    # Sam and Lee press Send at the same moment: the customer gets it once, as one reply.
    await sam.click(draft, custom_id=control(draft, SEND))
    await lee.click(draft, custom_id=control(draft, SEND))
    sent = await dm_says(sandbox, DRAFTED)
    assert "sam" in sent.content.lower()  # as Sam's reply, under his name
    await until(lambda: "Sent to the customer by" in emu.world.messages[draft.id].content, "mark")
    marked = emu.world.messages[draft.id]
    assert "Sam Staff" in marked.content
    assert not marked.buttons()  # Send and Discard are gone
    await until(lambda: "✅" in emu.world.messages[draft.id].reactions, "the delivery mark")
    assert "sent" in (await refused(sandbox, LEE, "sent")).lower()

    # Sam presses Send again, on a client still showing the buttons: nothing goes twice. (The
    # message no longer has the button, so discord.py drops the press unanswered.)
    await sam.click(stale, custom_id=control(stale, SEND))
    await asyncio.sleep(0.5)
    assert dm_count(sandbox, DRAFTED) == 1
    assert emu.world.messages[draft.id].content == marked.content


async def test_a_discarded_draft_never_reaches_the_customer(sandbox: Sandbox, bot: Bot) -> None:
    emu = sandbox.discord
    sam, lee = emu.user(SAM), emu.user(LEE)
    thread = await ticket_post(sandbox, "How long does a refund take?")
    draft = await draft_post(sandbox, thread)
    stale = copy.deepcopy(draft)

    # Sam discards as Lee presses Send: Lee is told it was discarded; nothing goes.
    await sam.click(draft, custom_id=control(draft, DISCARD))
    await lee.click(draft, custom_id=control(draft, SEND))
    await until(lambda: "Discarded by Sam Staff" in emu.world.messages[draft.id].content, "mark")
    assert not emu.world.messages[draft.id].buttons()
    assert "Sam Staff" in await refused(sandbox, LEE, "already discarded")
    # Lee presses Send again on a client still showing it: nothing goes.
    await lee.click(stale, custom_id=control(stale, SEND))
    await asyncio.sleep(0.5)
    assert dm_count(sandbox, DRAFTED) == 0
    assert "Discarded by Sam Staff" in emu.world.messages[draft.id].content


async def test_the_cards_summary_button_posts_an_internal_note(sandbox: Sandbox, bot: Bot) -> None:
    emu = sandbox.discord
    sam = emu.user(SAM)
    thread = await ticket_post(sandbox, "My parcel never arrived")
    number = number_of(sandbox, thread)
    await sam.send(thread, ";; asked the courier")
    summary = f"threadline:staff:summary:{number}"

    await sam.click(card_of(sandbox, thread), custom_id=summary)
    posted = await thread_shows(sandbox, thread, "📝 **Summary**")
    assert "internal, not sent to the customer" in posted.content
    assert "asked by Sam Staff" in posted.content
    summaries = [m for m in in_thread(sandbox, thread) if "**Summary**" in m.content]
    assert len(summaries) == 1
    await asyncio.sleep(0.3)
    dms = "\n".join(m.content for m in bot_dms(sandbox))
    assert "Summary" not in dms
    assert "asked the courier" not in dms


async def test_someone_not_on_the_team_can_neither_send_nor_discard_nor_ask_for_a_summary(
    sandbox: Sandbox, settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Agents are the Leads role here: Sam (Staff only) sees the forum but is not an agent.
    monkeypatch.setenv("DISCORD_STAFF_ROLE", str(STAFF.lead_role_id))
    monkeypatch.delenv("DISCORD_LEADS_ROLE")
    emu = sandbox.discord
    sam, lee = emu.user(SAM), emu.user(LEE)
    async with running():
        thread = await ticket_post(sandbox, "How long does a refund take?")
        number = number_of(sandbox, thread)
        draft = await draft_post(sandbox, thread)

        await sam.click(draft, custom_id=control(draft, SEND))
        await refused(sandbox, SAM, "staff role")
        await sam.click(draft, custom_id=control(draft, DISCARD))
        await until(lambda: len(sam.ephemeral_messages()) >= 2, "the second refusal")
        await sam.click(card_of(sandbox, thread), custom_id=f"threadline:staff:summary:{number}")
        await until(lambda: len(sam.ephemeral_messages()) >= 3, "the third refusal")
        assert all("staff role" in m.content for m in sam.ephemeral_messages())
        await asyncio.sleep(0.3)
        # Nothing happened: the draft is still offered, untouched; no summary; nothing sent.
        now = emu.world.messages[draft.id]
        assert control(now, SEND)
        assert control(now, DISCARD)
        assert now.content == draft.content
        assert not any("**Summary**" in m.content for m in in_thread(sandbox, thread))
        assert dm_count(sandbox, DRAFTED) == 0

        # A member of the role the bot is told is the team's may.
        await lee.click(draft, custom_id=control(draft, SEND))
        await dm_says(sandbox, DRAFTED)
        await until(lambda: "Lee Lead" in emu.world.messages[draft.id].content, "the mark")


@pytest.mark.parametrize(
    ("written", "language", "reply", "answered"),
    [
        (
            "Ich wurde doppelt belastet. Bitte erstatten Sie mir das Geld zurück.",
            "German",
            "Your refund is on its way.",
            "Ihre Erstattung ist unterwegs.",
        ),
        (
            "Mon colis n'est pas arrivé. Aidez-moi, s'il vous plaît.",
            "French",
            "Sorry about that. I've asked the courier to trace it.",
            "Désolé pour cela. J'ai demandé au transporteur de le retrouver.",
        ),
        (
            "No puedo iniciar sesión. Por favor, ayúdeme.",
            "Spanish",
            "Thanks for the quick help.",
            "Gracias por la ayuda rápida.",
        ),
    ],
    ids=["de", "fr", "es"],
)
async def test_a_customer_in_another_language_is_read_and_answered_in_it(
    sandbox: Sandbox, bot: Bot, written: str, language: str, reply: str, answered: str
) -> None:
    emu = sandbox.discord
    sam = emu.user(SAM)
    thread = await ticket_post(sandbox, written)

    # The customer's message, redrawn in place with its translation beneath.
    translated = await thread_shows(sandbox, thread, f"🌐 Translated from {language}")
    assert written.split(".", maxsplit=1)[0] in shown(translated)
    (embed,) = translated.embeds
    beneath = next(f["value"] for f in embed["fields"] if f["name"].startswith("🌐"))
    assert beneath.strip()
    assert language not in beneath  # English, not the original
    assert written.split(".", maxsplit=1)[0] not in beneath

    await sam.send(thread, reply)
    said = await thread_shows(sandbox, thread, f"Sent to the customer in {language}")
    assert answered in said.content
    got = await dm_says(sandbox, answered)
    assert reply not in got.content  # the customer reads their own language
    await asyncio.sleep(0.3)
    assert dm_count(sandbox, answered) == 1


# --- Slack and Discord at once -------------------------------------------------------------


@pytest.fixture
async def mixed_bot(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Bot]:
    point_at_sandbox(
        sandbox,
        workdir,
        monkeypatch,
        policy=ai_policy(),
        ai=True,
        SLACK_AGENTS=f"{SLACK.agent1},{SLACK.agent2}",
    )
    async with running() as started:
        yield started


def slack_posts_with(sandbox: Sandbox, root: SlackMessage, text: str) -> list[SlackMessage]:
    return [
        m
        for m in sandbox.slack.thread(SLACK.support, root.ts)
        if text in m.text or text in str(m.blocks)
    ]


async def test_a_draft_sent_from_discord_is_mirrored_into_slack_once(
    sandbox: Sandbox, mixed_bot: Bot
) -> None:
    emu = sandbox.discord
    sam = emu.user(SAM)
    thread = await ticket_post(sandbox, "How long does a refund take?")
    root = await card(sandbox)
    draft = await draft_post(sandbox, thread)
    await thread_post(sandbox, root, "Drafted reply")  # offered in Slack too
    drafts_in_slack = len(slack_posts_with(sandbox, root, DRAFTED))

    await sam.click(draft, custom_id=control(draft, SEND))
    await dm_says(sandbox, DRAFTED)

    async def mirrored() -> SlackMessage | None:
        found = slack_posts_with(sandbox, root, DRAFTED)
        return found[-1] if len(found) > drafts_in_slack else None

    copied = await eventually(mirrored, what="the sent draft mirrored into Slack", within=10)
    assert copied.username == "Sam Staff (Discord)"  # a copy, under who wrote it and where
    await until(lambda: "✅" in emu.world.messages[draft.id].reactions, "the delivery mark")
    # The Slack post of the same draft shows it decided: no Send left to press.
    in_slack = slack_posts_with(sandbox, root, "Drafted reply")[0]

    async def settled() -> bool:
        blocks = sandbox.slack.message(SLACK.support, in_slack.ts).blocks or []
        return not any(b.get("block_id") == "draft_actions" for b in blocks)

    await eventually(settled, what="the Slack draft post decided")
    shown = str(sandbox.slack.message(SLACK.support, in_slack.ts).blocks)
    assert "Sent to the customer by *Sam Staff*" in shown
    assert dm_count(sandbox, DRAFTED) == 1
    assert len(slack_posts_with(sandbox, root, DRAFTED)) == drafts_in_slack + 1


async def test_a_draft_sent_from_slack_is_mirrored_into_discord_once(
    sandbox: Sandbox, mixed_bot: Bot
) -> None:
    emu = sandbox.discord
    thread = await ticket_post(sandbox, "How long does a refund take?")
    root = await card(sandbox)
    draft = await draft_post(sandbox, thread)
    in_slack = await thread_post(sandbox, root, "Drafted reply")

    await sandbox.slack.user(SLACK.agent1).click(SLACK.support, in_slack.ts, "Send")
    await dm_says(sandbox, DRAFTED)
    copied = await thread_shows(sandbox, thread, "(Slack) → customer")
    assert DRAFTED in copied.content

    # The Discord post of the same draft shows it decided: no Send left to press.
    async def settled() -> bool:
        return not emu.world.messages[draft.id].buttons()

    await eventually(settled, what="the Discord draft post decided")
    assert "Sent to the customer by alice" in emu.world.messages[draft.id].content
    assert dm_count(sandbox, DRAFTED) == 1
    copies = [m for m in in_thread(sandbox, thread) if "(Slack) → customer" in m.content]
    assert len(copies) == 1


@pytest.mark.parametrize("sent_in", ["discord", "slack"])
async def test_a_draft_decided_in_one_workspace_shows_decided_in_the_other(
    sandbox: Sandbox, mixed_bot: Bot, sent_in: str
) -> None:
    emu = sandbox.discord
    thread = await ticket_post(sandbox, "How long does a refund take?")
    root = await card(sandbox)
    draft = await draft_post(sandbox, thread)
    in_slack = await thread_post(sandbox, root, "Drafted reply")
    if sent_in == "discord":
        await emu.user(SAM).click(draft, custom_id=control(draft, SEND))
    else:
        await sandbox.slack.user(SLACK.agent1).click(SLACK.support, in_slack.ts, "Send")
    await dm_says(sandbox, DRAFTED)

    async def slack_decided() -> bool:
        blocks = sandbox.slack.message(SLACK.support, in_slack.ts).blocks or []
        return not any(b.get("block_id") == "draft_actions" for b in blocks)

    async def discord_decided() -> bool:
        return not emu.world.messages[draft.id].buttons()

    decided = slack_decided if sent_in == "discord" else discord_decided
    await eventually(decided, what="the other workspace's draft post decided", within=3)
