"""Slack and the Discord staff forum at once: every ticket has a card and a thread in each; a
move in either updates both cards; a reply or note in either reaches the customer once (a note
never) and is mirrored into the other thread; who may act is decided per workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Bot
from bot.core.domain import Status
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.launch import sandbox as run_sandbox
from integrations.sandbox.slack import DEMO as SLACK
from tests.loop.loop_support import (
    ALICE,
    bot_dms,
    card,
    dm_says,
    point_at_sandbox,
    running,
    thread_says,
    thread_texts,
    ticket_is,
)
from tests.loop.staff_support import (
    SAM,
    card_of,
    card_says,
    post_for,
    posts,
    thread_shows,
    until,
)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with run_sandbox(fast=True, staff=True) as box:
        yield box


@pytest.fixture
async def bot(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Bot]:
    point_at_sandbox(sandbox, workdir, monkeypatch)
    async with running() as started:
        yield started


async def test_both_workspaces_work_one_ticket_and_the_customer_hears_each_reply_once(
    sandbox: Sandbox, bot: Bot
) -> None:
    emu = sandbox.discord
    alice, sam = emu.user(ALICE), emu.user(SAM)
    slack_agent = sandbox.slack.user(SLACK.agent1)

    await alice.send_dm("My parcel is lost")
    root = await card(sandbox)
    post = await post_for(sandbox)
    await thread_says(sandbox, root, "My parcel is lost")
    await thread_shows(sandbox, post.id, "My parcel is lost")

    # Claimed in Slack: the Discord card names the Slack agent (by name: not a Discord user).
    await slack_agent.click(SLACK.support, root.ts, "Claim")
    await card_says(sandbox, post.id, "Assignee", "alice")
    await ticket_is(bot, 1001, Status.CLAIMED)

    # A reply from Slack: once to the customer, mirrored into Discord with who wrote it.
    await slack_agent.post(SLACK.support, "We are tracing it now.", thread_ts=root.ts)
    await dm_says(sandbox, "We are tracing it now.")
    mirrored = await thread_shows(sandbox, post.id, "We are tracing it now.")
    assert "Slack" in mirrored.content
    # A note from Slack: mirrored as a note, never to the customer.
    await slack_agent.post(SLACK.support, ";; courier ticket 8812", thread_ts=root.ts)
    note = await thread_shows(sandbox, post.id, "courier ticket 8812")
    assert "note" in note.content.lower()

    # Escalated in Discord (which releases it), then claimed there: the Slack card follows.
    await sam.click(card_of(sandbox, post.id), custom_id="threadline:staff:escalate:1001")
    await emu.wait_for(sam.open_modal, timeout=5)
    await sam.submit_modal({"reason": "Courier needs a manager"})
    await thread_says(sandbox, root, "Courier needs a manager")
    await ticket_is(bot, 1001, Status.ESCALATED)

    # A reply and a note from Discord: mirrored into Slack; the customer gets the reply once.
    await sam.click(card_of(sandbox, post.id), custom_id="threadline:staff:claim:1001")
    await card_says(sandbox, post.id, "Assignee", f"<@{SAM}>")
    await until(
        lambda: "Sam Staff" in str(sandbox.slack.message(SLACK.support, root.ts).blocks),
        "the Slack card to name Sam",
    )
    reply = await sam.send(post.id, "Found it: it is at the depot.")
    await dm_says(sandbox, "Found it: it is at the depot.")
    await thread_says(sandbox, root, "Found it: it is at the depot.")
    await sam.send(post.id, ";; depot staff confirmed by phone")
    await thread_says(sandbox, root, "depot staff confirmed by phone")
    # Edited in Discord: the customer's copy and the Slack copy follow.
    await sam.edit(reply, "Found it: it is at the Leeds depot.")
    await dm_says(sandbox, "Found it: it is at the Leeds depot.")
    await thread_says(sandbox, root, "Leeds depot")

    # Resolved in Slack: both cards say so; the Discord thread is archived.
    await slack_agent.click(SLACK.support, root.ts, "Resolve")
    await sandbox.slack.wait_for(lambda: slack_agent.modal is not None, timeout=5)
    await slack_agent.submit()
    await ticket_is(bot, 1001, Status.RESOLVED)
    await card_says(sandbox, post.id, "Status", "Resolved")
    await until(lambda: emu.world.channels[post.id].archived, "the Discord thread archived")

    dms = [m.content for m in bot_dms(sandbox)]
    assert sum("We are tracing it now." in d for d in dms) == 1
    assert sum("Found it" in d for d in dms) == 1
    assert not any("courier ticket 8812" in d or "confirmed by phone" in d for d in dms)
    assert len(posts(sandbox)) == 1
    slack_lines = thread_texts(sandbox, root)
    assert sum("depot staff confirmed by phone" in line for line in slack_lines) == 1
