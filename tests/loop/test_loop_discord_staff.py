"""Agents in Discord, with no Slack at all: the real bot against the Discord emulator's staff
world. A customer's DM opens a post in the staff forum with the card; staff claim, reply, note,
escalate and resolve there; the customer reads only the replies; a resolved ticket's thread is
archived and a reopen brings it back; restarts keep every thread mapped."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest

from bot.app import Bot
from bot.core.domain import Direction, Message, Status, TicketNumber
from integrations.discord.staff import staff_ref
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.discord import STAFF
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.launch import sandbox as run_sandbox
from tests.loop.loop_support import (
    ALICE,
    BOB,
    bot_dms,
    dm_says,
    point_at_sandbox,
    running,
    ticket_is,
)
from tests.loop.staff_support import (
    FORUM,
    LEADS_CHANNEL,
    LEE,
    SAM,
    card_fields,
    card_of,
    card_says,
    in_thread,
    post_for,
    posts,
    shown,
    thread_shows,
    until,
)
from tests.loop.test_jobs_end_to_end import POLICY as JOBS_POLICY
from tests.support import FakeClock, eventually

OWNER = DISCORD.owner_id


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with run_sandbox(fast=True, staff=True) as box:
        yield box


@pytest.fixture
def settings_env(sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Discord only: no Slack setting at all."""
    point_at_sandbox(sandbox, workdir, monkeypatch)
    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)


async def test_a_ticket_lives_its_whole_life_in_the_discord_staff_forum(
    sandbox: Sandbox, bot: Bot
) -> None:
    emu = sandbox.discord
    alice, sam, lee = emu.user(ALICE), emu.user(SAM), emu.user(LEE)
    assert bot.slack is None

    await alice.send_dm("My order #4521 never arrived")
    post = await post_for(sandbox)
    assert post.name is not None
    assert post.name.startswith("#")
    assert "My order #4521 never arrived" in post.name
    fields = card_fields(sandbox, post.id)
    assert fields["Status"].lower().startswith("new") or "New" in fields["Status"]
    assert "Alice" in fields["Customer"]
    await thread_shows(sandbox, post.id, "My order #4521 never arrived")
    await dm_says(sandbox, "#")  # the customer learns the ticket's number

    # Sam claims on the card: the card names Sam, the customer is told.
    await sam.click(
        card_of(sandbox, post.id), custom_id=f"threadline:staff:claim:{_number(post.name)}"
    )
    await card_says(sandbox, post.id, "Assignee", f"<@{SAM}>")
    await dm_says(sandbox, "Sam")

    # A reply reaches the customer once, and is marked delivered; a note never does.
    reply = await sam.send(post.id, "Sorry about that! Checking with the courier now.")
    await dm_says(sandbox, "Checking with the courier now.")
    await until(lambda: "✅" in emu.world.messages[reply.id].reactions, what="the ✅")
    note = await sam.send(post.id, ";; courier says the parcel is lost")
    service = bot.service
    assert service is not None

    async def recorded() -> Message | None:
        return await service.message_at(staff_ref(note.id))

    kept = await eventually(recorded, what="the note recorded")
    assert kept.direction is Direction.NOTE
    assert not any("parcel is lost" in m.content for m in bot_dms(sandbox))

    # An edit of the reply follows to the customer; the note's prefix keeps it inside.
    await sam.edit(reply, "Sorry about that! Checking with the courier right now.")
    await dm_says(sandbox, "Checking with the courier right now.")

    # Escalation with a reason (a dialog), seen in the thread and by the leads.
    number = _number(post.name)
    await sam.click(card_of(sandbox, post.id), custom_id=f"threadline:staff:escalate:{number}")
    await emu.wait_for(sam.open_modal, timeout=5)
    await sam.submit_modal({"reason": "Needs a refund approval"})
    await thread_shows(sandbox, post.id, "Needs a refund approval")
    await card_says(sandbox, post.id, "Tier", "2")

    # Lee (a lead) claims it and resolves it with a note for the customer.
    await lee.click(card_of(sandbox, post.id), custom_id=f"threadline:staff:claim:{number}")
    await card_says(sandbox, post.id, "Assignee", f"<@{LEE}>")
    await lee.click(card_of(sandbox, post.id), custom_id=f"threadline:staff:resolve:{number}")
    await emu.wait_for(lee.open_modal, timeout=5)
    await lee.submit_modal({"reason": "Refunded", "note": "We refunded your order in full."})
    await dm_says(sandbox, "We refunded your order in full.")
    await ticket_is(bot, number, Status.RESOLVED)
    # Resolved: its thread is archived (active threads are limited per server).
    await until(lambda: emu.world.channels[post.id].archived, what="the thread archived")

    # The customer writes again: the ticket reopens and its thread comes back.
    await alice.send_dm("It arrived after all, sorry!")
    await thread_shows(sandbox, post.id, "It arrived after all")
    assert not emu.world.channels[post.id].archived
    assert len(posts(sandbox)) == 1


async def test_only_the_staff_role_may_act_and_notes_never_reach_the_customer(
    sandbox: Sandbox, settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Agents are the Leads role here: Sam (Staff only) sees the forum but is not an agent.
    monkeypatch.setenv("DISCORD_STAFF_ROLE", str(STAFF.lead_role_id))
    monkeypatch.delenv("DISCORD_LEADS_ROLE")
    emu = sandbox.discord
    alice, sam, lee = emu.user(ALICE), emu.user(SAM), emu.user(LEE)
    async with running() as bot:
        await alice.send_dm("Where is my invoice?")
        post = await post_for(sandbox)
        number = _number(post.name)

        await sam.click(card_of(sandbox, post.id), custom_id=f"threadline:staff:claim:{number}")
        await until(sam.ephemeral_messages, "the refusal")
        assert "staff role" in sam.ephemeral_messages()[-1].content
        await sam.send(post.id, "Here is your invoice")
        await thread_shows(sandbox, post.id, "nothing was sent to the customer")
        service = bot.service
        assert service is not None
        assert (await service.get_ticket(TicketNumber(number))).assignee is None

        # Every way of slipping while typing a note keeps it inside.
        slips = [
            ";; internal one",
            "note: internal two",
            "  \uff1b\uff1b internal three",  # full-width semicolons
            "*;;* internal four",
            "> ;; internal five",
            "\u200b;; internal six",  # a zero-width space first
            "NOTE : internal seven",
            f"<@{SAM}> internal eight",  # a mention: addressed to a colleague
        ]
        for text in slips:
            await lee.send(post.id, text)
        await lee.send(post.id, "A reply for you")
        await dm_says(sandbox, "A reply for you")
        # A NUL, which PostgreSQL would refuse to store, is left out.
        await lee.send(post.id, "And a second\x00 one")
        await dm_says(sandbox, "And a second one")
        dms = "\n".join(m.content for m in bot_dms(sandbox))
        assert "internal" not in dms
        assert "Here is your invoice" not in dms
        detail = await service.ticket_detail(TicketNumber(number))
        kept = [m.body for m in detail.messages if m.direction is Direction.NOTE]
        assert len(kept) == len(slips)  # each recorded, as a note


async def test_threads_stay_mapped_across_a_restart_and_reminders_and_breaches_are_told(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch, settings_env: None
) -> None:
    point_at_sandbox(sandbox, workdir, monkeypatch, policy=JOBS_POLICY)
    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)
    clock = FakeClock(datetime.now(UTC))
    emu = sandbox.discord
    alice, sam = emu.user(ALICE), emu.user(SAM)
    async with running(clock):
        await alice.send_dm("The site is down")
        post = await post_for(sandbox)
    number = _number(post.name)
    async with running(clock) as bot:
        # After a restart: the card's buttons and the thread still find the ticket.
        await sam.click(card_of(sandbox, post.id), custom_id=f"threadline:staff:claim:{number}")
        await card_says(sandbox, post.id, "Assignee", f"<@{SAM}>")
        await sam.send(post.id, ";; looking into it after the restart")

        # The first answer is due soon: Sam is reminded by DM and in the thread.
        clock.advance(minutes=46)
        assert (await bot.run_jobs_once())["sla"] == 1
        await until(
            lambda: any("⏰" in m.content for m in sam.dm_messages()), "a reminder DM to Sam"
        )
        await thread_shows(sandbox, post.id, "⏰")

        # Breached: the leads' channel is told (their role mentioned), and the thread.
        clock.advance(minutes=15)
        assert (await bot.run_jobs_once())["sla"] == 1
        await until(
            lambda: any("SLA breached" in m.content for m in _leads_channel(sandbox)),
            "a breach notice in the leads' channel",
        )
        notice = next(m for m in _leads_channel(sandbox) if "SLA breached" in m.content)
        assert f"#{number}" in notice.content
        assert f"<@&{STAFF.lead_role_id}>" in notice.content
        await thread_shows(sandbox, post.id, "SLA breached")
        assert (await bot.run_jobs_once())["sla"] == 0  # told once

        # The leads' digest goes to their channel too.
        assert bot.sweeps is not None
        assert bot.discord is not None
        assert bot.discord.workspace is not None
        digest = await bot.sweeps.digest_of(clock.now(), clock.now().date())
        await bot.discord.workspace.send_digest(digest)
        told = [m.content for m in _leads_channel(sandbox) if "Daily digest" in m.content]
        assert f"#{number} The site is down (Sam Staff)" in told[-1]

        await sam.send(post.id, "Back up now, sorry!")
        await dm_says(sandbox, "Back up now, sorry!")
    assert len(posts(sandbox)) == 1
    assert len([m for m in sam.dm_messages() if "⏰" in m.content]) == 1


def _number(name: str | None) -> int:
    assert name is not None
    return int(name.split(" ", 1)[0].lstrip("#"))


def _leads_channel(sandbox: Sandbox) -> list:  # type: ignore[type-arg]
    world = sandbox.discord.world
    return [m for m in world.messages.values() if m.channel_id == LEADS_CHANNEL]


async def test_the_server_thread_cap_archives_resolved_and_then_the_quietest_threads(
    sandbox: Sandbox, bot: Bot
) -> None:
    emu = sandbox.discord
    emu.config.max_active_threads = 1  # Discord's is 1,000: the same rule, smaller
    alice, bob, owner, lee = emu.user(ALICE), emu.user(BOB), emu.user(OWNER), emu.user(LEE)

    # One ticket: its thread is the one active thread. Resolving it archives the thread...
    await alice.send_dm("First problem")
    first = await post_for(sandbox, 1)
    number = _number(first.name)
    await lee.click(card_of(sandbox, first.id), custom_id=f"threadline:staff:resolve:{number}")
    await emu.wait_for(lee.open_modal, timeout=5)
    await lee.submit_modal({"reason": "Done"})
    await thread_shows(sandbox, first.id, "Resolved by")  # the last post of the resolution
    await until(lambda: emu.world.channels[first.id].archived, "the resolved thread archived")

    # ...so the next ticket has room for its thread.
    await bob.send_dm("Second problem")
    second = await post_for(sandbox, 2)
    await thread_shows(sandbox, second.id, "Second problem")

    # With the cap reached by an open ticket, a new ticket's thread is made all the same: the
    # quietest open thread is archived for it...
    await owner.send_dm("Third problem")
    third = await post_for(sandbox, 3)
    await thread_shows(sandbox, third.id, "Third problem")
    assert emu.world.channels[second.id].archived
    # ...and comes back when there is news in it (making room in turn).
    await bob.send_dm("Any news on the second?")
    await thread_shows(sandbox, second.id, "Any news on the second?")
    assert not emu.world.channels[second.id].archived
    assert emu.world.channels[third.id].archived
    assert len([c for c in posts(sandbox) if not c.archived]) == 1
    assert len(posts(sandbox)) == 3


async def test_queue_commands_survey_and_deletions_in_discord(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch, settings_env: None
) -> None:
    point_at_sandbox(sandbox, workdir, monkeypatch, policy=JOBS_POLICY)
    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)
    clock = FakeClock(datetime.now(UTC))
    emu = sandbox.discord
    alice, bob, sam = emu.user(ALICE), emu.user(BOB), emu.user(SAM)
    async with running(clock) as bot:
        await alice.send_dm("Cannot log in")
        first = await post_for(sandbox, 1)
        await bob.send_dm("Refund please")
        second = await post_for(sandbox, 2)
        await sam.click(card_of(sandbox, first.id), custom_id="threadline:staff:claim:1001")
        await card_says(sandbox, first.id, "Assignee", f"<@{SAM}>")

        # The queue commands answer only the one who asks, staff only.
        await sam.slash("queue", channel_id=LEADS_CHANNEL)
        await until(sam.ephemeral_messages, "the /queue answer")
        assert "#1002" in sam.ephemeral_messages()[-1].content
        await sam.slash("mine", channel_id=LEADS_CHANNEL)
        await until(lambda: len(sam.ephemeral_messages()) >= 2, "the /mine answer")
        mine = sam.ephemeral_messages()[-1].content
        assert "#1001" in mine
        assert "#1002" not in mine
        await sam.slash("ticket", {"number": 1002}, channel_id=LEADS_CHANNEL)
        await until(lambda: len(sam.ephemeral_messages()) >= 3, "the /ticket answer")
        assert "Refund please" in sam.ephemeral_messages()[-1].content
        assert not [m for m in in_thread(sandbox, LEADS_CHANNEL) if "#1002" in m.content]
        assert second.id != first.id

        # A reply deleted by its author is taken back from the customer.
        oops = await sam.send(first.id, "Try password hunter2")
        await dm_says(sandbox, "Try password hunter2")
        await sam.delete(oops)
        await until(
            lambda: not any("hunter2" in m.content for m in bot_dms(sandbox)),
            "the deleted reply gone from the customer's DMs",
        )

        # Resolved from Discord; the survey's answer shows in the thread and on the card.
        await sam.send(first.id, "Use the reset link on the login page.")
        await sam.click(card_of(sandbox, first.id), custom_id="threadline:staff:resolve:1001")
        await emu.wait_for(sam.open_modal, timeout=5)
        await sam.submit_modal({"reason": "Answered"})
        await ticket_is(bot, 1001, Status.RESOLVED)
        clock.advance(minutes=61)
        assert (await bot.run_jobs_once())["csat"] == 1
        survey = await dm_says(sandbox, "How did we do")
        await alice.click(survey, label="5 😄")
        await emu.wait_for(alice.open_modal, timeout=5)
        await alice.submit_modal({"comment": "Quick and friendly"})
        await thread_shows(sandbox, first.id, "Quick and friendly")
        await card_says(sandbox, first.id, "Satisfaction", "5/5")


async def test_what_agents_wrote_while_the_bot_was_away_is_caught_up_once(
    sandbox: Sandbox, settings_env: None
) -> None:
    emu = sandbox.discord
    alice, sam = emu.user(ALICE), emu.user(SAM)
    async with running():
        await alice.send_dm("Is anyone there?")
        post = await post_for(sandbox)
        await sam.send(post.id, "Yes, looking now.")
        await dm_says(sandbox, "Yes, looking now.")
    # Stopped cleanly, the gateway session is over: the next start reads history instead.
    await sam.send(post.id, ";; the logs show a timeout")
    await sam.send(post.id, "Found it: a timeout on our side, fixed.")
    async with running() as bot:
        await dm_says(sandbox, "Found it: a timeout on our side, fixed.")
        service = bot.service
        assert service is not None
        detail = await service.ticket_detail(TicketNumber(1001))
        notes = [m.body for m in detail.messages if m.direction is Direction.NOTE]
        assert notes == ["the logs show a timeout"]
        assert bot.discord is not None
        assert await bot.discord.recovery.catch_up() == 0  # a second pass finds nothing new
    dms = [m.content for m in bot_dms(sandbox)]
    assert sum("Found it" in d for d in dms) == 1
    assert sum("Yes, looking now." in d for d in dms) == 1
    assert not any("timeout on" in d and "logs" in d for d in dms)


async def test_a_deleted_forum_post_is_made_again_with_its_history(
    sandbox: Sandbox, bot: Bot
) -> None:
    emu = sandbox.discord
    alice, sam = emu.user(ALICE), emu.user(SAM)
    await alice.send_dm("My card was charged twice")
    post = await post_for(sandbox)
    await sam.send(post.id, ";; checking with billing")
    await sam.send(post.id, "We are looking into it.")
    await dm_says(sandbox, "We are looking into it.")

    emu.delete_thread(post.id)  # a moderator deletes the post
    await alice.send_dm("Any news?")
    again = await post_for(sandbox, 1)
    assert again.id != post.id
    history = await thread_shows(sandbox, again.id, "Recent history")
    assert "checking with billing" in history.content
    assert "We are looking into it." in history.content
    await thread_shows(sandbox, again.id, "Any news?")

    # Agents go on in the new thread: it is the ticket's now.
    await sam.send(again.id, "Refunded the second charge.")
    await dm_says(sandbox, "Refunded the second charge.")
    assert len(posts(sandbox)) == 1


async def test_files_agents_attach_in_discord_reach_the_customer(
    sandbox: Sandbox, bot: Bot
) -> None:
    emu = sandbox.discord
    alice, sam = emu.user(ALICE), emu.user(SAM)
    await alice.send_dm("Can I have the invoice?", files=[("photo.png", b"\x89PNG-order")])
    post = await post_for(sandbox)
    seen = await thread_shows(sandbox, post.id, "photo.png")  # the customer's file, listed
    assert "Can I have the invoice?" in shown(seen)
    await sam.send(post.id, "Here it is.", files=[("invoice.pdf", b"%PDF-1.7 invoice")])
    reply = await dm_says(sandbox, "Here it is.")
    assert [(a.filename, a.data) for a in reply.attachments] == [
        ("invoice.pdf", b"%PDF-1.7 invoice")
    ]


async def test_a_post_made_by_an_attempt_that_was_cut_off_is_adopted_not_made_twice(
    sandbox: Sandbox, bot: Bot
) -> None:
    # What an attempt cut off by a crash leaves: the post made, but not recorded as the card.
    assert bot.discord is not None
    forum = bot.discord.client.get_channel(STAFF.forum_channel_id)
    assert isinstance(forum, discord.ForumChannel)
    cut_off = await forum.create_thread(
        name="#1001 · My order is late", embed=discord.Embed(title="#1001")
    )
    await sandbox.discord.user(ALICE).send_dm("My order is late")
    await thread_shows(sandbox, cut_off.thread.id, "My order is late")
    assert [p.id for p in posts(sandbox)] == [cut_off.thread.id]
    await card_says(sandbox, cut_off.thread.id, "Customer", "Alice")  # drawn as the ticket is


async def test_a_reply_past_the_cap_is_refused_in_the_thread_and_nothing_is_sent(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch, settings_env: None
) -> None:
    point_at_sandbox(sandbox, workdir, monkeypatch, policy="[replies]\nmax_reply_chars = 100\n")
    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)
    emu = sandbox.discord
    alice, sam = emu.user(ALICE), emu.user(SAM)
    async with running() as bot:
        await alice.send_dm("Please explain everything")
        post = await post_for(sandbox)
        await sam.send(post.id, "Long answer. " * 20)
        told = await thread_shows(sandbox, post.id, "replies to customers are limited to 100")
        assert "259 characters" in told.content  # as the customer would get it: trimmed
        await sam.send(post.id, ";; " + "a long note is fine. " * 20)  # notes have no cap
        await sam.send(post.id, "Short answer.")
        await dm_says(sandbox, "Short answer.")
        assert not any("Long answer" in m.content for m in bot_dms(sandbox))
        service = bot.service
        assert service is not None
        detail = await service.ticket_detail(TicketNumber(1001))
        assert [m.direction for m in detail.messages] == [
            Direction.FROM_CUSTOMER,
            Direction.NOTE,
            Direction.TO_CUSTOMER,
        ]

        # A post of the forum that is no ticket's (a staff member's own): what is written there,
        # however long, is nobody's reply; nothing is told or sent, and tickets go on.
        forum = emu.world.channels[FORUM]
        own = emu.world.create_thread(forum, "Lunch?", SAM)
        emu.events.thread_created(own)
        await sam.send(own.id, "Long chat. " * 20)
        await sam.send(own.id, "Pizza at noon.")
        await sam.send(post.id, "Anything else?")
        await dm_says(sandbox, "Anything else?")
        assert [m.content for m in emu.world.history[own.id].values()] == [
            "Long chat. " * 20,
            "Pizza at noon.",
        ]
        assert not any("Pizza" in m.content or "Long chat" in m.content for m in bot_dms(sandbox))
        detail = await service.ticket_detail(TicketNumber(1001))
        assert [m.body for m in detail.messages][-1] == "Anything else?"
        assert len(detail.messages) == 4
