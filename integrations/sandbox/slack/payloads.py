"""Builders for interactivity payloads and slash command fields (pure functions)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .model import Channel, JsonDict, User, View, iter_elements
from .seed import WorkspaceSeed

SELECT_KEYS = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "multi_users_select": "selected_users",
    "multi_conversations_select": "selected_conversations",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}
TEXT_INPUTS = frozenset(
    {"plain_text_input", "email_text_input", "url_text_input", "number_input", "rich_text_input"}
)


def action_ts() -> str:
    """An `action_ts` for now."""
    return f"{time.time():.6f}"


def user_ref(user: User) -> JsonDict:
    """The `user` object of interaction payloads."""
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": user.team_id}


def base(seed: WorkspaceSeed, kind: str, user: User, trigger_id: str) -> JsonDict:
    """Fields every interaction payload carries."""
    return {
        "type": kind,
        "team": {"id": seed.team_id, "domain": seed.domain},
        "user": user_ref(user),
        "api_app_id": seed.bot.app_id,
        "token": seed.verification_token,
        "trigger_id": trigger_id,
        "enterprise": None,
        "is_enterprise_install": False,
    }


def options_of(element: JsonDict) -> list[JsonDict]:
    """The options of a select/overflow/radio/checkboxes element, groups flattened."""
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return options


def find_option(element: JsonDict, choice: str) -> JsonDict:
    """The option whose value or label is `choice`."""
    for option in options_of(element):
        label = option.get("text", {}).get("text")
        if choice in (option.get("value"), label):
            return dict(option)
    raise LookupError(f"no option {choice!r} in {element.get('action_id')!r}")


def chosen_state(element: JsonDict, value: Any) -> JsonDict:
    """The `state.values` entry of one element holding `value` (as a person set it)."""
    kind = str(element.get("type", ""))
    state: JsonDict = {"type": kind}
    if kind in TEXT_INPUTS:
        state["value"] = None if value is None else str(value)
    elif kind in ("static_select", "radio_buttons", "overflow"):
        state["selected_option"] = None if value is None else find_option(element, str(value))
    elif kind in ("multi_static_select", "checkboxes"):
        state["selected_options"] = [find_option(element, str(v)) for v in value or []]
    elif kind in SELECT_KEYS:
        state[SELECT_KEYS[kind]] = value
    else:
        state["value"] = value
    return state


def form_state(blocks: list[JsonDict], values: Mapping[str, Any]) -> JsonDict:
    """`state.values` of a view: `values` maps block_id (or action_id) to what was entered."""
    state: JsonDict = {}
    for block_id, element in iter_elements(blocks):
        action_id = str(element.get("action_id", "a"))
        if block_id in values:
            value = values[block_id]
        elif action_id in values:
            value = values[action_id]
        else:
            value = element.get("initial_value")
        state.setdefault(block_id, {})[action_id] = chosen_state(element, value)
    return state


def missing_inputs(blocks: list[JsonDict], state: JsonDict) -> list[str]:
    """Required input blocks left empty: Slack's client refuses to submit those."""
    missing = []
    for block in blocks:
        if block.get("type") != "input" or block.get("optional"):
            continue
        entries: dict[str, JsonDict] = state.get(str(block.get("block_id")), {})
        entry: JsonDict = next(iter(entries.values()), {})
        filled = [v for k, v in entry.items() if k != "type" and v not in (None, "", [])]
        if not filled:
            missing.append(str(block.get("block_id")))
    return missing


def action_payload(element: JsonDict, block_id: str, choice: Any = None) -> JsonDict:
    """One entry of `actions` for a click or a choice on `element`."""
    action: JsonDict = {
        "type": element.get("type"),
        "action_id": element.get("action_id", ""),
        "block_id": block_id,
        "action_ts": action_ts(),
    }
    if element.get("type") == "button":
        action["text"] = element.get("text")
        for key in ("value", "style", "url"):
            if key in element:
                action[key] = element[key]
        return action
    action.update({k: v for k, v in chosen_state(element, choice).items() if k != "type"})
    return action


def message_container(
    channel: Channel, ts: str, ephemeral: bool, thread_ts: str | None
) -> JsonDict:
    """`container` for an action on a message."""
    container: JsonDict = {
        "type": "message",
        "message_ts": ts,
        "channel_id": channel.id,
        "is_ephemeral": ephemeral,
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
    return container


def view_container(view: View) -> JsonDict:
    """`container` for an action inside a modal or Home tab."""
    return {"type": "view", "view_id": view.id}


def slash_command(
    *,
    seed: WorkspaceSeed,
    user: User,
    channel: Channel,
    command: str,
    text: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    """The form fields of a slash command."""
    return {
        "token": seed.verification_token,
        "team_id": seed.team_id,
        "team_domain": seed.domain,
        "channel_id": channel.id,
        "channel_name": "directmessage" if channel.is_im else channel.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": seed.bot.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
