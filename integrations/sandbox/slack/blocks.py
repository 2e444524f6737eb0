"""Message text and Block Kit limits, checked the way Slack checks them."""

from __future__ import annotations

import json
from typing import Any

from .errors import SlackError
from .model import JsonDict

MAX_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_ID = 255
BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)


def truncate(text: str) -> tuple[str, bool]:
    """Slack keeps the first 40,000 characters of a message and warns `message_truncated`."""
    if len(text) <= MAX_TEXT:
        return text, False
    return text[:MAX_TEXT], True


def parse_json_arg(value: object, error: str) -> Any:
    """A JSON argument: already decoded (JSON body) or a JSON string (query or form)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise SlackError(error) from None


def parse_blocks(value: object, limit: int = MAX_MESSAGE_BLOCKS) -> list[JsonDict] | None:
    """The `blocks` argument, decoded and validated; None when absent."""
    if value is None or value == "":
        return None
    blocks = parse_json_arg(value, "invalid_blocks_format")
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise SlackError("invalid_blocks_format")
    problems = block_problems(blocks, limit, "/blocks")
    if problems:
        raise SlackError(
            "invalid_blocks", errors=problems, response_metadata={"messages": problems}
        )
    return blocks


def block_problems(blocks: list[JsonDict], limit: int, pointer: str) -> list[str]:
    """Every limit the blocks break, in Slack's `… [json-pointer:/blocks/0/…]` wording."""
    if len(blocks) > limit:
        return [f"no more than {limit} items allowed [json-pointer:{pointer}]"]
    problems: list[str] = []
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            problems.append(f"unsupported type: {kind} [json-pointer:{where}/type]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            problems += _too_long(block_id, MAX_ID, f"{where}/block_id")
            if block_id in seen:
                problems.append(f"duplicate block_id [json-pointer:{where}/block_id]")
            seen.add(block_id)
        problems += _check_block(block, str(kind), where)
    return problems


def _too_long(text: object, limit: int, where: str) -> list[str]:
    if isinstance(text, str) and len(text) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{where}]"]
    return []


def _text_of(obj: object) -> object:
    return obj.get("text") if isinstance(obj, dict) else None


def _check_block(block: JsonDict, kind: str, where: str) -> list[str]:
    problems: list[str] = []
    if kind == "section":
        problems += _too_long(_text_of(block.get("text")), MAX_SECTION_TEXT, f"{where}/text/text")
        fields = block.get("fields") or []
        if len(fields) > 10:
            problems.append(f"no more than 10 items allowed [json-pointer:{where}/fields]")
        for i, item in enumerate(fields):
            problems += _too_long(_text_of(item), 2000, f"{where}/fields/{i}/text")
        if "text" not in block and not fields:
            problems.append(f"must provide either text or fields [json-pointer:{where}]")
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            problems += _check_element(accessory, f"{where}/accessory")
    elif kind == "header":
        problems += _too_long(_text_of(block.get("text")), 150, f"{where}/text/text")
    elif kind in ("actions", "context"):
        problems += _check_list(block, kind, where)
    elif kind == "input" and isinstance(block.get("element"), dict):
        problems += _check_element(block["element"], f"{where}/element")
    return problems


def _check_list(block: JsonDict, kind: str, where: str) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [f"must provide at least 1 item [json-pointer:{where}/elements]"]
    limit = 25 if kind == "actions" else 10
    if len(elements) > limit:
        return [f"no more than {limit} items allowed [json-pointer:{where}/elements]"]
    problems: list[str] = []
    if kind == "actions":
        for i, element in enumerate(elements):
            if isinstance(element, dict):
                problems += _check_element(element, f"{where}/elements/{i}")
    return problems


def _check_element(element: JsonDict, where: str) -> list[str]:
    problems = _too_long(element.get("action_id"), MAX_ID, f"{where}/action_id")
    if element.get("type") == "button":
        problems += _too_long(_text_of(element.get("text")), 75, f"{where}/text/text")
        problems += _too_long(element.get("value"), 2000, f"{where}/value")
        problems += _too_long(element.get("url"), 3000, f"{where}/url")
    return problems


def parse_view(value: object) -> JsonDict:
    """The `view` argument of views.*, decoded and validated (`invalid_arguments` otherwise)."""
    if value is None or value == "":
        raise SlackError("invalid_arguments", response_metadata={"messages": ["view is required"]})
    view = parse_json_arg(value, "invalid_json")
    if not isinstance(view, dict):
        raise SlackError("invalid_arguments")
    problems = view_problems(view)
    if problems:
        raise SlackError("invalid_arguments", response_metadata={"messages": problems})
    return view


def view_problems(view: JsonDict) -> list[str]:
    """What makes a modal or Home view invalid (type, title, blocks, metadata limits)."""
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return ["[ERROR] must be one of: modal, home [json-pointer:/view/type]"]
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        return ["[ERROR] missing required field: blocks [json-pointer:/view/blocks]"]
    problems = [f"[ERROR] {p}" for p in block_problems(blocks, MAX_VIEW_BLOCKS, "/view/blocks")]
    if kind == "modal":
        title = _text_of(view.get("title"))
        if not isinstance(title, str) or not title:
            problems.append("[ERROR] missing required field: title [json-pointer:/view/title]")
        problems += [f"[ERROR] {p}" for p in _too_long(title, 24, "/view/title/text")]
        submit = _text_of(view.get("submit"))
        problems += [f"[ERROR] {p}" for p in _too_long(submit, 24, "/view/submit/text")]
        has_input = any(b.get("type") == "input" for b in blocks)
        if has_input and submit is None:
            problems.append("[ERROR] submit is required with input blocks [json-pointer:/view]")
    metadata = view.get("private_metadata")
    problems += [f"[ERROR] {p}" for p in _too_long(metadata, 3000, "/view/private_metadata")]
    problems += [
        f"[ERROR] {p}" for p in _too_long(view.get("callback_id"), 255, "/view/callback_id")
    ]
    return problems
