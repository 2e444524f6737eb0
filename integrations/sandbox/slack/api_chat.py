"""chat.* and reactions.* methods."""

from __future__ import annotations

from typing import Any

from .api import ApiContext, Call, Handler
from .blocks import MAX_TEXT, parse_blocks, parse_json_arg, truncate
from .errors import SlackError
from .events import bot_profile
from .model import Channel, JsonDict, Message


def resolve_channel(ctx: ApiContext, value: str) -> Channel:
    """A channel by id, by `#name`/name, or a user id (the bot's DM with that user)."""
    workspace = ctx.workspace
    if value[:1] in ("U", "W") and value in workspace.users:
        return workspace.im_with(value)[0]
    return workspace.find_channel(value)


def _message_out(ctx: ApiContext, message: Message) -> JsonDict:
    data = message.to_api()
    bot = ctx.workspace.bot
    data["bot_profile"] = bot_profile(bot.bot_id, bot.app_id, bot.name, ctx.workspace.team_id)
    return data


def _warn(response: JsonDict, truncated: bool) -> JsonDict:
    if truncated:
        response["warning"] = "message_truncated"
        response["response_metadata"] = {"warnings": ["message_truncated"]}
    return response


def post_message(ctx: ApiContext, call: Call) -> JsonDict:
    """chat.postMessage: text over 40,000 characters is truncated with a warning."""
    channel = resolve_channel(ctx, call.text("channel", "channel_not_found"))
    blocks = parse_blocks(call.get("blocks"))
    text = call.text("text")
    if not text and not blocks and not call.get("attachments"):
        raise SlackError("no_text")
    text, truncated = truncate(text)
    metadata = _metadata(call)
    message = ctx.workspace.post(
        channel.id,
        ctx.workspace.bot.user_id,
        text,
        blocks=blocks,
        thread_ts=call.text("thread_ts") or None,
        broadcast=call.flag("reply_broadcast"),
        metadata=metadata,
        **_customized(ctx, call),
    )
    response = {"ok": True, "channel": channel.id, "ts": message.ts}
    response["message"] = _message_out(ctx, message)
    return _warn(response, truncated)


def _metadata(call: Call) -> JsonDict | None:
    """Message metadata: an object with a string `event_type` and an object `event_payload`."""
    metadata = parse_json_arg(call.get("metadata"), "invalid_metadata_format")
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise SlackError("invalid_metadata_format")
    if not isinstance(metadata.get("event_type"), str) or not isinstance(
        metadata.get("event_payload"), dict
    ):
        raise SlackError("invalid_metadata_schema")
    return metadata


def _customized(ctx: ApiContext, call: Call) -> dict[str, Any]:
    """The name and icon a post asks to appear under: honoured with chat:write.customize only
    (without it Slack posts under the app's own name, silently)."""
    if "chat:write.customize" not in ctx.workspace.seed.bot_scopes:
        return {}
    icons: JsonDict = {}
    if call.text("icon_url"):
        icons["image_48"] = call.text("icon_url")
    elif call.text("icon_emoji"):
        icons["emoji"] = call.text("icon_emoji")
    return {"username": call.text("username") or None, "icons": icons or None}


def update(ctx: ApiContext, call: Call) -> JsonDict:
    """chat.update: only the bot's own messages (`cant_update_message` otherwise)."""
    channel = resolve_channel(ctx, call.text("channel", "channel_not_found"))
    ts = call.text("ts", "message_not_found")
    blocks = parse_blocks(call.get("blocks"))
    text = call.get("text")
    if text is None and blocks is None:
        raise SlackError("no_text")
    if text is not None and len(str(text)) > MAX_TEXT:
        raise SlackError("msg_too_long")
    bot = ctx.workspace.bot.user_id
    new_text = None if text is None else str(text)
    message = ctx.workspace.edit(channel.id, ts, bot, new_text, blocks)
    out = _message_out(ctx, message)
    return {"ok": True, "channel": channel.id, "ts": ts, "text": message.text, "message": out}


def delete(ctx: ApiContext, call: Call) -> JsonDict:
    """chat.delete: only the bot's own messages (`cant_delete_message` otherwise)."""
    channel = resolve_channel(ctx, call.text("channel", "channel_not_found"))
    ts = call.text("ts", "message_not_found")
    ctx.workspace.delete(channel.id, ts, ctx.workspace.bot.user_id)
    return {"ok": True, "channel": channel.id, "ts": ts}


def post_ephemeral(ctx: ApiContext, call: Call) -> JsonDict:
    """chat.postEphemeral: shown to one member of the channel only."""
    channel = resolve_channel(ctx, call.text("channel", "channel_not_found"))
    user = call.text("user", "user_not_found")
    blocks = parse_blocks(call.get("blocks"))
    text = call.text("text")
    if not text and not blocks and not call.get("attachments"):
        raise SlackError("no_text")
    text, truncated = truncate(text)
    thread_ts = call.text("thread_ts") or None
    ephemeral = ctx.workspace.post_ephemeral(channel.id, user, text, blocks, thread_ts)
    return _warn({"ok": True, "message_ts": ephemeral.ts}, truncated)


def get_permalink(ctx: ApiContext, call: Call) -> JsonDict:
    """chat.getPermalink (a loopback address; nothing fetches it)."""
    channel = resolve_channel(ctx, call.text("channel", "channel_not_found"))
    ts = call.text("message_ts", "message_not_found")
    message = ctx.workspace.message(channel.id, ts)
    link = f"{ctx.base_url()}/archives/{channel.id}/p{ts.replace('.', '')}"
    if message.is_reply:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"ok": True, "channel": channel.id, "permalink": link}


def _reaction_target(ctx: ApiContext, call: Call) -> tuple[str, str, str]:
    channel = call.text("channel", "no_item_specified")
    ts = call.text("timestamp", "no_item_specified")
    name = call.text("name", "invalid_name").strip(":")
    if not name or " " in name:
        raise SlackError("invalid_name")
    return resolve_channel(ctx, channel).id, ts, name


def reactions_add(ctx: ApiContext, call: Call) -> JsonDict:
    """reactions.add: `already_reacted` when the bot already reacted so."""
    channel, ts, name = _reaction_target(ctx, call)
    ctx.workspace.react(channel, ts, ctx.workspace.bot.user_id, name)
    return {"ok": True}


def reactions_remove(ctx: ApiContext, call: Call) -> JsonDict:
    """reactions.remove: `no_reaction` when there was none from the bot."""
    channel, ts, name = _reaction_target(ctx, call)
    ctx.workspace.unreact(channel, ts, ctx.workspace.bot.user_id, name)
    return {"ok": True}


HANDLERS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.delete": delete,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
}
