"""What a person types, as Slack sends it: `&`, `<` and `>` escaped, markup only where the
person's client made it (picking someone after `@`, a channel after `#`, pasting a link).

Text a simulated person types is plain: `Q&A <b>` reaches the app as `Q&amp;A &lt;b&gt;`, as in
Slack. Mentions and links are made with the helpers below, which mark their markup so it
survives the escaping: `f"{mention(DEMO.agent2)} can you look?"`.
"""

from __future__ import annotations

import re

# Private-use characters around the markup a helper made; nobody types them.
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARKED = re.compile(f"{_OPEN}(<[^{_CLOSE}]*>){_CLOSE}")


def _marked(markup: str) -> str:
    return f"{_OPEN}{markup}{_CLOSE}"


def mention(user_id: str) -> str:
    """`@someone`, picked from the list: `<@U…>`."""
    return _marked(f"<@{user_id}>")


def channel_mention(channel_id: str, name: str = "") -> str:
    """`#channel`, picked from the list: `<#C…|name>`."""
    return _marked(f"<#{channel_id}|{escape(name)}>")


def special(name: str) -> str:
    """`@here`, `@channel` or `@everyone`: `<!here>`."""
    return _marked(f"<!{name}>")


def group_mention(group_id: str, handle: str) -> str:
    """A user group, picked from the list: `<!subteam^S…|@handle>`."""
    return _marked(f"<!subteam^{group_id}|@{escape(handle.lstrip('@'))}>")


def link(url: str, label: str | None = None) -> str:
    """A link (with a label, as the formatting toolbar makes it): `<url|label>`."""
    shown = f"|{escape(label)}" if label else ""
    return _marked(f"<{escape(url)}{shown}>")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def as_sent(typed: str) -> str:
    """The event `text` for what was typed: all of it escaped but the helpers' markup."""
    out: list[str] = []
    at = 0
    for found in _MARKED.finditer(typed):
        out.append(escape(typed[at : found.start()]))
        out.append(found.group(1))
        at = found.end()
    out.append(escape(typed[at:]))
    return "".join(out)


def as_shown(typed: str) -> str:
    """The words as the person sees them in the composer (for the `rich_text` block)."""
    return typed.replace(_OPEN, "").replace(_CLOSE, "")
