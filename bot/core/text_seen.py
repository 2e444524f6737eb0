"""Which characters a person sees. Pure; shared by the note classifier and the policy checks."""

from __future__ import annotations

import unicodedata

# Characters that render as nothing, yet are not format characters (category Cf).
BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")


def invisible(char: str) -> bool:
    """Format characters (zero-width space and joiners, byte order mark, word joiner, soft
    hyphen, bidi marks), controls, combining marks and blank-looking fillers."""
    return char in BLANKS or unicodedata.category(char) in ("Cf", "Cc", "Mn", "Me")


def visible(text: str) -> bool:
    """Whether `text` shows anything but whitespace."""
    shown = unicodedata.normalize("NFKD", text)
    return any(not c.isspace() and not invisible(c) for c in shown)
