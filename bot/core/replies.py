"""Is an agent's message for the customer or an internal note? Pure, and decided in one place.

Notes never leave the agents' side; when in doubt a message is a note, since a note sent by
mistake can be re-sent, but a reply cannot be unsent.

A note prefix is looked for in the text as a person sees it, not in its bytes:
- the three entities a workspace may send (`&amp;` `&lt;` `&gt;`) are read as their characters;
- each character is compared in compatibility form without case or accents (NFKD, casefolded,
  combining marks dropped), so full-width semicolons (U+FF1B) are `;;` and a full-width
  `NOTE:` is `note:`;
- invisible characters count for nothing: format characters (zero-width space and joiners, byte
  order mark, word joiner, soft hyphen, bidi marks), controls, and blank-looking fillers;
- neither does whitespace, anywhere before or inside the prefix (`note :`, `; ;`, `  ;;`);
- nor formatting before or inside it: `*` `_` `~` and backticks (bold, italic, strike, code)
  and `>` (a quote), so `*;;*`, `> ;;` and `` `;;` `` are notes.
A text with nothing visible in it is treated as empty. The reply prefix, which sends a message
out on purpose, must be typed as it is (only leading whitespace is skipped): a mistyped one
leaves the message inside, which is the safe side.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from bot.config import ReplyPolicy
from bot.core.text_seen import invisible as _invisible

_ENTITY = re.compile(r"&(amp|lt|gt);")
_DECODED = {"amp": "&", "lt": "<", "gt": ">"}
# Markup around or inside a prefix: bold, italic, strike, code, quote.
_FORMATTING = frozenset("*_~`>")


@dataclass(frozen=True, slots=True)
class Outgoing:
    internal: bool
    body: str  # with the prefix that decided it removed


def classify(
    text: str,
    policy: ReplyPolicy,
    *,
    mentions_colleague: bool = False,
    via_shortcut: bool = False,
    with_files: bool = False,
) -> Outgoing:
    """Decide whether `text`, written in a ticket's thread, goes to the customer.

    `mentions_colleague`: it mentions a workspace user or group, so it is addressed to
    colleagues (a mention means nothing to the customer). `via_shortcut`: it was sent with the
    explicit "Reply to customer" action. `with_files`: files were shared with it, so even
    without words it has something for the customer (a note prefix still keeps it inside).
    The body kept is the text as written (for a note, with its prefix removed).
    """
    # Only the head of the text can hold a prefix: enough of it for the longest one (a pasted
    # log of a megabyte is not folded character by character).
    seen = _seen(text, max(len(_fold(p)) for p in policy.note_prefixes) + 1)
    for prefix in policy.note_prefixes:
        end = _prefix_end(seen, _fold(prefix), text)
        if end is not None:
            return Outgoing(True, _after_prefix(text, seen, end))
    stripped = text.strip()
    visible = any(not _ignorable(c) for c, _ in seen)
    if mentions_colleague:
        return Outgoing(True, stripped)
    head = list(islice(_decoded(stripped), len(policy.reply_prefix)))
    if "".join(c for c, _ in head) == policy.reply_prefix:
        body = stripped[head[-1][1] :].strip()
        return Outgoing(not (_has_visible(body) or with_files), body)
    if via_shortcut or policy.reply_mode == "public":
        return Outgoing(not (visible or with_files), stripped)
    return Outgoing(True, stripped)


def _decoded(text: str) -> Iterator[tuple[str, int]]:
    """Each character a person sees, with the index in `text` just after it."""
    at = 0
    while at < len(text):
        entity = _ENTITY.match(text, at)
        if entity:
            yield _DECODED[entity.group(1)], entity.end()
            at = entity.end()
        else:
            yield text[at], at + 1
            at += 1


def _fold(text: str) -> str:
    """Compatibility form, no case, no accents, nothing invisible."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(c for c in folded if not _invisible(c))


def _seen(text: str, visible: int) -> list[tuple[str, int]]:
    """The folded characters at the head of `text` up to its `visible`-th visible one, each
    with the index in `text` just after its source."""
    out: list[tuple[str, int]] = []
    for char, end in _decoded(text):
        for c in _fold(char):
            out.append((c, end))
            visible -= not _ignorable(c)
        if visible <= 0:
            break
    return out


def _ignorable(char: str) -> bool:
    return char.isspace() or char in _FORMATTING or _invisible(char)


def _has_visible(text: str) -> bool:
    return any(not _ignorable(c) for c, _ in _seen(text, 1))


def _prefix_end(seen: list[tuple[str, int]], prefix: str, text: str) -> int | None:
    """Where in `text` the prefix ends, when the text starts with it as a person sees it."""
    wanted = "".join(c for c in prefix if not c.isspace())
    if not wanted:
        return None
    at = 0
    for want in wanted:
        while at < len(seen) and seen[at][0] != want and _ignorable(seen[at][0]):
            at += 1
        if at == len(seen) or seen[at][0] != want:
            return None
        at += 1
    return seen[at - 1][1]


def _after_prefix(text: str, seen: list[tuple[str, int]], end: int) -> str:
    """A note's words: what follows its prefix, less the markup that wrapped the prefix
    (`*;;* words` keeps `words`, not `* words`)."""
    lead = []
    for char, stop in seen:
        if not _ignorable(char):
            break
        if char in _FORMATTING and char != ">":
            lead.append(text[stop - 1])
    rest = _strip_invisible(text[end:])
    closing = "".join(reversed(lead))
    while closing and not rest.startswith(closing):
        closing = closing[1:]
    return _strip_invisible(rest[len(closing) :]).rstrip()


def _strip_invisible(text: str) -> str:
    at = 0
    while at < len(text) and (text[at].isspace() or _invisible(text[at])):
        at += 1
    return text[at:]
