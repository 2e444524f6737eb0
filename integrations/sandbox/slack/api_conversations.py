"""conversations.*, users.info and usergroups.users.list."""

from __future__ import annotations

import base64

from .api import ApiContext, Call, Handler
from .api_chat import resolve_channel
from .errors import SlackError
from .model import JsonDict, Message


def open_conversation(ctx: ApiContext, call: Call) -> JsonDict:
    """conversations.open: the bot's DM with one user, or a group DM with several."""
    users = [u.strip() for u in call.text("users").split(",") if u.strip()]
    if not users:
        channel_id = call.text("channel", "users_list_not_supplied")
        channel = ctx.workspace.channel(channel_id)
        created = False
    elif len(users) == 1:
        channel, created = ctx.workspace.im_with(users[0])
    else:
        channel, created = ctx.workspace.mpim_with(users)
    bot = ctx.workspace.bot.user_id
    data: JsonDict = channel.to_api(bot) if call.flag("return_im") else {"id": channel.id}
    response: JsonDict = {"ok": True, "channel": data}
    if not created:
        response.update(no_op=True, already_open=True)
    return response


def info(ctx: ApiContext, call: Call) -> JsonDict:
    """conversations.info."""
    channel = resolve_channel(ctx, call.text("channel", "channel_not_found"))
    return {"ok": True, "channel": channel.to_api(ctx.workspace.bot.user_id)}


def _cursor_offset(call: Call) -> int:
    cursor = call.text("cursor")
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().removeprefix("next:"))
    except ValueError:
        raise SlackError("invalid_cursor") from None


def _page(messages: list[Message], call: Call) -> JsonDict:
    try:
        limit = min(max(int(call.text("limit") or 100), 1), 1000)
    except ValueError:
        raise SlackError("invalid_limit") from None
    start = _cursor_offset(call)
    chunk = messages[start : start + limit]
    more = start + limit < len(messages)
    cursor = base64.b64encode(f"next:{start + limit}".encode()).decode() if more else ""
    return {
        "ok": True,
        "messages": [m.to_api(metadata=call.flag("include_all_metadata")) for m in chunk],
        "has_more": more,
        "response_metadata": {"next_cursor": cursor},
    }


def _in_range(ts: str, call: Call) -> bool:
    inclusive = call.flag("inclusive")
    oldest, latest = call.text("oldest"), call.text("latest")
    value = float(ts)
    if oldest and (value < float(oldest) or (value == float(oldest) and not inclusive)):
        return False
    return not latest or value < float(latest) or (value == float(latest) and inclusive)


def history(ctx: ApiContext, call: Call) -> JsonDict:
    """conversations.history: top-level messages, newest first, paginated."""
    channel = resolve_channel(ctx, call.text("channel", "channel_not_found"))
    messages = [m for m in reversed(channel.top_level()) if _in_range(m.ts, call)]
    page = _page(messages, call)
    page["pin_count"] = 0
    return page


def replies(ctx: ApiContext, call: Call) -> JsonDict:
    """conversations.replies: the parent, then its replies oldest first."""
    channel = resolve_channel(ctx, call.text("channel", "channel_not_found"))
    ts = call.text("ts", "thread_not_found")
    message = channel.messages.get(ts)
    if message is None:
        raise SlackError("thread_not_found")
    parent_ts = message.thread_ts or message.ts
    parent = channel.messages.get(parent_ts)
    thread = ([parent] if parent else []) + channel.replies(parent_ts)
    return _page([m for m in thread if _in_range(m.ts, call) or m.ts == parent_ts], call)


def users_info(ctx: ApiContext, call: Call) -> JsonDict:
    """users.info."""
    user = ctx.workspace.user(call.text("user", "user_not_found"))
    return {"ok": True, "user": user.to_api()}


def usergroup_users(ctx: ApiContext, call: Call) -> JsonDict:
    """usergroups.users.list: the members of an `S…` user group."""
    group = call.text("usergroup", "no_such_subteam")
    users = ctx.workspace.usergroups.get(group)
    if users is None:
        raise SlackError("no_such_subteam")
    return {"ok": True, "users": list(users)}


HANDLERS: dict[str, Handler] = {
    "conversations.open": open_conversation,
    "conversations.info": info,
    "conversations.history": history,
    "conversations.replies": replies,
    "users.info": users_info,
    "usergroups.users.list": usergroup_users,
}
