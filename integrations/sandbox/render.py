"""Slack and Discord messages as plain readable text, for the sandbox console and the scripted
demo. Pure functions over the platforms' own JSON shapes (`Message.to_api()` for Slack, the
Discord message object of `payloads.message_json`).

What a person would see, not what travels: `<@U…>` becomes `@Real Name`, a link its label, a
date token its time in UTC, a Block Kit card its text lines and `[buttons]`, Discord's
`<t:…>` a UTC time and its `**bold**` plain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from integrations.sandbox.discord.world import World
    from integrations.sandbox.slack.workspace import Workspace

Json = Mapping[str, Any]
Names = Mapping[str, str]

TIME_FORMAT = "%Y-%m-%d %H:%M UTC"

# Slack: everything between < and > is a token (mentions, links, dates, specials).
_SLACK_TOKEN = re.compile(r"<([^<>]*)>")
# Bold, italic and strike markers around words, as Slack reads them (not inside a word).
_SLACK_MARKS = [
    re.compile(rf"(?<![\w{m}]){m}(?=\S)([^{m}\n]*?\S){m}(?![\w{m}])") for m in (r"\*", "_", "~")
]
_SLACK_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_DISCORD_TIME = re.compile(r"<t:(-?\d{1,13})(?::[tTdDfFR])?>")
_DISCORD_MENTION = re.compile(r"<(@!?|@&|#)(\d{1,21})>")
_DISCORD_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
BUTTON = 2  # Discord component types
SELECTS = frozenset({3, 5, 6, 7, 8})
TEXT_INPUT = 4
RECIPIENT_ADD = 1  # a Discord message type


def when(epoch: int | float) -> str:
    """An instant as the console shows it, in UTC."""
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime(TIME_FORMAT)
    except (OverflowError, OSError, ValueError):
        return str(epoch)


# --- Slack -----------------------------------------------------------------------------------


def slack_text(text: str, names: Names) -> str:
    """Slack mrkdwn as read: mentions by name (`names` maps user, channel and group ids),
    links by label, dates in UTC, no bold/italic/strike markers, entities decoded."""
    plain = _SLACK_TOKEN.sub(lambda found: _slack_token(found.group(1), names), text)
    for marks in _SLACK_MARKS:
        plain = marks.sub(r"\1", plain)
    for entity, char in _SLACK_ENTITIES:
        plain = plain.replace(entity, char)
    return plain


def _slack_token(token: str, names: Names) -> str:
    inside, _, label = token.partition("|")
    if inside.startswith("@"):
        return "@" + names.get(inside[1:], label or inside[1:])
    if inside.startswith("#"):
        return "#" + (label or names.get(inside[1:], inside[1:]))
    if inside.startswith("!date^"):
        epoch = inside.split("^")[1]
        return label or (when(int(epoch)) if epoch.isdigit() else epoch)
    if inside.startswith("!subteam^"):
        group = inside.split("^")[1]
        return label if label.startswith("@") else "@" + (label or names.get(group, group))
    if inside.startswith("!"):
        return "@" + (label or inside[1:])
    return label or inside


def slack_author(message: Json, names: Names) -> str:
    """Who a message shows as: the name a bot posted under (a customer's words), else the
    author's name."""
    shown = message.get("username")
    if isinstance(shown, str) and shown:
        return shown
    user = str(message.get("user") or message.get("bot_id") or "?")
    return names.get(user, user)


def slack_message(message: Json, names: Names) -> str:
    """A message's body: a card as its text lines and `[buttons]`, anything else its text; with
    its files and reactions."""
    blocks = [b for b in message.get("blocks") or [] if b.get("type") != "rich_text"]
    lines = slack_blocks(blocks, names) if blocks else []
    if not lines:
        lines = [slack_text(str(message.get("text") or ""), names)]
    lines.extend(_slack_extras(message))
    return "\n".join(line for line in lines if line)


def slack_blocks(blocks: Iterable[Json], names: Names) -> list[str]:
    """Block Kit as text lines; a row of controls on one line."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(_plain(block.get("text")))
        elif kind == "section":
            lines.extend(_section(block, names))
        elif kind == "context":
            parts = [_object_text(e, names) for e in block.get("elements") or []]
            lines.append(" · ".join(p for p in parts if p))
        elif kind == "actions":
            lines.append(" ".join(_slack_control(e) for e in block.get("elements") or []))
        elif kind == "input":
            lines.append(f"{_plain(block.get('label'))}: {_slack_control(block.get('element'))}")
    return [line for line in lines if line]


def slack_view(view: Json, names: Names | None = None) -> str:
    """A modal as its title, its inputs and its `[Cancel] [Submit]` buttons."""
    lines = [f'dialog "{_plain(view.get("title"))}":']
    lines += slack_blocks(view.get("blocks") or [], names or {})
    buttons = [_plain(view.get(key)) for key in ("close", "submit")]
    lines.append(" ".join(f"[{b}]" for b in buttons if b))
    return "\n".join(line for line in lines if line)


def _section(block: Json, names: Names) -> list[str]:
    lines = []
    if isinstance(block.get("text"), Mapping):
        lines.append(_object_text(block["text"], names))
    fields = [_field(f, names) for f in block.get("fields") or []]
    if fields:
        lines.append(" · ".join(fields))
    accessory = block.get("accessory")
    if isinstance(accessory, Mapping) and accessory.get("type") != "image":
        lines.append(_slack_control(accessory))
    return lines


def _field(field: Json, names: Names) -> str:
    """A card field written "*Label*\\nvalue" reads "Label: value"."""
    text = str(field.get("text") or "")
    label, newline, value = text.partition("\n")
    if newline and label.startswith("*") and label.endswith("*") and len(label) > 2:
        return f"{label[1:-1]}: {slack_text(value, names)}".replace("\n", " ")
    return _object_text(field, names).replace("\n", " ")


def _object_text(obj: Json, names: Names) -> str:
    if obj.get("type") == "mrkdwn":
        return slack_text(str(obj.get("text") or ""), names)
    return _plain(obj)


def _plain(obj: object) -> str:
    return str(obj.get("text") or "") if isinstance(obj, Mapping) else ""


def _slack_control(element: object) -> str:
    if not isinstance(element, Mapping):
        return ""
    kind = element.get("type")
    if kind == "button":
        return f"[{_plain(element.get('text'))}]"
    if kind == "plain_text_input":
        return "[text]"
    chosen = element.get("initial_option")
    shown = _plain(chosen.get("text")) if isinstance(chosen, Mapping) else ""
    return f"[{shown or _plain(element.get('placeholder')) or 'choose'} ▾]"


def _slack_extras(message: Json) -> list[str]:
    extras = [f"[file: {f.get('name')}]" for f in message.get("files") or []]
    reactions = [f":{r.get('name')}:" for r in message.get("reactions") or []]
    if reactions:
        extras.append("(reactions " + " ".join(reactions) + ")")
    return extras


# --- Discord ---------------------------------------------------------------------------------


def discord_text(content: str, names: Names) -> str:
    """Discord markdown as read: mentions by name (`names` maps user, channel and role ids as
    strings), `<t:…>` as a UTC time, no `**bold**` markers."""
    plain = _DISCORD_TIME.sub(lambda found: when(int(found.group(1))), content)
    plain = _DISCORD_MENTION.sub(lambda found: _discord_mention(found, names), plain)
    return _DISCORD_BOLD.sub(r"\1", plain)


def _discord_mention(found: re.Match[str], names: Names) -> str:
    kind, snowflake = found.group(1), found.group(2)
    return ("#" if kind == "#" else "@") + names.get(snowflake, snowflake)


def discord_author(message: Json) -> str:
    """Who a message shows as: the display name, else the user name."""
    return _user_name(message.get("author") or {})


def _user_name(user: Json) -> str:
    return str(user.get("global_name") or user.get("username") or "?")


def discord_message(message: Json, names: Names) -> str:
    """A message's body: its content, its embeds (title, description, fields, footer), its
    files and its `[buttons]`."""
    lines = [discord_text(str(message.get("content") or ""), names)]
    if message.get("type") == RECIPIENT_ADD:  # a notice Discord writes itself
        added = [_user_name(user) for user in message.get("mentions") or []]
        lines.append(f"(added {', '.join(added)} to the thread)")
    for embed in message.get("embeds") or []:
        lines.extend(_embed(embed, names))
    lines.extend(f"[file: {a.get('filename')}]" for a in message.get("attachments") or [])
    for row in message.get("components") or []:
        controls = [_discord_control(c) for c in row.get("components") or [row]]
        lines.append(" ".join(c for c in controls if c))
    return "\n".join(line for line in lines if line)


def _embed(embed: Json, names: Names) -> list[str]:
    lines = [discord_text(str(embed.get(key) or ""), names) for key in ("title", "description")]
    for field in embed.get("fields") or []:
        name = discord_text(str(field.get("name") or ""), names)
        lines.append(f"{name}: {discord_text(str(field.get('value') or ''), names)}")
    footer = embed.get("footer")
    if isinstance(footer, Mapping):
        lines.append(discord_text(str(footer.get("text") or ""), names))
    return lines


def _discord_control(component: Json) -> str:
    kind = component.get("type")
    if kind == BUTTON:
        return f"[{component.get('label') or component.get('emoji', {}).get('name') or '?'}]"
    if kind in SELECTS:
        return f"[{component.get('placeholder') or 'choose'} ▾]"
    if kind == TEXT_INPUT:
        return f"[{component.get('label') or 'text'}: text]"
    return ""


# --- names, from the emulators' state --------------------------------------------------------


def slack_names(workspace: Workspace) -> dict[str, str]:
    """Everyone by real name (the bot by its own name), channels and groups by name."""
    names = {uid: user.real_name or user.name for uid, user in workspace.users.items()}
    names.update({cid: channel.name for cid, channel in workspace.channels.items()})
    names.update({g.id: g.handle for g in workspace.seed.usergroups})
    return names


def discord_names(world: World) -> dict[str, str]:
    """Everyone by display name, channels by name; ids as strings, as they appear in text."""
    names = {str(uid): user.global_name or user.username for uid, user in world.users.items()}
    names.update({str(cid): c.name for cid, c in world.channels.items() if c.name})
    return names
