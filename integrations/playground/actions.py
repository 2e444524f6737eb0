"""POST /api/act: what a visitor does, as the person they chose, through the emulators' actors.

Every refusal a visitor can cause (an unknown person or action, a missing or ill-typed
argument, the platform saying no) becomes `Refused` with one readable line; anything else is
a bug and is left to the server to log and answer 500.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from integrations.sandbox.discord import DiscordEmulator, InteractionError, Person
from integrations.sandbox.discord.errors import ApiError
from integrations.sandbox.discord.model import Modal, walk_components
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import Ack, SlackError, SlackUser
from integrations.sandbox.slack.workspace import Workspace

from . import discord_view, slack_view, staff_view
from .controls import BotClock, Refused

DISCORD_MAX_TEXT = 2000  # what a person may type in one Discord message
SLACK_MAX_TEXT = 40_000  # Slack truncates longer messages
_DURATION = re.compile(r"^\s*(\d{1,4})\s*(m|min|h|d|w)\s*$")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_MOVE = timedelta(days=366)
H = TypeVar("H")


@dataclass(frozen=True)
class Stage:
    """What actions act on: both emulators, the bot's clock (and the demo's switches), who to
    tell when either changed, and where the bot's agents work ("slack", "discord")."""

    sandbox: Sandbox
    clock: BotClock
    clock_changed: Callable[[], None]
    workspaces: frozenset[str] = field(default=frozenset({"slack"}))


class Args:
    """The arguments of one action, read with their types checked."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self._body = body

    def present(self, key: str) -> object:
        """A required value of any type."""
        value = self._body.get(key)
        if value is None:
            raise Refused(f"{key!r} is required")
        return value

    def text(self, key: str) -> str:
        """A required string."""
        value = self.present(key)
        if not isinstance(value, str):
            raise Refused(f"{key!r} must be a string")
        return value

    def optional(self, key: str) -> str | None:
        """An optional string (absent, null or empty: None)."""
        if self._body.get(key) in (None, ""):
            return None
        return self.text(key)

    def flag(self, key: str) -> bool:
        """An optional boolean (absent: False)."""
        value = self._body.get(key, False)
        if not isinstance(value, bool):
            raise Refused(f"{key!r} must be true or false")
        return value

    def mapping(self, key: str, *, required: bool = True) -> dict[str, Any]:
        """A JSON object (absent and not required: empty)."""
        value = self._body.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise Refused(f"{key!r} must be an object")
        return value

    def strings(self, key: str) -> list[str]:
        """A required list of strings."""
        value = self._body.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Refused(f"{key!r} must be a list of strings")
        return value

    def message(self, key: str, limit: int) -> str:
        """What a person types: a non-blank string of at most `limit` characters."""
        value = self.text(key)
        if not value.strip():
            raise Refused(f"{key!r} is empty")
        if len(value) > limit:
            raise Refused(f"{key!r} is too long ({len(value)} characters; at most {limit})")
        return value

    def snowflake(self, key: str, *, required: bool = True) -> int | None:
        """A Discord id, as a string of digits (or a number)."""
        value = self._body.get(key)
        if value in (None, "") and not required:
            return None
        text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
        if not text.isdigit():
            raise Refused(f"{key!r} must be a Discord id (a string of digits)")
        return int(text)


async def act(stage: Stage, body: object) -> str | None:
    """Do what `body` asks; returns the note to show. Raises Refused for visitor mistakes."""
    if not isinstance(body, dict):
        raise Refused("the body must be a JSON object")
    args = Args(body)
    side, action = args.text("side"), args.text("action")
    try:
        if side == "slack":
            return await _slack(stage, args, action)
        if side == "discord":
            return await _discord(stage, args, action)
        if side == "staff":
            return await _staff(stage, args, action)
        if side == "clock":
            return await _clock(stage, args, action)
    except SlackError as exc:
        raise Refused(f"Slack refused: {exc.code}") from exc
    except ApiError as exc:
        raise Refused(f"Discord refused: {exc.message} (code {exc.code})") from exc
    except (InteractionError, LookupError, ValueError) as exc:
        raise Refused(_one_line(exc)) from exc
    raise Refused(f"unknown side {side!r} (slack, discord, staff or clock)")


def _one_line(exc: Exception) -> str:
    # A KeyError's str() is the repr of its key: show the key itself.
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(text.split()) or type(exc).__name__


def _pick(table: Mapping[str, H], side: str, action: str) -> H:
    handler = table.get(action)
    if handler is None:
        raise Refused(f"unknown {side} action {action!r} (one of: {', '.join(table)})")
    return handler


# ----- Slack ------------------------------------------------------------------------------

SlackHandler = Callable[[Workspace, SlackUser, Args], Awaitable[str | None]]


async def _slack(stage: Stage, args: Args, action: str) -> str | None:
    if "slack" not in stage.workspaces:
        raise Refused("Slack is not used in this demo (its agents work in Discord)")
    emu = stage.sandbox.slack
    user_id = slack_view.person(emu.workspace, args.text("as"))
    handler = _pick(SLACK, "slack", action)
    return await handler(emu.workspace, emu.user(user_id), args)


def _channel(ws: Workspace, user: SlackUser, raw: str) -> str:
    """A conversation the person sees, by id or name."""
    channel = ws.find_channel(raw)
    if not slack_view.visible(ws, user.id, channel):
        raise Refused(f"you are not in {raw}")
    return channel.id


def _acked(ack: Ack | None) -> str | None:
    if ack is None or ack.acked:
        return None
    return "The app did not respond in time (Slack would show a warning)."


async def _slack_post(ws: Workspace, user: SlackUser, args: Args) -> str | None:
    channel = _channel(ws, user, args.text("channel"))
    text = args.message("text", SLACK_MAX_TEXT)
    await user.post(channel, text, thread_ts=args.optional("thread_ts"))
    return None


async def _slack_click(ws: Workspace, user: SlackUser, args: Args) -> str | None:
    channel = _channel(ws, user, args.text("channel"))
    return _acked(await user.click(channel, args.text("ts"), args.text("action_id")))


async def _slack_select(ws: Workspace, user: SlackUser, args: Args) -> str | None:
    channel = _channel(ws, user, args.text("channel"))
    ts, action_id, value = args.text("ts"), args.text("action_id"), args.text("value")
    return _acked(await user.select(channel, ts, value, action_id=action_id))


async def _slack_command(ws: Workspace, user: SlackUser, args: Args) -> str | None:
    raw = args.optional("channel")
    channel = None if raw is None else _channel(ws, user, raw)
    return _acked(await user.command(args.text("line"), channel))


async def _slack_view_click(_ws: Workspace, user: SlackUser, args: Args) -> str | None:
    return _acked(await user.click_in_view(args.text("action_id"), home=args.flag("home")))


async def _slack_submit(_ws: Workspace, user: SlackUser, args: Args) -> str | None:
    return _acked(await user.submit(args.mapping("values", required=False)))


async def _slack_close(_ws: Workspace, user: SlackUser, _args: Args) -> str | None:
    return _acked(await user.close_modal())


async def _slack_open_home(_ws: Workspace, user: SlackUser, _args: Args) -> str | None:
    await user.open_home()
    return None


SLACK: dict[str, SlackHandler] = {
    "post": _slack_post,
    "click": _slack_click,
    "select": _slack_select,
    "command": _slack_command,
    "view_click": _slack_view_click,
    "submit": _slack_submit,
    "close": _slack_close,
    "open_home": _slack_open_home,
}

# ----- Discord ----------------------------------------------------------------------------

DiscordHandler = Callable[[DiscordEmulator, Person, Args], Awaitable[str | None]]


async def _discord(stage: Stage, args: Args, action: str) -> str | None:
    emu = stage.sandbox.discord
    person = emu.user(discord_view.person(emu.world, args.present("as")))
    handler = _pick(DISCORD, "discord", action)
    return await handler(emu, person, args)


async def _discord_dm(_emu: DiscordEmulator, person: Person, args: Args) -> str | None:
    await person.send_dm(args.message("text", DISCORD_MAX_TEXT))
    return None


async def _discord_send(_emu: DiscordEmulator, person: Person, args: Args) -> str | None:
    channel_id = args.snowflake("channel_id") or 0
    await person.send(channel_id, args.message("text", DISCORD_MAX_TEXT))
    return None


async def _discord_click(emu: DiscordEmulator, person: Person, args: Args) -> str | None:
    message = discord_view.visible_message(emu, person.id, args.snowflake("message_id"))
    await person.click(message, custom_id=args.text("custom_id"))
    return None


async def _discord_select(emu: DiscordEmulator, person: Person, args: Args) -> str | None:
    message = discord_view.visible_message(emu, person.id, args.snowflake("message_id"))
    await person.select(message, args.strings("values"), custom_id=args.text("custom_id"))
    return None


async def _discord_slash(_emu: DiscordEmulator, person: Person, args: Args) -> str | None:
    channel_id = args.snowflake("channel_id", required=False)
    options = args.mapping("options", required=False)
    await person.slash(args.text("name"), options, channel_id=channel_id)
    return None


async def _discord_submit(_emu: DiscordEmulator, person: Person, args: Args) -> str | None:
    custom_id = args.optional("custom_id")
    values = args.mapping("values", required=False)
    modal = person.open_modal(custom_id)
    if modal is None:
        raise Refused("no modal is open")
    _check_required(modal, values)
    await person.submit_modal(values, custom_id=custom_id)
    return None


def _check_required(modal: Modal, values: Mapping[str, Any]) -> None:
    """Discord's client will not submit a modal whose required text inputs are empty."""
    empty = [
        str(c.get("label") or c.get("custom_id"))
        for c in walk_components(modal.components)
        if c.get("type") == 4
        and c.get("required", True)
        and not str(values.get(str(c.get("custom_id"))) or c.get("value") or "").strip()
    ]
    if empty:
        raise Refused(f"Discord would not submit: required fields empty: {', '.join(empty)}")


async def _discord_dismiss(_emu: DiscordEmulator, person: Person, _args: Args) -> str | None:
    person.dismiss_modal()
    return None


async def _discord_dms(_emu: DiscordEmulator, person: Person, args: Args) -> str | None:
    # Discord's "Allow direct messages from server members": with it off, the bot cannot write
    # to them, and Threadline answers in a private thread of the server's support channel.
    if args.flag("open"):
        person.open_dms()
        note = "Direct messages from the server's members are allowed again."
    else:
        person.close_dms()
        note = "Direct messages are closed: the bot can no longer write to you in DMs."
    return note


DISCORD: dict[str, DiscordHandler] = {
    "dms": _discord_dms,
    "dm": _discord_dm,
    "send": _discord_send,
    "click": _discord_click,
    "select": _discord_select,
    "slash": _discord_slash,
    "submit": _discord_submit,
    "dismiss": _discord_dismiss,
}

# ----- Discord, as the staff (agents working tickets in the staff channel) ---------------


async def _staff(stage: Stage, args: Args, action: str) -> str | None:
    if "discord" not in stage.workspaces:
        raise Refused("the agents do not work in Discord in this demo (--workspaces)")
    emu = stage.sandbox.discord
    person = emu.user(staff_view.person(emu.world, args.present("as")))
    handler = _pick(STAFF, "staff", action)
    return await handler(emu, person, args)


# What an agent does in the staff channel: the same gestures as a customer's, in the threads
# and channels only the staff see (Person refuses what they cannot see).
STAFF: dict[str, DiscordHandler] = {
    "send": _discord_send,
    "click": _discord_click,
    "select": _discord_select,
    "slash": _discord_slash,
    "submit": _discord_submit,
    "dismiss": _discord_dismiss,
}

# ----- the bot's clock and the demo's switches -------------------------------------------

ClockHandler = Callable[[BotClock, Args], Awaitable[str]]


async def _clock(stage: Stage, args: Args, action: str) -> str | None:
    handler = _pick(CLOCK, "clock", action)
    try:
        note = await handler(stage.clock, args)
    except ValueError as exc:  # the bot's own refusal: a line for the visitor
        raise Refused(_one_line(exc)) from exc
    stage.clock_changed()
    return note


async def _clock_advance(clock: BotClock, args: Args) -> str:
    return await clock.advance(parse_move(args.text("by")))


async def _clock_auto_answer(clock: BotClock, args: Args) -> str:
    return clock.set_auto_answer(parse_switch(args.text("to")))


CLOCK: dict[str, ClockHandler] = {
    "advance": _clock_advance,
    "auto_answer": _clock_auto_answer,
}


def parse_switch(to: str) -> bool:
    """A switch's position as the page sends it: "on" or "off"."""
    position = to.strip().lower()
    if position not in ("on", "off"):
        raise Refused(f"'to' must be 'on' or 'off' (got {to!r})")
    return position == "on"


def parse_move(by: str) -> timedelta | None:
    """The clock move `by` asks for: a duration such as 1h, 1d, 30m or 2w, or None for
    "next" (to the next due event)."""
    if by.strip().lower() == "next":
        return None
    found = _DURATION.match(by.lower())
    if found is None:
        raise Refused(f"'by' must be 'next' or a duration such as 1h, 1d, 30m (got {by!r})")
    amount, unit = int(found.group(1)), found.group(2)
    move = timedelta(**{_UNITS[unit]: amount})
    if not timedelta(0) < move <= MAX_MOVE:
        raise Refused(f"'by' must be more than 0 and at most {MAX_MOVE.days} days")
    return move
