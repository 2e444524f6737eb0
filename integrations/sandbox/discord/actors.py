"""Acting as people: what a customer or agent does in their Discord client, and what they see."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .constants import (
    SELECT_TYPES,
    THREAD_TYPES,
    ChannelType,
    ComponentType,
    InteractionType,
    MessageFlag,
)
from .errors import ApiError
from .interactions import (
    InteractionError,
    command_data,
    component_data,
    find_component,
    interaction_json,
    modal_submit_data,
    new_interaction,
)
from .model import Channel, Interaction, Message, Modal, User
from .threads import reopen_thread

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

FileSpec = tuple[str, bytes]


class Person:
    """A human Discord user driven by a test or the demo (`emu.user(id)`).

    Every action changes the emulator's state and dispatches the gateway events the bot
    would receive from real Discord.
    """

    def __init__(self, emu: DiscordEmulator, user: User) -> None:
        self._emu = emu
        self.user = user

    @property
    def id(self) -> int:
        """The user's snowflake."""
        return self.user.id

    def __repr__(self) -> str:
        return f"<Person {self.user.username} {self.user.id}>"

    # ----- messages ----------------------------------------------------------------------

    async def send_dm(
        self, content: str = "", *, files: Sequence[FileSpec] = (), reply_to: Message | None = None
    ) -> Message:
        """Write to the bot in DMs (the DM channel is opened on first use)."""
        channel = self._emu.world.open_dm(self.id)
        return self._post(channel, content, files, reply_to)

    async def send(
        self,
        channel_id: int,
        content: str = "",
        *,
        files: Sequence[FileSpec] = (),
        reply_to: Message | None = None,
    ) -> Message:
        """Write in a guild channel or thread (mention the bot with `<@bot_id>` in the text)."""
        channel = self._channel(channel_id)
        guild = self._emu.world.guild_of(channel)
        if guild is None or self.id not in guild.member_ids:
            raise InteractionError(f"{self.user.username} is not a member of that channel's guild")
        self._check_sees(channel)
        if channel.type is ChannelType.GUILD_FORUM:
            raise InteractionError("a forum takes posts (threads), not messages")
        if channel.archived and channel.locked:
            raise InteractionError("that thread is archived and locked")
        # Writing in an archived thread unarchives it, as in Discord.
        limit = self._emu.config.max_active_threads
        reopen_thread(self._emu.world, self._emu.events, limit, channel)
        return self._post(channel, content, files, reply_to)

    def _check_sees(self, channel: Channel) -> None:
        if not self._emu.world.can_see(self.id, channel):
            raise InteractionError(
                f"{self.user.username} cannot see that channel (a private thread they were "
                "never added to, or a channel only some roles see)"
            )

    def _post(
        self, channel: Channel, content: str, files: Sequence[FileSpec], reply_to: Message | None
    ) -> Message:
        world = self._emu.world
        attachments = [
            world.store_file(channel.id, name, data, _guess_type(name)) for name, data in files
        ]
        reference = None
        if reply_to is not None:
            reference = {"type": 0, "message_id": str(reply_to.id), "channel_id": str(channel.id)}
        message = world.add_message(
            channel,
            self.id,
            content=content,
            attachments=attachments,
            reference=reference,
            type=19 if reply_to else 0,
        )
        self._emu.events.message_created(message)
        self._emu.notify()
        return message

    async def edit(self, message: Message, content: str) -> Message:
        """Edit one of their own messages (MESSAGE_UPDATE)."""
        self._own(message)
        self._emu.world.edit_message(message, {"content": content})
        self._emu.events.message_updated(message)
        self._emu.notify()
        return message

    async def delete(self, message: Message) -> None:
        """Delete one of their own messages (MESSAGE_DELETE)."""
        self._own(message)
        self._emu.world.delete_message(message)
        self._emu.events.message_deleted(message)
        self._emu.notify()

    async def react(self, message: Message, emoji: str) -> None:
        """Add a reaction (MESSAGE_REACTION_ADD)."""
        users = message.reactions.setdefault(emoji, set())
        if self.id not in users:
            users.add(self.id)
            self._emu.events.reaction_added(message, self.id, emoji)
            self._emu.notify()

    def _own(self, message: Message) -> None:
        if message.author_id != self.id or message.deleted:
            raise InteractionError("people can only edit or delete their own, existing messages")

    # ----- interactions --------------------------------------------------------------------

    async def slash(
        self, name: str, options: Mapping[str, Any] | None = None, *, channel_id: int | None = None
    ) -> Interaction:
        """Run a registered slash command ("ticket" or "ticket close" for a sub-command),
        in a guild channel or, with no channel, in DMs with the bot."""
        command_name, *path = name.split()
        channel = (
            self._channel(channel_id)
            if channel_id is not None
            else self._emu.world.open_dm(self.id)
        )
        if channel.guild_id is not None:
            self._check_sees(channel)
        command = self._emu.world.find_command(command_name, channel.guild_id)
        if command is None:
            raise InteractionError(
                f"no registered command /{command_name} (did the bot sync its tree?)"
            )
        data = command_data(self._emu.world, command, path, dict(options or {}))
        return self._start(InteractionType.APPLICATION_COMMAND, channel, data)

    async def click(
        self, message: Message, *, label: str | None = None, custom_id: str | None = None
    ) -> Interaction:
        """Click a button of a message they can see, by label or custom_id."""
        button = find_component(
            message.components,
            label=label,
            custom_id=custom_id,
            kinds=frozenset({ComponentType.BUTTON}),
        )
        if button.get("disabled"):
            raise InteractionError("that button is disabled")
        if button.get("custom_id") is None:
            raise InteractionError("link buttons open a URL; they send no interaction")
        return self._component(message, component_data(button))

    async def select(
        self,
        message: Message,
        values: Sequence[str],
        *,
        custom_id: str | None = None,
        placeholder: str | None = None,
    ) -> Interaction:
        """Pick options in a select menu (by custom_id or placeholder)."""
        menu = find_component(
            message.components, label=placeholder, custom_id=custom_id, kinds=SELECT_TYPES
        )
        offered = {str(o.get("value")) for o in menu.get("options") or []}
        if menu.get("type") == ComponentType.STRING_SELECT and not set(values) <= offered:
            raise InteractionError(f"{sorted(set(values) - offered)} are not options of that menu")
        return self._component(message, component_data(menu, values))

    async def submit_modal(
        self, values: Mapping[str, Any], *, custom_id: str | None = None
    ) -> Interaction:
        """Fill in and submit the latest open modal (or the one with this custom_id)."""
        modal = self.open_modal(custom_id)
        if modal is None:
            raise InteractionError("no modal is open for this user")
        data = modal_submit_data(modal, values)
        modal.submitted = True
        opener = self._emu.world.interactions[modal.interaction_id]
        channel = self._emu.world.channels[opener.channel_id]
        return self._start(InteractionType.MODAL_SUBMIT, channel, data, opener.message_id)

    def dismiss_modal(self, custom_id: str | None = None) -> Modal:
        """Close the latest open modal (or the one with this custom_id) without submitting it.

        Discord tells the app nothing when a person dismisses a modal."""
        modal = self.open_modal(custom_id)
        if modal is None:
            raise InteractionError("no modal is open for this user")
        self._emu.world.modals.remove(modal)
        self._emu.notify()
        return modal

    async def forge_interaction(
        self,
        kind: InteractionType,
        data: Mapping[str, Any],
        *,
        channel_id: int | None = None,
        message: Message | None = None,
    ) -> Interaction:
        """An interaction with `data` exactly as given (any custom_id, values, options or
        modal fields), in a channel (their DMs by default) and on a message if given: what a
        tampered or outdated client sends. Nothing checks it against what they can see; the
        interaction is real all the same, so the app's answer to it is taken as Discord would."""
        channel = (
            self._emu.world.channels[channel_id]
            if channel_id is not None
            else self._emu.world.open_dm(self.id)
        )
        message_id = None if message is None else message.id
        return self._start(kind, channel, dict(data), message_id)

    def _component(self, message: Message, data: dict[str, Any]) -> Interaction:
        if message.deleted:
            raise InteractionError("that message was deleted")
        channel = self._emu.world.channels[message.channel_id]
        if channel.guild_id is not None:
            self._check_sees(channel)
        return self._start(InteractionType.MESSAGE_COMPONENT, channel, data, message.id)

    def _start(
        self,
        kind: InteractionType,
        channel: Channel,
        data: dict[str, Any],
        message_id: int | None = None,
    ) -> Interaction:
        world = self._emu.world
        interaction = new_interaction(
            world, kind, self.id, channel, data, created_at=self._emu.now(), message_id=message_id
        )
        self._emu.events.interaction_created(interaction_json(world, interaction))
        self._emu.notify()
        return interaction

    # ----- DM settings -----------------------------------------------------------------------

    def close_dms(self) -> None:
        """Stop accepting DMs from the bot (its sends then fail with 403, code 50007)."""
        self.user.dms_open = False
        self._emu.notify()  # a setting people see, like every other change of state

    def open_dms(self) -> None:
        """Accept DMs from the bot again."""
        self.user.dms_open = True
        self._emu.notify()

    # ----- what they see ---------------------------------------------------------------------

    def dm_messages(self) -> list[Message]:
        """Their DM conversation with the bot, oldest first."""
        channel = self._emu.world.dm_channel(self.id)
        return [] if channel is None else self._emu.channel_messages(channel.id)

    def last_dm(self) -> Message | None:
        """The newest message of their DM conversation with the bot."""
        messages = self.dm_messages()
        return messages[-1] if messages else None

    def ephemeral_messages(self) -> list[Message]:
        """Ephemeral interaction responses shown only to them, oldest first. A deferred
        response still "thinking" is not one yet: they read it once the app fills it in."""
        return [
            m
            for m in self._emu.world.ephemeral.get(self.id, [])
            if not m.deleted and not m.flags & MessageFlag.LOADING
        ]

    def threads(self) -> list[Channel]:
        """The threads they are a member of (private ones show only to members), oldest first."""
        return [
            c
            for c in self._emu.world.channels.values()
            if c.type in THREAD_TYPES and self.id in c.member_ids
        ]

    def modals(self) -> list[Modal]:
        """Modals the bot opened for them that they have not submitted."""
        return [m for m in self._emu.world.modals if m.user_id == self.id and not m.submitted]

    def open_modal(self, custom_id: str | None = None) -> Modal | None:
        """The latest open modal (optionally the one with this custom_id)."""
        for modal in reversed(self.modals()):
            if custom_id is None or modal.custom_id == custom_id:
                return modal
        return None

    def _channel(self, channel_id: int) -> Channel:
        channel = self._emu.world.channels.get(channel_id)
        if channel is None or channel.type is ChannelType.DM:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel


def _guess_type(filename: str) -> str:
    import mimetypes  # noqa: PLC0415

    return mimetypes.guess_type(filename)[0] or "application/octet-stream"
