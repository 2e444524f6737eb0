"""What the customer reads: status notices and how an agent's reply is signed. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.core.domain import Message, Ticket


def notice(ticket: Ticket, payload: Mapping[str, Any], team_name: str | None = None) -> str:
    """A status notice; with `team_name` (anonymous replies) no agent is ever named."""
    number = f"#{ticket.number}"
    agent = team_name or payload.get("agent") or "Someone from the team"
    match payload.get("event"):
        case "opened":
            due = payload.get("due")
            expect = f" We aim to answer by {_when(due)}." if isinstance(due, str) and due else ""
            return (
                f"Thanks, we've got your message: your ticket is **{number}**. "
                "Someone from the team will answer right here; anything else you send here "
                f"joins the same ticket.{expect}"
            )
        case "nudge":
            return (
                f"We're waiting to hear back from you about ticket {number}. Just reply here "
                "when you can; if we don't hear from you, we'll mark it resolved."
            )
        case "claimed":
            return f"{agent} is looking into your ticket {number}."
        case "resolved":
            return (
                f"Your ticket {number} is resolved. If something is still wrong, just reply "
                "here and it will be reopened."
            )
        case "reopened":
            return f"Your ticket {number} is open again; we'll get back to you here."
        case "closed":
            return f"Your ticket {number} is closed. Write here any time to open a new one."
        case other:
            raise ValueError(f"no text for the customer notice {other!r}")


def _when(iso: str) -> str:
    """A Discord timestamp: each customer reads it in their own time zone."""
    return f"<t:{int(datetime.fromisoformat(iso).timestamp())}:f>"


def signed(message: Message, team_name: str | None) -> str:
    """An agent's reply as the customer sees it: under the agent's name, or the team's."""
    who = team_name or message.author.name
    return f"**{who}:** {message.body}"
