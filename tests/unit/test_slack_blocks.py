"""The ticket card as Block Kit: content, date tokens, and only the actions that apply."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.domain import (
    Agent,
    AgentId,
    Customer,
    CustomerId,
    Priority,
    Status,
    Ticket,
    TicketId,
    TicketNumber,
)
from integrations.platforms import DISCORD
from integrations.slack.blocks import card_text, date_token, escape, ticket_card

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALICE = Customer(CustomerId(1), DISCORD, "42", "Alice <script>")
TICKET = Ticket(
    TicketId(1),
    TicketNumber(1042),
    CustomerId(1),
    "Printer on fire",
    Status.NEW,
    Priority.NORMAL,
    1,
    T0,
    T0,
)


def controls(blocks: list[dict[str, Any]]) -> list[str]:
    actions = [b for b in blocks if b["type"] == "actions"]
    if not actions:
        return []
    return [e["action_id"] for e in actions[0]["elements"]]


def test_card_shows_the_ticket() -> None:
    blocks = ticket_card(TICKET, ALICE)
    assert blocks[0]["text"]["text"] == "#1042 · Printer on fire"
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert "*Customer*\nAlice &lt;script&gt; (Discord)" in fields
    assert "*Status*\n:new: New" in fields
    assert "*Priority*\n:large_blue_circle: Normal" in fields
    assert "*Tier*\n1" in fields
    assert "*Assignee*\n_Unassigned_" in fields
    assert f"*Opened*\n{date_token(T0)}" in fields
    assert card_text(TICKET, ALICE) == "Ticket #1042 from Alice <script>: Printer on fire"


def test_date_tokens_carry_epoch_and_fallback() -> None:
    assert date_token(T0) == (
        "<!date^1772442000^{date_short_pretty} at {time}|2026-03-02 09:00 UTC>"
    )


def test_sla_due_time_and_assignee() -> None:
    due = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    ticket = replace(
        TICKET, status=Status.CLAIMED, assignee=Agent(AgentId("U0ANN"), "Ann"), due_at=due
    )
    fields = [f["text"] for f in ticket_card(ticket, ALICE)[1]["fields"]]
    assert "*Assignee*\n<@U0ANN>" in fields
    assert f"*SLA due*\n{date_token(due)}" in fields


@pytest.mark.parametrize(
    ("status", "held", "expected"),
    [
        (
            Status.NEW,
            False,
            [
                "ticket_claim",
                "ticket_escalate",
                "ticket_resolve",
                "ticket_close",
                "ticket_assign",
                "ticket_priority",
            ],
        ),
        (
            Status.CLAIMED,
            True,
            [
                "ticket_unclaim",
                "ticket_escalate",
                "ticket_resolve",
                "ticket_close",
                "ticket_assign",
                "ticket_priority",
            ],
        ),
        (Status.RESOLVED, True, ["ticket_reopen", "ticket_close"]),
        (Status.CLOSED, True, []),
    ],
)
def test_only_the_actions_that_apply(status: Status, held: bool, expected: list[str]) -> None:
    ticket = replace(
        TICKET, status=status, assignee=Agent(AgentId("U0ANN"), "Ann") if held else None
    )
    assert controls(ticket_card(ticket, ALICE)) == expected


def test_buttons_name_the_ticket_and_select_shows_current_priority() -> None:
    blocks = ticket_card(replace(TICKET, priority=Priority.HIGH), ALICE)
    elements = blocks[2]["elements"]
    assert {e["value"] for e in elements if e["type"] == "button"} == {"1042"}
    select = elements[-1]
    assert select["initial_option"]["value"] == "high"
    assert [o["value"] for o in select["options"]] == ["urgent", "high", "normal", "low"]


def test_long_subjects_fit_block_kit_limits() -> None:
    blocks = ticket_card(replace(TICKET, subject="x" * 500), ALICE)
    assert len(blocks[0]["text"]["text"]) == 150
    assert len(json.dumps(blocks)) < 10_000


def test_escape() -> None:
    assert escape("<@U1> & <!channel>") == "&lt;@U1&gt; &amp; &lt;!channel&gt;"
