"""Turns state changes into the gateway dispatches real Discord sends, intent by intent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .constants import Intent
from .gateway import GatewayHub
from .gateway_connection import Session
from .model import JSON, Channel, Guild, Message
from .payloads import channel_json, member_json, message_json, thread_json
from .snowflakes import iso
from .world import World


class Broadcaster:
    """MESSAGE_*, THREAD_CREATE, INTERACTION_CREATE and reaction events for the bot's sessions."""

    def __init__(self, world: World, hub: GatewayHub) -> None:
        self.world = world
        self.hub = hub

    def message_created(self, message: Message) -> None:
        """MESSAGE_CREATE (also for the bot's own messages, as Discord does)."""
        self._message_event("MESSAGE_CREATE", message)

    def message_updated(self, message: Message) -> None:
        """MESSAGE_UPDATE with the full message."""
        self._message_event("MESSAGE_UPDATE", message)

    def message_deleted(self, message: Message) -> None:
        """MESSAGE_DELETE: only ids."""
        if message.ephemeral:
            return
        data: JSON = {"id": str(message.id), "channel_id": str(message.channel_id)}
        channel = self.world.channels[message.channel_id]
        if channel.hidden_from(self.world.bot_id):
            return
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        self.hub.dispatch("MESSAGE_DELETE", data, intent=self._message_intent(channel))

    def thread_created(self, thread: Channel) -> None:
        """THREAD_CREATE for a thread that was just made."""
        data = thread_json(thread)
        data["newly_created"] = True
        self.hub.dispatch("THREAD_CREATE", data, intent=Intent.GUILDS)

    def channel_updated(self, channel: Channel) -> None:
        """CHANNEL_UPDATE for a renamed (or re-topiced) guild channel."""
        self.hub.dispatch("CHANNEL_UPDATE", channel_json(channel, self.world), intent=Intent.GUILDS)

    def thread_deleted(self, thread: Channel) -> None:
        """THREAD_DELETE: the thread's id, guild, parent and type only, as Discord sends it."""
        data = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "parent_id": str(thread.parent_id),
            "type": int(thread.type),
        }
        self.hub.dispatch("THREAD_DELETE", data, intent=Intent.GUILDS)

    def thread_updated(self, thread: Channel) -> None:
        """THREAD_UPDATE (archived, locked, renamed...), if the bot can see the thread."""
        if thread.hidden_from(self.world.bot_id):
            return
        self.hub.dispatch("THREAD_UPDATE", thread_json(thread), intent=Intent.GUILDS)

    def member_updated(self, guild: Guild, user_id: int) -> None:
        """GUILD_MEMBER_UPDATE (a role given or taken): only with the GUILD_MEMBERS intent."""
        data = member_json(self.world.users[user_id], guild)
        data["guild_id"] = str(guild.id)
        self.hub.dispatch("GUILD_MEMBER_UPDATE", data, intent=Intent.GUILD_MEMBERS)

    def thread_member_added(self, thread: Channel, user_id: int, joined_at: datetime) -> None:
        """THREAD_MEMBERS_UPDATE: always sent when the bot itself is added; about anyone
        else only with the GUILD_MEMBERS intent (discord-api-docs topics/threads.mdx)."""
        guild = self.world.guild_of(thread)
        if guild is None:
            return
        added: JSON = {
            "id": str(thread.id),
            "user_id": str(user_id),
            "join_timestamp": iso(joined_at),
            "flags": 0,
            "member": member_json(self.world.users[user_id], guild),
        }
        data: JSON = {
            "id": str(thread.id),
            "guild_id": str(guild.id),
            "member_count": min(len(thread.member_ids), 50),
            "added_members": [added],
        }
        intent = None if user_id == self.world.bot_id else Intent.GUILD_MEMBERS
        self.hub.dispatch("THREAD_MEMBERS_UPDATE", data, intent=intent)

    def interaction_created(self, payload: JSON) -> None:
        """INTERACTION_CREATE: delivered whatever the intents."""
        self.hub.dispatch("INTERACTION_CREATE", payload)

    def reaction_added(self, message: Message, user_id: int, emoji: str) -> None:
        """MESSAGE_REACTION_ADD."""
        channel = self.world.channels[message.channel_id]
        name, _, emoji_id = emoji.partition(":")
        data: JSON = {
            "user_id": str(user_id),
            "channel_id": str(channel.id),
            "message_id": str(message.id),
            "message_author_id": str(message.author_id),
            "emoji": {"id": emoji_id or None, "name": name},
            "burst": False,
            "type": 0,
        }
        intent = Intent.DIRECT_MESSAGE_REACTIONS
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
            intent = Intent.GUILD_MESSAGE_REACTIONS
        self.hub.dispatch("MESSAGE_REACTION_ADD", data, intent=intent)

    def _message_intent(self, channel: Channel) -> Intent:
        return Intent.DIRECT_MESSAGES if channel.guild_id is None else Intent.GUILD_MESSAGES

    def _message_event(self, event: str, message: Message) -> None:
        if message.ephemeral:
            return
        channel = self.world.channels[message.channel_id]
        if channel.hidden_from(self.world.bot_id):
            return  # the gateway tells apps only of what they can see
        intent = self._message_intent(channel)
        variants: dict[bool, JSON] = {}

        def build(session: Session) -> Any:
            if not session.intents & intent:
                return None
            hide = self._hides_content(session, channel, message)
            if hide not in variants:
                variants[hide] = message_json(message, self.world, gateway=True, hide_content=hide)
            return variants[hide]

        self.hub.dispatch_each(event, build)

    def _hides_content(self, session: Session, channel: Channel, message: Message) -> bool:
        # MESSAGE_CONTENT protects guild messages, except the bot's own and those mentioning it.
        if session.intents & Intent.MESSAGE_CONTENT or channel.guild_id is None:
            return False
        bot_id = self.world.bot_id
        return message.author_id != bot_id and bot_id not in message.mention_ids
