"""Personal data never reaches a model: whatever the secret, however it is written, it is hidden.

Each property generates a secret of one kind, disguises it the ways text arrives from Discord and
Slack (full-width or other scripts' digits, zero-width and other invisible characters inside it),
embeds it in random Unicode text, and checks the redacted text as a reader (or a model) sees it:
NFKC-normalised, invisible characters removed. Random keys are drawn from a seeded generator, as
real keys are random; a shrunk example is still a realistic key.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import re
import string
import time
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.text_seen import invisible
from integrations.ai.redact import ALL, Kind, Redacted, Redactor, redact
from integrations.ai.redact_numbers import _IBAN_LENGTHS

INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\u200e",  # left-to-right mark
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u034f",  # combining grapheme joiner
    "\ufe0f",  # variation selector
    "\u0336",  # combining long stroke overlay
    "\u3164",  # Hangul filler
    "\U000e0041",  # tag latin capital letter a
]
# Digits as other scripts and styles write them; NFKC folds some, the redactor folds the rest.
DIGIT_STYLES = [0xFF10, 0x1D7CE, 0x1D7EC, 0x0660, 0x06F0, 0x0966, 0x09E6]
PLACEHOLDER = re.compile(r"\[(?:email|phone|card|token|iban|ip) [0-9]+\]")

surrounding = st.text(max_size=30)


def seen(text: str) -> str:
    """Text as a person sees it: NFKC, invisible characters gone, every script's digits ASCII."""
    return "".join(
        str(unicodedata.decimal(char)) if char.isdecimal() else char
        for char in unicodedata.normalize("NFKC", text)
        if char.isspace() or not (invisible(char) or unicodedata.category(char) == "Mc")
    )


def wide(text: str) -> str:
    """`text` in full-width characters, as East Asian keyboards type it."""
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


def digits_of(text: str) -> str:
    return "".join(c for c in seen(PLACEHOLDER.sub(" ", text)) if c.isdigit())


def alphanumerics_of(text: str) -> str:
    return "".join(c for c in seen(PLACEHOLDER.sub(" ", text)) if c.isalnum()).upper()


def assert_absent(
    value: str, text: str, written: str, result: Redacted, view: Callable[[str], str]
) -> None:
    """`value` is not in the redacted text as `view` shows it, unless the random text around
    the secret spells it by itself (its digits before and after may, read without the gaps)."""
    if value in view(text.replace(written, " ")):
        return
    assert value not in view(result.text), result.text


@st.composite
def disguised(draw: st.DrawFn, secret: str) -> str:
    """`secret` as it may arrive: characters full-width, digits in another script, invisible
    characters slipped between them."""
    out = []
    for char in secret:
        style = draw(st.integers(0, 5))
        if char.isdigit() and style == 1:
            out.append(chr(draw(st.sampled_from(DIGIT_STYLES)) + int(char)))
        elif "!" <= char <= "~" and style == 2:
            out.append(wide(char))
        else:
            out.append(char)
        if draw(st.integers(0, 4)) == 0:
            out.append(draw(st.sampled_from(INVISIBLE)))
    return "".join(out)


@st.composite
def embedded(draw: st.DrawFn, secret: str, leads: list[str]) -> str:
    """`secret` inside random text, after a lead-in a person would write."""
    before, after = draw(surrounding), draw(surrounding)
    lead, trail = draw(st.sampled_from(leads)), draw(st.sampled_from(["", ".", ",", "!", " ok"]))
    return f"{before} {lead}{secret}{trail} {after}"


def randomly(seed: bytes, alphabet: str, size: int) -> str:
    chooser = random.Random(seed)
    return "".join(chooser.choice(alphabet) for _ in range(size))


seeds = st.binary(min_size=8, max_size=8)
ALNUM = string.ascii_letters + string.digits
B64URL = ALNUM + "-_"


# Emails -----------------------------------------------------------------------------------------

letters = st.characters(categories=["Ll", "Lu", "Lo"]).filter(
    lambda c: (
        len(unicodedata.normalize("NFKC", c)) == 1 and unicodedata.normalize("NFKC", c).isalpha()
    )
)
atoms = st.text(st.one_of(st.sampled_from(ALNUM + "_+-"), letters), min_size=1, max_size=12)
labels = st.text(st.one_of(st.sampled_from(ALNUM), letters), min_size=1, max_size=12)
tlds = st.one_of(
    st.sampled_from(["com", "org", "de", "co.uk", "io", "рф", "中国", "xn--p1ai", "museum"]),
    st.text(letters, min_size=2, max_size=6),
)
handmade_emails = st.builds(
    lambda local, domain, tld: f"{'.'.join(local)}@{'.'.join(domain)}.{tld}",
    st.lists(atoms, min_size=1, max_size=3),
    st.lists(labels, min_size=1, max_size=3),
    tlds,
)
rfc_emails = st.emails().filter(lambda e: "/" not in e.split("@")[0])


@settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), email=st.one_of(handmade_emails, rfc_emails))
def test_an_email_address_never_gets_through(data: st.DataObject, email: str) -> None:
    written = data.draw(disguised(email))
    text = data.draw(embedded(written, ["mail me at ", "email: ", "<", ""]))
    result = redact(text)
    assert_absent(seen(email).casefold(), text, written, result, lambda t: seen(t).casefold())
    assert_counted(written, Kind.EMAIL, result)


# Cards ------------------------------------------------------------------------------------------

# Visa, Mastercard (both ranges), American Express, Discover, JCB.
NETWORK_PREFIXES = re.findall(r"[0-9]+", "4 51 52 53 54 55 2221 2720 34 37 6011 65 35")


def luhn_complete(partial: str) -> str:
    total = 0
    for place, char in enumerate(reversed(partial)):
        value = int(char) * (1 if place % 2 else 2)
        total += value - 9 if value > 9 else value
    return partial + str((10 - total % 10) % 10)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(NETWORK_PREFIXES))
    size = draw(st.integers(13, 19))
    body = draw(
        st.text(
            st.sampled_from(string.digits),
            min_size=size - 1 - len(prefix),
            max_size=size - 1 - len(prefix),
        )
    )
    return luhn_complete(prefix + body)


@st.composite
def grouped(draw: st.DrawFn, digits: str, separators: list[str]) -> str:
    """Digits split into groups at random, with a separator between groups."""
    out, at = [], 0
    while at < len(digits):
        size = draw(st.integers(1, 6))
        out.append(digits[at : at + size])
        at += size
    seps = [draw(st.sampled_from(separators)) for _ in out[1:]]
    return out[0] + "".join(sep + group for sep, group in zip(seps, out[1:], strict=True))


CARD_SEPARATORS = ["", " ", "-", "  ", " - ", "\u00a0", "\u2009", "\u3000", "\u2011", "\u2013"]


@settings(max_examples=300, deadline=1000)
@given(data=st.data(), number=card_numbers())
def test_a_card_number_never_gets_through(data: st.DataObject, number: str) -> None:
    written = data.draw(disguised(data.draw(grouped(number, CARD_SEPARATORS))))
    text = data.draw(embedded(written, ["card ", "my card is ", "CC: ", "number "]))
    result = redact(text)
    assert_absent(number, text, written, result, digits_of)
    assert_counted(written, Kind.CARD, result)


# Phones -----------------------------------------------------------------------------------------

COUNTRY_CODES = re.findall(r"[0-9]+", "1 7 20 33 34 39 44 49 55 61 81 86 91 353 971")
digits = st.sampled_from(string.digits)


@st.composite
def phone_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """(digits, as written) in the forms people write them."""
    form = draw(st.sampled_from(["plus", "double zero", "north american", "trunk"]))
    sep = draw(st.sampled_from([" ", "-", ".", " "]))
    if form in ("plus", "double zero"):
        country = draw(st.sampled_from(COUNTRY_CODES))
        national = draw(st.sampled_from("123456789")) + draw(
            st.text(digits, min_size=6, max_size=min(10, 14 - len(country)))
        )
        rest = draw(grouped(national, [sep]))
        return country + national, ("+" if form == "plus" else "00") + f"{country} {rest}"
    if form == "north american":
        area = draw(st.sampled_from("23456789")) + draw(st.text(digits, min_size=2, max_size=2))
        exchange = draw(st.sampled_from("23456789")) + draw(st.text(digits, min_size=2, max_size=2))
        line = draw(st.text(digits, min_size=4, max_size=4))
        shapes = [
            f"({area}) {exchange}-{line}",
            f"{area}-{exchange}-{line}",
            f"{area}.{exchange}.{line}",
            f"{area} {exchange} {line}",
            f"1-{area}-{exchange}-{line}",
            f"{area}{exchange}{line}",
            f"+1 {area} {exchange} {line}",
        ]
        written = draw(st.sampled_from(shapes))
        return "".join(c for c in written if c.isdigit()), written
    area = "0" + draw(st.sampled_from("123456789")) + draw(st.text(digits, min_size=1, max_size=3))
    subscriber = draw(st.text(digits, min_size=5, max_size=8))
    glue = draw(st.sampled_from([" ", "-", ""]))
    return area + subscriber, area + glue + subscriber


@settings(max_examples=300, deadline=1000)
@given(data=st.data(), phone=phone_numbers())
def test_a_phone_number_never_gets_through(data: st.DataObject, phone: tuple[str, str]) -> None:
    number, plain = phone
    written = data.draw(disguised(plain))
    text = data.draw(embedded(written, ["call me on ", "Tel: ", "phone "]))
    result = redact(text)
    assert_absent(number, text, written, result, digits_of)
    assert_counted(written, Kind.PHONE, result)


# IBANs ------------------------------------------------------------------------------------------


@st.composite
def ibans(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from(sorted(_IBAN_LENGTHS)))
    size = _IBAN_LENGTHS[country] - 4
    bban = randomly(draw(seeds), string.ascii_uppercase + string.digits * 3, size)
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


@settings(max_examples=200, deadline=1000)
@given(data=st.data(), iban=ibans(), spaced=st.booleans(), lower=st.booleans())
def test_an_iban_never_gets_through(
    data: st.DataObject, iban: str, spaced: bool, lower: bool
) -> None:
    written = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if spaced else iban
    written = data.draw(disguised(written.lower() if lower else written))
    text = data.draw(embedded(written, ["IBAN ", "pay to ", "account: "]))
    result = redact(text)
    assert_absent(iban, text, written, result, alphanumerics_of)
    assert_counted(written, Kind.IBAN, result)


# IP addresses -----------------------------------------------------------------------------------

public = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).filter(lambda ip: ip.is_global)


@settings(max_examples=200, deadline=1000)
@given(data=st.data(), address=public, exploded=st.booleans())
def test_a_public_ip_address_never_gets_through(
    data: st.DataObject, address: ipaddress.IPv4Address | ipaddress.IPv6Address, exploded: bool
) -> None:
    plain = address.exploded if exploded else str(address)
    written = data.draw(disguised(plain))
    text = data.draw(embedded(written, ["from ", "IP: ", "server "]))
    result = redact(text)
    assert_absent(plain.lower(), text, written, result, lambda t: seen(t).lower())
    assert_counted(written, Kind.IP, result)


# Secrets ----------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(seed: bytes) -> str:
    chooser = random.Random(seed)
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": str(chooser.randrange(10**9)), "iat": chooser.randrange(2 * 10**9)}
    return f"{header}.{b64url(json.dumps(claims).encode())}.{b64url(chooser.randbytes(32))}"


def discord_token(seed: bytes) -> str:
    chooser = random.Random(seed)
    user = b64url(str(chooser.randrange(10**17, 10**19)).encode())
    return f"{user}.{randomly(seed, B64URL, 6)}.{randomly(seed[::-1], B64URL, 38)}"


def long_base64(seed: bytes) -> str:
    return base64.b64encode(random.Random(seed).randbytes(30 + seed[0] % 30)).decode()


FAMILIES = {
    "openai": lambda s: "sk-" + randomly(s, ALNUM, 48),
    "stripe webhook": lambda s: "whsec_" + randomly(s, ALNUM, 32),
    "openai project": lambda s: "sk-proj-" + randomly(s, B64URL, 64),
    "slack bot": lambda s: f"xoxb-{randomly(s, string.digits, 12)}-{randomly(s, ALNUM, 24)}",
    "slack user": lambda s: f"xoxp-{randomly(s, string.digits, 12)}-{randomly(s, ALNUM, 32)}",
    "slack app": lambda s: f"xapp-1-A{randomly(s, string.digits, 10)}-{randomly(s, ALNUM, 40)}",
    "github": lambda s: "ghp_" + randomly(s, ALNUM, 36),
    "github oauth": lambda s: "gho_" + randomly(s, ALNUM, 36),
    "github fine-grained": lambda s: (
        f"github_pat_{randomly(s, ALNUM, 22)}_{randomly(s, ALNUM, 59)}"
    ),
    "aws": lambda s: "AKIA" + randomly(s, string.ascii_uppercase + string.digits, 16),
    "jwt": jwt,
    "discord": discord_token,
    "hex": lambda s: randomly(s, "0123456789abcdef", 32 + s[0] % 33),
    "base64": long_base64,
}
# Secrets after a word that says what they are; the value alone must go.
KEYED = ["Bearer ", "Authorization: Bearer ", "password: ", "pwd=", "api_key=", "Passwort: "]
VALUE_CHARS = ALNUM + "!#$%*+-/=?@^_{}~"


@settings(max_examples=400, deadline=1000)
@given(data=st.data(), family=st.sampled_from(sorted(FAMILIES)), seed=seeds)
def test_a_token_never_gets_through(data: st.DataObject, family: str, seed: bytes) -> None:
    token = FAMILIES[family](seed)
    written = data.draw(disguised(token))
    text = data.draw(embedded(written, ["key ", "token: ", "here: ", ""]))
    result = redact(text)
    assert_hidden(token, text, result)
    assert_counted(written, Kind.TOKEN, result)


@settings(max_examples=200, deadline=1000)
@given(data=st.data(), key=st.sampled_from(KEYED), seed=seeds)
def test_a_value_after_a_secret_key_never_gets_through(
    data: st.DataObject, key: str, seed: bytes
) -> None:
    value = randomly(seed, VALUE_CHARS, 8 + seed[0] % 24) + randomly(seed, ALNUM, 1)
    written = data.draw(disguised(value))
    text = data.draw(embedded(written, [key]))
    result = redact(text)
    assert_hidden(value, text, result)
    assert_counted(key + written, Kind.TOKEN, result)


def assert_hidden(secret: str, text: str, result: Redacted) -> None:
    shown = seen(result.text)
    windows = {secret[i : i + 10] for i in range(max(1, len(secret) - 9))}
    leaked = [w for w in windows if w in shown and w not in seen(text.replace(secret, ""))]
    assert not leaked, (result.text, leaked)


def assert_counted(written: str, kind: Kind, result: Redacted) -> None:
    """Alone, the secret is one finding of its kind; among random text, at least one finding
    hides it (digits just before a phone number may make it part of a card number)."""
    assert redact(written).found == {kind: 1}
    assert sum(result.found.values()) >= 1


# What must survive ------------------------------------------------------------------------------

UNCHANGED = [
    "Order #A-1042 arrived broken",
    "ticket #1001 is still open",
    "it was delivered on 2026-12-06 at 14:30",
    "on 06.12.2026, or 12/06/2026, at 2026-12-06T14:30:00Z",
    "it cost $1,299.00, or € 1.299,00, or 1 299,00 €",
    "I am on version 2.7.1 (Python 3.11.4, build 10.0.19045.2965)",
    "test card 4111 1111 1111 1112 fails the check",
    "short numbers: 12345, 4839201, 100023456 and room 1042",
    "we have 12 345 678 users and 1,234,567 messages",
    "order 1796557606 and id 1234567890123456789",
    "ISBN 978-3-16-148410-0, ZIP 94103-1234",
    "see https://example.com/help/articles/how-to-reset-your-password-2024 for help",
    "https://docs.example.com/guides/Getting-Started/Install2024/Configuration",
    "hi <@U0123ABC>, see <#C0123ABC|general> and <!here>",
    "event <t:1796557606:f> for <@123456789012345678> in <#1234567890123456789>",
    "in ten years: <t:2096557606:R>, <!date^2096557606^{date_short}|2036>",
    "react with <:thumbsup:123456789012345678> or <a:party:123456789012345678>",
    "my router is 192.168.1.1 and the NAS 10.0.0.17, localhost ::1",
    "between 14:30-16:00, version 12:30:45",
    "my password is not working, the password reset link expired",
    "password reset: please help",
    "see the guide at help.example.com or docs.example.com",
    "the bearer of bad news",
    "ThreadlineSupportBotConfigurationManager2024 failed",
    "commit a3adb17 fixed it",
    "ask-me-anything-about-the-threadline-support-bot-2024",
    "Grüße aus München! Привет, 你好, مرحبا, שלום, สวัสดีครับ, नमस्ते 👨‍👩‍👧",
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_ordinary_text_survives_unchanged(text: str) -> None:
    assert redact(text) == Redacted(text, {})


# Examples and the API ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("john.doe+tickets@mail.example.co.uk", "[email 1]"),
        ("josé@münchen.de and иван@пример.рф", "[email 1] and [email 2]"),
        ("john [at] example [dot] com", "[email 1]"),
        ("john(at)example.com", "[email 1]"),
        ("john at example dot com", "[email 1]"),
        ("john@example dot com", "[email 1]"),
        ("mailto:jane@example.org", "mailto:[email 1]"),
        ("+44 20 7946 0958", "[phone 1]"),
        ("+1 (415) 555-0132", "[phone 1]"),
        ("0049 30 123456", "[phone 1]"),
        ("415.555.0132", "[phone 1]"),
        ("07700 900123", "[phone 1]"),
        ("+44 (0)20 7946 0958", "[phone 1]"),
        ("call 555-0132", "call [phone 1]"),
        ("Tel:07700 900123", "Tel:[phone 1]"),
        ("<tel:+14155550132|+1 415 555 0132>", "<tel:[phone 1]|[phone 1]>"),
        ("4111 1111 1111 1111", "[card 1]"),
        ("3782-822463-10005", "[card 1]"),
        ("DE89 3704 0044 0532 0130 00 thanks", "[iban 1] thanks"),
        ("de89-3704-0044-0532-0130-00", "[iban 1]"),
        ("GB 82 WEST 1234 5698 7654 32.", "[iban 1]."),
        ("DE89 3704 0044 0532 0130 00 or GB82WEST12345698765432", "[iban 1] or [iban 2]"),
        ("password: hunter2.", "password: [token 1]."),
        ('{"password": "correct horse"}', '{"password": "[token 1]"}'),
        ("my password is Tr0ub4dor&3", "my password is [token 1]"),
        ("PIN: 4821", "PIN: [token 1]"),
        ("the signing secret is whsec_2pHyztXlc8QgmuL5CUppaPXm", "the signing secret is [token 1]"),
        ("shop key pk_prod_Xq93kLm0aZr7TvB2nC4dE6fG", "shop key pk_prod_[token 1]"),
        ('{"clientSecret": "s3cr3t-V4lue"}', '{"clientSecret": "[token 1]"}'),
        ("X-Api-Key: 0f1e2d3c", "X-Api-Key: [token 1]"),
        ("https://user:pa55@db.example.com/x", "https://[token 1]@db.example.com/x"),
        (
            "https://hooks.slack.com/services/T0/B0/abcdefghijkl",
            "https://hooks.slack.com/services/[token 1]",
        ),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [token 1]"),
        ("8.8.8.8 and 2001:4860:4860::8888", "[ip 1] and [ip 2]"),
        ("我的密码\uff1aabc123", "我的密码\uff1a[token 1]"),
    ],
)
def test_examples(text: str, expected: str) -> None:
    assert redact(text).text == expected


def test_the_same_value_gets_the_same_placeholder() -> None:
    text = "a@example.com, b@example.com, A@EXAMPLE.COM; +44 20 7946 0958 or 0044 20 7946 0958"
    result = redact(text)
    assert result.text == "[email 1], [email 2], [email 1]; [phone 1] or [phone 1]"
    assert result.found == {Kind.EMAIL: 3, Kind.PHONE: 2}


def test_a_value_disguised_is_the_same_value() -> None:
    result = redact(
        f"4111 1111 1111 1111 or {wide('4111-1111-1111-1111')} or 4\u200b111111111111111"
    )
    assert result.text == "[card 1] or [card 1] or [card 1]"


def test_text_around_a_finding_is_kept_as_written() -> None:
    around = (
        f"{wide('full-width')} \U0001f468\u200d\U0001f469\u200d\U0001f467 สวัสดีครับ e\u0301 \ufb01le"
    )
    result = redact(f"{around} a@example.com {around}")
    assert result.text == f"{around} [email 1] {around}"


def test_invisible_characters_inside_a_finding_go_with_it() -> None:
    assert redact("x \u200ba\u200b@\u200bexample.com\u200b y").text == "x \u200b[email 1]\u200b y"


def test_only_the_kinds_asked_for() -> None:
    text = "a@example.com 4111 1111 1111 1111 +44 20 7946 0958"
    assert redact(text, {Kind.EMAIL}).text == "[email 1] 4111 1111 1111 1111 +44 20 7946 0958"
    assert redact(text, {Kind.CARD, Kind.PHONE}).text == "a@example.com [card 1] [phone 1]"
    assert redact(text, ()).text == text
    assert redact(text, ALL).found == {Kind.EMAIL: 1, Kind.CARD: 1, Kind.PHONE: 1}


def test_overlapping_findings_become_one() -> None:
    # A phone number as an address's local part (an SMS gateway) is one address.
    assert redact("4155550132@txt.example.net").text == "[email 1]"
    assert redact("token: 4111 1111 1111 1111").text == "token: [token 1]"


def test_a_redactor_numbers_across_texts_and_restores_a_reply() -> None:
    redactor = Redactor()
    first = redactor.redact("I am a@example.com")
    second = redactor.redact("my colleague is b@example.com, cc a@example.com")
    assert (first.text, second.text) == (
        "I am [email 1]",
        "my colleague is [email 2], cc [email 1]",
    )
    reply = "We wrote to [email 2] and [Email 1], not [email 3]."
    assert redactor.restore(reply) == "We wrote to b@example.com and a@example.com, not [email 3]."
    assert "example" not in repr(redactor)


def test_restore_gives_the_value_without_its_invisible_characters() -> None:
    redactor = Redactor()
    assert redactor.redact("a\u200b@example.com").text == "[email 1]"
    assert redactor.restore("[email 1]") == "a@example.com"


def test_redaction_is_fast_and_linear() -> None:
    rng = random.Random(7)
    words = ["hello", "order", "#1042", "a@example.com", "4111 1111 1111 1111", "+44 20 7946 0958"]
    message = " ".join(rng.choice(words) for _ in range(600))
    # Inputs that make careless patterns backtrack: each must cost about its length.
    hostile = [
        "1 " * 20_000,
        "4-" * 20_000,
        "(1)" * 13_000,
        "a" * 40_000,
        "a@" * 20_000,
        "1:" * 20_000,
        "://user:" * 5_000,
        "password:" * 4_000,
        "password_" * 4_000 + ":",
        "x at y dot " * 4_000,
        "Ab1/" * 10_000,
        "github_pat_5lGh3hpfkl1kyz892VjgJf_" * 1_000,
    ]
    started = time.perf_counter()
    for text in [message, *hostile]:
        redact(text)
    assert time.perf_counter() - started < 5  # about 0.5 s on a slow CI machine
