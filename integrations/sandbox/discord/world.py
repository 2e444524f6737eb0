"""The emulated Discord's state and the operations that change it (no I/O here)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from .constants import (
    EVERYONE_PERMISSIONS,
    MANAGE_THREADS,
    THREAD_TYPES,
    ChannelType,
    MessageType,
)
from .model import (
    JSON,
    Attachment,
    Channel,
    Command,
    Guild,
    Interaction,
    Message,
    Modal,
    Role,
    User,
)
from .seed import DiscordSeed
from .snowflakes import SnowflakeMint, snowflake_time

MENTION = re.compile(r"<@!?(\d+)>")


# How long Discord remembers a message's nonce for `enforce_nonce` ("the past few minutes").
NONCE_WINDOW = timedelta(minutes=5)


class World:
    """Users, guilds, channels, messages and interactions, keyed by snowflake."""

    def __init__(self, seed: DiscordSeed, mint: SnowflakeMint, base_url: Callable[[], str]) -> None:
        self.seed = seed
        self.mint = mint
        self._base_url = base_url
        self.bot_id = seed.bot.id
        self.application_id = seed.application_id
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        # (author, nonce) -> (message, when): what `enforce_nonce` checks a new message against.
        self.nonces: dict[tuple[int, str], tuple[int, datetime]] = {}
        self.history: dict[int, dict[int, Message]] = {}
        self.ephemeral: dict[int, list[Message]] = {}
        self.dm_by_user: dict[int, int] = {}
        self.interactions: dict[int, Interaction] = {}
        self.modals: list[Modal] = []
        self.commands: dict[int, Command] = {}
        self.files: dict[int, Attachment] = {}
        self._load(seed)

    def _load(self, seed: DiscordSeed) -> None:
        for person in (seed.bot, seed.owner, *seed.users):
            self.users[person.id] = User(person.id, person.username, person.global_name, person.bot)
        joined = datetime(2024, 1, 1, tzinfo=UTC)
        for g in seed.guilds:
            members = [self.bot_id, *(m for m in g.member_ids if m != self.bot_id)]
            guild = Guild(g.id, g.name, g.owner_id, joined, member_ids=members)
            guild.roles = [Role(g.id, "@everyone", EVERYONE_PERMISSIONS)]
            guild.roles += [
                Role(r.id, r.name, r.permissions, r.position, r.color, r.hoist, r.mentionable)
                for r in g.roles
            ]
            for user_id, role_id in g.member_roles:
                guild.member_roles.setdefault(user_id, []).append(role_id)
            self.guilds[g.id] = guild
            for c in g.channels:
                channel = Channel(
                    c.id,
                    c.type,
                    c.name,
                    g.id,
                    position=c.position,
                    topic=c.topic,
                    private_to=list(c.private_to),
                )
                self.channels[c.id] = channel
                guild.channel_ids.append(c.id)
                self.history[c.id] = {}

    # ----- lookups ---------------------------------------------------------------------

    def bot(self) -> User:
        """The bot's own account."""
        return self.users[self.bot_id]

    def base_url(self) -> str:
        """The emulator's http://host:port root, for URLs it hands out."""
        return self._base_url()

    def guild_of(self, channel: Channel) -> Guild | None:
        """The guild a channel belongs to (None for DMs)."""
        return None if channel.guild_id is None else self.guilds.get(channel.guild_id)

    def dm_channel(self, user_id: int) -> Channel | None:
        """The DM channel between the bot and this user, if one was opened."""
        channel_id = self.dm_by_user.get(user_id)
        return None if channel_id is None else self.channels[channel_id]

    def find_command(self, name: str, guild_id: int | None) -> Command | None:
        """A registered command: the guild's own first, then the global one."""
        found: Command | None = None
        for command in self.commands.values():
            if command.name != name:
                continue
            if command.guild_id is not None and command.guild_id == guild_id:
                return command
            if command.guild_id is None:
                found = command
        return found

    def can_see(self, user_id: int, channel: Channel) -> bool:
        """Whether a person sees a channel: a staff-only channel (and its threads) needs one of
        its roles, a private thread needs membership. The bot sees every channel of its guilds."""
        if user_id == self.bot_id:
            return not channel.hidden_from(user_id)
        parent = self.channels.get(channel.parent_id or 0)
        guarded = channel.private_to or (parent.private_to if parent is not None else [])
        guild = self.guild_of(channel)
        if guarded and (guild is None or not set(guarded) & set(guild.roles_of(user_id))):
            return False
        if guild is not None and self.permissions(guild, user_id) & MANAGE_THREADS:
            return True
        return not channel.hidden_from(user_id)

    def permissions(self, guild: Guild, user_id: int) -> int:
        """A member's guild permissions: @everyone's and their roles' together."""
        held = {guild.id, *guild.roles_of(user_id)}
        total = 0
        for role in guild.roles:
            if role.id in held:
                total |= int(role.permissions)
        return total

    def active_threads(self, guild: Guild) -> list[Channel]:
        """The guild's unarchived threads, oldest first."""
        threads = (self.channels[c] for c in guild.channel_ids if c in self.channels)
        return [t for t in threads if t.type in THREAD_TYPES and not t.archived]

    def set_archived(self, thread: Channel, archived: bool) -> None:
        """Archive or unarchive a thread, stamping the time (archive_timestamp)."""
        if thread.archived != archived:
            thread.archived = archived
            thread.archived_at = datetime.now(UTC)

    def give_role(self, guild: Guild, user_id: int, role_id: int) -> bool:
        """Give a member a role; False if they held it already."""
        held = guild.member_roles.setdefault(user_id, [])
        if role_id in held:
            return False
        held.append(role_id)
        return True

    def take_role(self, guild: Guild, user_id: int, role_id: int) -> bool:
        """Take a role from a member; False if they did not hold it."""
        held = guild.member_roles.get(user_id, [])
        if role_id not in held:
            return False
        held.remove(role_id)
        return True

    # ----- channels --------------------------------------------------------------------

    def open_dm(self, user_id: int) -> Channel:
        """The bot's DM channel with a user, created on first use."""
        existing = self.dm_channel(user_id)
        if existing is not None:
            return existing
        channel = Channel(self.mint.next(), ChannelType.DM, recipient_id=user_id)
        self.channels[channel.id] = channel
        self.history[channel.id] = {}
        self.dm_by_user[user_id] = channel.id
        return channel

    def drop_dm(self, user_id: int) -> int | None:
        """Forget the bot's DM channel with a user, as if it never existed: its id then answers
        404 Unknown Channel, and the next DM opened with them is a new channel."""
        channel_id = self.dm_by_user.pop(user_id, None)
        if channel_id is not None:
            self.channels.pop(channel_id, None)
            self.history.pop(channel_id, None)
        return channel_id

    def delete_thread(self, thread: Channel) -> None:
        """Delete a thread (a forum post) and its messages: its id answers 404 from now on
        (Unknown Channel, 10003; its starter message Unknown Message, 10008)."""
        self.channels.pop(thread.id, None)
        for message in self.history.pop(thread.id, {}).values():
            self.messages.pop(message.id, None)
        self.messages.pop(thread.id, None)  # a forum post's starter message has the thread's id
        guild = self.guild_of(thread)
        if guild is not None and thread.id in guild.channel_ids:
            guild.channel_ids.remove(thread.id)

    def create_thread(
        self,
        parent: Channel,
        name: str,
        owner_id: int,
        *,
        kind: ChannelType = ChannelType.PUBLIC_THREAD,
        starter: Message | None = None,
        auto_archive_duration: int = 1440,
        thread_id: int | None = None,
    ) -> Channel:
        """A thread under a guild text or forum channel; a message thread shares the message's
        id (and a forum post's starter message shares the thread's)."""
        if thread_id is None:
            thread_id = starter.id if starter is not None else self.mint.next()
        thread = Channel(
            thread_id,
            kind,
            name,
            parent.guild_id,
            parent_id=parent.id,
            owner_id=owner_id,
            auto_archive_duration=auto_archive_duration,
            created_at=datetime.now(UTC),
            member_ids=[owner_id],
        )
        thread.archived_at = thread.created_at
        self.channels[thread.id] = thread
        self.history[thread.id] = {}
        if starter is not None:
            starter.thread_id = thread.id
        guild = self.guild_of(parent)
        if guild is not None:
            guild.channel_ids.append(thread.id)
        return thread

    def add_thread_member(self, thread: Channel, user_id: int) -> bool:
        """Add a user to a thread; False if they were a member already."""
        if user_id in thread.member_ids:
            return False
        thread.member_ids.append(user_id)
        return True

    # ----- messages --------------------------------------------------------------------

    def store_file(
        self, channel_id: int, filename: str, data: bytes, content_type: str
    ) -> Attachment:
        """Keep an uploaded file and give it loopback URLs served by the emulator."""
        attachment_id = self.mint.next()
        path = f"attachments/{channel_id}/{attachment_id}/{quote(filename)}"
        attachment = Attachment(
            attachment_id,
            filename,
            data,
            content_type,
            url=f"{self.base_url()}/{path}",
            proxy_url=f"{self.base_url()}/media/{path}",
        )
        self.files[attachment_id] = attachment
        return attachment

    def nonce_taken(self, author_id: int, nonce: str) -> Message | None:
        """The message this author created with this nonce within `NONCE_WINDOW` (Discord:
        "the past few minutes"), still there; None when there is none."""
        found = self.nonces.get((author_id, nonce))
        if found is None:
            return None
        message_id, at = found
        message = self.messages.get(message_id)
        if message is None or message.deleted or datetime.now(UTC) - at > NONCE_WINDOW:
            return None
        return message

    def add_message(
        self,
        channel: Channel,
        author_id: int,
        *,
        content: str = "",
        embeds: list[JSON] | None = None,
        components: list[JSON] | None = None,
        attachments: list[Attachment] | None = None,
        flags: int = 0,
        type: int = MessageType.DEFAULT,
        nonce: str | int | None = None,
        reference: JSON | None = None,
        webhook_id: int | None = None,
        interaction_id: int | None = None,
        visible_to: int | None = None,
        message_id: int | None = None,
    ) -> Message:
        """Store a new message. With `visible_to` it is ephemeral, kept out of channel history.
        `message_id` is given only for a forum post's starter message (the thread's id)."""
        if message_id is None:
            message_id = self.mint.next()
        message = Message(
            message_id,
            channel.id,
            author_id,
            content=content,
            embeds=embeds or [],
            components=components or [],
            attachments=attachments or [],
            flags=flags,
            type=type,
            created_at=snowflake_time(message_id),
            nonce=nonce,
            reference=reference,
            mention_ids=self.mentions_in(content),
            webhook_id=webhook_id,
            interaction_id=interaction_id,
        )
        self.messages[message.id] = message
        if nonce is not None:
            self.nonces[(author_id, str(nonce))] = (message.id, datetime.now(UTC))
        if visible_to is not None:
            self.ephemeral.setdefault(visible_to, []).append(message)
            return message
        self.history.setdefault(channel.id, {})[message.id] = message
        channel.last_message_id = message.id
        channel.message_count += 1
        return message

    def mentions_in(self, content: str) -> list[int]:
        """Ids of known users mentioned as <@id> in the text."""
        ids = [int(m) for m in MENTION.findall(content)]
        return [i for i in dict.fromkeys(ids) if i in self.users]

    def edit_message(self, message: Message, changes: JSON) -> Message:
        """Apply an edit (only the fields present in `changes`)."""
        if "content" in changes:
            message.content = changes["content"] or ""
            message.mention_ids = self.mentions_in(message.content)
        if "embeds" in changes:
            message.embeds = list(changes["embeds"] or [])
        if "components" in changes:
            message.components = list(changes["components"] or [])
        if "flags" in changes and changes["flags"] is not None:
            message.flags = int(changes["flags"])
        message.edited_at = datetime.now(UTC)
        return message

    def delete_message(self, message: Message) -> None:
        """Remove a message from its channel's history."""
        message.deleted = True
        self.messages.pop(message.id, None)
        self.history.get(message.channel_id, {}).pop(message.id, None)

    def page(
        self,
        channel_id: int,
        *,
        limit: int = 50,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
    ) -> list[Message]:
        """A page of channel history, newest first, as GET .../messages returns it."""
        ids = list(self.history.get(channel_id, {}))  # insertion order == id order
        if around is not None:
            pivot = bisect.bisect_left(ids, around)
            start = max(0, pivot - limit // 2)
            chosen = ids[start : start + limit]
        elif after is not None:
            start = bisect.bisect_right(ids, after)
            chosen = ids[start : start + limit]
        else:
            end = bisect.bisect_left(ids, before) if before is not None else len(ids)
            chosen = ids[max(0, end - limit) : end]
        history = self.history[channel_id] if ids else {}
        return [history[i] for i in reversed(chosen)]

    # ----- commands --------------------------------------------------------------------

    def register_commands(self, guild_id: int | None, bodies: list[JSON]) -> list[Command]:
        """Replace the app's command set for a guild (or globally), keeping ids of same names."""
        old = {c.name: c for c in self.commands.values() if c.guild_id == guild_id}
        for command in old.values():
            del self.commands[command.id]
        result = []
        for body in bodies:
            previous = old.get(str(body["name"]))
            command_id = previous.id if previous else self.mint.next()
            command = Command(
                command_id, self.application_id, guild_id, str(body["name"]), body, self.mint.next()
            )
            self.commands[command.id] = command
            result.append(command)
        return result
