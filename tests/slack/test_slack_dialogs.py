"""Escalate and resolve dialogs, take-over and reassignment, end to end through Slack."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from bot.core.domain import Direction, Status, Ticket, TicketNumber
from integrations.sandbox.slack import DEMO
from tests.slack.conftest import Desk
from tests.support import eventually


async def ticket_where(desk: Desk, number: TicketNumber, check: object) -> None:
    assert callable(check)

    async def holds() -> bool:
        return bool(check(await desk.service.get_ticket(number)))

    await eventually(holds, what=f"#{number} to change")


async def test_escalate_asks_why_and_to_which_tier(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "The database is on fire")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.click(channel, root, "Escalate")
    await desk.slack.wait_for(lambda: agent.modal is not None, timeout=5)
    assert agent.modal is not None

    refused = await agent.submit({"tier": "3", "reason": "   "})
    assert refused.errors == {"reason": "Say why, for the next tier."}
    await agent.submit({"tier": "3", "reason": "Needs a DBA"})
    await ticket_where(desk, ticket.number, lambda t: t.tier == 3)

    after = await desk.service.get_ticket(ticket.number)
    assert (after.status, after.assignee) == (Status.ESCALATED, None)
    thread = await desk.slack.wait_for(
        lambda: [m.text for m in desk.slack.thread(channel, root) if "Escalated" in m.text],
        timeout=5,
    )
    assert thread == [":arrow_double_up: Escalated by alice (tier 1 → 3): Needs a DBA"]
    notice = await desk.slack.wait_for(lambda: desk.slack.messages(DEMO.escalations), timeout=5)
    assert notice[0].text.startswith(f"Ticket #{ticket.number} (The database is on fire):")
    assert "Open the ticket's thread" in notice[0].text


async def test_resolve_sends_the_note_to_the_customer(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.click(channel, root, "Resolve")
    await desk.slack.wait_for(lambda: agent.modal is not None, timeout=5)
    await agent.submit({"note": "Replaced the fuser; all good now."})
    await ticket_where(desk, ticket.number, lambda t: t.status is Status.RESOLVED)

    detail = await desk.detail(ticket.number)
    note = detail.messages[-1]
    assert (note.direction, note.body) == (
        Direction.TO_CUSTOMER,
        "Replaced the fuser; all good now.",
    )

    async def delivered() -> list[str] | None:
        return desk.inbox.bodies() or None

    assert await eventually(delivered, what="the note") == ["Replaced the fuser; all good now."]


async def test_resolve_without_a_note(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.click(channel, root, "Resolve")
    await desk.slack.wait_for(lambda: agent.modal is not None, timeout=5)
    await agent.submit({})
    await ticket_where(desk, ticket.number, lambda t: t.status is Status.RESOLVED)
    assert [m.direction for m in (await desk.detail(ticket.number)).messages] == [
        Direction.FROM_CUSTOMER
    ]


async def test_the_loser_of_a_claim_can_take_over(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    stale = copy.deepcopy(desk.slack.message(channel, root))  # what the lead still sees
    await desk.slack.user(DEMO.agent1).click(channel, root, "Claim")
    await ticket_where(desk, ticket.number, lambda t: t.status is Status.CLAIMED)
    await desk.click_on(DEMO.lead, stale, "Claim")
    lead = desk.slack.user(DEMO.lead)
    told = await desk.slack.wait_for(lambda: desk.slack.ephemerals(DEMO.lead), timeout=5)
    assert told[0].text == f"<@{DEMO.agent1}> already holds #{ticket.number}."
    await lead.click(channel, told[0].ts, "Take over")
    await ticket_where(
        desk, ticket.number, lambda t: t.assignee is not None and t.assignee.id == DEMO.lead
    )
    events = [e.action.value for e in (await desk.detail(ticket.number)).events]
    assert events == ["open", "claim", "assign"]


async def test_reassign_with_the_people_menu(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    await desk.slack.user(DEMO.lead).select(channel, root, DEMO.agent1, action_id="ticket_assign")
    await ticket_where(
        desk, ticket.number, lambda t: t.assignee is not None and t.assignee.id == DEMO.agent1
    )
    await desk.slack.user(DEMO.lead).select(channel, root, DEMO.agent2, action_id="ticket_assign")
    told = await desk.slack.wait_for(lambda: desk.slack.ephemerals(DEMO.lead), timeout=5)
    assert told[0].text == f"<@{DEMO.agent2}> is not a support agent."


async def test_a_dialog_is_answered_before_the_slow_work(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack waits 3 seconds for a submission's answer: it must not wait for the service."""
    ticket = await desk.customer_writes("m1", "The database is on fire")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.click(channel, root, "Escalate")
    await desk.slack.wait_for(lambda: agent.modal is not None, timeout=5)
    working, release = asyncio.Event(), asyncio.Event()
    act = desk.service.act

    async def slow_act(*args: Any, **kw: Any) -> Ticket:
        working.set()
        await asyncio.wait_for(release.wait(), timeout=10)  # as slow as the test wants
        return await act(*args, **kw)

    monkeypatch.setattr(desk.service, "act", slow_act)
    answer = await agent.submit({"tier": "2", "reason": "Needs a DBA"})

    # Slack has its answer (the dialog closes) while the escalation has not happened yet.
    assert answer.acked
    assert answer.response_action is None
    assert agent.modal is None
    await asyncio.wait_for(working.wait(), timeout=5)
    assert (await desk.service.get_ticket(ticket.number)).tier == 1

    release.set()
    await ticket_where(desk, ticket.number, lambda t: t.tier == 2)


async def test_a_refusal_after_the_dialog_closed_is_told_in_the_thread(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.click(channel, root, "Resolve")
    await desk.slack.wait_for(lambda: agent.modal is not None, timeout=5)
    # Someone closes the ticket while the dialog is open.
    await desk.slack.user(DEMO.lead).click(channel, root, "Close")
    await ticket_where(desk, ticket.number, lambda t: t.status is Status.CLOSED)

    answer = await agent.submit({"note": "All fixed!"})
    assert answer.acked
    assert answer.response_action is None
    told = await desk.slack.wait_for(lambda: desk.slack.ephemerals(DEMO.agent1), timeout=5)
    assert told[0].thread_ts == root
    assert told[0].text == f"Ticket #{ticket.number} is closed; it cannot be resolved."
    assert (await desk.service.get_ticket(ticket.number)).status is Status.CLOSED
    assert desk.inbox.bodies() == []
