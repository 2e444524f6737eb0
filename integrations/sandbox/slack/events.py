"""Builders for Events API bodies (pure functions over the model)."""

from __future__ import annotations

import re
import uuid

from .model import Channel, JsonDict, Message, View

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def rich_text(text: str) -> list[JsonDict]:
    """The `rich_text` block Slack's clients attach to what a person types."""
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return [{"type": "rich_text", "block_id": uuid.uuid4().hex[:5], "elements": [section]}]


def mentions(text: str) -> list[str]:
    """User ids mentioned as `<@U…>` in `text`."""
    return MENTION.findall(text)


def message_event(channel: Channel, message: Message, parent_user: str | None) -> JsonDict:
    """The `message` event for a new message, a person's or the bot's own.

    The bot's own carry its user id and `bot_id` and no subtype (a modern bot token)."""
    event = message.to_api()
    event.update(channel=channel.id, channel_type=channel.channel_type, event_ts=message.ts)
    event.pop("reactions", None)
    if message.bot_id is None:
        event["client_msg_id"] = str(uuid.uuid4())
    if message.is_reply and parent_user:
        event["parent_user_id"] = parent_user
    return event


def bot_profile(bot_id: str, app_id: str, name: str, team: str) -> JsonDict:
    """The `bot_profile` object carried by the bot's own messages."""
    return {"id": bot_id, "app_id": app_id, "name": name, "team_id": team, "deleted": False}


def app_mention_event(channel: Channel, message: Message) -> JsonDict:
    """The `app_mention` event Slack sends beside `message` when the bot is mentioned."""
    event: JsonDict = {
        "type": "app_mention",
        "user": message.user,
        "text": message.text,
        "ts": message.ts,
        "channel": channel.id,
        "event_ts": message.ts,
        "team": message.team,
        "client_msg_id": str(uuid.uuid4()),
        "blocks": message.blocks or [],
    }
    if message.thread_ts:
        event["thread_ts"] = message.thread_ts
    return event


def changed_event(channel: Channel, before: JsonDict, after: Message, event_ts: str) -> JsonDict:
    """The `message_changed` event for an edit."""
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": channel.id,
        "channel_type": channel.channel_type,
        "ts": event_ts,
        "event_ts": event_ts,
        "message": after.to_api(),
        "previous_message": before,
    }


def deleted_event(channel: Channel, before: Message, event_ts: str) -> JsonDict:
    """The `message_deleted` event for a deletion."""
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": channel.id,
        "channel_type": channel.channel_type,
        "ts": event_ts,
        "event_ts": event_ts,
        "deleted_ts": before.ts,
        "previous_message": before.to_api(),
    }


def reaction_event(kind: str, user: str, name: str, message: Message, event_ts: str) -> JsonDict:
    """`reaction_added` / `reaction_removed` on a message."""
    return {
        "type": kind,
        "user": user,
        "reaction": name,
        "item_user": message.user,
        "item": {"type": "message", "channel": message.channel, "ts": message.ts},
        "event_ts": event_ts,
    }


def app_home_opened_event(user: str, channel: str, event_ts: str, home: View | None) -> JsonDict:
    """`app_home_opened` for the Home tab, with the published view if there is one."""
    event: JsonDict = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": "home",
        "event_ts": event_ts,
    }
    if home is not None:
        event["view"] = home.to_api()
    return event


def event_callback(
    *, team_id: str, app_id: str, bot_user: str, token: str, event: JsonDict, event_id: str, at: int
) -> JsonDict:
    """The Events API body around `event`, with `authorizations` as Bolt reads them."""
    return {
        "token": token,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": at,
        "event_context": f"4-{event_id}",
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
