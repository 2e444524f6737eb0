"""The "discord" part of /api/state: the emulated Discord as one customer sees it.

Messages are the emulator's REST shapes (`payloads.message_json`), so the page renders what a
real Discord client would get. All ids are strings, as on the wire.
"""

from __future__ import annotations

from typing import Any

from integrations.sandbox.discord import ChannelType, DiscordEmulator, Message
from integrations.sandbox.discord.model import Channel, Guild
from integrations.sandbox.discord.payloads import message_json
from integrations.sandbox.discord.world import World

from .controls import Refused

JsonDict = dict[str, Any]
REPLY = 19  # a message type: a reply, which carries `referenced_message`


def customers(world: World) -> list[JsonDict]:
    """The people a visitor can be: the seeded customers, in seed order (the staff, who see
    the staff-only channels, are acted as in the staff pane)."""
    staff = staff_ids(world)
    return [
        {"id": str(u.id), "name": u.global_name or u.username}
        for u in world.seed.users
        if not u.bot and u.id not in staff
    ]


def staff_ids(world: World) -> set[int]:
    """The members holding a role some staff-only channel is shown to: the company's people
    (in `staff_world()`, Sam Staff and Lee Lead)."""
    found: set[int] = set()
    for server in world.guilds.values():
        guarded = {r for c in server.channel_ids for r in _guards(world, c)}
        found |= {u for u, roles in server.member_roles.items() if guarded & set(roles)}
    return found


def _guards(world: World, channel_id: int) -> list[int]:
    channel = world.channels.get(channel_id)
    return [] if channel is None else channel.private_to


def person(world: World, raw: object) -> int:
    """The customer's id if a visitor may act as them (given as a string or a number)."""
    allowed = {int(c["id"]) for c in customers(world)}
    text = str(raw)
    if not text.isdigit() or int(text) not in allowed:
        raise Refused(f"no such Discord person {text!r}")
    return int(text)


def default_person(world: World) -> int:
    """Who a visitor is when they have not chosen: the first customer."""
    everyone = customers(world)
    if not everyone:
        raise Refused("the Discord world has no customers")
    return int(everyone[0]["id"])


def state(emu: DiscordEmulator, user_id: int) -> JsonDict:
    """Everything `user_id` sees in Discord, in the shape of /api/state."""
    world = emu.world
    me = emu.user(user_id)
    bot = world.bot()
    modal = me.open_modal()
    dm_id = emu.dm_channel_id(user_id)
    return {
        "bot": {"id": str(bot.id), "username": bot.username, "global_name": bot.global_name},
        "customers": customers(world),
        "me": str(user_id),
        "dms_open": me.user.dms_open,
        "dm": {
            "channel_id": None if dm_id is None else str(dm_id),
            "messages": [message(world, m) for m in me.dm_messages()],
        },
        "guild": guild(emu, user_id),
        "ephemerals": [message(world, m) for m in me.ephemeral_messages()],
        "modal": None
        if modal is None
        else {"custom_id": modal.custom_id, "title": modal.title, "components": modal.components},
        "commands": [
            {
                "name": c.name,
                "description": str(c.body.get("description", "")),
                "guild": c.guild_id is not None,
                "options": list(c.body.get("options") or []),
            }
            for c in world.commands.values()
        ],
    }


def guild(emu: DiscordEmulator, user_id: int) -> JsonDict | None:
    """The person's server: its text channels with their messages, and the threads they are
    a member of (private ones included)."""
    found = home_guild(emu.world, user_id)
    if found is None:
        return None
    world = emu.world
    texts = [world.channels[c] for c in found.channel_ids]
    texts = sorted(
        (c for c in texts if c.type is ChannelType.GUILD_TEXT and world.can_see(user_id, c)),
        key=lambda c: (c.position, c.id),
    )
    threads = [t for t in emu.user(user_id).threads() if t.guild_id == found.id]
    return {
        "id": str(found.id),
        "name": found.name,
        "channels": [
            {
                "id": str(c.id),
                "name": c.name,
                "topic": c.topic,
                "messages": _history(emu, c),
            }
            for c in texts
        ],
        "threads": [
            {
                "id": str(t.id),
                "name": t.name,
                "parent_id": str(t.parent_id),
                "private": t.type is ChannelType.PRIVATE_THREAD,
                "messages": _history(emu, t),
            }
            for t in threads
        ],
    }


def home_guild(world: World, user_id: int) -> Guild | None:
    """The first guild the person is a member of."""
    for found in world.guilds.values():
        if user_id in found.member_ids:
            return found
    return None


def _history(emu: DiscordEmulator, channel: Channel) -> list[JsonDict]:
    return [message(emu.world, m) for m in emu.channel_messages(channel.id)]


def message(world: World, found: Message) -> JsonDict:
    """A message as GET /channels/{id}/messages returns it (a reply with the message it
    answers, as `referenced_message`)."""
    data = message_json(found, world)
    reference = found.reference or {}
    if found.type == REPLY and reference:
        raw = str(reference.get("message_id", ""))
        target = world.messages.get(int(raw)) if raw.isdigit() else None
        data["referenced_message"] = None if target is None else message_json(target, world)
    return data


def visible_message(emu: DiscordEmulator, user_id: int, raw_id: object) -> Message:
    """A message the person can see (and so click on), by id; Refused otherwise."""
    world = emu.world
    text = str(raw_id)
    found = world.messages.get(int(text)) if text.isdigit() else None
    if found is None or found.deleted or not _sees(world, user_id, found):
        raise Refused(f"no message {text} that you can see")
    return found


def _sees(world: World, user_id: int, found: Message) -> bool:
    if any(m is found for m in world.ephemeral.get(user_id, [])):
        return True
    if found.id not in world.history.get(found.channel_id, {}):
        return False  # someone else's ephemeral message
    channel = world.channels.get(found.channel_id)
    if channel is None:
        return False
    if channel.is_dm:
        return channel.recipient_id == user_id
    server = world.guild_of(channel)
    # can_see: a staff-only channel (and its threads) needs one of its roles, a private thread
    # its membership (or MANAGE_THREADS).
    return server is not None and user_id in server.member_ids and world.can_see(user_id, channel)
