"""What the jobs tell agents and leads in Slack: SLA reminders and breaches, satisfaction
ratings. Pure: a ticket and an event in, mrkdwn out."""

from __future__ import annotations

from bot.core.digest import Digest
from bot.core.domain import Customer, Ticket
from bot.core.outbound import SlaBreached, SlaReminder, SurveyAnswered
from integrations.digest import digest_lines
from integrations.slack.blocks import date_token, escape, person, stars
from integrations.wording import late_text

LABELS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}


def sla_text(
    ticket: Ticket, customer: Customer, event: SlaReminder | SlaBreached, link: str | None
) -> str:
    """A reminder before a deadline, or a breach notice after it."""
    metric = LABELS.get(event.metric, event.metric)
    due = date_token(event.due_at) if event.due_at is not None else "?"
    holder = person(ticket.assignee, "nobody")
    ref = f"<{link}|#{ticket.number}>" if link else f"#{ticket.number}"
    about = f"{ref} ({escape(ticket.subject)}) from {escape(customer.display_name)}"
    if isinstance(event, SlaBreached):
        late = late_text(event.late_seconds)
        return (
            f":rotating_light: SLA breached: the {metric} target of ticket {about} was due "
            f"{due} and is {late} late. Assignee: {holder}."
        )
    return f":alarm_clock: Ticket {about}: the {metric} is due {due}. Assignee: {holder}."


def digest_text(digest: Digest) -> str:
    """The leads' daily digest; subjects and names as typed, escaped."""
    return "\n".join(digest_lines(digest, title=lambda t: f"*{t}*", escape=escape))


def csat_text(ticket: Ticket, event: SurveyAnswered, link: str | None) -> str:
    """A customer's rating (and comment) as the team reads it."""
    who = escape(event.customer)
    ref = f"<{link}|#{ticket.number}>" if link else f"#{ticket.number}"
    said = f": “{escape(event.comment)}”" if event.comment else ""
    if event.rating is not None:
        return f":star: {who} rated ticket {ref} {stars(event.rating)}{said}"
    return f":speech_balloon: {who} commented on ticket {ref}{said}"
