"""What the jobs tell agents and leads in Slack: SLA reminders and breaches, satisfaction
ratings. Pure: a ticket and a delivery's payload in, mrkdwn out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.core.domain import Customer, Ticket
from integrations.slack.blocks import date_token, escape, stars

LABELS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}


def sla_text(ticket: Ticket, customer: Customer, info: Mapping[str, Any], link: str | None) -> str:
    """A reminder before a deadline, or a breach notice after it."""
    metric = LABELS.get(str(info.get("metric")), str(info.get("metric")))
    due_raw = info.get("due")
    due = date_token(datetime.fromisoformat(due_raw)) if isinstance(due_raw, str) else "?"
    holder = f"<@{ticket.assignee.id}>" if ticket.assignee else "nobody"
    ref = f"<{link}|#{ticket.number}>" if link else f"#{ticket.number}"
    about = f"{ref} ({escape(ticket.subject)}) from {escape(customer.display_name)}"
    if info.get("kind") == "breach":
        late = late_text(int(info.get("late_seconds") or 0))
        return (
            f":rotating_light: SLA breached: the {metric} target of ticket {about} was due "
            f"{due} and is {late} late. Assignee: {holder}."
        )
    return f":alarm_clock: Ticket {about}: the {metric} is due {due}. Assignee: {holder}."


def late_text(seconds: int) -> str:
    span = timedelta(seconds=max(seconds, 0))
    if span < timedelta(minutes=1):
        return f"{span.seconds}s"
    hours, rest = divmod(int(span.total_seconds()), 3600)
    minutes = rest // 60
    if hours >= 24:
        return f"{hours // 24}d {hours % 24}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def csat_text(ticket: Ticket, info: Mapping[str, Any], link: str | None) -> str:
    """A customer's rating (and comment) as the team reads it."""
    rating = info.get("rating")
    who = escape(str(info.get("customer", "The customer")))
    ref = f"<{link}|#{ticket.number}>" if link else f"#{ticket.number}"
    said = f": “{escape(str(info['comment']))}”" if info.get("comment") else ""
    if isinstance(rating, int):
        return f":star: {who} rated ticket {ref} {stars(rating)}{said}"
    return f":speech_balloon: {who} commented on ticket {ref}{said}"
