"""JSON shapes of users, members, channels, guilds, messages and commands (API v10)."""

from __future__ import annotations

from datetime import UTC, datetime

from .constants import THREAD_TYPES, VIEW_CHANNEL, ChannelType
from .model import JSON, Attachment, Channel, Command, Guild, Message, Role, User
from .snowflakes import iso
from .world import World

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def user_json(user: User) -> JSON:
    """A user object (discord.py's BaseUser needs id, username, discriminator, avatar)."""
    data: JSON = {
        "id": str(user.id),
        "username": user.username,
        "discriminator": "0",
        "global_name": user.global_name,
        "avatar": None,
        "public_flags": 0,
    }
    if user.bot:
        data["bot"] = True
    return data


def member_json(user: User, guild: Guild, *, with_user: bool = True) -> JSON:
    """A guild member; gateway MESSAGE_CREATE carries it without the nested user."""
    data: JSON = {
        "roles": [str(r) for r in guild.roles_of(user.id)],
        "joined_at": iso(guild.joined_at),
        "nick": None,
        "avatar": None,
        "flags": 0,
        "deaf": False,
        "mute": False,
        "pending": False,
    }
    if with_user:
        data["user"] = user_json(user)
    return data


def channel_json(channel: Channel, world: World) -> JSON:
    """A channel object: DM, guild text channel, or thread."""
    last = None if channel.last_message_id is None else str(channel.last_message_id)
    if channel.type is ChannelType.DM:
        recipient = world.users[channel.recipient_id or 0]
        return {
            "id": str(channel.id),
            "type": int(channel.type),
            "last_message_id": last,
            "flags": 0,
            "recipients": [user_json(recipient)],
        }
    if channel.type in THREAD_TYPES:
        return thread_json(channel)
    data: JSON = {
        "id": str(channel.id),
        "type": int(channel.type),
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": _overwrites(channel, world.bot_id),
        "topic": channel.topic,
        "nsfw": False,
        "last_message_id": last,  # in a forum: the newest post's id
        "rate_limit_per_user": 0,
        "parent_id": None,
        "flags": 0,
    }
    if channel.type is ChannelType.GUILD_FORUM:
        data.update(
            available_tags=[],
            default_reaction_emoji=None,
            default_sort_order=None,
            default_forum_layout=0,
            default_auto_archive_duration=1440,
            default_thread_rate_limit_per_user=0,
        )
    return data


def _overwrites(channel: Channel, bot_id: int) -> list[JSON]:
    """A staff-only channel: @everyone (type 0, the guild's id) denied VIEW_CHANNEL, its roles
    and the bot (type 1, a member) allowed it."""
    if not channel.private_to:
        return []
    view = str(VIEW_CHANNEL)
    hidden = {"id": str(channel.guild_id), "type": 0, "allow": "0", "deny": view}
    roles = [{"id": str(r), "type": 0, "allow": view, "deny": "0"} for r in channel.private_to]
    bot = {"id": str(bot_id), "type": 1, "allow": view, "deny": "0"}
    return [hidden, *roles, bot]


def role_json(role: Role) -> JSON:
    """A role object."""
    return {
        "id": str(role.id),
        "name": role.name,
        "permissions": role.permissions,
        "position": role.position,
        "color": role.color,
        "colors": {"primary_color": role.color, "secondary_color": None, "tertiary_color": None},
        "hoist": role.hoist,
        "icon": None,
        "unicode_emoji": None,
        "managed": False,
        "mentionable": role.mentionable,
        "flags": 0,
    }


def thread_member_json(thread: Channel, user_id: int) -> JSON:
    """A thread member object (as in the thread listings' `members`)."""
    joined = thread.created_at or _EPOCH
    return {
        "id": str(thread.id),
        "user_id": str(user_id),
        "join_timestamp": iso(joined),
        "flags": 0,
    }


def thread_json(thread: Channel) -> JSON:
    """A thread channel (discord.py's Thread._from_data needs thread_metadata and counts)."""
    created = thread.created_at or _EPOCH
    data: JSON = {
        "id": str(thread.id),
        "type": int(thread.type),
        "guild_id": str(thread.guild_id),
        "parent_id": str(thread.parent_id),
        "owner_id": str(thread.owner_id),
        "name": thread.name,
        "last_message_id": None if thread.last_message_id is None else str(thread.last_message_id),
        "message_count": thread.message_count,
        "total_message_sent": thread.message_count,
        "member_count": min(len(thread.member_ids), 50),
        "rate_limit_per_user": 0,
        "flags": 0,
        "thread_metadata": {
            "archived": thread.archived,
            "auto_archive_duration": thread.auto_archive_duration,
            "archive_timestamp": iso(thread.archived_at or created),
            "locked": thread.locked,
            "invitable": True,
            "create_timestamp": iso(created),
        },
    }
    return data


def thread_listing_json(threads: list[Channel], bot_id: int, *, has_more: bool | None) -> JSON:
    """GET .../threads/active and .../threads/archived/*: threads, the bot's thread members,
    and (archived only) has_more."""
    data: JSON = {
        "threads": [thread_json(t) for t in threads],
        "members": [thread_member_json(t, bot_id) for t in threads if bot_id in t.member_ids],
    }
    if has_more is not None:
        data["has_more"] = has_more
    return data


def guild_create_json(guild: Guild, world: World) -> JSON:
    """GUILD_CREATE: member_count equals len(members), so discord.py never needs to chunk."""
    channels = [world.channels[c] for c in guild.channel_ids]
    members = [member_json(world.users[m], guild) for m in guild.member_ids]
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "owner_id": str(guild.owner_id),
        "unavailable": False,
        "member_count": len(members),
        "large": False,
        "joined_at": iso(guild.joined_at),
        "roles": [role_json(r) for r in guild.roles],
        "channels": [channel_json(c, world) for c in channels if c.type not in THREAD_TYPES],
        # Only the active threads the bot can see: a private one only if it is a member.
        "threads": [
            thread_json(c)
            for c in channels
            if c.type in THREAD_TYPES and not c.archived and not c.hidden_from(world.bot_id)
        ],
        "members": members,
        "emojis": [],
        "stickers": [],
        "features": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "preferred_locale": "en-US",
        "premium_tier": 0,
        "mfa_level": 0,
        "verification_level": 0,
        "explicit_content_filter": 0,
        "default_message_notifications": 0,
        "system_channel_id": None,
        "afk_channel_id": None,
        "afk_timeout": 300,
    }


def guild_json(guild: Guild, world: World) -> JSON:
    """GET /guilds/{id}: the guild object, without the gateway-only fields (channels, threads,
    members, joined_at, member_count...)."""
    gateway_only = {
        "channels", "threads", "members", "joined_at", "member_count", "large", "unavailable",
        "voice_states", "presences", "stage_instances", "guild_scheduled_events",
    }  # fmt: skip
    return {k: v for k, v in guild_create_json(guild, world).items() if k not in gateway_only}


def attachment_json(attachment: Attachment) -> JSON:
    """An attachment with loopback url/proxy_url."""
    return {
        "id": str(attachment.id),
        "filename": attachment.filename,
        "size": attachment.size,
        "url": attachment.url,
        "proxy_url": attachment.proxy_url,
        "content_type": attachment.content_type,
        "description": attachment.description,
    }


def message_json(
    message: Message, world: World, *, gateway: bool = False, hide_content: bool = False
) -> JSON:
    """A message object; gateway events add guild_id and member as real Discord does.

    `hide_content` blanks what the MESSAGE_CONTENT intent protects.
    """
    author = world.users[message.author_id]
    channel = world.channels[message.channel_id]
    data: JSON = {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "type": message.type,
        "content": "" if hide_content else message.content,
        "author": user_json(author),
        "timestamp": iso(message.created_at or _EPOCH),
        "edited_timestamp": None if message.edited_at is None else iso(message.edited_at),
        "tts": False,
        "mention_everyone": False,
        "mentions": [user_json(world.users[i]) for i in message.mention_ids],
        "mention_roles": [],
        "attachments": [] if hide_content else [attachment_json(a) for a in message.attachments],
        "embeds": [] if hide_content else message.embeds,
        "components": [] if hide_content else message.components,
        "pinned": False,
        "flags": message.flags,
    }
    if message.nonce is not None:
        data["nonce"] = message.nonce
    if message.reactions:
        data["reactions"] = [
            _reaction_json(e, u, world.bot_id) for e, u in message.reactions.items()
        ]
    if message.reference is not None:
        data["message_reference"] = message.reference
    if message.webhook_id is not None:
        data["webhook_id"] = str(message.webhook_id)
        data["application_id"] = str(world.application_id)
    _add_interaction_metadata(data, message, world)
    if message.thread_id is not None and message.thread_id in world.channels:
        data["thread"] = thread_json(world.channels[message.thread_id])
    guild = world.guild_of(channel)
    if gateway and guild is not None:
        data["guild_id"] = str(guild.id)
        if message.author_id in guild.member_ids:
            data["member"] = member_json(author, guild, with_user=False)
    return data


def _add_interaction_metadata(data: JSON, message: Message, world: World) -> None:
    interaction = world.interactions.get(message.interaction_id or 0)
    if interaction is None:
        return
    user = user_json(world.users[interaction.user_id])
    data["interaction_metadata"] = {
        "id": str(interaction.id),
        "type": interaction.type,
        "user": user,
        "authorizing_integration_owners": {},
    }
    if interaction.type == 2:
        data["interaction"] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "name": interaction.data.get("name", ""),
            "user": user,
        }


def _reaction_json(emoji: str, users: set[int], bot_id: int) -> JSON:
    name, _, emoji_id = emoji.partition(":")
    return {
        "count": len(users),
        "count_details": {"burst": 0, "normal": len(users)},
        "me": bot_id in users,
        "me_burst": False,
        "burst_colors": [],
        "emoji": {"id": emoji_id or None, "name": name},
    }


def command_json(command: Command) -> JSON:
    """A registered application command: the synced body plus the ids Discord adds."""
    body = dict(command.body)
    body.update(
        id=str(command.id),
        application_id=str(command.application_id),
        version=str(command.version),
        type=body.get("type", 1),
        description=body.get("description", ""),
    )
    if command.guild_id is not None:
        body["guild_id"] = str(command.guild_id)
    return body
