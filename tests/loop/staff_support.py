"""What the tests of agents in Discord share: reading the staff forum as people see it, and
waiting for what the bot posts there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrations.sandbox.discord import STAFF
from integrations.sandbox.discord import Message as DiscordMessage
from integrations.sandbox.discord.model import Channel
from integrations.sandbox.launch import Sandbox
from tests.support import eventually

FORUM = STAFF.forum_channel_id
LEADS_CHANNEL = STAFF.staff_channel_id
SAM = STAFF.staff_id
LEE = STAFF.lead_id


def posts(sandbox: Sandbox) -> list[Channel]:
    """The staff forum's posts (a thread per ticket), oldest first."""
    world = sandbox.discord.world
    return sorted(
        (c for c in world.channels.values() if c.parent_id == FORUM),
        key=lambda c: c.id,
    )


async def post_for(sandbox: Sandbox, count: int = 1) -> Channel:
    """The newest forum post once there are `count` of them."""

    async def made() -> Channel | None:
        found = posts(sandbox)
        return found[-1] if len(found) >= count else None

    return await eventually(made, what=f"{count} post(s) in the staff forum")


def in_thread(sandbox: Sandbox, thread_id: int) -> list[DiscordMessage]:
    """A thread's messages as its readers see them, oldest first."""
    world = sandbox.discord.world
    return sorted(
        (
            m
            for m in world.messages.values()
            if m.channel_id == thread_id and not m.deleted and not m.ephemeral
        ),
        key=lambda m: m.id,
    )


def card_of(sandbox: Sandbox, thread_id: int) -> DiscordMessage:
    """A forum post's starter message: the ticket's card (it has the thread's id)."""
    return sandbox.discord.world.messages[thread_id]


def card_fields(sandbox: Sandbox, thread_id: int) -> dict[str, str]:
    (embed,) = card_of(sandbox, thread_id).embeds
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


def shown(message: DiscordMessage) -> str:
    """What a message shows: its text and its embeds' texts (author, description, fields)."""
    parts = [message.content]
    for embed in message.embeds:
        parts += [
            str((embed.get("author") or {}).get("name", "")),
            str(embed.get("description", "")),
            *(f"{f['name']}: {f['value']}" for f in embed.get("fields", [])),
            str((embed.get("footer") or {}).get("text", "")),
        ]
    return "\n".join(p for p in parts if p)


async def thread_shows(sandbox: Sandbox, thread_id: int, text: str) -> DiscordMessage:
    """Wait for a message in the thread showing `text`."""

    async def seen() -> DiscordMessage | None:
        return next((m for m in in_thread(sandbox, thread_id) if text in shown(m)), None)

    return await eventually(seen, what=f"the staff thread to show {text!r}")


async def card_says(sandbox: Sandbox, thread_id: int, name: str, value: str) -> None:
    async def there() -> bool:
        return value in card_fields(sandbox, thread_id).get(name, "")

    await eventually(there, what=f"the Discord card's {name} to read {value!r}")


def button(message: DiscordMessage, custom_id_start: str) -> dict[str, Any]:
    for component in message.walk_components():
        if str(component.get("custom_id", "")).startswith(custom_id_start):
            return component
    raise AssertionError(f"no component {custom_id_start!r} on the message")


async def until(check: Callable[[], object], what: str) -> None:
    """Wait for a plain condition to hold."""

    async def holds() -> bool | None:
        return True if check() else None

    await eventually(holds, what=what)
