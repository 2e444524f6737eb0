"""`/threadline failed`: agents see, retry and drop dead letters without leaving Slack."""

from __future__ import annotations

import pytest

from bot.core.inbound import MAX_ATTEMPTS, InboundState
from integrations.platforms import SLACK
from integrations.sandbox.slack import DEMO
from tests.slack.conftest import Desk
from tests.slack.test_slack_lookups import ask


async def dead_letter(desk: Desk, event_id: str) -> int:
    service = desk.service
    await service.record_inbound(SLACK, event_id, {"event_id": event_id, "x": "`<!here>`"})
    for _ in range(MAX_ATTEMPTS):
        await service.inbound_failed(SLACK, event_id, "RuntimeError: boom")
    [dead] = [d for d in await service.inbound_events() if d.event_id == event_id]
    return dead.id


@pytest.mark.parametrize("desk", ["http"], indirect=True)
async def test_agents_list_show_retry_and_drop_dead_letters(desk: Desk) -> None:
    assert await ask(desk, DEMO.agent1, "failed") == "*Events set aside*: none."
    first = await dead_letter(desk, "EvOne")
    second = await dead_letter(desk, "EvTwo")

    listed = await ask(desk, DEMO.agent1, "failed")
    assert listed.startswith("*Events set aside* (2):")
    assert f"`{first}` slack `EvOne`" in listed
    assert "5 tries · RuntimeError: boom" in listed

    shown = await ask(desk, DEMO.agent1, f"failed show {first}")
    assert f"*Stored event {first}* (dead)" in shown
    assert "&lt;!here&gt;" in shown  # the payload cannot ping anyone

    assert "back in line" in await ask(desk, DEMO.agent1, f"failed retry {first}")
    assert "dropped" in await ask(desk, DEMO.lead, f"failed drop {second}")
    states = {e.event_id: e.state for e in await desk.service.inbound_events(dead=False)}
    assert states == {"EvOne": InboundState.PENDING}
    assert (await desk.service.inbound_event(second)).state is InboundState.DROPPED

    assert "not a dead letter" in await ask(desk, DEMO.agent1, f"failed drop {second}")
    assert "No stored event 999" in await ask(desk, DEMO.agent1, "failed show 999")
    assert (await ask(desk, DEMO.agent1, "failed retry x")).startswith("Usage:")
    # Not an agent: the answer says so, and nothing changes.
    assert (await ask(desk, DEMO.agent2, "failed")).startswith("Only support agents")
