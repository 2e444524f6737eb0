"""Agents' replies reach the customer in the order they were written, even when Slack delivers
one late: an event the bot could not store (the database away for a moment) or that a killed
process never acknowledged comes again only after newer ones of its thread."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.errors import StorageError
from bot.core.events import AgentMessage
from bot.core.service import TicketService
from integrations.sandbox.slack import DEMO
from tests.slack.conftest import Desk
from tests.support import eventually

FIRST, SECOND = "First: unplug it", "Second: then plug it back in"


async def test_a_reply_slack_delivers_late_is_still_relayed_first(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = await desk.customer_writes("m1", "My printer is on fire")
    channel, root = desk.thread_of(ticket)
    desk.slack.timing.retry_delays = (2.0,)  # Slack tries again later (for real: a minute)
    record = TicketService.record_inbound
    refused: list[str] = []

    async def away_once(self: TicketService, platform: Any, event_id: str, body: Any) -> bool:
        if (body.get("event") or {}).get("text") == FIRST and not refused:
            refused.append(event_id)
            raise StorageError("Cannot reach the database (planted)")
        return bool(await record(self, platform, event_id, body))

    add = TicketService.add_agent_message

    async def away_too(self: TicketService, where: Any, msg: AgentMessage) -> Any:
        if msg.body == FIRST and not refused:  # recorded at once, with its event: away too
            raise StorageError("Cannot reach the database (planted)")
        return await add(self, where, msg)

    monkeypatch.setattr(TicketService, "record_inbound", away_once)
    monkeypatch.setattr(TicketService, "add_agent_message", away_too)
    agent = desk.slack.user(DEMO.agent1)
    await agent.post(channel, FIRST, thread_ts=root)
    await eventually(lambda: _true(bool(refused)), what="the first reply refused")
    await agent.post(channel, SECOND, thread_ts=root)

    await eventually(lambda: _true(desk.inbox.bodies() == [FIRST, SECOND]), what="both, in order")

    # Slack's own redelivery of the first, when it comes, changes nothing.
    def delivered_again() -> bool:
        return len([d for d in desk.slack.deliveries if d.id == refused[0]]) >= 2

    await eventually(lambda: _true(delivered_again()), what="the redelivery", within=10)
    await desk.dispatcher.run_once()
    assert desk.inbox.bodies() == [FIRST, SECOND]
    detail = await desk.detail(ticket.number)
    assert [m.body for m in detail.messages] == ["My printer is on fire", FIRST, SECOND]


async def _true(value: bool) -> bool:
    return value
