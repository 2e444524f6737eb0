"""The workspace state: people, channels, messages, threads, reactions, ephemerals, files.

Every change goes through a method here, which emits the Events API event Slack would send
(when the app can see it) and notifies waiters.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable

from integrations.sandbox.notify import Notifier

from . import events
from .errors import SlackError
from .model import Channel, Ephemeral, JsonDict, Message, Trigger, UploadedFile, User
from .seed import WorkspaceSeed
from .viewstore import ViewStore

EventSink = Callable[[JsonDict], None]


def _ignore(_event: JsonDict) -> None:
    return None


# A message event's subscription by the conversation's `channel_type`: message.channels, ...
_PLURALS = {"channel": "channels", "group": "groups"}


class Workspace:
    """All state of one emulated Slack workspace."""

    def __init__(self, seed: WorkspaceSeed) -> None:
        self.seed = seed
        self.team_id = seed.team_id
        self.bot = seed.bot
        self.notifier = Notifier()
        self.emit: EventSink = _ignore
        self._last_us = 0
        self._counter = itertools.count(1)
        now = int(time.time())
        self.users: dict[str, User] = {
            u.id: User(
                u.id, seed.team_id, u.name, u.real_name, u.email, u.title, u.is_admin, tz=u.tz
            )
            for u in seed.users
        }
        self.users[self.bot.user_id] = User(
            self.bot.user_id, seed.team_id, self.bot.name, self.bot.name, is_bot=True
        )
        self.channels: dict[str, Channel] = {}
        for c in seed.channels:
            members = set(c.members) | ({self.bot.user_id} if c.bot_member else set())
            self.channels[c.id] = Channel(c.id, c.name, members, now, c.is_private, topic=c.topic)
        self.usergroups = {g.id: list(g.users) for g in seed.usergroups}
        self.ephemerals: list[Ephemeral] = []
        self.triggers: dict[str, Trigger] = {}
        self.files: dict[str, UploadedFile] = {}
        self.file_host = ""  # where files are served from (the emulator's base URL)
        self.views = ViewStore(seed.team_id, self.bot.app_id, self.bot.bot_id, self.new_id)

    # ids and lookups

    def new_id(self, prefix: str) -> str:
        """A fresh id such as `V0000000007`, unique in this workspace."""
        return f"{prefix}{next(self._counter):010d}"

    def next_ts(self) -> str:
        """A message timestamp, strictly increasing across the workspace (so unique per channel)."""
        now = int(time.time() * 1_000_000)
        self._last_us = max(now, self._last_us + 1)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def changed(self) -> None:
        """Wake whoever waits on the state."""
        self.notifier.notify()

    def channel(self, channel_id: str) -> Channel:
        """The channel, or `channel_not_found`."""
        found = self.channels.get(channel_id)
        if found is None:
            raise SlackError("channel_not_found")
        return found

    def writable(self, channel_id: str) -> Channel:
        """The channel, if it takes new posts, edits and reactions (`is_archived` if not)."""
        channel = self.channel(channel_id)
        if channel.archived:
            raise SlackError("is_archived")
        return channel

    def find_channel(self, value: str) -> Channel:
        """A channel by id or by name (`#support` or `support`), or `channel_not_found`."""
        found = self.channels.get(value)
        if found is not None:
            return found
        name = value.lstrip("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        raise SlackError("channel_not_found")

    def user(self, user_id: str) -> User:
        """The user, or `user_not_found`."""
        found = self.users.get(user_id)
        if found is None:
            raise SlackError("user_not_found")
        return found

    def message(self, channel_id: str, ts: str) -> Message:
        """The message, or `message_not_found`."""
        found = self.channel(channel_id).messages.get(ts)
        if found is None:
            raise SlackError("message_not_found")
        return found

    def im_with(self, user_id: str) -> tuple[Channel, bool]:
        """The DM between the bot and `user_id`, opening it if needed (returns `created`)."""
        self.user(user_id)
        for channel in self.channels.values():
            if channel.is_im and channel.im_user == user_id:
                return channel, False
        channel_id = self.new_id("D")
        members = {user_id, self.bot.user_id}
        channel = Channel(channel_id, channel_id, members, int(time.time()), True, is_im=True)
        channel.im_user = user_id
        self.channels[channel_id] = channel
        return channel, True

    def mpim_with(self, user_ids: list[str]) -> tuple[Channel, bool]:
        """The group DM between the bot and `user_ids`, opening it if needed."""
        members = {*user_ids, self.bot.user_id}
        for user_id in user_ids:
            self.user(user_id)
        for channel in self.channels.values():
            if channel.is_mpim and channel.members == members:
                return channel, False
        channel_id = self.new_id("G")
        name = "mpdm-" + "--".join(sorted(self.users[u].name for u in members)) + "-1"
        channel = Channel(channel_id, name, members, int(time.time()), True, is_mpim=True)
        self.channels[channel_id] = channel
        return channel, True

    def bot_sees(self, channel: Channel) -> bool:
        """Slack only sends the app events from conversations its bot user is in."""
        return self.bot.user_id in channel.members

    def subscribed(self, event: JsonDict, channel: Channel) -> bool:
        """Whether the app subscribed to this event (`message.channels` and the like name a
        message event by the kind of conversation it happened in)."""
        wanted = self.seed.bot_events
        if wanted is None:
            return True
        kind = str(event.get("type"))
        if kind == "message":
            kind = f"message.{_PLURALS.get(channel.channel_type, channel.channel_type)}"
        return kind in wanted

    def deliver(self, channel: Channel, event: JsonDict) -> None:
        """Send the app an event that happened in `channel`, as Slack would: only from a
        conversation its bot is in, and only one it subscribed to."""
        if self.bot_sees(channel) and self.subscribed(event, channel):
            self.emit(event)

    # messages

    def post(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        *,
        blocks: list[JsonDict] | None = None,
        thread_ts: str | None = None,
        broadcast: bool = False,
        files: list[JsonDict] | None = None,
        metadata: JsonDict | None = None,
        check_member: bool = True,
        subtype: str | None = None,
        username: str | None = None,
        icons: JsonDict | None = None,
    ) -> Message:
        """Add a message (from a person or the bot), update its thread, emit the events."""
        channel = self.writable(channel_id)
        if check_member and user_id not in channel.members:
            raise SlackError("not_in_channel")
        parent = self._thread_parent(channel, thread_ts) if thread_ts else None
        is_bot = user_id == self.bot.user_id
        message = Message(
            channel.id,
            self.next_ts(),
            user_id,
            text,
            self.team_id,
            blocks if blocks is not None or is_bot else events.rich_text(text),
            thread_ts=parent.ts if parent else None,
            bot_id=self.bot.bot_id if is_bot else None,
            app_id=self.bot.app_id if is_bot else None,
            subtype="thread_broadcast" if parent and broadcast else subtype,
            files=files or [],
            metadata=metadata,
            username=username if is_bot else None,
            icons=icons if is_bot else None,
        )
        channel.messages[message.ts] = message
        if parent is not None:
            self._count_reply(parent, message)
        self._emit_posted(channel, message, parent)
        self.changed()
        return message

    def _thread_parent(self, channel: Channel, thread_ts: str) -> Message:
        parent = channel.messages.get(thread_ts)
        if parent is None:
            raise SlackError("thread_not_found")
        if parent.is_reply and parent.thread_ts:
            # Replying to a reply lands in the same thread, under the original parent.
            return channel.messages[parent.thread_ts]
        return parent

    def _count_reply(self, parent: Message, reply: Message) -> None:
        parent.thread_ts = parent.ts
        parent.reply_count += 1
        parent.latest_reply = reply.ts
        if reply.user not in parent.reply_users:
            parent.reply_users.append(reply.user)

    def _emit_posted(self, channel: Channel, message: Message, parent: Message | None) -> None:
        event = events.message_event(channel, message, parent.user if parent else None)
        if message.bot_id:
            event["bot_profile"] = events.bot_profile(
                self.bot.bot_id, self.bot.app_id, self.bot.name, self.team_id
            )
        self.deliver(channel, event)
        if message.bot_id is None and self.bot.user_id in events.mentions(message.text):
            self.deliver(channel, events.app_mention_event(channel, message))

    def edit(
        self,
        channel_id: str,
        ts: str,
        editor: str,
        text: str | None,
        blocks: list[JsonDict] | None = None,
    ) -> Message:
        """Edit a message (only its author may); emits `message_changed`."""
        self.writable(channel_id)
        message = self.message(channel_id, ts)
        if message.user != editor:
            raise SlackError("cant_update_message")
        before = message.to_api()
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = blocks
        elif text is not None and message.bot_id is None:
            message.blocks = events.rich_text(text)
        event_ts = self.next_ts()
        message.edited = {"user": editor, "ts": event_ts}
        channel = self.channel(channel_id)
        self.deliver(channel, events.changed_event(channel, before, message, event_ts))
        self.changed()
        return message

    def delete(self, channel_id: str, ts: str, deleter: str) -> Message:
        """Delete a message (only its author may); emits `message_deleted`."""
        message = self.message(channel_id, ts)
        if message.user != deleter:
            raise SlackError("cant_delete_message")
        channel = self.channel(channel_id)
        del channel.messages[ts]
        if message.is_reply and message.thread_ts in channel.messages:
            parent = channel.messages[message.thread_ts]
            parent.reply_count = max(0, parent.reply_count - 1)
        self.deliver(channel, events.deleted_event(channel, message, self.next_ts()))
        self.changed()
        return message

    def remove(self, channel_id: str, ts: str) -> Message:
        """An admin deletes any message (a ticket's card, say); its replies stay, orphaned, and
        posting to its thread then fails with `thread_not_found`, as on Slack."""
        message = self.message(channel_id, ts)
        return self.delete(channel_id, ts, message.user)

    def archive(self, channel_id: str) -> None:
        """Archive a channel: it keeps its history but takes nothing new (`is_archived`)."""
        self.channel(channel_id).archived = True
        self.changed()

    def delete_channel(self, channel_id: str) -> None:
        """Delete a channel outright: every call naming it fails with `channel_not_found`."""
        del self.channels[self.channel(channel_id).id]
        self.changed()

    def reset(self) -> None:
        """Wipe every message, as a workspace started afresh (channels and people stay):
        old timestamps then answer `message_not_found` and `thread_not_found`."""
        for channel in self.channels.values():
            channel.messages.clear()
        self.ephemerals.clear()
        self.changed()

    def react(self, channel_id: str, ts: str, user_id: str, name: str) -> None:
        """Add reaction `name`; `already_reacted` if this user already did."""
        self.writable(channel_id)
        message = self.message(channel_id, ts)
        users = message.reactions.setdefault(name, [])
        if user_id in users:
            raise SlackError("already_reacted")
        users.append(user_id)
        event = events.reaction_event("reaction_added", user_id, name, message, self.next_ts())
        self.deliver(self.channel(channel_id), event)
        self.changed()

    def unreact(self, channel_id: str, ts: str, user_id: str, name: str) -> None:
        """Remove reaction `name`; `no_reaction` if this user had not reacted so."""
        message = self.message(channel_id, ts)
        users = message.reactions.get(name, [])
        if user_id not in users:
            raise SlackError("no_reaction")
        users.remove(user_id)
        if not users:
            del message.reactions[name]
        event = events.reaction_event("reaction_removed", user_id, name, message, self.next_ts())
        self.deliver(self.channel(channel_id), event)
        self.changed()

    def post_ephemeral(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        blocks: list[JsonDict] | None = None,
        thread_ts: str | None = None,
    ) -> Ephemeral:
        """Show a message to one member of the channel only."""
        channel = self.channel(channel_id)
        self.user(user_id)
        if user_id not in channel.members:
            raise SlackError("user_not_in_channel")
        ephemeral = Ephemeral(channel.id, user_id, self.next_ts(), text, blocks, thread_ts)
        self.ephemerals.append(ephemeral)
        self.changed()
        return ephemeral

    def ephemeral(self, channel_id: str, user_id: str, ts: str) -> Ephemeral:
        """An ephemeral message shown to `user_id`, or `message_not_found`."""
        for ephemeral in self.ephemerals:
            if (ephemeral.channel, ephemeral.user, ephemeral.ts) == (channel_id, user_id, ts):
                return ephemeral
        raise SlackError("message_not_found")

    def drop_ephemeral(self, channel_id: str, user_id: str, ts: str) -> None:
        """Remove an ephemeral message (`delete_original` on its response_url)."""
        self.ephemerals.remove(self.ephemeral(channel_id, user_id, ts))
        self.changed()

    def replace_ephemeral(
        self, channel_id: str, user_id: str, ts: str, text: str, blocks: list[JsonDict] | None
    ) -> None:
        """Replace an ephemeral message's content (`replace_original`)."""
        ephemeral = self.ephemeral(channel_id, user_id, ts)
        ephemeral.text, ephemeral.blocks = text, blocks
        self.changed()

    # triggers

    def new_trigger(self, user_id: str, now: float) -> str:
        """A fresh `trigger_id` for an interaction by `user_id` at loop time `now`."""
        trigger_id = f"{int(time.time())}.{next(self._counter)}.{secrets.token_hex(8)}"
        self.triggers[trigger_id] = Trigger(trigger_id, user_id, now)
        return trigger_id

    def use_trigger(self, trigger_id: str, now: float, ttl: float) -> str:
        """Exchange a trigger (once, within `ttl` seconds); returns whose it is."""
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if now - trigger.created_at > ttl:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger.user
