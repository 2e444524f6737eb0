"""What the customer reads: news of their ticket, how an agent's reply is signed, and how an
automated answer is marked. Pure."""

from __future__ import annotations

from datetime import datetime

from bot.core.domain import Message


def ticket_opened(number: int, due_at: datetime | None) -> str:
    expect = f" We aim to answer by {_when(due_at)}." if due_at is not None else ""
    return (
        f"Thanks, we've got your message: your ticket is **#{number}**. "
        "Someone from the team will answer right here; anything else you send here "
        f"joins the same ticket.{expect}"
    )


def ticket_claimed(number: int, agent: str | None, team_name: str | None = None) -> str:
    """With `team_name` (anonymous replies) no agent is ever named."""
    who = team_name or agent or "Someone from the team"
    return f"{who} is looking into your ticket #{number}."


def ticket_resolved(number: int) -> str:
    return (
        f"Your ticket #{number} is resolved. If something is still wrong, just reply "
        "here and it will be reopened."
    )


def ticket_reopened(number: int) -> str:
    return f"Your ticket #{number} is open again; we'll get back to you here."


def ticket_closed(number: int) -> str:
    return f"Your ticket #{number} is closed. Write here any time to open a new one."


def awaiting_customer(number: int) -> str:
    return (
        f"We're waiting to hear back from you about ticket #{number}. Just reply here "
        "when you can; if we don't hear from you, we'll mark it resolved."
    )


def _when(at: datetime) -> str:
    """A Discord timestamp: each customer reads it in their own time zone."""
    return f"<t:{int(at.timestamp())}:f>"


def signed(message: Message, team_name: str | None, body: str | None = None) -> str:
    """An agent's reply as the customer sees it: under the agent's name, or the team's.
    `body`: what is sent instead of the agent's own words (their translation)."""
    who = team_name or message.author.name
    return f"**{who}:** {message.body if body is None else body}"


# --- automated answers -----------------------------------------------------------------------

# The first line of every automated answer: nobody should take it for a person's reply.
AUTOMATED = "🤖 Automated answer"
TALK_TO_A_PERSON = "Talk to a person"  # the button beneath an automated answer
PERSON_ASKED = "A person will answer you here."
PERSON_ALREADY_ASKED = "A person has already been asked."
NOT_YOUR_BUTTON = "This button belongs to someone else's ticket."
HANDED_OFF = "A person from the team will answer here."


def automated(answer: str) -> str:
    """An automated answer as the customer sees it, marked as such on its first line."""
    return f"{AUTOMATED}\n{answer}"
