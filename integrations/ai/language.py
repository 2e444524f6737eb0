"""Which language a customer writes in, for translation lines and triage. No network, no I/O.

`detect(text)` names the language of a message as a person reads it, or None when no language can
be told reliably. Detection runs on `lingua` (lingua-language-detector), which ships its language
models inside the wheel: nothing is downloaded, ever.

Before detecting, `text_as_read` takes out what a reader skips and what carries no language:
Slack and Discord markup (mentions, channels, timestamps, custom emoji, `**` and friends), code
spans and blocks, quoted lines (someone else's words, often the agent's own reply), URLs, email
addresses, @mentions, #tags, tokens with digits (order numbers, versions) and, in mixed-case text,
words in capitals (API, SSO, ECONNRESET: product words, not the writer's language). So a German
sentence with an English URL is German.

None, rather than a guess, when the text keeps fewer than `MIN_LETTERS` letters, or when the best
language's confidence is below the detector's minimum (`MIN_CONFIDENCE` by default; more for a
single word, `MIN_CONFIDENCE_ONE_WORD`). A wrong guess costs more than none: it puts a needless
translation line under a message agents can read ("ok", "thx", "API error 500" would otherwise
come out Czech, Vietnamese or Italian), while a message left undetected is shown as written.

Building a detector is cheap; lingua loads its models on first use, per script, and keeps them
for the life of the process: the first message in Latin script takes about 3 s and 330 MB, the
first in Cyrillic 0.5 s and 80 MB more, later ones a fraction of a millisecond. The figures, and
why the default set and high accuracy, are in the comment above `DEFAULT_LANGUAGES`.

Threads and the event loop: a `LanguageDetector` builds lingua's detector once, lazily, under a
lock, so any number of threads may call it; lingua's detector is itself thread-safe and shares
loaded models between instances. The first call blocks for seconds while models load, so async
callers run `warm_up` (or the first `detect`) in a worker thread (`asyncio.to_thread`); after
that a call is short enough for the event loop.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

import lingua

log = logging.getLogger(__name__)

# Measured on a 2-core machine with this module (RSS from /proc/self/status: tracemalloc sees none
# of it, the models live in Rust), default set of 23 unless said:
#
#   first Latin-script message    2.8-3.2 s   RSS 17 -> 340-370 MB
#   first Cyrillic message        0.5 s       -> 418 MB (CJK, Arabic, Hindi, Greek, Hebrew and
#                                             Thai are told by script rules: no model loads)
#   every later message           0.1-0.13 ms for a chat message; linear in length (17 ms for
#                                 40,000 characters, hence `MAX_CHARS`)
#   warm_up() (all preloaded)     4.5-4.9 s   -> 520-550 MB
#   all 75 languages, lazily      7-10 s      -> 1,083 MB, 0.8 ms a message; 1.3 GB preloaded
#   low accuracy                  0.12-0.18 s -> 57-66 MB, 0.05 ms a message
#   low accuracy, all 75          0.4 s       -> 121-136 MB
#
# Accuracy, lingua's top language for 250 short support messages in 20 languages (up to eight
# words; they are in the unit tests):
#
#   default set, high accuracy    249/250
#   default set, low accuracy     242/250, the wrong ones at confidence 0.53-0.93
#   all 75, high accuracy         242/250 (Malay for Indonesian, Slovak for Czech, Bulgarian
#                                 for Ukrainian...)
#   all 75, low accuracy          212/250
#
# So: a chosen set, in high accuracy. Low accuracy is what lingua's own reports say, fine past
# ~120 characters and poor on the short lines chat is made of ("no funciona" comes out
# Portuguese, "still broken" Swedish), with mistakes too confident for any minimum to catch; it
# stays an option (`low_accuracy=True`) for hosts that cannot spare the memory. With the minimums
# below, the default set detects 243 of the 250 right, none wrong, leaves 7 undetected, and takes
# 1 of 35 bits of non-language ("ok", "thx", "PayPal", "Error: ECONNRESET", "iPhone 15 Pro") for
# a language other than English ("SSO SAML", as Swedish).
#
# The languages support teams meet most (ISO 639-1). Greek, Hebrew and Thai cost nothing: each has
# a script of its own, which lingua's rules tell apart without loading a model. Every further
# Latin-script language costs about 30 MB and makes its neighbours' short messages less certain
# (adding Danish, Finnish, Hungarian and Romanian took the set from 418 MB to 539 MB).
_LATIN = frozenset(("en", "de", "fr", "es", "pt", "it", "nl", "pl", "sv", "cs", "tr", "id", "vi"))
_CYRILLIC = frozenset(("ru", "uk"))
_OWN_SCRIPT = frozenset(("ja", "zh", "ko", "ar", "hi", "el", "he", "th"))
DEFAULT_LANGUAGES: frozenset[str] = _LATIN | _CYRILLIC | _OWN_SCRIPT

# Every code lingua knows.
SUPPORTED_LANGUAGES: frozenset[str] = frozenset(
    language.iso_code_639_1.name.lower() for language in lingua.Language.all()
)

# Tuned on the default set (see the figures above): at 0.3 none of 250 support messages is
# detected wrong, 7 short ones are not detected. Confidences are shares of 1 over the configured
# languages, so a much larger set spreads them thinner and wants a lower minimum.
MIN_CONFIDENCE = 0.3

# One word is a weak clue ("hello" comes out Italian at 0.31, "thx" Vietnamese at 0.43, "Merci"
# Italian) yet "Gracias", "Спасибо" and "kündigen" pass. Text in scripts written without spaces
# (Chinese, Japanese, Thai) is one word too, and passes on its script's confidence of 1.
MIN_CONFIDENCE_ONE_WORD = 0.5

# "ok", "ty", "hi", "xD": two letters say nothing about a language.
MIN_LETTERS = 3

# Accuracy stops improving long before this; the cap bounds the time a pasted log can take.
MAX_CHARS = 2000
# Cleaning is linear, but a Slack message may hold 40,000 characters: look at the first 20,000.
MAX_INPUT_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class Detected:
    """A detected language: `code` is ISO 639-1 ("de"), `name` its English name ("German"),
    `confidence` lingua's share for it among the configured languages, from 0 to 1."""

    code: str
    name: str
    confidence: float


class LanguageDetector:
    """Detects the language of messages among a configured set of languages.

    `languages` are ISO 639-1 codes (None: `DEFAULT_LANGUAGES`); an unknown code raises
    ValueError naming it. Build one per process and share it: see the module docstring for
    what it costs and why the first call belongs in a worker thread.
    """

    def __init__(
        self,
        languages: Collection[str] | None = None,
        *,
        min_confidence: float = MIN_CONFIDENCE,
        low_accuracy: bool = False,
    ) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be within 0..1, not {min_confidence}")
        self.languages = _checked_codes(DEFAULT_LANGUAGES if languages is None else languages)
        self.min_confidence = min_confidence
        self.low_accuracy = low_accuracy
        self._lock = threading.Lock()
        self._detector: lingua.LanguageDetector | None = None

    def detect(self, text: str) -> Detected | None:
        """The language of `text` as a person reads it, or None when it cannot be told
        reliably (too few letters, or no language confident enough). Never raises on any
        text."""
        readable = text_as_read(text[:MAX_INPUT_CHARS])
        if sum(char.isalpha() for char in readable) < MIN_LETTERS:
            return None
        values = self._built().compute_language_confidence_values(readable[:MAX_CHARS])
        if not values or values[0].value < self._minimum(readable):
            return None
        best = values[0]
        return Detected(
            code=best.language.iso_code_639_1.name.lower(),
            name=best.language.name.title(),
            confidence=min(1.0, max(0.0, best.value)),
        )

    def _minimum(self, readable: str) -> float:
        if " " in readable:
            return self.min_confidence
        return max(self.min_confidence, MIN_CONFIDENCE_ONE_WORD)

    def warm_up(self) -> None:
        """Build now with every model of the configured languages loaded (time and memory
        in the comment above `DEFAULT_LANGUAGES`), so no customer's message waits for one.
        Blocking: run it in a worker thread. Does nothing once the detector is built."""
        self._built(preload=True)

    def _built(self, *, preload: bool = False) -> lingua.LanguageDetector:
        detector = self._detector
        if detector is not None:
            return detector
        with self._lock:
            if self._detector is None:
                self._detector = self._build(preload=preload)
            return self._detector

    def _build(self, *, preload: bool) -> lingua.LanguageDetector:
        started = time.perf_counter()
        codes = (lingua.IsoCode639_1.from_str(code) for code in sorted(self.languages))
        builder = lingua.LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
        if self.low_accuracy:
            builder = builder.with_low_accuracy_mode()
        if preload:
            builder = builder.with_preloaded_language_models()
        detector = builder.build()
        log.info(
            "language detector built for %d languages in %.1f s",
            len(self.languages),
            time.perf_counter() - started,
        )
        return detector


def _checked_codes(languages: Collection[str]) -> frozenset[str]:
    codes = frozenset(code.strip().lower() for code in languages)
    unknown = sorted(codes - SUPPORTED_LANGUAGES)
    if unknown:
        raise ValueError(f"unknown language codes: {', '.join(unknown)}")
    if len(codes) < 2:
        # With one language there is nothing to detect; lingua refuses it too.
        raise ValueError("language detection needs at least two languages")
    return codes


_default: LanguageDetector | None = None
_default_lock = threading.Lock()


def default_detector() -> LanguageDetector:
    """The process's detector over `DEFAULT_LANGUAGES`, made on first use."""
    global _default  # noqa: PLW0603 (one detector per process: its models are costly)
    with _default_lock:
        if _default is None:
            _default = LanguageDetector()
        return _default


def detect(text: str) -> Detected | None:
    """`LanguageDetector.detect` with the process's default detector."""
    return default_detector().detect(text)


def is_team_language(detected: Detected | None, team: str) -> bool:
    """Whether agents whose language is `team` ("en", "en-US", "pt_BR") read the message as
    written, so it needs no translation line. An undetected message counts as readable: without
    a language there is nothing to translate from."""
    if detected is None:
        return True
    primary = re.split(r"[-_]", team.strip().lower(), maxsplit=1)[0]
    return detected.code in _ALIASES.get(primary, {primary})


# Norwegian's umbrella code ("no", as in the locale no_NO) covers lingua's two written forms.
_ALIASES = {"no": {"nb", "nn"}}


# What a reader skips -------------------------------------------------------------------------

_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`", re.S)
# Discord's ">>> " quotes the rest of the message; "> " (Slack: "&gt; ") quotes one line.
_QUOTE_REST = re.compile(r"^[ \t]*(?:>>>|&gt;&gt;&gt;) .*", re.M | re.S)
_QUOTE_LINE = re.compile(r"^[ \t]*(?:>|&gt;).*$", re.M)
# Slack `<https://x|label>` shows its label; every other angle-bracket token (Slack `<@U1>`,
# `<#C1|name>`, `<!here>`, `<mailto:..>`; Discord `<@1>`, `<#1>`, `<t:1:f>`, `<:e:1>`, `</cmd:1>`)
# is a mention, a link or a widget, not the writer's words.
_SLACK_LABELLED = re.compile(r"<(?:https?|ftp)://[^<>|\s]*\|([^<>]*)>")
_ANGLE_TOKEN = re.compile(r"<(?:[@#!:/]|a:|t:|https?://|ftp://|mailto:|tel:)[^<>\s]*>")
_MD_LINK = re.compile(r"\[([^\[\]\n]*)\]\(<?[^()<>\s]*>?\)")
_URL = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)\S+", re.I)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_MENTION = re.compile(r"(?<!\w)[@#][\w.-]+")
_SHORTCODE = re.compile(r":[a-z0-9_+-]+:", re.I)
# ASCII only: CJK text has no spaces, and a wider token would swallow a whole sentence.
_WITH_DIGIT = re.compile(r"(?<![A-Za-z0-9._/+-])[A-Za-z0-9._/+-]*[0-9][A-Za-z0-9._/+-]*")
_CAPITALS = re.compile(r"(?<!\w)[A-Z][A-Z0-9]+(?!\w)")
_STYLE = re.compile(r"[*_~|]+")
_SPACE = re.compile(r"\s+")


def text_as_read(text: str) -> str:
    """`text` with markup, links, addresses, mentions, code, quotes and identifiers removed and
    whitespace collapsed: what detection looks at (see the module docstring)."""
    text = _visible_characters(text)
    text = _CODE.sub(" ", text)
    text = _QUOTE_LINE.sub(" ", _QUOTE_REST.sub(" ", text))
    text = _ANGLE_TOKEN.sub(" ", _SLACK_LABELLED.sub(r" \1 ", text))
    text = _MD_LINK.sub(r" \1 ", html.unescape(text))
    for pattern in (_URL, _EMAIL, _MENTION, _SHORTCODE, _WITH_DIGIT):
        text = pattern.sub(" ", text)
    if any(char.islower() for char in text):
        # Capitals in mixed-case text are acronyms; a message all in capitals is shouting,
        # and its words are the writer's language.
        text = _CAPITALS.sub(" ", text)
    return _SPACE.sub(" ", _STYLE.sub(" ", text)).strip()


def _visible_characters(text: str) -> str:
    """NFKC (full-width letters fold to ASCII), without format characters (zero-width spaces
    splitting a word), controls and lone surrogates (which no encoder accepts). Combining
    marks stay: Hindi's vowel signs and Vietnamese tones are part of the word."""
    kept = (
        " " if category == "Cc" and not char.isspace() else char
        for char in text
        if (category := unicodedata.category(char)) not in ("Cf", "Cs", "Co", "Cn")
    )
    return unicodedata.normalize("NFKC", "".join(kept))
