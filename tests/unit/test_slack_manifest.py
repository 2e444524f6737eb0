"""The Slack app manifest asks for what the bot uses: its command, shortcut and events."""

from __future__ import annotations

from pathlib import Path

import yaml

from integrations.slack.controls import REPLY_SHORTCUT
from integrations.slack.lookups import COMMAND

MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yml"


def test_manifest_matches_the_code() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    features = manifest["features"]
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    assert [s["callback_id"] for s in features["shortcuts"]] == [REPLY_SHORTCUT]
    assert features["app_home"]["home_tab_enabled"] is True
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "message.channels",
        "message.groups",
    }
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "channels:history",
        "groups:history",
        "chat:write",
        "chat:write.customize",
        "commands",
        "reactions:write",
        "users:read",
    }
