"""Finders for numbers that identify a person: phones, payment cards, IBANs, IP addresses. Pure.

Each finder reads the normalised view of a text (see `redact.py`: ASCII digits, "-" for every
dash, no invisible characters) and yields the (start, end) spans to hide. Written here rather than
taken from phonenumbers or python-stdnum: those need a country to parse national numbers, and find
numbers one at a time; here a finder must scan free text in every language, fast, and may hide a
little too much but never let a number through.

Phones: an international number (`+44 20 7946 0958`, `0049 30 123456`, `011 44 ...`, a `(0)` or
`(415)` group anywhere); a national number with its trunk 0 (`07700 900123`, `030 123456`,
`06 12 34 56 78`); the North-American shapes (`415.555.0132`, `(415) 555-0132`, `1-800-555-0199`,
`4155550132`, `555-0132`); 7 to 15 digits. Missed knowingly: national numbers with neither a trunk
0 nor the North-American shape (Spanish `612 345 678`, Chinese `138 0013 8000`), which look like a
grouped count or an order number; a number written digit by digit in more than four groups
without a "+", 00 or trunk 0; numbers spelled in words. Never taken: numbers after `#`, `$`, `€`, a
letter, a dot, a time's colon or Discord's `<t:` (tickets, prices, versions, times, timestamps),
numbers inside a dotted or dashed token (`10.0.19045.2965`), dates (`2026-12-06`, `06.12.2026`),
thousands (`12 345 678`), plain runs that are not a trunk or North-American number (order
numbers, timestamps, Discord ids).

Cards: 13 to 19 digits, in groups split by spaces, dashes or dots, starting as the card networks'
numbers do (2 to 6) and Luhn-valid, so order ids, Discord ids (which start with 1) and most
random long numbers survive; every window of a digit run that qualifies is hidden, so a number
glued to other digits by a separator still goes. Missed knowingly: UATP cards (starting with 1),
a number with no separator glued to other digits, letters standing in for digits.

IBANs: a country of the SWIFT registry, its check digits, and exactly that country's length of
letters and digits (single spaces or dashes between them, any case), valid under mod 97. Missed
knowingly: an IBAN broken across lines or with wider gaps.

IP addresses: IPv4 and IPv6 that are globally routable (`ipaddress.is_global`); private, loopback
and documentation addresses (`192.168.1.1`, `10.0.0.1`) identify no one and help an answer, so
they stay. A four-part version string that is also a public address (`1.2.3.4`) is hidden.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

# Phones ------------------------------------------------------------------------------------------

_GROUP = re.compile(r"\([0-9]{1,5}\)|[0-9]+")
# A run of digit groups, joined by one space, dot or dash (a bracketed group needs none), maybe
# after a "+". It never starts after a word character, "#", "^", a currency sign, a dot, a comma
# or a slash, nor after a dash glued to a word (`#A-1042`), a time's colon (`14:30`) or
# Discord's `<t:`; after a word's colon it may (`Tel:07700 900123`, Slack's `<tel:+1...>`).
_PHONE_RUN = re.compile(
    r"(?<![\w#^$€£¥₹.,/+])(?<!\w-)(?<![0-9]:)(?<!<t:)(?:\+ ?)?"
    r"(?:\([0-9]{1,5}\)|[0-9]+)"
    r"(?:(?:[ .-]|(?<=\))|(?=\())(?:\([0-9]{1,5}\)|[0-9]+))*"
    r"(?![\w%]|[.,][0-9])"
)
_MAX_PHONE = 15  # E.164
_YEAR = re.compile(r"(?:19|20)[0-9]{2}")


@dataclass(frozen=True, slots=True)
class _Group:
    start: int
    end: int
    digits: str
    bracketed: bool


def phones(view: str) -> Iterator[tuple[int, int]]:
    """Spans of phone numbers: every window of a run of digit groups that reads as one."""
    for run in _PHONE_RUN.finditer(view):
        at = run.start()
        groups = [
            _Group(at + g.start(), at + g.end(), g[0].strip("()"), g[0][0] == "(")
            for g in _GROUP.finditer(run[0])
        ]
        for first in range(len(groups)):
            plus = first == 0 and run[0].startswith("+")
            # Only a number dialled from abroad or with its trunk 0 or a bracketed area code may
            # come in many small groups; the North-American shapes have at most four.
            lead = groups[first]
            open_ended = plus or lead.bracketed or lead.digits.startswith("0")
            limit = len(groups) if open_ended else min(len(groups), first + 4)
            digits = ""
            for last in range(first, limit):
                digits += groups[last].digits
                if len(digits) > _MAX_PHONE + 3:  # room for a 00 or 011 prefix
                    break
                if len(digits) < 7 or not _stands_alone(view, groups, first, last):
                    continue
                if plus or _is_phone(view, groups[first : last + 1], digits):
                    yield (at if plus else lead.start), groups[last].end


def _stands_alone(view: str, groups: list[_Group], first: int, last: int) -> bool:
    """A window inside a run is a number of its own only where spaces set it apart: inside
    `10.0.19045.2965` or `2026-12-06` there is no phone number."""
    before = first == 0 or view[groups[first - 1].end : groups[first].start] == " "
    return before and (
        last == len(groups) - 1 or view[groups[last].end : groups[last + 1].start] == " "
    )


def _is_phone(view: str, groups: list[_Group], digits: str) -> bool:
    """Whether a window of groups without a leading "+" reads as a phone number."""
    if digits.startswith("000"):  # a zero-padded id
        return False
    if not digits.startswith("0") and len(groups) > 4:
        return any(g.bracketed for g in groups) and len(digits) <= _MAX_PHONE
    seps = [view[a.end : b.start] for a, b in itertools.pairwise(groups)]
    if _is_date(groups, seps):
        return False
    return _dialled(groups, digits) or _north_american(groups, seps, digits)


def _dialled(groups: list[_Group], digits: str) -> bool:
    """An international prefix (011 from North America, 00 from most of the world), a bracketed
    area code or (0), or a national trunk 0."""
    prefix = 3 if digits.startswith("011") else 2 if digits.startswith("00") else 0
    if prefix or any(g.bracketed for g in groups):
        return len(digits) - prefix <= _MAX_PHONE
    return digits[0] == "0" and len(digits) <= 13 and (len(groups) > 1 or len(digits) >= 8)


def _north_american(groups: list[_Group], seps: list[str], digits: str) -> bool:
    shape = [len(g.digits) for g in groups]
    if shape == [10]:
        return _nanp(digits)
    if shape == [11]:
        return digits[0] == "1" and _nanp(digits[1:])
    if shape == [3, 3, 4]:
        return _nanp(digits)
    if shape == [1, 3, 3, 4]:
        return digits[0] == "1" and _nanp(digits[1:])
    # A local number without its area code: only with a dash or dot, as a count is not written.
    return shape == [3, 4] and seps[0] in ("-", ".") and digits[0] in "23456789"


def _nanp(digits: str) -> bool:
    """Ten digits as the North American Numbering Plan gives them: area and exchange 2-9."""
    return len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789"


def _is_date(groups: list[_Group], seps: list[str]) -> bool:
    if len(groups) != 3 or seps[0] != seps[1] or seps[0] not in ("-", "."):
        return False
    sizes = [len(g.digits) for g in groups]
    if sizes[0] == 4:
        return _YEAR.fullmatch(groups[0].digits) is not None and max(sizes[1:]) <= 2
    return sizes[2] == 4 and max(sizes[:2]) <= 2


def phone_key(seen: str) -> str:
    """A phone number's digits as dialled from abroad when that shows, for numbering."""
    digits = "".join(c for c in seen if c.isdigit())
    if seen.lstrip().startswith("+"):
        return digits
    if digits.startswith("011"):
        return digits[3:]
    return digits[2:] if digits.startswith("00") else digits


# Cards -------------------------------------------------------------------------------------------

# Digit groups joined by up to three spaces, tabs, dots or dashes; not after a "+" (a phone).
_DIGIT_RUN = re.compile(r"(?<![0-9+])(?<!\+ )[0-9]+(?:[ \t.-]{1,3}[0-9]+)*(?![0-9])")
_DIGITS = re.compile(r"[0-9]+")


def cards(view: str) -> Iterator[tuple[int, int]]:
    """Spans of payment card numbers: windows of whole groups that pass the Luhn check."""
    for run in _DIGIT_RUN.finditer(view):
        at = run.start()
        digits = ""
        groups: list[tuple[int, int, int, int]] = []  # digit index from, to; view start, end
        for group in _DIGITS.finditer(run[0]):
            groups.append(
                (len(digits), len(digits) + len(group[0]), at + group.start(), at + group.end())
            )
            digits += group[0]
        sums = _luhn_sums(digits)
        for first, (low, _, start, _) in enumerate(groups):
            if digits[low] not in "23456":  # what the card networks' numbers start with
                continue
            for index in range(first, len(groups)):
                _, high, _, end = groups[index]
                if high - low > 19:
                    break
                if high - low >= 13 and (sums[high % 2][high] - sums[high % 2][low]) % 10 == 0:
                    yield start, end


def _luhn_sums(digits: str) -> tuple[list[int], list[int]]:
    """Prefix sums for the Luhn check of any slice in O(1). The check doubles every second
    digit counting from the last, so in digits[low:high] it doubles the places of the parity
    of `high`: sums[p][k] adds digits[:k], doubling those at places of parity p."""
    sums: tuple[list[int], list[int]] = ([0], [0])
    for place, char in enumerate(digits):
        value = int(char)
        doubled = value * 2 - 9 if value > 4 else value * 2
        for parity in (0, 1):
            sums[parity].append(sums[parity][-1] + (doubled if place % 2 == parity else value))
    return sums


# IBANs -------------------------------------------------------------------------------------------

# Length of each country's IBAN, from the SWIFT IBAN registry (release 101).
_IBAN_REGISTRY = (
    "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 "
    "DJ27 DK18 DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 "
    "HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 "
    "MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 "
    "RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 "
    "VA22 VG24 XK20 YE30"
)
_IBAN_LENGTHS = {entry[:2]: int(entry[2:]) for entry in _IBAN_REGISTRY.split()}
# Country, check digits, then letters and digits with single spaces or dashes; cut to length
# afterwards, so a word written right after the number does not hide it. Read in a look-ahead,
# so what is read past one IBAN's end is read again for the next.
_IBAN = re.compile(r"(?<![A-Za-z0-9])(?=([A-Za-z]{2} ?[0-9]{2}(?:[ -]?[A-Za-z0-9]){11,30}))")


def ibans(view: str) -> Iterator[tuple[int, int]]:
    """Spans of IBANs of the registry's countries that pass the mod-97 check."""
    for match in _IBAN.finditer(view):
        candidate = match[1]
        length = _IBAN_LENGTHS.get(candidate[:2].upper())
        places = [at for at, char in enumerate(candidate) if char.isalnum()]
        if length is None or len(places) < length:
            continue
        compact = "".join(candidate[at] for at in places[:length]).upper()
        if _mod97(compact[4:] + compact[:4]) == 1:
            yield match.start(), match.start() + places[length - 1] + 1


def _mod97(text: str) -> int:
    return int("".join(str(int(char, 36)) for char in text)) % 97


# IP addresses ------------------------------------------------------------------------------------

_IPV4 = re.compile(r"(?<![\w.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![\w]|\.[0-9])")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:[0-9]{1,3}\.){3}[0-9]{1,3})?"
    r"(?![\w:])"
)


def ips(view: str) -> Iterator[tuple[int, int]]:
    """Spans of globally routable IPv4 and IPv6 addresses."""
    for pattern in (_IPV4, _IPV6):
        for match in pattern.finditer(view):
            try:
                address = ipaddress.ip_address(match[0])
            except ValueError:  # a time, a version, a MAC address
                continue
            if address.is_global:
                yield match.span()
