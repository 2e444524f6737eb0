"""Personal data out of text before it leaves for a model. Pure functions, no I/O.

`redact(text)` replaces email addresses, phone numbers, payment card numbers, secrets (API keys,
passwords, bearer tokens, private keys), IBANs and public IP addresses with placeholders such as
`[email 1]` or `[card 2]`, and says how many of each it found.

Placeholders are numbered, and the same value gets the same number (an address written twice, once
in capitals, is `[email 1]` both times), so a model can still tell two addresses apart and say which
one a customer used, without learning either. They carry nothing of the value: no domain, no last
four digits. A `Redactor` keeps one numbering across several texts (the messages of a ticket) and
can put the values back into a model's answer (`restore`) for text bound to a person; it holds the
values in memory only, and its repr shows none.

Unicode tricks must not let a value through: matching runs on a normalised view of the text (NFKC,
so full-width digits and letters fold to ASCII; invisible format characters, controls and combining
marks removed; other scripts' decimal digits folded to ASCII; every dash folded to "-"), and each
finding is mapped back to the characters of the original that produced it. The output keeps all
other text exactly as written: normalising it would cost a multilingual community more (joined
emoji split apart, Thai and Devanagari vowel signs stripped, Japanese half-width kana widened) than
the little the mapping costs here.

What each kind catches and what it knowingly misses is said in `redact_patterns.py` (emails,
secrets) and `redact_numbers.py` (phones, cards, IBANs, IP addresses).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from bot.core.text_seen import invisible
from integrations.ai import redact_numbers, redact_patterns

log = logging.getLogger(__name__)


class Kind(StrEnum):
    """A kind of personal data; its value is the word in its placeholder."""

    EMAIL = "email"
    PHONE = "phone"
    CARD = "card"
    TOKEN = "token"  # noqa: S105 (the kind's name, not a password)
    IBAN = "iban"
    IP = "ip"


ALL: frozenset[Kind] = frozenset(Kind)

# When findings of two kinds overlap they become one placeholder, named after the kind that comes
# first here: the more specific a pattern (a checksum, a vendor prefix), the earlier.
_PRIORITY = (Kind.TOKEN, Kind.IBAN, Kind.CARD, Kind.EMAIL, Kind.PHONE, Kind.IP)

_FINDERS: Mapping[Kind, Callable[[str], Iterable[tuple[int, int]]]] = {
    Kind.EMAIL: redact_patterns.emails,
    Kind.TOKEN: redact_patterns.tokens,
    Kind.PHONE: redact_numbers.phones,
    Kind.CARD: redact_numbers.cards,
    Kind.IBAN: redact_numbers.ibans,
    Kind.IP: redact_numbers.ips,
}

# What a placeholder looks like (`[email 1]`), to find them in a model's answer or take them out.
PLACEHOLDER = re.compile(r"\[(email|phone|card|token|iban|ip) ([0-9]+)\]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Redacted:
    """A text with its personal data replaced, and how many findings of each kind it had (kinds
    with none are absent)."""

    text: str
    found: Mapping[Kind, int]


def redact(text: str, kinds: Collection[Kind] = ALL) -> Redacted:
    """`text` with every finding of `kinds` replaced by a numbered placeholder."""
    return Redactor(kinds).redact(text)


class Redactor:
    """Redacts several texts with one numbering, so `[email 1]` is the same address in all of
    them, and puts the values back into a model's answer. Keep one per ticket and prompt; never
    log or store it (it holds the values it hid)."""

    def __init__(self, kinds: Collection[Kind] = ALL) -> None:
        self._kinds = tuple(kind for kind in _PRIORITY if kind in kinds)
        self._placeholders: dict[tuple[Kind, str], str] = {}
        self._numbers: Counter[Kind] = Counter()
        self._values: dict[str, str] = {}

    def __repr__(self) -> str:
        kinds = ",".join(self._kinds)
        return f"Redactor(kinds={kinds}, placeholders={len(self._values)})"

    def redact(self, text: str) -> Redacted:
        """`text` with its findings replaced; numbering continues from earlier calls."""
        view = _View.of(text)
        pieces: list[str] = []
        found: Counter[Kind] = Counter()
        done = 0
        for start, end, kind in _merged(self._findings(view.text)):
            begin, stop = view.original(start, end)
            pieces.append(text[done:begin])
            pieces.append(self._placeholder(kind, view.text[start:end], text[begin:stop]))
            found[kind] += 1
            done = stop
        pieces.append(text[done:])
        if found:
            log.debug("redacted %s", dict(found))  # counts only: never the values
        return Redacted("".join(pieces), dict(found))

    def restore(self, text: str) -> str:
        """`text` (a model's answer) with the placeholders this redactor made put back as the
        person wrote them (less invisible characters); others stay as they are."""

        def value(match: re.Match[str]) -> str:
            placeholder = f"[{match[1].lower()} {int(match[2])}]"
            return self._values.get(placeholder, match[0])

        return PLACEHOLDER.sub(value, text)

    def _findings(self, view: str) -> Iterable[tuple[int, int, Kind]]:
        for kind in self._kinds:
            for start, end in _FINDERS[kind](view):
                yield start, end, kind

    def _placeholder(self, kind: Kind, seen: str, written: str) -> str:
        key = (kind, _canonical(kind, seen))
        placeholder = self._placeholders.get(key)
        if placeholder is None:
            self._numbers[kind] += 1
            placeholder = f"[{kind} {self._numbers[kind]}]"
            self._placeholders[key] = placeholder
            self._values[placeholder] = "".join(c for c in written if not _hidden(c))
        return placeholder


def _merged(findings: Iterable[tuple[int, int, Kind]]) -> Iterable[tuple[int, int, Kind]]:
    """Overlapping findings as one span: what any finder saw stays hidden, whole."""
    rank = {kind: place for place, kind in enumerate(_PRIORITY)}
    current: tuple[int, int, Kind] | None = None
    for start, end, kind in sorted(findings):
        if current is not None and start < current[1]:
            first = min(current[2], kind, key=rank.__getitem__)
            current = (current[0], max(current[1], end), first)
            continue
        if current is not None:
            yield current
        current = (start, end, kind)
    if current is not None:
        yield current


def _canonical(kind: Kind, seen: str) -> str:
    """What makes two findings the same value, for numbering."""
    if kind is Kind.EMAIL:
        return seen.casefold()
    if kind is Kind.PHONE:
        return redact_numbers.phone_key(seen)
    if kind is Kind.CARD:
        return "".join(c for c in seen if c.isdigit())
    if kind is Kind.IBAN:
        return "".join(c for c in seen if c.isalnum()).upper()
    return seen.lower() if kind is Kind.IP else seen


# Normalised view ---------------------------------------------------------------------------------

# Text made only of printable ASCII and whitespace is its own view: the common case, and fast.
_PLAIN = re.compile(r"[\t\n\v\f\r\x20-\x7e]*")
# Dots that IDNA reads as label separators (ideographic, full-width, half-width full stops).
_DOTS = frozenset("\u3002\uff0e\uff61")


def _hidden(char: str) -> bool:
    """Characters a person does not see as text (whitespace aside), and spacing marks, which
    belong to the letter before them: none of them may split a secret in the view."""
    if char.isspace():
        return False
    return invisible(char) or unicodedata.category(char) == "Mc"


def _mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


@lru_cache(maxsize=8192)
def _fold(chunk: str) -> str:
    """A letter and its marks as matching sees them."""
    return "".join(_fold_char(c) for c in unicodedata.normalize("NFKC", chunk) if not _hidden(c))


def _fold_char(char: str) -> str:
    if char in _DOTS:
        return "."
    if char == "\u2212" or unicodedata.category(char) == "Pd":  # minus sign, dashes
        return "-"
    if char.isdecimal() and not char.isascii():
        return str(unicodedata.decimal(char))
    return char


@dataclass(frozen=True, slots=True)
class _View:
    """The text as matching sees it, and where each of its characters came from."""

    text: str
    starts: list[int] | None  # None: the view is the text itself
    ends: list[int] | None

    @classmethod
    def of(cls, text: str) -> _View:
        if _PLAIN.fullmatch(text):
            return cls(text, None, None)
        seen: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        at, size = 0, len(text)
        while at < size:
            if _hidden(text[at]):
                at += 1
                continue
            after, end = at + 1, at + 1
            while after < size and _hidden(text[after]):
                after += 1
                if _mark(text[after - 1]):
                    end = after  # a finding takes its letters' marks, not what follows them
            # The marks are composed with their letter (e + acute -> é) before the rest is dropped.
            chunk = text[at] + "".join(c for c in text[at + 1 : after] if _mark(c))
            for char in _fold(chunk):
                seen.append(char)
                starts.append(at)
                ends.append(end)
            at = after
        return cls("".join(seen), starts, ends)

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that view[start:end] came from (end > start)."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]
