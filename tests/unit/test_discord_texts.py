"""What a Discord customer reads, word for word: news of their ticket, and signed replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.domain import Actor, ActorKind, Direction, Message, MessageId, TicketId
from integrations.discord import texts

DUE = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)
OPENED = (
    "Thanks, we've got your message: your ticket is **#1042**. Someone from the team will "
    "answer right here; anything else you send here joins the same ticket."
)


def test_a_new_ticket_names_its_number_and_when_to_expect_an_answer() -> None:
    assert texts.ticket_opened(1042, None) == OPENED
    # A Discord timestamp: each customer sees it in their own time zone.
    assert texts.ticket_opened(1042, DUE) == f"{OPENED} We aim to answer by <t:1772472600:f>."
    paris = DUE.astimezone(timezone(timedelta(hours=1)))
    assert texts.ticket_opened(1042, paris) == texts.ticket_opened(1042, DUE)


@pytest.mark.parametrize(
    ("agent", "team_name", "expected"),
    [
        ("Alex", None, "Alex is looking into your ticket #1042."),
        ("Alex", "Acme Support", "Acme Support is looking into your ticket #1042."),
        (None, None, "Someone from the team is looking into your ticket #1042."),
        (None, "Acme Support", "Acme Support is looking into your ticket #1042."),
    ],
)
def test_a_claim_names_the_agent_unless_the_team_answers_anonymously(
    agent: str | None, team_name: str | None, expected: str
) -> None:
    assert texts.ticket_claimed(1042, agent, team_name) == expected


def test_the_ticket_s_other_news() -> None:
    assert texts.ticket_resolved(1042) == (
        "Your ticket #1042 is resolved. If something is still wrong, just reply here and it "
        "will be reopened."
    )
    assert texts.ticket_reopened(1042) == (
        "Your ticket #1042 is open again; we'll get back to you here."
    )
    assert texts.ticket_closed(1042) == (
        "Your ticket #1042 is closed. Write here any time to open a new one."
    )
    assert texts.awaiting_customer(1042) == (
        "We're waiting to hear back from you about ticket #1042. Just reply here when you "
        "can; if we don't hear from you, we'll mark it resolved."
    )


def test_replies_are_signed_by_the_agent_or_the_team() -> None:
    message = Message(
        MessageId(1),
        TicketId(1),
        Direction.TO_CUSTOMER,
        Actor(ActorKind.AGENT, "U1", "Alex"),
        "On it",
        DUE,
    )
    assert texts.signed(message, None) == "**Alex:** On it"
    assert texts.signed(message, "Acme Support") == "**Acme Support:** On it"
