"""What a ticket's thread is told about the ticket's life: the moves worth telling the team
about, a follow-up of an older ticket, a reply that did not reach the customer. Pure: an event
in, mrkdwn out (escaped whole: the names and reasons in it are people's words)."""

from __future__ import annotations

from typing import assert_never

from bot.core.domain import Customer
from bot.core.outbound import (
    DeliveryFailed,
    FollowsUp,
    TicketAssigned,
    TicketEscalated,
    TicketReopened,
    TicketResolved,
)
from integrations.slack.blocks import escape

Move = TicketEscalated | TicketAssigned | TicketResolved | TicketReopened


def move_line(event: Move) -> str:
    match event:
        case TicketEscalated():
            line = f":arrow_double_up: Escalated by {event.by} ({event.detail or ''})"
        case TicketAssigned():
            line = f":bust_in_silhouette: Assigned by {event.by} ({event.detail or ''})"
        case TicketResolved():
            line = f":white_check_mark: Resolved by {event.by}"
        case TicketReopened():
            line = f":leftwards_arrow_with_hook: Reopened by {event.by}"
        case _:
            assert_never(event)
    return escape(f"{line}: {event.reason}" if event.reason else line)


def follow_up_line(event: FollowsUp) -> str:
    return escape(f":link: This follows up on ticket #{event.number} ({event.subject}).")


def failed_line(customer: Customer, event: DeliveryFailed) -> str:
    who = escape(customer.display_name)
    return f":warning: Not delivered to {who}: {escape(event.reason)}"
