"""The Slack app manifest asks for what the bot uses: its command, shortcut, events and exactly
the OAuth scopes of the Web API methods the adapter calls."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from integrations.sandbox.slack import THREADLINE_BOT_EVENTS
from integrations.slack.controls import REPLY_SHORTCUT
from integrations.slack.lookups import COMMAND

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "slack-manifest.yml"
ADAPTER = ROOT / "integrations" / "slack"

# The bot-token scopes each Web API method requires ("Required scopes" on
# https://api.slack.com/methods/<method>), by its slack_sdk name. A method the adapter starts
# calling must be added here, so that the manifest cannot silently fall behind the code.
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "chat_postMessage": frozenset({"chat:write"}),
    "chat_postEphemeral": frozenset({"chat:write"}),
    "chat_update": frozenset({"chat:write"}),
    "chat_delete": frozenset({"chat:write"}),
    "chat_getPermalink": frozenset(),
    "conversations_open": frozenset({"im:write"}),  # a DM with one person
    "conversations_info": frozenset({"channels:read", "groups:read"}),
    "conversations_replies": frozenset({"channels:history", "groups:history"}),
    # the support, leads' and escalation channels, and DMs: a post looked for after a crash
    "conversations_history": frozenset({"channels:history", "groups:history", "im:history"}),
    "files_upload_v2": frozenset({"files:write"}),  # getUploadURLExternal + completeUpload…
    "reactions_add": frozenset({"reactions:write"}),
    "reactions_remove": frozenset({"reactions:write"}),
    "usergroups_users_list": frozenset({"usergroups:read"}),
    "users_info": frozenset({"users:read"}),
    "views_open": frozenset(),
    "views_publish": frozenset(),
    "views_update": frozenset(),
    "views_push": frozenset(),
}
# Calls on a client that are not Web API methods (the Socket Mode client's own state).
NOT_WEB_API = frozenset({"is_connected"})
# The events the bot subscribes to, and the scope each needs.
EVENT_SCOPES: dict[str, frozenset[str]] = {
    "app_home_opened": frozenset(),
    "message.channels": frozenset({"channels:history"}),  # a public support channel
    "message.groups": frozenset({"groups:history"}),  # a private one
}
CALL = re.compile(r"\b_?client\.(\w+)\(")


def _sources() -> str:
    return "\n".join(p.read_text() for p in sorted(ADAPTER.glob("*.py")))


def _manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(loaded, dict)
    return loaded


def called_methods() -> set[str]:
    """The Web API methods the adapter calls, read from its source."""
    return set(CALL.findall(_sources())) - NOT_WEB_API


def required_scopes(manifest: dict[str, Any]) -> set[str]:
    source = _sources()
    unknown = called_methods() - METHOD_SCOPES.keys()
    assert not unknown, f"add the scopes of {sorted(unknown)} to METHOD_SCOPES"
    needed = set().union(*(METHOD_SCOPES[m] for m in called_methods()))
    settings = manifest["settings"]
    needed |= set().union(*(EVENT_SCOPES[e] for e in settings["event_subscriptions"]["bot_events"]))
    if manifest["features"].get("slash_commands"):
        needed.add("commands")
    if re.search(r"\b(username|icon_url)=", source):
        needed.add("chat:write.customize")  # posts under the customer's name and avatar
    if "url_private" in source:
        needed.add("files:read")  # agents' files, fetched from their private URLs
    return needed


def test_manifest_matches_the_code() -> None:
    manifest = _manifest()
    features = manifest["features"]
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    assert [s["callback_id"] for s in features["shortcuts"]] == [REPLY_SHORTCUT]
    assert features["app_home"]["home_tab_enabled"] is True
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == set(EVENT_SCOPES)
    # and the emulator sends the bot what Slack would send it, no more
    assert set(settings["event_subscriptions"]["bot_events"]) == THREADLINE_BOT_EVENTS
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True


def test_the_adapter_calls_are_found() -> None:
    """The source scan sees the calls it must see (a broken pattern would find none)."""
    assert {
        "chat_postMessage",
        "chat_postEphemeral",
        "chat_update",
        "conversations_open",
        "files_upload_v2",
        "reactions_add",
        "users_info",
        "views_open",
        "views_publish",
    } <= called_methods()


def test_the_manifest_asks_for_exactly_the_scopes_the_code_uses() -> None:
    manifest = _manifest()
    asked = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = required_scopes(manifest)
    assert needed - asked == set(), "the app would be refused these calls"
    assert asked - needed == set(), "the manifest asks for more than the code uses"
    # Pinned as well, so that a change to the set is a deliberate one.
    assert asked == {
        "channels:history",
        "groups:history",
        "chat:write",
        "chat:write.customize",
        "commands",
        "files:read",
        "files:write",
        "im:history",
        "im:write",
        "reactions:write",
        "users:read",
    }
