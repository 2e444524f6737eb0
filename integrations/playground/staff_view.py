"""The "staff" part of /api/state: the company's Discord server as one agent (Sam Staff, Lee
Lead) sees it, for the playground's third pane when agents work in Discord.

Channels, forum posts and messages are the emulator's REST shapes (`channel_json`,
`thread_json`, `message_json`), so the page draws what a Discord client would get: a forum
channel with its posts (threads), each post's messages (the starter message is the ticket's
card, with its embed, buttons and select), a text channel with its messages and threads. Only
what the person can see is listed: staff-only channels need a role they hold, private threads
their membership (or MANAGE_THREADS). All ids are strings, as on the wire.
"""

from __future__ import annotations

from typing import Any

from integrations.sandbox.discord import ChannelType, DiscordEmulator
from integrations.sandbox.discord.model import Channel, Guild
from integrations.sandbox.discord.payloads import channel_json, role_json, thread_json
from integrations.sandbox.discord.world import World

from .controls import Refused
from .discord_view import home_guild, message, staff_ids

JsonDict = dict[str, Any]
SHOWN = (ChannelType.GUILD_TEXT, ChannelType.GUILD_FORUM)


def people(world: World) -> list[JsonDict]:
    """The people a visitor can be in the staff pane: the staff, in seed order, with the names
    of the roles they hold ("Staff", "Leads")."""
    staff = staff_ids(world)
    found = []
    for user in world.seed.users:
        if user.id not in staff:
            continue
        server = home_guild(world, user.id)
        held = set() if server is None else set(server.roles_of(user.id))
        roles = [] if server is None else [r.name for r in server.roles if r.id in held]
        name = user.global_name or user.username
        found.append({"id": str(user.id), "name": name, "roles": roles})
    return found


def person(world: World, raw: object) -> int:
    """The staff member's id if a visitor may act as them (given as a string or a number)."""
    allowed = {int(p["id"]) for p in people(world)}
    text = str(raw)
    if not text.isdigit() or int(text) not in allowed:
        raise Refused(f"no such Discord staff person {text!r}")
    return int(text)


def default_person(world: World) -> int | None:
    """Who a visitor is when they have not chosen: the first staff member (None: no staff,
    so agents do not work in this Discord)."""
    everyone = people(world)
    return int(everyone[0]["id"]) if everyone else None


def state(emu: DiscordEmulator, user_id: int) -> JsonDict:
    """Everything `user_id` sees of the staff's Discord, in the shape of /api/state."""
    world = emu.world
    me = emu.user(user_id)
    bot = world.bot()
    modal = me.open_modal()
    server = home_guild(world, user_id)
    return {
        "bot": {"id": str(bot.id), "username": bot.username, "global_name": bot.global_name},
        "people": people(world),
        "me": str(user_id),
        "guild": None if server is None else guild(emu, server, user_id),
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
            if c.guild_id is None or (server is not None and c.guild_id == server.id)
        ],
    }


def guild(emu: DiscordEmulator, server: Guild, user_id: int) -> JsonDict:
    """The server: its roles, and its text and forum channels the person sees (by position),
    each with its threads; a text channel also with its messages."""
    world = emu.world
    shown = [world.channels[c] for c in server.channel_ids if c in world.channels]
    shown = sorted(
        (c for c in shown if c.type in SHOWN and world.can_see(user_id, c)),
        key=lambda c: (c.position, c.id),
    )
    return {
        "id": str(server.id),
        "name": server.name,
        "roles": [role_json(r) for r in server.roles if r.id != server.id],
        "channels": [_channel(emu, c, user_id) for c in shown],
    }


def _channel(emu: DiscordEmulator, channel: Channel, user_id: int) -> JsonDict:
    data = channel_json(channel, emu.world)
    if channel.type is not ChannelType.GUILD_FORUM:
        data["messages"] = [message(emu.world, m) for m in emu.channel_messages(channel.id)]
    data["threads"] = [_thread(emu, t) for t in threads(emu, channel, user_id)]
    return data


def threads(emu: DiscordEmulator, parent: Channel, user_id: int) -> list[Channel]:
    """The threads (forum posts) under a channel the person sees, as Discord lists a forum's
    posts: the most recently active first (archived ones too, after the active ones)."""
    found = [t for t in emu.threads(parent.id) if emu.world.can_see(user_id, t)]
    return sorted(found, key=lambda t: (t.archived, -(t.last_message_id or t.id)))


def _thread(emu: DiscordEmulator, thread: Channel) -> JsonDict:
    data = thread_json(thread)
    data["messages"] = [message(emu.world, m) for m in emu.channel_messages(thread.id)]
    return data
