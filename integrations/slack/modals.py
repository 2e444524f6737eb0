"""Block Kit views for the escalate and resolve dialogs, and reading what was entered. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from bot.core.domain import MAX_TIER, Ticket

View = dict[str, Any]

ESCALATE: Final = "escalate_ticket"
RESOLVE: Final = "resolve_ticket"
REASON_LIMIT: Final = 2000
NOTE_LIMIT: Final = 3000


@dataclass(frozen=True, slots=True)
class Opened:
    """What a dialog remembers about where it was opened (in the view's private_metadata)."""

    number: int
    card: str | None  # the card it was opened from: "CHANNEL:TS"

    def dump(self) -> str:
        return json.dumps({"number": self.number, "card": self.card})

    @classmethod
    def load(cls, raw: str) -> Opened | None:
        try:
            data = json.loads(raw)
            number, card = data["number"], data.get("card")
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None
        # Only what dump() writes: anything else was not written by Threadline.
        if type(number) is not int or not 0 < number < 10**12:
            return None
        if card is not None and not isinstance(card, str):
            return None
        return cls(number, card)


def escalate_view(ticket: Ticket, opened: Opened) -> View:
    tiers = [_option(f"Tier {t}", str(t)) for t in range(ticket.tier + 1, MAX_TIER + 1)]
    return {
        "type": "modal",
        "callback_id": ESCALATE,
        "private_metadata": opened.dump(),
        "title": _text(f"Escalate #{ticket.number}"[:24]),
        "submit": _text("Escalate"),
        "close": _text("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "tier",
                "label": _text("To tier"),
                "element": {
                    "type": "static_select",
                    "action_id": "tier",
                    "options": tiers,
                    "initial_option": tiers[0],
                },
            },
            {
                "type": "input",
                "block_id": "reason",
                "label": _text("Why? (the next tier reads this)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "reason",
                    "multiline": True,
                    "max_length": REASON_LIMIT,
                },
            },
        ],
    }


def resolve_view(ticket: Ticket, opened: Opened) -> View:
    return {
        "type": "modal",
        "callback_id": RESOLVE,
        "private_metadata": opened.dump(),
        "title": _text(f"Resolve #{ticket.number}"[:24]),
        "submit": _text("Resolve"),
        "close": _text("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "note",
                "optional": True,
                "label": _text("Resolution note for the customer (optional)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "note",
                    "multiline": True,
                    "max_length": NOTE_LIMIT,
                },
            }
        ],
    }


def entered(view: dict[str, Any], block: str) -> str:
    """The text or the chosen option's value in an input block ("" when empty, or when the
    submission does not have the shape Slack gives it)."""
    field = _at(view, "state", "values", block, block)
    option = _at(field, "selected_option")
    if option:
        value = _at(option, "value")
        return value if isinstance(value, str) else ""
    value = field.get("value") if isinstance(field, dict) else None
    return value.strip() if isinstance(value, str) else ""


def _at(data: Any, *path: str) -> Any:
    """`data[path[0]][path[1]]…`, or {} where a step is missing or not an object."""
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
        if data is None:
            return {}
    return data


def _text(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _text(label), "value": value}
