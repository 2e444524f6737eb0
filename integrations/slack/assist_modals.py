"""The AI features' dialogs in Slack, and a decided draft's post: pure builders and checks,
no I/O (`assist_controls.py` opens them and acts on what is submitted)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bot.core.assist import Draft
from bot.core.domain import Ticket
from integrations.slack.assist_posts import (
    DECIDED_HEADING,
    DRAFT_BLOCK,
    DRAFT_HEADING,
    context,
    sections,
)
from integrations.slack.blocks import escape

View = dict[str, Any]

DECIDED_BLOCK: Final = "draft_decided"
# The dialogs.
TRIAGE_MODAL: Final = "ai_triage_modal"
DRAFT_EDIT_MODAL: Final = "draft_edit_modal"

SENTIMENTS: Final = ("negative", "neutral", "positive")
LANGUAGE: Final = re.compile(r"^[a-z]{2,3}$")
TITLE_LIMIT: Final = 80
DRAFT_LIMIT: Final = 3000  # Slack's limit for a text input
OPTIONS_LIMIT: Final = 100  # Slack's limit for a select's options


@dataclass(frozen=True, slots=True)
class Editing:
    """A draft and its post: what the draft's edit dialog remembers (in its private_metadata)."""

    draft: int
    channel: str
    ts: str
    thread: str | None = None  # the post's thread, where a late refusal is told

    def dump(self) -> str:
        return json.dumps(
            {"draft": self.draft, "channel": self.channel, "ts": self.ts, "thread": self.thread}
        )

    @classmethod
    def load(cls, raw: str) -> Editing | None:
        try:
            data = json.loads(raw)
            draft, channel, ts = data["draft"], data["channel"], data["ts"]
            thread = data.get("thread")
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None
        # Only what dump() writes: anything else was not written by Threadline.
        if type(draft) is not int or not 0 < draft < 10**12:
            return None
        if not all(isinstance(part, str) and part for part in (channel, ts)):
            return None
        if thread is not None and not isinstance(thread, str):
            return None
        return cls(draft, channel, ts, thread)


def triage_view(ticket: Ticket, categories: list[str]) -> View:
    """The "Edit triage" dialog, filled with the ticket's triage as it is."""
    current = ticket.triage
    category: dict[str, Any] = {
        "type": "static_select",
        "action_id": "category",
        "placeholder": _text("Pick a category"),
        "options": [_option(name[:75], name) for name in categories[:OPTIONS_LIMIT]],
    }
    if current is not None and current.category in categories[:OPTIONS_LIMIT]:
        category["initial_option"] = _option(current.category[:75], current.category)
    sentiment: dict[str, Any] = {
        "type": "static_select",
        "action_id": "sentiment",
        "placeholder": _text("Pick a sentiment"),
        "options": [_option(name.title(), name) for name in SENTIMENTS],
    }
    if current is not None and current.sentiment in SENTIMENTS:
        sentiment["initial_option"] = _option(current.sentiment.title(), current.sentiment)
    language: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "language",
        "max_length": 3,
        "placeholder": _text("fr, de, es…"),
    }
    if current is not None and current.language:
        language["initial_value"] = current.language
    title = current.title if current is not None and current.title else ticket.subject
    return {
        "type": "modal",
        "callback_id": TRIAGE_MODAL,
        "private_metadata": str(ticket.number),
        "title": _text(f"Edit triage #{ticket.number}"[:24]),
        "submit": _text("Save"),
        "close": _text("Cancel"),
        "blocks": [
            _input("category", "Category", category),
            _input("sentiment", "Sentiment", sentiment),
            _input("language", "Language (ISO 639-1 code)", language, optional=True),
            _input(
                "title",
                "Summary line",
                {
                    "type": "plain_text_input",
                    "action_id": "title",
                    "max_length": TITLE_LIMIT,
                    "initial_value": title[:TITLE_LIMIT],
                },
            ),
        ],
    }


def triage_errors(entered: Mapping[str, str], categories: list[str]) -> dict[str, str]:
    """What is wrong with an entered triage, under each field (empty: nothing)."""
    errors: dict[str, str] = {}
    if entered["category"] not in categories:
        errors["category"] = "Pick one of the team's categories."
    if entered["sentiment"] not in SENTIMENTS:
        errors["sentiment"] = "Pick negative, neutral or positive."
    if entered["language"] and not LANGUAGE.match(entered["language"]):
        errors["language"] = "Two or three letters (ISO 639-1), such as fr; or leave it empty."
    if not entered["title"]:
        errors["title"] = "Say in one line what the ticket is about."
    elif len(entered["title"]) > TITLE_LIMIT:
        errors["title"] = f"At most {TITLE_LIMIT} characters."
    return errors


def triage_changes(ticket: Ticket, entered: Mapping[str, str]) -> dict[str, str]:
    """The fields the agent changed ("" for a language they emptied: no longer known). A
    summary line is compared as the dialog showed it (clipped), so a long one is kept whole
    unless the agent rewrote it."""
    current = ticket.triage
    changed: dict[str, str] = {}
    for field in ("category", "sentiment", "language", "title"):
        was = str(getattr(current, field) or "") if current is not None else ""
        if field == "title":
            was = was.strip()[:TITLE_LIMIT]
        if entered[field] != was:
            changed[field] = entered[field]
    return changed


def draft_edit_view(draft: Draft, editing: Editing) -> View:
    return {
        "type": "modal",
        "callback_id": DRAFT_EDIT_MODAL,
        "private_metadata": editing.dump(),
        "title": _text("Edit the draft"),
        "submit": _text("Send"),
        "close": _text("Cancel"),
        "blocks": [
            _input(
                "text",
                "Your reply to the customer",
                {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "max_length": DRAFT_LIMIT,
                    "initial_value": draft.text[:DRAFT_LIMIT],
                },
            ),
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "Send goes to the customer as your reply."}
                ],
            },
        ],
    }


def settled_line(status: str, by: str) -> str:
    """Who decided a draft (`by`: as Slack shows them), for its post."""
    if status == "sent":
        return f":outbox_tray: Sent to the customer by {by}"
    return f":wastebasket: Discarded by {by}"


def decided(
    blocks: list[dict[str, Any]], line: str, edited: str | None = None
) -> list[dict[str, Any]]:
    """A draft post's blocks once decided: its buttons give way to `line` (who decided it),
    and, when the agent edited the draft, its words (the post's sections) to theirs."""
    note = {
        "type": "context",
        "block_id": DECIDED_BLOCK,
        "elements": [{"type": "mrkdwn", "text": line}],
    }
    words = sections(escape(edited)) if edited is not None else []
    out: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("block_id") == DRAFT_BLOCK:
            out.append(note)
        elif block.get("block_id") == DRAFT_HEADING:
            out.append(context(DECIDED_HEADING) | {"block_id": DRAFT_HEADING})
        elif block.get("type") == "actions" or block.get("block_id") == DECIDED_BLOCK:
            continue  # no button of a decided draft is left to press
        elif edited is not None and block.get("type") == "section":
            out += words  # the draft's words are its post's only sections
            words = []
        else:
            out.append(dict(block))
    if note not in out:
        out.append(note)
    return out


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _text(label),
        "element": element,
    }
    if optional:
        block["optional"] = True
    return block


def _text(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _text(label), "value": value}
