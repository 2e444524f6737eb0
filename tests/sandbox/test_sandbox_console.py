"""The console of `threadline sandbox`: people act with one line each and read what they would
see (names, not ids; rendered text); dialogs are left to `threadline demo`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import demo
from bot.sandbox_cli import banner
from integrations.sandbox.console import Console
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from integrations.slack.blocks import BUTTONS
from integrations.slack.controls import DIRECT

CARD = "Ticket #1001 from Dana: Help"


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[demo.Demo]:
    """The demo's bot against the emulators, with a first ticket from alice."""
    async with demo.running(tmp_path) as started:
        box = started.sandbox
        assert await Console(box).run("dm alice My order's late, it's \"urgent\"") == "sent"
        slack = box.slack
        card = (await slack.wait_for(lambda: slack.messages(SLACK.support), timeout=10))[0]
        await slack.wait_for(lambda: slack.thread(SLACK.support, card.ts), timeout=10)
        await box.discord.wait_for(
            lambda: len(box.discord.user(DISCORD.customer_id).dm_messages()) > 1
        )
        # The demo's assistant triages the ticket (a card redrawn) and drafts a reply: once
        # that is done, the card changes only for what a test does.
        await slack.wait_for(
            lambda: "ticket_triage" in str(slack.message(SLACK.support, card.ts).blocks),
            timeout=10,
        )
        await slack.wait_for(
            lambda: any(
                ":pencil2:" in m.text or ":mag:" in m.text
                for m in slack.thread(SLACK.support, card.ts)
            ),
            timeout=10,
        )
        yield started


async def test_commands_without_a_bot(sandbox: Sandbox) -> None:
    console = Console(sandbox)
    assert (await console.run("dm alice Hello there")) == "sent"
    assert (await console.run("inbox alice")) == "Alice: Hello there"
    assert (await console.run("tickets")) == "(no tickets yet)"
    assert (await console.run("thread 1001")).startswith("error: no card for ticket #1001")
    assert (await console.run("dm zed hi")).startswith("error: usage: dm CUSTOMER TEXT")
    assert (await console.run("dm alice")).startswith("error: usage: dm CUSTOMER TEXT")
    assert (await console.run("inbox alice extra")).startswith("error: usage: inbox CUSTOMER")
    assert (await console.run("frobnicate")) == "error: unknown command 'frobnicate'; type help"
    assert "reply AGENT TICKET TEXT" in await console.run("help")
    assert await console.run("") == await console.run("help")


async def test_text_is_the_rest_of_the_line_as_typed(sandbox: Sandbox) -> None:
    console = Console(sandbox)
    said = "It's \"fine\",  isn't it? <b>&"
    assert await console.run(f"dm bob {said}") == "sent"
    assert await console.run("inbox bob") == f"Bob: {said}"
    ts = await sandbox.slack.user(SLACK.lead).post(SLACK.support, CARD)
    assert await console.run("reply alice #1001 Don't panic, it's \"on its way\"") == "posted"
    assert sandbox.slack.thread(SLACK.support, ts)[0].text == ("Don't panic, it's \"on its way\"")


async def test_people_are_named_not_numbered(sandbox: Sandbox) -> None:
    console = Console(sandbox)
    ts = await sandbox.slack.user(SLACK.lead).post(SLACK.support, CARD)
    await console.run("reply alice 1001 On it")
    workspace = sandbox.slack.workspace
    workspace.post(SLACK.support, workspace.bot.user_id, f"<@{SLACK.agent2}> took it", thread_ts=ts)
    assert await console.run("thread 1001") == (
        "Alice Agent: On it\nsupportbot: @Bob Agent took it"
    )
    assert await console.run("tickets") == CARD  # a plain post: its text


async def test_the_bots_words_are_rendered(running: demo.Demo) -> None:
    console = Console(running.sandbox)
    inbox = await console.run("inbox alice")
    assert inbox.startswith("Alice: My order's late, it's \"urgent\"\nSupport Bot: Thanks")
    assert "your ticket is #1001." in inbox
    assert "We aim to answer by 20" in inbox
    assert " UTC." in inbox
    assert "    [Close ticket]" in inbox
    for raw in ("**", "<t:", "<@"):
        assert raw not in inbox
    thread = await console.run("thread #1001")
    assert thread.startswith("Alice (Discord): My order's late, it's \"urgent\"\n")
    assert "supportbot: :pencil2: Drafted reply · for agents only, not sent\n" in thread
    assert "[Send] [Edit] [Discard]" in thread
    card = await console.run("tickets")
    assert card.startswith("#1001 · My order's late")
    assert "Status: :new: New" in card
    assert "[Claim] [Escalate] [Resolve]" in card
    assert "[Summary] [Draft reply] [Edit triage]" in card


async def test_a_dialog_button_is_refused_up_front(running: demo.Demo) -> None:
    console = Console(running.sandbox)
    for label in ("Escalate", "resolve", "Edit triage"):
        assert await console.run(f"click alice 1001 {label}") == (
            f"{label} opens a dialog; try it in `threadline demo`"
        )
    assert running.sandbox.slack.modals(SLACK.agent1) == []
    assert "Escalate, Resolve and Edit triage open a dialog" in await console.run("help")


def test_the_console_knows_which_card_buttons_open_a_dialog() -> None:
    # The console refuses these before clicking: keep the list in step with the bot's controls.
    direct = {label for action, label, _ in BUTTONS if DIRECT.match(f"ticket_{action.value}")}
    dialogs = {label for _, label, _ in BUTTONS} - direct
    assert dialogs == {"Escalate", "Resolve"}
    assert direct == {"Claim", "Unclaim", "Reopen", "Close"}


async def test_a_click_shows_the_card_and_any_refusal(running: demo.Demo) -> None:
    console = Console(running.sandbox)
    # Both click Claim at once: one wins, the other is told only they can see.
    outcomes = await asyncio.gather(
        console.run("click alice 1001 claim"), console.run("click bob 1001 Claim")
    )
    lost = [o for o in outcomes if "supportbot (only you):" in o]
    assert len(lost) == 1, outcomes
    assert "already holds #1001" in lost[0]
    assert "[Take over]" in lost[0]
    loser = "bob" if lost[0] is outcomes[1] else "alice"
    taken = await console.run(f"click {loser} 1001 Take over")
    assert taken.startswith("clicked\nthe card now reads:\n#1001 · ")
    assert f"Assignee: @{loser.title()} Agent" in taken
    assert (await console.run("click alice 1001 Frob")).startswith(
        "error: no button 'Frob' on that card (its buttons: Unclaim, Escalate, Resolve, Close, "
        "Summary, Draft reply, Edit triage)"
    )


async def test_someone_not_on_the_team_is_told_so(running: demo.Demo) -> None:
    console = Console(running.sandbox)
    said = await console.run("click dana 1001 Claim")
    assert "supportbot (only you): Only support agents can act on tickets." in said
    assert "Assignee: Unassigned" in await console.run("tickets")


async def test_a_reply_shows_what_only_the_agent_sees(running: demo.Demo) -> None:
    console = Console(running.sandbox)
    assert (await console.run("click carol 1001 Close")).startswith("clicked")
    said = await console.run("reply carol 1001 One more thing")
    assert said.startswith("posted\nsupportbot (only you): Ticket #1001 is closed")
    assert (await console.run("reply alice 1001 note: it's closed")).startswith("posted")


async def test_the_sandbox_banner_points_at_the_demo(sandbox: Sandbox) -> None:
    assert "`threadline demo`" in banner(sandbox)
