"""Finders for email addresses and secrets. Pure.

Each finder reads the normalised view of a text (see `redact.py`) and yields the (start, end)
spans to hide. Patterns are compiled once, and each starts only where a word starts, so a finder
runs in time linear in the text.

Emails: `local@domain.tld` with the local part's RFC 5322 characters (less `/`, which belongs to
URLs) in any script (RFC 6531), plus-addressing, subdomains, Unicode domains and TLDs, punycode
TLDs, written with full-width letters or an ideographic full stop; and the usual obfuscations,
`name [at] example [dot] com`, `name(at)example.com`, `name@example dot com`, and
`name at example dot com` when the TLD is a common one. Not taken: a URL's user name
(`https://john@host`); missed knowingly: quoted local parts, `name at example.com` (too like
"docs at help.example.com"), obfuscations in other languages.

Secrets: vendor keys by their prefix (OpenAI and Anthropic `sk-`, Stripe `sk_live_`/`whsec_`,
Slack `xox?-`/`xapp-`, GitHub `ghp_`/`github_pat_`, GitLab `glpat-`, AWS `AKIA`, Google `AIza`,
npm, Hugging Face, SendGrid) and other `prefix_` keys with a random body; JWTs and other
three-part tokens (Discord bot tokens); private key blocks; Slack and Discord webhook URLs;
passwords in URLs; `Authorization:` and `Bearer` values; the value after a secret-sounding key
(`password: ...`, `pwd=`, `api_key=`, `"clientSecret": "..."`, `X-Api-Key:`, in several
languages); `my password is ...` (or secret, token, key) when the value looks like one; PINs; hex
runs of 32 or more; base64 runs of 40 or more that mix upper case, lower case and digits and are
not made of words (a long CamelCase name or URL path is). Missed knowingly: a password of plain
words with no key before it (`my password is sunshine`), short unprefixed keys, UUID-shaped keys,
letters swapped for look-alikes from another script (a Cyrillic a for a Latin one).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Emails ------------------------------------------------------------------------------------------

_ATEXT = r"[\w!#$%&'*+=?^`{|}~-]"
_EMAIL = re.compile(
    r"(?<![\w!#$%&'*+=?^`{|}~.-])"  # starts where no address character comes before
    rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:[\w-]{{1,63}}\.)+(?:[^\W\d_]{{2,63}}|xn--[a-z0-9-]{{2,59}})"
    r"(?![\w-])",
    re.IGNORECASE,
)
# A URL's authority before an address: `https://john@host`, `https://user:pass@host`.
_AUTHORITY = re.compile(r"://[^\s/@]*\Z")

_AT_BRACKETED = r"\s*[\[({<]\s*at\s*[\])}>]\s*"
_DOT_BRACKETED = r"\s*[\[({<]\s*dot\s*[\])}>]\s*"
_OBFUSCATED = re.compile(
    rf"(?<![\w.+-])[\w.+-]+"
    rf"(?:{_AT_BRACKETED}|\s*@\s*|\s+(?P<plain>at)\s+)"
    rf"[\w-]+(?:(?:{_DOT_BRACKETED}|\s+dot\s+|\.)[\w-]+)*?"
    rf"(?:{_DOT_BRACKETED}|\s+dot\s+|\.)(?P<tld>[^\W\d_]{{2,24}})(?![\w-])",
    re.IGNORECASE,
)
_DOT_WORD = re.compile(r"\sdot\s", re.IGNORECASE)
_TLDS = (
    "com net org edu gov io co ai app dev me info biz xyz eu uk de fr es it nl be ch at se no dk "
    "fi pl pt ie cz ru ua tr br mx ar ca us au nz jp cn kr in sg za"
)
_COMMON_TLDS = frozenset(_TLDS.split())


def emails(view: str) -> Iterator[tuple[int, int]]:
    """Spans of email addresses, plain or spelled out."""
    for match in _EMAIL.finditer(view):
        if not _AUTHORITY.search(view, max(0, match.start() - 256), match.start()):
            yield match.span()
    for match in _OBFUSCATED.finditer(view):
        if _EMAIL.fullmatch(match[0]):
            continue  # a plain address: found above
        if match["plain"] and (
            match["tld"].lower() not in _COMMON_TLDS or _DOT_WORD.search(match[0]) is None
        ):
            continue  # "the guide at help.example.com": too like ordinary text
        yield match.span()


# Secrets -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    """A pattern whose group `secret` (or whole match) is hidden when `check` accepts it."""

    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None = None


_B64 = r"A-Za-z0-9_\-"  # base64url; tokens are bounded by characters outside it
_VENDOR = re.compile(
    rf"(?<![{_B64}])(?:"
    r"sk-[A-Za-z0-9_-]{20,}"  # OpenAI (sk-, sk-proj-, sk-svcacct-), Anthropic (sk-ant-)
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{24,}"  # Stripe
    r"|xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[0-9]+-[A-Za-z0-9-]{10,}"  # Slack
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"  # GitHub
    r"|glpat-[A-Za-z0-9_-]{20,}"  # GitLab
    r"|(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}"  # AWS access key ids
    r"|AIza[0-9A-Za-z_-]{35}"  # Google
    r"|npm_[A-Za-z0-9]{36}|hf_[A-Za-z0-9]{30,}"  # npm, Hugging Face
    r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"  # SendGrid
    rf")(?![{_B64}])"
)
# Other vendors' keys: a short lowercase prefix and an underscore before a random body.
_PREFIXED = re.compile(
    rf"(?<![{_B64}])[a-z]{{2,10}}_(?:[a-z]{{2,10}}_)?(?P<secret>[A-Za-z0-9]{{24,}})(?![{_B64}])"
)
_JWT = re.compile(rf"(?<![{_B64}.])eyJ[{_B64}]{{5,}}\.eyJ[{_B64}]{{5,}}\.[{_B64}]*")
# Discord bot tokens and other signed tokens: three base64url parts joined by dots.
_THREE_PARTS = re.compile(
    rf"(?<![{_B64}.@])[{_B64}]{{20,}}\.[{_B64}]{{6,}}\.[{_B64}]{{20,}}(?![{_B64}@])"
)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z ]*PRIVATE KEY[A-Z ]*-----.*?(?:-----END[A-Z ]*PRIVATE KEY[A-Z ]*-----|\Z)",
    re.DOTALL,
)
_WEBHOOK = re.compile(
    r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9_/-]{10,})"
    r"|discord(?:app)?\.com/api/(?:v[0-9]+/)?webhooks/(?P<discord>[0-9]+/[A-Za-z0-9_-]{20,})",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(  # user:password@ or a token as the user name
    r"(?<=://)(?P<secret>[^\s/?#@:]{1,256}:[^\s/?#@]{1,256}|[^\s/?#@:]{16,256})(?=@)"
)
_AUTHORIZATION = re.compile(
    r"(?<![\w-])(?:proxy-)?authorization[\"']?\s*[:=]\s*"
    r"(?:(?:basic|bearer|token|digest|apikey|sso-key)\s+)?(?P<secret>[^\s\"',;]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?<![\w-])bearer\s+(?P<secret>[^\s\"',;<>]{8,})", re.IGNORECASE)

# Key names whose value is a secret, as whole parts of a name (`client_secret`, `apiKey`,
# `X-Api-Key`, `DB_PASSWORD`, `mot de passe`), in several languages.
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:password|passwd|passwort|kennwort|pwd|passphrase|passcode|secret|token|"
    r"api_?key|access_?key|private_?key|auth_?key|contrase[ñn]a|senha|wachtwoord|has[łl]o|"
    r"parola|salasana|l[öo]senord|adgangskode|passord|heslo|jelsz[óo]|пароль|passe|mdp)(?:$|_)"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# A key and its `:` or `=`; the value is read only after a secret name, so that a text full of
# `a:b:c` costs no more than its length. A value is quoted, or runs up to whitespace less a
# sentence's full stop, at most 1,024 characters.
_KEY = re.compile(r"(?<![\w-])(?P<key>[\w-]++)[\"']?\s*[:=]\s*")
_CJK_KEY = re.compile(r"(?:密码|密碼|パスワード|비밀번호|暗証番号)\s*[:=]\s*")  # no spaces around
_VALUE = re.compile(
    r"\"(?P<dq>[^\"\n]{1,1024})\"|'(?P<sq>[^'\n]{1,1024})'"
    r"|(?P<secret>[^\s\"'<>,;&]{0,1023}[^\s\"'<>,;&.)\]])"
)
_SAID = re.compile(
    r"(?<![\w-])(?:password|passwort|kennwort|passcode|passphrase|pwd|mot de passe|contrase[ñn]a"
    r"|senha|wachtwoord|secret|token|key)\s+(?:is|was|ist|war|est|es|era|é|è|je|jest)\s*[:=]?\s+[\"']?"
    r"(?P<secret>[^\s\"'<>,;]{2,127}[^\s\"'<>,;.)\]])",
    re.IGNORECASE,
)
_PIN = re.compile(
    r"(?<![\w-])pin(?:[ _-]?code)?\s*(?:[:=]|is|was)\s*(?P<secret>[0-9]{4,8})(?![0-9])",
    re.IGNORECASE,
)
# Long runs that are parts of an email address (a hashed local part, a domain label) are left to
# the email finder.
_HEX = re.compile(r"(?<![A-Za-z0-9@.])(?:0x)?[0-9a-fA-F]{32,}(?![A-Za-z0-9@])")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=_@.-])[A-Za-z0-9+/_-]{40,}={0,2}(?![A-Za-z0-9+/=_@-])")


def _password_like(value: str) -> bool:
    """`my password is hunter2` but not `my password is wrong`."""
    return any(c.isdigit() or not c.isalnum() for c in value) or any(c.isupper() for c in value[1:])


def _credential(value: str) -> bool:
    """A bearer credential, not "the bearer of bad news"."""
    return len(value) >= 20 or _password_like(value)


def _keyish(value: str) -> bool:
    """A vendor key, not a phrase that starts like one (`sk-learn-and-tensorflow-notes`)."""
    return any(c.isdigit() or c.isupper() for c in value[4:])


def _mixed(value: str) -> bool:
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


# Names written in words: CamelCase, kebab-case, snake_case, paths.
# A part of a name: CamelCase words with digits, an acronym, a number (first fit wins).
_WORD_PART = r"(?:[0-9]*+(?:[A-Z]?[a-z]++[0-9]*+)++|[A-Z]++[0-9]*+|[0-9]++)"
_WORDY = re.compile(  # possessive throughout: no backtracking, linear time
    rf"[/_+-]*+{_WORD_PART}(?:[/_+-]++{_WORD_PART})*+[/_+-]*+=*+"
)
# The 250 most common letter pairs in English prose, which cover 97 % of its pairs and 37 % of a
# random string's: a long name made of words is rich in them, a random key is not. (No library
# with a language model for this ships without downloading data.)
_PAIRS = (
    "ab ac ad af ag ai ak al am an ap ar as at au av ay ba be bi bj bl bo br bs bu by ca cc ce ch "
    "ci ck cl co cr ct cu da dd de di dl do ds du ea ec ed ee ef eg ei el em en ep eq er es et ev "
    "ew ex ey fa fe ff fi fl fo fr ft fu fy ga ge gh gi gl gn gr gs gu ha he hi ho ht ia ib ic id "
    "ie if ig il im in io ip ir is it iv ix je ka ke ki ks la ld le li ll lo ls lt lu ly ma mb me "
    "mi mm mo mp ms mu na nc nd ne nf ng ni nk nl nn no ns nt nu nv ny ob oc od of og oi ok ol om "
    "on oo op or os ot ou ov ow pa pe pi pl po pp pr ps pt pu py qu ra rc rd re rg ri rk rm rn ro "
    "rp rr rs rt ru rv ry sa sc se sh si sl so sp ss st su sy ta tc te th ti tl to tp tr ts tt tu "
    "tw ty ua ub uc ud ue ug ui ul um un up ur us ut va ve vi wa we wh wi wo xc xe xp xt yo yp yr "
    "ys yt"
)
_COMMON_PAIRS = frozenset(_PAIRS.split())
_LETTER_PAIR = re.compile(r"(?=([A-Za-z]{2}))")


def _random_looking(value: str) -> bool:
    """A long base64 run that is a key, not a long name: mixed classes, and not words."""
    if not _mixed(value):
        return False
    if _WORDY.fullmatch(value) is None:
        return True
    pairs = [pair.lower() for pair in _LETTER_PAIR.findall(value)]
    common = sum(pair in _COMMON_PAIRS for pair in pairs)
    # Measured on random keys of 40 characters: fewer than one in a million pass as words.
    return len(pairs) < 12 or common < 0.8 * len(pairs)


_SECRET_RULES = (
    _Rule(_PRIVATE_KEY),
    _Rule(_VENDOR, _keyish),
    _Rule(_PREFIXED, _random_looking),
    _Rule(_JWT),
    _Rule(_THREE_PARTS, _mixed),
    _Rule(_WEBHOOK),
    _Rule(_URL_PASSWORD),
    _Rule(_AUTHORIZATION),
    _Rule(_BEARER, _credential),
    _Rule(_SAID, _password_like),
    _Rule(_PIN),
    _Rule(_HEX),
    _Rule(_BASE64, _random_looking),
)
_SECRET_GROUPS = ("secret", "discord", "dq", "sq")


def tokens(view: str) -> Iterator[tuple[int, int]]:
    """Spans of secrets: keys, tokens, passwords."""
    for rule in _SECRET_RULES:
        for match in rule.pattern.finditer(view):
            start, end = _secret_span(match)
            if end > start and (rule.check is None or rule.check(view[start:end])):
                yield start, end
    yield from _key_values(view)


def _key_values(view: str) -> Iterator[tuple[int, int]]:
    """The values after secret names (`password: ...`, `"apiKey": "..."`, `密码: ...`)."""
    keys = (m for m in _KEY.finditer(view) if _secret_name(m["key"]))
    for key in itertools.chain(keys, _CJK_KEY.finditer(view)):
        value = _VALUE.match(view, key.end())
        if value is not None:
            yield _secret_span(value)


def _secret_name(name: str) -> bool:
    return _SECRET_NAME.search(_CAMEL.sub("_", name).replace("-", "_").lower()) is not None


def _secret_span(match: re.Match[str]) -> tuple[int, int]:
    """The span of the group that holds the secret, or of the whole match."""
    for group in _SECRET_GROUPS:
        if group in match.re.groupindex and match[group] is not None:
            return match.span(group)
    return match.span()
