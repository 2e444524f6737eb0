"""Block Kit for the ticket card. Pure functions: a ticket in, JSON-ready blocks out."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from bot.core.domain import Action, Customer, Priority, Status, Ticket, legal_actions

Block = dict[str, Any]

ACTION_PREFIX: Final = "ticket_"
PRIORITY_ACTION: Final = "ticket_priority"
ASSIGN_ACTION: Final = "ticket_assign"
TAKE_OVER: Final = "ticket_take_over"
HEADER_LIMIT: Final = 150  # Block Kit's limit for a header's plain text
SECTION_LIMIT: Final = 3000

STATUS_LABEL: Final = {
    Status.NEW: ":new: New",
    Status.CLAIMED: ":raising_hand: Claimed",
    Status.ESCALATED: ":arrow_double_up: Escalated",
    Status.PENDING: ":hourglass: Waiting on customer",
    Status.RESOLVED: ":white_check_mark: Resolved",
    Status.CLOSED: ":lock: Closed",
}
PRIORITY_LABEL: Final = {
    Priority.URGENT: ":red_circle: Urgent",
    Priority.HIGH: ":large_orange_circle: High",
    Priority.NORMAL: ":large_blue_circle: Normal",
    Priority.LOW: ":white_circle: Low",
}
# The card's buttons, in the order shown; each appears only while its action is legal.
BUTTONS: Final = (
    (Action.CLAIM, "Claim", "primary"),
    (Action.UNCLAIM, "Unclaim", None),
    (Action.ESCALATE, "Escalate", None),
    (Action.RESOLVE, "Resolve", "primary"),
    (Action.REOPEN, "Reopen", None),
    (Action.CLOSE, "Close", None),
)


def date_token(at: datetime, fallback_format: str = "%Y-%m-%d %H:%M UTC") -> str:
    """A Slack date token: each reader sees the instant in their own time zone."""
    epoch = int(at.timestamp())
    fallback = at.strftime(fallback_format)
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{fallback}>"


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: a customer's text must not ping anyone or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def stars(rating: int) -> str:
    return f"{'★' * rating}{'☆' * (5 - rating)} {rating}/5"


def card_text(ticket: Ticket, customer: Customer) -> str:
    """The plain-text fallback (notifications, screen readers)."""
    return f"Ticket #{ticket.number} from {customer.display_name}: {ticket.subject}"


def ticket_card(ticket: Ticket, customer: Customer) -> list[Block]:
    header = f"#{ticket.number} · {ticket.subject}"
    holder = f"<@{ticket.assignee.id}>" if ticket.assignee else "_Unassigned_"
    fields = [
        f"*Customer*\n{escape(customer.display_name)} ({customer.platform.title()})",
        f"*Status*\n{STATUS_LABEL[ticket.status]}",
        f"*Priority*\n{PRIORITY_LABEL[ticket.priority]}",
        f"*Tier*\n{ticket.tier}",
        f"*Assignee*\n{holder}",
        f"*Opened*\n{date_token(ticket.created_at)}",
    ]
    if ticket.due_at is not None and ticket.status.is_open:
        fields.append(f"*SLA due*\n{date_token(ticket.due_at)}")
    if ticket.resolved_at is not None:
        fields.append(f"*Resolved*\n{date_token(ticket.resolved_at)}")
    if ticket.csat_rating is not None:
        fields.append(f"*Satisfaction*\n{stars(ticket.csat_rating)}")
    blocks: list[Block] = [
        {
            "type": "header",
            "block_id": "ticket_header",
            "text": {"type": "plain_text", "text": _clip(header, HEADER_LIMIT), "emoji": True},
        },
        {
            "type": "section",
            "block_id": "ticket_fields",
            "fields": [{"type": "mrkdwn", "text": _clip(f, 2000)} for f in fields[:10]],
        },
    ]
    controls = _controls(ticket)
    if controls:
        blocks.append({"type": "actions", "block_id": "ticket_actions", "elements": controls})
    blocks.append(
        {
            "type": "context",
            "block_id": "ticket_context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Ticket #{ticket.number} · updated {date_token(ticket.updated_at)}",
                }
            ],
        }
    )
    return blocks


def _controls(ticket: Ticket) -> list[Block]:
    legal = legal_actions(ticket)
    value = str(ticket.number)
    elements: list[Block] = []
    for action, label, style in BUTTONS:
        if action in legal:
            button: Block = {
                "type": "button",
                "action_id": f"{ACTION_PREFIX}{action.value}",
                "text": {"type": "plain_text", "text": label},
                "value": value,
            }
            if style:
                button["style"] = style
            elements.append(button)
    if Action.ASSIGN in legal:
        elements.append(
            {
                "type": "users_select",
                "action_id": ASSIGN_ACTION,
                "placeholder": {"type": "plain_text", "text": "Assign to…"},
            }
        )
    if Action.SET_PRIORITY in legal:
        options = [_priority_option(p) for p in Priority]
        elements.append(
            {
                "type": "static_select",
                "action_id": PRIORITY_ACTION,
                "placeholder": {"type": "plain_text", "text": "Priority"},
                "initial_option": _priority_option(ticket.priority),
                "options": options,
            }
        )
    return elements


def _priority_option(priority: Priority) -> Block:
    return {
        "text": {"type": "plain_text", "text": priority.value.title()},
        # The ticket number travels in the block's button values; the option carries the choice.
        "value": priority.value,
    }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
