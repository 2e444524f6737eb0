"""Block Kit for the ticket card. Pure functions: a ticket in, JSON-ready blocks out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from bot.core.domain import Action, Agent, Customer, Priority, Status, Ticket, Triage, legal_actions

Block = dict[str, Any]

ACTION_PREFIX: Final = "ticket_"
PRIORITY_ACTION: Final = "ticket_priority"
ASSIGN_ACTION: Final = "ticket_assign"
TAKE_OVER: Final = "ticket_take_over"
# The card's AI buttons (assist_controls.py handles them). None starts with ACTION_PREFIX: a
# catch-all takes every action id that does.
AI_SUMMARY: Final = "ai_summary"
AI_DRAFT: Final = "ai_draft"
AI_TRIAGE: Final = "ai_triage"
AI_TRANSLATE: Final = "ai_translate"
TRIAGE_BLOCK: Final = "ticket_triage"
AI_BLOCK: Final = "ticket_ai"
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


@dataclass(frozen=True, slots=True)
class CardAi:
    """What the card shows of the AI features: `buttons` (Summary, Draft reply, Edit triage)
    when they are on, and the Translate replies switch on a ticket whose language is not the
    team's (`team_language`, ISO 639-1)."""

    team_language: str
    buttons: bool


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


# A Slack user id: anyone else (an agent in another workspace) is shown by name.
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def is_slack_user(user_id: str) -> bool:
    return bool(_SLACK_USER.match(user_id))


def person(agent: Agent | None, nobody: str = "_Unassigned_") -> str:
    """An agent as Slack shows them: a mention for a Slack user, else their name."""
    if agent is None:
        return nobody
    return f"<@{agent.id}>" if is_slack_user(agent.id) else f"*{escape(agent.name)}*"


def card_text(ticket: Ticket, customer: Customer) -> str:
    """The plain-text fallback (notifications, screen readers)."""
    return f"Ticket #{ticket.number} from {customer.display_name}: {ticket.subject}"


def ticket_card(ticket: Ticket, customer: Customer, ai: CardAi | None = None) -> list[Block]:
    header = f"#{ticket.number} · {ticket.subject}"
    holder = person(ticket.assignee)
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
    if ticket.triage is not None:
        blocks.append(_triage_block(ticket.triage, ticket.subject))
    controls = _controls(ticket)
    if controls:
        blocks.append({"type": "actions", "block_id": "ticket_actions", "elements": controls})
    if ai is not None and ai.buttons and ticket.status is not Status.CLOSED:
        blocks.append(
            {"type": "actions", "block_id": AI_BLOCK, "elements": _ai_buttons(ticket, ai)}
        )
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


def triage_line(triage: Triage) -> str:
    """The triage as the card shows it, with who gave it: the model, the keywords, or an agent."""
    parts = [
        f"Category: {escape(triage.category)} ({_percent(triage.category_confidence)})",
        f"Sentiment: {escape(triage.sentiment)} ({_percent(triage.sentiment_confidence)})",
    ]
    if triage.language:
        parts.append(f"Language: {escape(triage.language)}")
    priority = triage.priority.value.title()
    parts.append(f"Suggested priority: {priority} ({_percent(triage.priority_confidence)})")
    if triage.edited_by:
        source = f"edited by {escape(triage.edited_by)}"
    else:
        source = "by the model" if triage.by_model else "by keywords"
    return " · ".join([*parts, source])


def _triage_block(triage: Triage, subject: str) -> Block:
    text = triage_line(triage)
    title = triage.title.strip()
    if title and title.casefold() != subject.strip().casefold():
        text += f"\n*Summary line:* {escape(title)}"
    return {
        "type": "context",
        "block_id": TRIAGE_BLOCK,
        "elements": [{"type": "mrkdwn", "text": _clip(text, SECTION_LIMIT)}],
    }


def _ai_buttons(ticket: Ticket, ai: CardAi) -> list[Block]:
    number = str(ticket.number)
    buttons = [
        _button(AI_SUMMARY, "Summary", number),
        _button(AI_DRAFT, "Draft reply", number),
        _button(AI_TRIAGE, "Edit triage", number),
    ]
    language = ticket.triage.language if ticket.triage is not None else None
    if language and _primary(language) != _primary(ai.team_language):
        # The button shows the switch's state and carries the state a click asks for.
        on = ticket.translate_replies
        label = f"Translate replies: {'on' if on else 'off'}"
        buttons.append(_button(AI_TRANSLATE, label, f"{number}:{'off' if on else 'on'}"))
    return buttons


def _button(action_id: str, label: str, value: str) -> Block:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }


def _primary(language: str) -> str:
    """A language's primary subtag: "pt-BR" and "pt" are one language to a translator."""
    return language.replace("_", "-").split("-")[0].strip().lower()


def _percent(confidence: float) -> str:
    return f"{round(min(max(confidence, 0.0), 1.0) * 100)}%"


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
