"""The "slack" part of /api/state: the workspace as one person sees it in their Slack client.

Messages, views and ephemerals are the emulator's own Web API shapes (`to_api()`), so the
page renders what a real Slack client would get. Reading changes nothing in the workspace:
a person's DM with the bot is listed with `id` null until the bot (or the person) opens it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from integrations.sandbox.slack import Channel, SlackEmulator
from integrations.sandbox.slack.workspace import Workspace

from .controls import Refused

JsonDict = dict[str, Any]


def people(ws: Workspace) -> list[JsonDict]:
    """The people a visitor can be: every human member of the workspace, in seed order."""
    return [
        {"id": u.id, "name": u.real_name or u.name, "title": u.title}
        for u in ws.users.values()
        if not u.is_bot
    ]


def person(ws: Workspace, user_id: str) -> str:
    """`user_id` if a visitor may act as them; Refused otherwise."""
    found = ws.users.get(user_id)
    if found is None or found.is_bot:
        raise Refused(f"no such Slack person {user_id!r}")
    return user_id


def default_person(ws: Workspace) -> str:
    """Who a visitor is when they have not chosen: the first person of the workspace."""
    everyone = people(ws)
    if not everyone:
        raise Refused("the Slack workspace has no people")
    return str(everyone[0]["id"])


def visible(ws: Workspace, user_id: str, channel: Channel) -> bool:
    """Whether `user_id` sees the conversation in their sidebar (member, or their own DM)."""
    return user_id in channel.members


def state(emu: SlackEmulator, user_id: str, commands: Sequence[str]) -> JsonDict:
    """Everything `user_id` sees in Slack, in the shape of /api/state."""
    ws = emu.workspace
    bot = ws.bot
    return {
        "team": ws.seed.team_name,
        "bot": {"user_id": bot.user_id, "bot_id": bot.bot_id, "name": bot.name},
        "users": {
            u.id: {"name": u.name, "real_name": u.real_name, "title": u.title, "is_bot": u.is_bot}
            for u in ws.users.values()
        },
        "people": people(ws),
        "me": user_id,
        "channels": channels(ws, user_id),
        "ephemerals": ephemerals(ws, user_id),
        "modal": modal(ws, user_id),
        "home": home(ws, user_id),
        "commands": list(commands),
    }


def channels(ws: Workspace, user_id: str) -> list[JsonDict]:
    """The sidebar: channels the person is in (workspace order), then their DM with the bot."""
    shown = [
        _channel(c, "private" if c.is_private else "channel", f"#{c.name}")
        for c in ws.channels.values()
        if not c.is_im and not c.is_mpim and visible(ws, user_id, c)
    ]
    return [*shown, _dm(ws, user_id)]


def _dm(ws: Workspace, user_id: str) -> JsonDict:
    for channel in ws.channels.values():
        if channel.is_im and channel.im_user == user_id:
            return _channel(channel, "dm", ws.bot.name)
    # Not opened yet: shown empty, without creating it (reading never changes the workspace).
    label = ws.bot.name
    return {"id": None, "name": label, "kind": "dm", "label": label, "messages": [], "threads": {}}


def _channel(channel: Channel, kind: str, label: str) -> JsonDict:
    threads: dict[str, list[JsonDict]] = {}
    for message in channel.messages.values():
        if message.is_reply and message.thread_ts:
            threads.setdefault(message.thread_ts, []).append(message.to_api())
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": kind,
        "label": label,
        "messages": [m.to_api() for m in channel.top_level()],
        "threads": threads,
    }


def ephemerals(ws: Workspace, user_id: str) -> list[JsonDict]:
    """Ephemeral messages shown to the person, oldest first."""
    return [
        {
            "channel": e.channel,
            "ts": e.ts,
            "thread_ts": e.thread_ts,
            "text": e.text,
            "blocks": e.blocks,
        }
        for e in ws.ephemerals
        if e.user == user_id
    ]


def modal(ws: Workspace, user_id: str) -> JsonDict | None:
    """The modal on top of the person's stack, with the field errors the app returned."""
    view = ws.views.top(user_id)
    if view is None:
        return None
    return {**view.to_api(), "errors": dict(view.errors)}


def home(ws: Workspace, user_id: str) -> JsonDict | None:
    """The App Home the app published for the person, if any."""
    view = ws.views.homes.get(user_id)
    return None if view is None else view.to_api()
