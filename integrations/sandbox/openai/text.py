"""Words, sentences and token counts: the deterministic text arithmetic of the model server."""

from __future__ import annotations

import math
import re

_SPACE = re.compile(r"\s+")
# After . ! ? or an ellipsis a space ends a sentence; the CJK full stops end one by themselves.
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])\s|(?<=[\u3002\uff01\uff1f])")
_WORD = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
CHARS_PER_TOKEN = 4
STEM = 4  # words this long or longer match their longer forms ("refund" ~ "refunds")


def count_tokens(text: str) -> int:
    """A stand-in for a tokenizer: one token per four characters, rounded up.

    Real tokenizers give about that for English; the sandbox needs a count that is the same on
    every run, not an exact one.
    """
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def truncate_to_tokens(text: str, tokens: int) -> str:
    """The longest prefix of `text` that counts as at most `tokens` tokens."""
    return text[: max(0, tokens) * CHARS_PER_TOKEN]


def first_sentence(text: str) -> str:
    """The first sentence (or first line) of `text`, whitespace collapsed."""
    line = next((part for part in text.strip().splitlines() if part.strip()), "")
    flat = _SPACE.sub(" ", line).strip()
    return _SENTENCE_END.split(flat, maxsplit=1)[0] if flat else ""


def trim(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at its last word boundary when it has one."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > 0:
        cut = cut[:space]
    return cut.rstrip(" ,;:-")


def words(text: str) -> list[str]:
    """Lower-case words, splitting snake_case and camelCase ("refundRequested" -> two words)."""
    return [w.lower() for w in _WORD.findall(_CAMEL.sub(" ", text))]


def related(one: str, other: str) -> bool:
    """The same word, or a longer form of it ("charge" ~ "charged", "bill" ~ "billing")."""
    if one == other:
        return True
    shorter, longer = sorted((one, other), key=len)
    return len(shorter) >= STEM and longer.startswith(shorter)


def overlap(candidate: str, vocabulary: frozenset[str]) -> int:
    """How many words of `candidate` occur (or are related to a word) in `vocabulary`."""
    return sum(1 for word in words(candidate) if any(related(word, v) for v in vocabulary))
