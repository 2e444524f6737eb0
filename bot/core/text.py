"""Splitting long messages for platforms with a length limit. Pure functions.

A message is cut at the last paragraph break that fits, else the last line break, else the last
sentence end, else the last space: never inside a word, unless a single word is longer than the
limit (a URL of 3,000 characters, say), which is then cut where it must be.
"""

from __future__ import annotations

import re

# A sentence ends with . ! ? or …, maybe followed by closing quotes or brackets, then a space.
_SENTENCE_END = re.compile(r"[.!?…][)\"'»”’]*\s")  # noqa: RUF001 (typographic quotes on purpose)


def split_message(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters that, joined with the whitespace at each cut,
    give back the text; empty text gives no pieces."""
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _cut_point(text: str, limit: int) -> int:
    window = text[: limit + 1]  # a break right after the limit still lets the piece fit
    for separator in ("\n\n", "\n"):
        at = window.rfind(separator)
        if at > 0:
            return at
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() - 1 <= limit]
    if sentence_ends and sentence_ends[-1] > 0:
        return sentence_ends[-1]
    at = max(window.rfind(" "), window.rfind("\t"))
    if at > 0:
        return at
    return limit  # one word longer than the limit: no better place exists
