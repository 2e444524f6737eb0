"""Message limits, answered with Discord's 400 Invalid Form Body (code 50035) error tree.

Limits (discord-api-docs `developers/resources/message.mdx`, `developers/components/reference.mdx`):
content <= 2000 chars, <= 10 embeds totalling <= 6000 chars, <= 5 action rows of <= 5 buttons or
one select, custom_id 1-100 chars and unique per message, button label <= 80; with the
IS_COMPONENTS_V2 flag at most 40 components in all.
"""

from __future__ import annotations

from typing import Any

from .constants import SELECT_TYPES, ComponentType, MessageFlag
from .errors import empty_message, field_error, invalid_form
from .model import JSON, walk_components

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_ROWS = 5
MAX_ROW_ITEMS = 5
MAX_V2_COMPONENTS = 40
MAX_CUSTOM_ID = 100
MAX_LABEL = 80


def _max_length(limit: int) -> JSON:
    return field_error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


MAX_NONCE = 25  # characters of a message's nonce


def validate_message(payload: JSON, *, attachments: int = 0, require_body: bool = True) -> None:
    """Raise ApiError(400) when a message body breaks Discord's limits."""
    errors: JSON = {}
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        errors["content"] = field_error("BASE_TYPE_STRING", "Must be a string.")
    elif content is not None and len(content) > MAX_CONTENT:
        errors["content"] = _max_length(MAX_CONTENT)
    embeds = payload.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        errors["embeds"] = _max_length(MAX_EMBEDS)
    elif sum(embed_size(e) for e in embeds) > MAX_EMBED_TOTAL:
        errors["embeds"] = field_error(
            "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"
        )
    nonce = payload.get("nonce")
    if nonce is not None and len(str(nonce)) > MAX_NONCE:
        errors["nonce"] = _max_length(MAX_NONCE)
    components = payload.get("components") or []
    flags = int(payload.get("flags") or 0)
    component_errors = component_tree_errors(
        components, v2=bool(flags & MessageFlag.IS_COMPONENTS_V2)
    )
    if component_errors:
        errors["components"] = component_errors
    if errors:
        raise invalid_form(errors)
    has_body = content or embeds or components or attachments or payload.get("sticker_ids")
    if require_body and not (has_body or payload.get("poll")):
        raise empty_message()


def embed_size(embed: Any) -> int:
    """Characters that count toward the 6000 total: title, description, fields, footer, author."""
    if not isinstance(embed, dict):
        return 0
    total = len(str(embed.get("title") or "")) + len(str(embed.get("description") or ""))
    for f in embed.get("fields") or []:
        total += len(str(f.get("name") or "")) + len(str(f.get("value") or ""))
    total += len(str((embed.get("footer") or {}).get("text") or ""))
    total += len(str((embed.get("author") or {}).get("name") or ""))
    return total


def component_tree_errors(components: list[JSON], *, v2: bool) -> JSON:
    """Errors for a message's component tree ({} when valid)."""
    if v2:
        count = sum(1 for _ in walk_components(components))
        return _max_length(MAX_V2_COMPONENTS) if count > MAX_V2_COMPONENTS else {}
    if len(components) > MAX_ROWS:
        return _max_length(MAX_ROWS)
    errors: JSON = {}
    seen: set[str] = set()
    for index, row in enumerate(components):
        row_errors = _row_errors(row, seen)
        if row_errors:
            errors[str(index)] = row_errors
    return errors


def _row_errors(row: JSON, seen: set[str]) -> JSON:
    if row.get("type") != ComponentType.ACTION_ROW:
        return {"type": field_error("UNION_TYPE_CHOICES", "Value must be one of {1}.")}
    children = list(row.get("components") or [])
    if len(children) > MAX_ROW_ITEMS:
        return {"components": _max_length(MAX_ROW_ITEMS)}
    has_select = any(c.get("type") in SELECT_TYPES for c in children)
    if has_select and len(children) > 1:
        return {
            "components": field_error(
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        }
    errors: JSON = {}
    for index, child in enumerate(children):
        child_errors = _item_errors(child, seen)
        if child_errors:
            errors[str(index)] = child_errors
    return {"components": errors} if errors else {}


def _item_errors(item: JSON, seen: set[str]) -> JSON:
    errors: JSON = {}
    is_link = item.get("type") == ComponentType.BUTTON and item.get("style") in (5, 6)
    if not is_link:
        custom_id = str(item.get("custom_id") or "")
        if not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
            errors["custom_id"] = field_error(
                "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_CUSTOM_ID} in length."
            )
        elif custom_id in seen:
            errors["custom_id"] = field_error(
                "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
            )
        seen.add(custom_id)
    if len(str(item.get("label") or "")) > MAX_LABEL:
        errors["label"] = _max_length(MAX_LABEL)
    return errors


def validate_modal(data: JSON) -> None:
    """Raise ApiError(400) for a modal with a bad title, custom_id or no inputs."""
    errors: JSON = {}
    title = str(data.get("title") or "")
    if not 1 <= len(title) <= 45:
        errors["title"] = field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
    custom_id = str(data.get("custom_id") or "")
    if not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
        errors["custom_id"] = field_error(
            "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_CUSTOM_ID} in length."
        )
    components = data.get("components") or []
    if not 1 <= len(components) <= MAX_ROWS:
        errors["components"] = field_error(
            "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_ROWS} in length."
        )
    if errors:
        raise invalid_form({"data": errors})


MAX_FILE_BYTES = 10 * 1024 * 1024
