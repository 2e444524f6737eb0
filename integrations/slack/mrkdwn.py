"""Text crossing between Slack mrkdwn and Discord Markdown, as each client renders it. Pure.

Slack sends `&`, `<` and `>` as entities and uses `<...>` only for links and mentions; Discord
takes the characters as they are and has its own Markdown flavour. So an agent's reply is decoded
and converted before it is stored (the stored body is what the customer sees), and a customer's
message is converted and escaped before it is posted into the ticket's thread.

Why not the `markdown-to-mrkdwn` package: it targets CommonMark, not Discord (it reads
`__underline__` as bold), converts inside inline code, turns `2*3*4` into `2_3_4` and escapes
nothing, so a customer's `<!channel>` would ping. The two small converters below follow the
clients' own rules instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from integrations.slack.blocks import escape

# --- Slack mrkdwn -> Discord Markdown (agents' replies) ------------------------------------

_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
# Slack code: a block between triple backticks (may span lines), or inline between single ones.
_SLACK_CODE = re.compile(r"```(.*?)```|`([^`\n]+)`", re.S)
# Real `<` and `>` arrive as entities, so any <...> left is markup: a link or a mention.
_SLACK_MARKUP = re.compile(r"<([^<>\n]*)>")
# *bold* _italic_ ~strike~: the marker touches a word on its inner side only, and none spans
# a line (Slack's own rule), so `2*3*4` and snake_case stay as they are. The words inside hold
# no marker of the same kind: that keeps the search linear on a long line full of markers.
_SLACK_STYLE = re.compile(
    r"(?<![\w*_~])"
    r"(?:\*(?=[^\s*])([^\n*]*[^\s*])\*|_(?=[^\s_])([^\n_]*[^\s_])_|~(?=[^\s~])([^\n~]*[^\s~])~)"
    r"(?![\w*_~])"
)
_DISCORD_STYLE = {"*": "**", "_": "*", "~": "~~"}
_SLACK_USER = re.compile(r"^@([UW][A-Z0-9]+)(?:\|(.*))?$", re.S)
# Characters Discord would read as Markdown where Slack shows them as they are.
_DISCORD_LITERAL = re.compile(
    r"[*`]|\\(?=[^\w\s])|~(?=~)|\|(?=\|)|\](?=\()|(?<!\w)_|_(?!\w)"
    r"|^(?=#{1,3} )#|^(?=-# )-|<(?=[@#:/]|a:|t:|id:)",
    re.M,
)
_PINGS = re.compile(r"@(everyone|here)", re.I)


def decode(text: str) -> str:
    """Slack's three entities back to the characters a person typed."""
    return _ENTITY.sub(lambda m: _ENTITIES[m.group()], text)


def slack_user_ids(text: str) -> set[str]:
    """The users mentioned as `<@U…>` in Slack text (so their names can be looked up)."""
    found = (_SLACK_USER.match(m.group(1)) for m in _SLACK_MARKUP.finditer(text))
    return {m.group(1) for m in found if m is not None}


def to_discord(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn (as an event carries it) as Discord Markdown that renders the same.

    `names` maps Slack user ids to the names shown for their mentions.
    """
    people = names or {}
    out: list[str] = []
    at = 0
    for code in _SLACK_CODE.finditer(text):
        out.append(_slack_prose(text[at : code.start()], people))
        if code.group(1) is not None:
            inside = decode(code.group(1))
            out.append(f"```{'' if inside.startswith(chr(10)) else chr(10)}{inside}```")
        else:
            out.append(f"`{decode(code.group(2))}`")
        at = code.end()
    out.append(_slack_prose(text[at:], people))
    return "".join(out)


def _slack_prose(text: str, names: Mapping[str, str]) -> str:
    out: list[str] = []
    at = 0
    for markup in _SLACK_MARKUP.finditer(text):
        out.append(_slack_styled(text[at : markup.start()]))
        out.append(_slack_markup(markup.group(1), names))
        at = markup.end()
    out.append(_slack_styled(text[at:]))
    return "".join(out)


def _slack_styled(text: str) -> str:
    def styled(m: re.Match[str]) -> str:
        marker = _DISCORD_STYLE[m.group()[0]]
        inner = next(g for g in m.groups() if g is not None)
        return marker + _slack_styled(inner) + marker

    return _restyle(text, _SLACK_STYLE, styled, lambda plain: _discord_literal(decode(plain)))


def _slack_markup(inner: str, names: Mapping[str, str]) -> str:
    target, _, label = inner.partition("|")
    target, label = decode(target), decode(label)
    user = _SLACK_USER.match(inner)
    if user:
        return "@" + _discord_literal(label or names.get(user.group(1)) or user.group(1))
    if target.startswith("#"):
        return "#" + _discord_literal(label or "channel")
    if target.startswith("!"):
        return _special(target[1:], label)
    if target.startswith("mailto:"):
        return _discord_literal(label or target.removeprefix("mailto:"))
    if not label or label == target:
        return target
    return f"[{_discord_literal(label)}]({target})"


def _special(name: str, label: str) -> str:
    """`<!here>`, `<!subteam^S1|@leads>`, `<!date^…|fallback>`: their words, pinging nobody."""
    kind = name.split("^", 1)[0]
    if kind == "date":
        return _discord_literal(label)
    shown = (label or kind).removeprefix("@")
    return "@\u200b" + _discord_literal(shown)  # a zero-width space: Discord pings nobody


def _discord_literal(text: str) -> str:
    escaped = _DISCORD_LITERAL.sub(lambda m: "\\" + m.group(), text)
    return _PINGS.sub(lambda m: "@\u200b" + m.group(1), escaped)


# --- Discord Markdown -> Slack mrkdwn (customers' messages) --------------------------------

_DISCORD_CODE = re.compile(r"```(?:[\w+-]*\n)?(.*?)```|(`+)(.+?)\2", re.S)
_DISCORD_LINK = re.compile(r"\[([^\[\]\n]+)\]\(<?(https?://[^\s()<>]+)>?\)|<(https?://[^\s<>]+)>")
# Longest markers first: ***x*** before **x** before *x*; __x__ (underline) before _x_.
# Discord's longest message: a styled span never runs longer, and bounding it keeps the search
# from scanning to the end of the text for every unclosed marker.
DISCORD_SPAN = 4000
# A backslash-escaped character first: it is the character itself, never a marker.
_DISCORD_STYLES = re.compile(
    r"\\([^\w\s])"
    rf"|(?s:(\*\*\*|\*\*|__|~~|\|\||\*|_)(?=\S)((?:\\.|[^\\]){{1,{DISCORD_SPAN}}}?)(?<=\S)\2)"
    r"|^(#{1,3}|-#) +([^\n]+)$",
    re.M,
)
_SLACK_STYLE_OF = {"***": ("*_", "_*"), "**": ("*", "*"), "*": ("_", "_"), "_": ("_", "_")}
_SLACK_STYLE_OF.update({"~~": ("~", "~"), "__": ("", ""), "||": ("||", "||")})


def to_slack(text: str) -> str:
    """Discord Markdown (as a customer typed it) as Slack mrkdwn that renders the same, with
    `&`, `<` and `>` escaped everywhere outside the links it makes."""
    out: list[str] = []
    at = 0
    for code in _DISCORD_CODE.finditer(text):
        out.append(_discord_prose(text[at : code.start()]))
        if code.group(1) is not None:
            out.append(f"```{escape(code.group(1))}```")
        else:
            out.append(f"`{escape(code.group(3).strip() or code.group(3))}`")
        at = code.end()
    out.append(_discord_prose(text[at:]))
    return "".join(out)


def _discord_prose(text: str) -> str:
    out: list[str] = []
    at = 0
    for link in _DISCORD_LINK.finditer(text):
        out.append(_discord_styled(text[at : link.start()]))
        if link.group(3):
            out.append(f"<{_link_target(link.group(3))}>")
        else:
            label = _discord_styled(link.group(1)).replace("|", "\N{DIVIDES}")
            out.append(f"<{_link_target(link.group(2))}|{label}>")
        at = link.end()
    out.append(_discord_styled(text[at:]))
    return "".join(out)


def _link_target(url: str) -> str:
    # Inside Slack's <url|label>, `|` and `>` would end the markup and `&` must be an entity.
    return escape(url).replace("|", "%7C")


def _discord_styled(text: str) -> str:
    def styled(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return escape(m.group(1))
        if m.group(4) is not None:  # a heading (bold in Slack) or subtext (plain)
            inner = _discord_styled(m.group(5))
            return inner if m.group(4) == "-#" else f"*{inner}*"
        opening, closing = _SLACK_STYLE_OF[m.group(2)]
        return opening + _discord_styled(m.group(3)) + closing

    return _restyle(text, _DISCORD_STYLES, styled, escape)


def _restyle(
    text: str,
    pattern: re.Pattern[str],
    styled: Callable[[re.Match[str]], str],
    plain: Callable[[str], str],
) -> str:
    out: list[str] = []
    at = 0
    for m in pattern.finditer(text):
        out.append(plain(text[at : m.start()]))
        out.append(styled(m))
        at = m.end()
    out.append(plain(text[at:]))
    return "".join(out)
