"""The emulator's runtime records: users, guilds, channels, messages, interactions, calls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .constants import ChannelType, ComponentType, MessageFlag

JSON = dict[str, Any]


@dataclass
class User:
    """A Discord account as the emulator keeps it."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    dms_open: bool = True


@dataclass
class Role:
    """A guild role; the @everyone role has the guild's id."""

    id: int
    name: str
    permissions: str = "0"
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False


@dataclass
class Guild:
    """A guild with its channels, members (ids), roles and who holds which role."""

    id: int
    name: str
    owner_id: int
    joined_at: datetime
    channel_ids: list[int] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    member_roles: dict[int, list[int]] = field(default_factory=dict)

    def roles_of(self, user_id: int) -> list[int]:
        """The role ids a member holds (@everyone left out, as Discord leaves it out)."""
        return list(self.member_roles.get(user_id, []))


@dataclass
class Channel:
    """A guild text or forum channel, a DM channel or a thread."""

    id: int
    type: ChannelType
    name: str | None = None
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    recipient_id: int | None = None
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    created_at: datetime | None = None
    last_message_id: int | None = None
    message_count: int = 0
    member_ids: list[int] = field(default_factory=list)  # a thread's members (explicit)
    archived_at: datetime | None = None  # when a thread was last archived or unarchived
    private_to: list[int] = field(default_factory=list)  # roles that see a staff-only channel

    @property
    def is_dm(self) -> bool:
        """Whether this is a one-to-one DM channel."""
        return self.type is ChannelType.DM

    def hidden_from(self, user_id: int) -> bool:
        """Whether a private thread keeps this user out: only its members see one, and people
        holding MANAGE_THREADS (see `World.can_see`; the bot holds no role)."""
        return self.type is ChannelType.PRIVATE_THREAD and user_id not in self.member_ids


@dataclass
class Attachment:
    """A stored file, served back by the emulator at `url`."""

    id: int
    filename: str
    data: bytes
    content_type: str
    url: str
    proxy_url: str
    description: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


@dataclass
class Message:
    """A message in a channel, or an ephemeral one shown to a single user."""

    id: int
    channel_id: int
    author_id: int
    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    created_at: datetime | None = None
    edited_at: datetime | None = None
    nonce: str | int | None = None
    reference: JSON | None = None
    mention_ids: list[int] = field(default_factory=list)
    reactions: dict[str, set[int]] = field(default_factory=dict)
    webhook_id: int | None = None
    interaction_id: int | None = None
    thread_id: int | None = None
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        """Whether only the interacting user can see this message."""
        return bool(self.flags & MessageFlag.EPHEMERAL)

    def walk_components(self) -> Iterator[JSON]:
        """Every component of the message, depth first (rows, then their children)."""
        yield from walk_components(self.components)

    def buttons(self) -> list[JSON]:
        """The message's buttons, in display order."""
        return [c for c in self.walk_components() if c.get("type") == ComponentType.BUTTON]

    def button_labels(self) -> list[str]:
        """The labels of the message's buttons, in display order."""
        return [str(b.get("label", "")) for b in self.buttons()]


def walk_components(components: list[JSON]) -> Iterator[JSON]:
    """Depth-first walk over a component tree (action rows, labels, containers, sections)."""
    for component in components:
        yield component
        yield from walk_components(list(component.get("components", [])))
        inner = component.get("component")
        if isinstance(inner, dict):
            yield from walk_components([inner])
        accessory = component.get("accessory")
        if isinstance(accessory, dict):
            yield from walk_components([accessory])


@dataclass
class Interaction:
    """An interaction a person started, and what the app answered."""

    id: int
    token: str
    type: int
    user_id: int
    channel_id: int
    guild_id: int | None
    data: JSON
    created_at: float
    message_id: int | None = None
    response_type: int | None = None
    response_data: JSON | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)

    @property
    def responded(self) -> bool:
        """Whether the app sent the initial callback."""
        return self.response_type is not None


@dataclass
class Modal:
    """A modal the app opened for a user (callback type 9)."""

    interaction_id: int
    user_id: int
    custom_id: str
    title: str
    components: list[JSON]
    submitted: bool = False

    def text_inputs(self) -> list[JSON]:
        """The modal's text inputs, in order."""
        return [c for c in walk_components(self.components) if c.get("type") == 4]


@dataclass
class Command:
    """An application command registered by a sync (PUT .../commands)."""

    id: int
    application_id: int
    guild_id: int | None
    name: str
    body: JSON
    version: int


@dataclass(frozen=True)
class CallRecord:
    """One REST call the app made: what, where, and the status it got."""

    method: str
    route: str
    path: str
    status: int
    at: float

    @property
    def key(self) -> str:
        """ "METHOD /template", the form limits and faults use."""
        return f"{self.method} {self.route}"
