"""`/threadline` and App Home, end to end through the Slack emulator."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.config import Policy
from bot.core.domain import Actor, Agent, AgentId, Ticket
from bot.core.events import AgentMessage
from bot.core.sweeps import Sweeps
from integrations.platforms import DISCORD
from integrations.sandbox.slack import DEMO
from tests.slack.conftest import Desk

ANN = Agent(AgentId(DEMO.agent1), "alice")


async def ask(desk: Desk, user: str, line: str, channel: str | None = DEMO.support) -> str:
    """Run the command (in the support channel, or with None in the DM with the bot) and read
    the answer shown to the person who asked: the ack's text, or what came after it through
    the response_url."""
    seen = len(desk.slack.ephemerals(user))
    ack = await desk.slack.user(user).command(f"/threadline {line}", channel=channel)
    assert ack.acked
    shown = await desk.slack.wait_for(lambda: desk.slack.ephemerals(user)[seen:], timeout=5)
    assert len(shown) == 1, [e.text for e in shown]
    return shown[0].text


async def test_mine_queue_find_and_show(desk: Desk) -> None:
    printer = await desk.customer_writes("m1", "My printer is on fire", customer="1")
    login = await desk.customer_writes("m2", "I cannot log in", customer="2")
    await desk.service.claim(printer.number, ANN)
    await desk.service.add_agent_message(
        printer.number, AgentMessage(ANN, "Unplug it", False, desk.clock.now())
    )

    mine = await ask(desk, DEMO.agent1, "mine")
    assert mine.startswith("*Your tickets* (1):")
    assert f"|#{printer.number}> My printer is on fire" in mine
    assert "Claimed" in mine

    queue = await ask(desk, DEMO.agent1, "queue")
    assert queue.startswith("*Unassigned, most urgent first* (1):")
    assert f"#{login.number}> I cannot log in" in queue

    found = await ask(desk, DEMO.lead, "find UNPLUG")
    assert f"#{printer.number}>" in found
    assert f"#{login.number}>" not in found
    assert await ask(desk, DEMO.lead, "find nothing-like-this") == (
        "*Tickets mentioning “nothing-like-this”*: none."
    )
    assert (await ask(desk, DEMO.lead, "find")) == "Say what to look for."

    shown = await ask(desk, DEMO.agent1, f"show #{printer.number}")
    assert "Customer: Dana (Discord)" in shown
    assert "2 message(s)" in shown
    assert await ask(desk, DEMO.agent1, "show 99999") == "Ticket #99999 does not exist."
    assert (await ask(desk, DEMO.agent1, "show me")).startswith("Usage: `/threadline show NUMBER`")


async def test_stats(desk: Desk) -> None:
    first = await desk.customer_writes("m1", "Help", customer="1")
    second = await desk.customer_writes("m2", "Help too", customer="2")
    desk.clock.advance(minutes=12)
    await desk.service.add_agent_message(
        first.number, AgentMessage(ANN, "Hello!", False, desk.clock.now())
    )
    stats = await ask(desk, DEMO.agent1, "stats")
    assert stats == (
        "Open: 2 (2 unassigned) · breaching within the hour: 0 · "
        "median first response today: 12 min (of 2 opened today) · CSAT over 7 days: no ratings"
    )
    # Both customers are surveyed after resolution; one is happy, one is not.
    for ticket in (first, second):
        await desk.service.resolve(ticket.number, Actor.of_agent(ANN))
    desk.clock.advance(hours=2)
    sweeps = Sweeps(desk.service, Policy(), surveyable=[DISCORD])
    assert await sweeps.csat(desk.clock.now()) == 2
    await desk.service.rate(first.number, DISCORD, "1", 5)
    await desk.service.rate(second.number, DISCORD, "2", 2)
    stats = await ask(desk, DEMO.agent1, "stats")
    assert stats.endswith("CSAT over 7 days: 50% satisfied of 2 rating(s)")


async def test_usage_and_non_agents(desk: Desk) -> None:
    assert (await ask(desk, DEMO.agent1, "")).startswith("Usage: `/threadline mine`")
    assert (await ask(desk, DEMO.agent1, "dance")).startswith("Usage:")
    assert (await ask(desk, DEMO.agent2, "mine")).startswith("Only support agents")


async def test_app_home_lists_mine_the_queue_and_breaching_soon(desk: Desk) -> None:
    held = await desk.customer_writes("m1", "Held by alice", customer="1")
    waiting = await desk.customer_writes("m2", "Nobody has this", customer="2")
    await desk.service.claim(held.number, ANN)
    # An SLA deadline within the hour (the SLA engine sets these; here, by hand).
    async with desk.service._storage.transaction() as tx:
        ticket = await tx.get_ticket(waiting.number)
        assert ticket is not None
        await tx.save_ticket(replace(ticket, due_at=desk.clock.now() + timedelta(minutes=20)))

    await desk.slack.user(DEMO.agent1).open_home()
    home = await desk.slack.wait_for(lambda: desk.slack.home(DEMO.agent1), timeout=5)
    texts = [str(b.get("text", {}).get("text", "")) for b in home.blocks]
    headers = [t for t, b in zip(texts, home.blocks, strict=True) if b["type"] == "header"]
    assert headers == ["Your tickets", "Unassigned queue", "Breaching soon"]
    mine_at, queue_at, soon_at = (texts.index(h) for h in headers)
    assert any("Held by alice" in t for t in texts[mine_at:queue_at])
    assert any("Nobody has this" in t for t in texts[queue_at:soon_at])
    assert any("Nobody has this" in t and "due <!date^" in t for t in texts[soon_at:])

    await desk.slack.user(DEMO.agent2).open_home()
    stranger = await desk.slack.wait_for(lambda: desk.slack.home(DEMO.agent2), timeout=5)
    assert "Only support agents" in str(stranger.blocks)


async def test_mine_in_a_direct_message_with_the_bot(desk: Desk) -> None:
    printer = await desk.customer_writes("m1", "My printer is on fire", customer="1")
    await desk.service.claim(printer.number, ANN)

    mine = await ask(desk, DEMO.agent1, "mine", channel=None)  # None: the DM with the bot
    assert mine.startswith("*Your tickets* (1):")
    assert f"|#{printer.number}> My printer is on fire" in mine
    (shown,) = desk.slack.ephemerals(DEMO.agent1)
    assert shown.channel == desk.slack.workspace.im_with(DEMO.agent1)[0].id


async def test_the_command_is_acknowledged_before_the_slow_work(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack gives up on an answer after 3 seconds: the ack must not wait for the service."""
    printer = await desk.customer_writes("m1", "My printer is on fire", customer="1")
    await desk.service.claim(printer.number, ANN)
    working, release = asyncio.Event(), asyncio.Event()
    held_by = desk.service.held_by

    async def slow_held_by(agent_id: AgentId, limit: int = 20) -> list[Ticket]:
        working.set()
        await asyncio.wait_for(release.wait(), timeout=10)  # as slow as the test wants
        return await held_by(agent_id, limit)

    monkeypatch.setattr(desk.service, "held_by", slow_held_by)
    ack = await desk.slack.user(DEMO.agent1).command("/threadline mine", channel=DEMO.support)

    # Slack has its ack, with nothing to show yet, while the lookup has not finished.
    assert ack.acked
    assert not (ack.payload or {}).get("text")
    await asyncio.wait_for(working.wait(), timeout=5)
    commands = [d for d in desk.slack.deliveries if d.kind == "slash_commands"]
    assert [d.outcome for d in commands] == ["acked"]
    assert desk.slack.responses.log == []
    assert desk.slack.ephemerals(DEMO.agent1) == []

    release.set()
    shown = await desk.slack.wait_for(lambda: desk.slack.ephemerals(DEMO.agent1), timeout=5)
    assert shown[0].text.startswith("*Your tickets* (1):")
    assert [r.ok for r in desk.slack.responses.log] == [True]  # it came by response_url
