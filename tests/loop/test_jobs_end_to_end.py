"""The jobs end to end: the real bot between both emulators, its clock moved by hand and its
jobs run at a chosen moment. Reminder, breach notice to the lead, escalation, the survey and
its rating, auto-close."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import Bot
from bot.core.domain import Status, TicketNumber
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from tests.loop.loop_support import ALICE, card, point_at_sandbox, running, ticket_is
from tests.support import FakeClock, eventually

POLICY = """
[sla.normal]
first_response = "1h"
next_response = "1h"
resolution = "8h"
calendar = "24x7"
[reminders]
before_breach = "15m"
[escalation]
after_breach = "1h"
[csat]
delay = "1h"
[tickets]
close_after = "4d"
"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture
async def bot(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> AsyncIterator[Bot]:
    point_at_sandbox(sandbox, workdir, monkeypatch, policy=POLICY)
    async with running(clock) as started:
        yield started


async def seen(read: object, text: str, what: str) -> str:
    async def found() -> str | None:
        for line in read():  # type: ignore[operator]
            if text in line:
                return str(line)
        return None

    return await eventually(found, what=what)


async def test_threadline_run_ticks_the_jobs_at_start(bot: Bot) -> None:
    jobs = bot.jobs
    assert jobs is not None

    async def ticked() -> bool:
        return jobs.runs["sla"] >= 1 and jobs.runs["digest"] >= 1

    await eventually(ticked, what="the first sweep")


async def test_reminder_breach_and_escalation(sandbox: Sandbox, bot: Bot, clock: FakeClock) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("The site is down")
    root = await card(sandbox)
    ack = await seen(
        lambda: [m.content for m in alice.dm_messages()], "your ticket is", "the acknowledgement"
    )
    assert "We aim to answer by <t:" in ack  # the first-response promise, in her time zone
    agent = sandbox.slack.user(SLACK.agent1)
    await agent.click(SLACK.support, root.ts, "Claim")
    await ticket_is(bot, 1001, Status.CLAIMED)
    service = bot.service
    assert service is not None

    clock.advance(minutes=46)
    assert (await bot.run_jobs_once())["sla"] == 1
    reminder = await seen(
        lambda: [m.text for m in sandbox.slack.dm(SLACK.agent1)], ":alarm_clock:", "a reminder"
    )
    assert "#1001" in reminder
    assert "first response is due" in reminder

    clock.advance(minutes=15)
    assert (await bot.run_jobs_once())["sla"] == 1
    breach = await seen(
        lambda: [m.text for m in sandbox.slack.dm(SLACK.lead)], "SLA breached", "the breach DM"
    )
    assert "first response target of ticket <" in breach  # linked to the thread
    assert "The site is down" in breach
    assert f"Assignee: <@{SLACK.agent1}>" in breach
    await seen(
        lambda: [m.text for m in sandbox.slack.messages(SLACK.leads)],
        "SLA breached",
        "the leads' channel",
    )
    await seen(
        lambda: [m.text for m in sandbox.slack.thread(SLACK.support, root.ts)],
        ":rotating_light:",
        "the breach in the ticket's thread",
    )
    assert (await bot.run_jobs_once())["sla"] == 0  # told once

    clock.advance(hours=1)
    assert (await bot.run_jobs_once())["sla"] == 1
    notice = await seen(
        lambda: [m.text for m in sandbox.slack.messages(SLACK.escalations)],
        "Escalated by Threadline SLA",
        "the escalation notice",
    )
    assert "first response target breached" in notice
    ticket = await service.get_ticket(TicketNumber(1001))
    assert (ticket.status, ticket.tier) == (Status.ESCALATED, 2)


async def test_survey_rating_and_auto_close(sandbox: Sandbox, bot: Bot, clock: FakeClock) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("How do I reset my password?")
    root = await card(sandbox)
    agent = sandbox.slack.user(SLACK.agent1)
    await agent.post(SLACK.support, "Use the link on the login page.", thread_ts=root.ts)
    await agent.click(SLACK.support, root.ts, "Resolve")
    await sandbox.slack.wait_for(lambda: agent.modal is not None, timeout=5)
    await agent.submit({"note": "Glad it works!"})
    await ticket_is(bot, 1001, Status.RESOLVED)
    service = bot.service
    assert service is not None

    clock.advance(minutes=61)
    assert (await bot.run_jobs_once())["csat"] == 1
    await seen(lambda: [m.content for m in alice.dm_messages()], "How did we do", "the survey")
    survey = next(m for m in alice.dm_messages() if "How did we do" in m.content)
    await alice.click(survey, label="5 😄")
    await sandbox.discord.wait_for(alice.open_modal, timeout=5)
    await alice.submit_modal({"comment": "Quick and friendly"})
    told = await sandbox.discord.wait_for(alice.ephemeral_messages, timeout=5)
    assert told[-1].content == "Thank you for your feedback!"
    await seen(
        lambda: [m.text for m in sandbox.slack.thread(SLACK.support, root.ts)],
        "“Quick and friendly”",
        "the rating in the thread",
    )
    rated = await seen(
        lambda: [str(sandbox.slack.message(SLACK.support, root.ts).blocks)],
        "★★★★★",
        "the rating on the card",
    )
    assert "5/5" in rated
    assert not any("rated" in m.text for m in sandbox.slack.dm(SLACK.lead))  # a 5 needs no lead

    clock.advance(days=4)
    assert (await bot.run_jobs_once())["autoclose"] == 1
    await seen(lambda: [m.content for m in alice.dm_messages()], "is closed", "the closing notice")
    closed = await service.get_ticket(TicketNumber(1001))
    assert closed.status is Status.CLOSED


async def test_an_unhappy_rating_reaches_the_lead(
    sandbox: Sandbox, bot: Bot, clock: FakeClock
) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Refund please")
    root = await card(sandbox)
    agent = sandbox.slack.user(SLACK.agent1)
    await agent.click(SLACK.support, root.ts, "Resolve")
    await sandbox.slack.wait_for(lambda: agent.modal is not None, timeout=5)
    await agent.submit({})
    await ticket_is(bot, 1001, Status.RESOLVED)
    service = bot.service
    assert service is not None
    clock.advance(hours=2)
    await bot.run_jobs_once()
    await seen(lambda: [m.content for m in alice.dm_messages()], "How did we do", "the survey")
    survey = next(m for m in alice.dm_messages() if "How did we do" in m.content)
    await alice.click(survey, label="1 😞")
    lead_dm = await seen(
        lambda: [m.text for m in sandbox.slack.dm(SLACK.lead)], "rated ticket", "the lead's DM"
    )
    assert "1/5" in lead_dm


async def test_a_reminder_for_an_unclaimed_ticket_is_broadcast_to_the_channel(
    sandbox: Sandbox, bot: Bot, clock: FakeClock
) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Anyone there?")
    root = await card(sandbox)
    await seen(lambda: [m.content for m in alice.dm_messages()], "your ticket is", "the ack")
    clock.advance(minutes=50)
    assert (await bot.run_jobs_once())["sla"] == 1
    reminder = await seen(
        lambda: [
            m.text for m in sandbox.slack.messages(SLACK.support) if m.subtype == "thread_broadcast"
        ],
        ":alarm_clock:",
        "the reminder broadcast to the channel",
    )
    assert "Assignee: nobody" in reminder
    assert any(m.text == reminder for m in sandbox.slack.thread(SLACK.support, root.ts))
