"""The policy file end to end, the real bot between both emulators (its clock moved by hand
where time matters): the reopen window, per-customer limits, anonymous replies, surveys that
expire."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.domain import Status, TicketNumber
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import Message as SlackMessage
from tests.loop.loop_support import (
    ALICE,
    bot_dms,
    card,
    cards,
    dm_says,
    point_at_sandbox,
    running,
    thread_says,
    ticket_is,
)
from tests.support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


async def resolve(sandbox: Sandbox, root: SlackMessage, note: str | None = None) -> None:
    agent = sandbox.slack.user(SLACK.agent1)
    await agent.click(SLACK.support, root.ts, "Resolve")
    await sandbox.slack.wait_for(lambda: agent.modal is not None, timeout=5)
    await agent.submit({"note": note} if note else {})


async def test_a_dm_inside_the_reopen_window_reopens_the_ticket(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    point_at_sandbox(sandbox, workdir, monkeypatch, policy="[tickets]\nreopen_window_days = 7\n")
    alice = sandbox.discord.user(ALICE)
    async with running(clock) as bot:
        await alice.send_dm("The printer jams")
        root = await card(sandbox)
        await resolve(sandbox, root)
        await ticket_is(bot, 1001, Status.RESOLVED)
        await dm_says(sandbox, "Your ticket #1001 is resolved")

        clock.advance(days=6)
        await alice.send_dm("It jams again")
        await dm_says(sandbox, "Your ticket #1001 is open again")
        await thread_says(sandbox, root, "It jams again")
        await ticket_is(bot, 1001, Status.NEW)
        assert bot.service is not None
        assert [t.number for t in await bot.service.list_tickets()] == [1001]
        assert len(sandbox.slack.messages(SLACK.support)) == 1  # the same card, no new one


async def test_a_dm_after_the_reopen_window_opens_a_linked_ticket(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    point_at_sandbox(sandbox, workdir, monkeypatch, policy="[tickets]\nreopen_window_days = 7\n")
    alice = sandbox.discord.user(ALICE)
    async with running(clock) as bot:
        await alice.send_dm("The printer jams")
        first = await card(sandbox)
        await resolve(sandbox, first)
        await ticket_is(bot, 1001, Status.RESOLVED)

        clock.advance(days=8)
        await alice.send_dm("Now the scanner is broken")
        await dm_says(sandbox, "your ticket is **#1002**")
        _, newest = await cards(sandbox, 2)  # oldest first
        assert "Now the scanner is broken" in newest.text
        link = await thread_says(sandbox, newest, ":link: This follows up on ticket #1001")
        assert "(The printer jams)" in link
        await ticket_is(bot, 1001, Status.CLOSED)
        assert not any("open again" in m.content for m in bot_dms(sandbox))


async def test_a_customer_over_the_new_ticket_limit_is_told_politely(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = "[customers]\nnew_tickets_per_hour = 1\n"
    point_at_sandbox(sandbox, workdir, monkeypatch, policy=policy)
    alice = sandbox.discord.user(ALICE)
    async with running() as bot:
        await alice.send_dm("First question")
        ack = await dm_says(sandbox, "your ticket is **#1001**")
        await alice.click(ack, label="Close ticket")
        await ticket_is(bot, 1001, Status.CLOSED)
        await alice.send_dm("Second question")
        await dm_says(sandbox, "You've opened several tickets in the last hour")
        assert bot.service is not None
        assert [t.number for t in await bot.service.list_tickets()] == [1001]
        assert len(sandbox.slack.messages(SLACK.support)) == 1


async def test_anonymous_replies_never_name_the_agent(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = '[replies]\nanonymous_replies = true\nteam_name = "Acme Support"\n'
    point_at_sandbox(sandbox, workdir, monkeypatch, policy=policy)
    alice = sandbox.discord.user(ALICE)
    async with running():
        await alice.send_dm("Where is my order?")
        root = await card(sandbox)
        agent = sandbox.slack.user(SLACK.agent1)  # named "alice" in Slack
        await agent.click(SLACK.support, root.ts, "Claim")
        await dm_says(sandbox, "Acme Support is looking into your ticket #1001")
        await agent.post(SLACK.support, "It left the warehouse today.", thread_ts=root.ts)
        await dm_says(sandbox, "**Acme Support:** It left the warehouse today.")
        await resolve(sandbox, root, "Delivered.")
        await dm_says(sandbox, "Your ticket #1001 is resolved")
    assert not any("alice" in m.content for m in bot_dms(sandbox))


async def test_a_rating_on_an_expired_survey_is_refused_without_a_form(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    policy = '[csat]\ndelay = "1h"\nexpire_after = "1d"\n'
    point_at_sandbox(sandbox, workdir, monkeypatch, policy=policy)
    alice = sandbox.discord.user(ALICE)
    async with running(clock) as bot:
        await alice.send_dm("Reset my password please")
        root = await card(sandbox)
        await resolve(sandbox, root)
        await ticket_is(bot, 1001, Status.RESOLVED)
        clock.advance(minutes=61)
        assert (await bot.run_jobs_once())["csat"] == 1
        survey = await dm_says(sandbox, "How did we do")

        clock.advance(days=2)
        await alice.click(survey, label="4 🙂")
        told = await sandbox.discord.wait_for(alice.ephemeral_messages, timeout=5)
        assert told[-1].content == "This survey has expired; thank you all the same."
        assert alice.open_modal() is None  # no form to fill in for nothing
        assert bot.service is not None
        assert (await bot.service.get_ticket(TicketNumber(1001))).csat_rating is None
