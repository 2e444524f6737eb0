"""The objects a workspace holds, and their Slack JSON shapes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass
class User:
    """A person or the bot user, as `users.info` describes it."""

    id: str
    team_id: str
    name: str
    real_name: str = ""
    email: str = ""
    title: str = ""
    is_admin: bool = False
    is_bot: bool = False
    tz: str = "UTC"

    def to_api(self) -> JsonDict:
        """The `user` object of `users.info`."""
        real = self.real_name or self.name
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": False,
            "real_name": real,
            "tz": self.tz,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "is_admin": self.is_admin,
            "updated": 1700000000,
            "profile": {
                "real_name": real,
                "display_name": self.name,
                "title": self.title,
                "email": self.email,
                "image_72": f"https://avatars.invalid/{self.id}.png",
            },
        }


@dataclass
class Message:
    """A message in a channel: top level, a thread parent, or a reply."""

    channel: str
    ts: str
    user: str
    text: str
    team: str
    blocks: list[JsonDict] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    subtype: str | None = None
    edited: JsonDict | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    files: list[JsonDict] = field(default_factory=list)
    metadata: JsonDict | None = None
    # The name and picture an app posted under (chat:write.customize), as Slack shows them.
    username: str | None = None
    icons: JsonDict | None = None
    reply_users: list[str] = field(default_factory=list)
    reply_count: int = 0
    latest_reply: str | None = None

    @property
    def is_reply(self) -> bool:
        """True for a message inside a thread (not the parent)."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self, *, metadata: bool = True) -> JsonDict:
        """The message object as the Web API and events show it (`metadata`: whether its
        metadata is shown: conversations.* show it only when asked, with include_all_metadata)."""
        data: JsonDict = {"type": "message", "user": self.user, "text": self.text, "ts": self.ts}
        data["team"] = self.team
        if self.subtype:
            data["subtype"] = self.subtype
        if self.bot_id:
            data["bot_id"] = self.bot_id
            data["app_id"] = self.app_id
        if self.blocks is not None:
            data["blocks"] = self.blocks
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.reply_count:
            data.update(
                reply_count=self.reply_count,
                reply_users=list(self.reply_users),
                reply_users_count=len(self.reply_users),
                latest_reply=self.latest_reply,
            )
        if self.edited:
            data["edited"] = dict(self.edited)
        if self.reactions:
            data["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in self.reactions.items()
            ]
        if self.files:
            data["files"] = list(self.files)
        if self.metadata and metadata:
            data["metadata"] = self.metadata
        if self.username:
            data["username"] = self.username
        if self.icons:
            data["icons"] = dict(self.icons)
        return data

    def elements(self) -> Iterator[tuple[str, JsonDict]]:
        """Every interactive element of the blocks, with the id of the block holding it."""
        return iter_elements(self.blocks or [])

    def button_labels(self) -> list[str]:
        """The labels of the message's buttons, in order."""
        return [
            str(element.get("text", {}).get("text", ""))
            for _, element in self.elements()
            if element.get("type") == "button"
        ]


def iter_elements(blocks: list[JsonDict]) -> Iterator[tuple[str, JsonDict]]:
    """Interactive elements in `actions` blocks, section accessories and input blocks."""
    for index, block in enumerate(blocks):
        block_id = str(block.get("block_id") or f"b{index}")
        kind = block.get("type")
        if kind == "actions":
            for element in block.get("elements", []):
                yield block_id, element
        elif kind == "section" and isinstance(block.get("accessory"), dict):
            yield block_id, block["accessory"]
        elif kind == "input" and isinstance(block.get("element"), dict):
            yield block_id, block["element"]


@dataclass
class Ephemeral:
    """A message only `user` sees; it is never stored in the channel history."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[JsonDict] | None = None
    thread_ts: str | None = None

    def to_api(self, bot_id: str, app_id: str) -> JsonDict:
        """The message object as a `block_actions` payload carries it."""
        data: JsonDict = {"type": "message", "text": self.text, "ts": self.ts}
        data.update(bot_id=bot_id, app_id=app_id, is_ephemeral=True)
        if self.blocks is not None:
            data["blocks"] = self.blocks
        return data


@dataclass
class Channel:
    """A channel, private channel, DM (`is_im`) or group DM (`is_mpim`)."""

    id: str
    name: str
    members: set[str]
    created: int
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    im_user: str | None = None
    topic: str = ""
    messages: dict[str, Message] = field(default_factory=dict)
    archived: bool = False  # posts, edits and reactions are refused with `is_archived`

    @property
    def channel_type(self) -> str:
        """The `channel_type` field of message events."""
        if self.is_im:
            return "im"
        if self.is_mpim:
            return "mpim"
        return "group" if self.is_private else "channel"

    def to_api(self, bot_user: str) -> JsonDict:
        """The `channel` object of `conversations.info`."""
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private and not self.is_mpim,
            "is_group": self.is_private and not self.is_mpim,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private or self.is_mpim,
            "is_archived": self.archived,
            "is_general": False,
            "is_member": bot_user in self.members,
            "created": self.created,
            "creator": "",
            "num_members": len(self.members),
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }

    def top_level(self) -> list[Message]:
        """Top-level messages (thread parents included, replies excluded), oldest first."""
        return [
            m for m in self.messages.values() if not m.is_reply or m.subtype == "thread_broadcast"
        ]

    def replies(self, thread_ts: str) -> list[Message]:
        """Replies in the thread started by `thread_ts`, oldest first (the parent excluded)."""
        return [m for m in self.messages.values() if m.thread_ts == thread_ts and m.ts != thread_ts]


@dataclass
class View:
    """A modal (in a user's stack) or a Home tab."""

    id: str
    team_id: str
    user: str
    type: str
    spec: JsonDict
    hash: str
    app_id: str
    bot_id: str
    root_view_id: str
    previous_view_id: str | None = None
    state: JsonDict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def blocks(self) -> list[JsonDict]:
        """The view's blocks as the app sent them."""
        blocks = self.spec.get("blocks", [])
        return blocks if isinstance(blocks, list) else []

    @property
    def callback_id(self) -> str:
        """The `callback_id` the app gave the view."""
        return str(self.spec.get("callback_id", ""))

    @property
    def title(self) -> str:
        """The plain text of the view title."""
        title = self.spec.get("title")
        return str(title.get("text", "")) if isinstance(title, dict) else ""

    def to_api(self) -> JsonDict:
        """The `view` object of the views.* responses and interaction payloads."""
        data: JsonDict = {
            "id": self.id,
            "team_id": self.team_id,
            "type": self.type,
            "callback_id": self.callback_id,
            "private_metadata": str(self.spec.get("private_metadata", "")),
            "external_id": str(self.spec.get("external_id", "")),
            "blocks": self.blocks,
            "state": {"values": self.state},
            "hash": self.hash,
            "root_view_id": self.root_view_id,
            "previous_view_id": self.previous_view_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
            "clear_on_close": bool(self.spec.get("clear_on_close", False)),
            "notify_on_close": bool(self.spec.get("notify_on_close", False)),
        }
        for key in ("title", "submit", "close"):
            if key in self.spec:
                data[key] = self.spec[key]
        return data


@dataclass
class Trigger:
    """A `trigger_id` handed to the app with an interaction; valid for a few seconds, once."""

    id: str
    user: str
    created_at: float
    used: bool = False


@dataclass
class UploadedFile:
    """A file reserved by files.getUploadURLExternal and, once posted, its bytes."""

    id: str
    name: str
    length: int
    user: str
    content: bytes | None = None
    title: str = ""
    channels: list[str] = field(default_factory=list)
    created: int = field(default_factory=lambda: int(time.time()))

    def to_api(self, host: str = "") -> JsonDict:
        """The `file` object of files.completeUploadExternal; with `host`, the private
        download URLs (fetched with the bot token, as on Slack)."""
        private = f"{host}/files-pri/{self.id}/{self.name}" if host else None
        return {
            "url_private": private,
            "url_private_download": private,
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": "application/octet-stream",
            "filetype": "binary",
            "user": self.user,
            "size": len(self.content or b""),
            "mode": "hosted",
            "is_public": True,
            "channels": list(self.channels),
        }
