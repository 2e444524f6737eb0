"""The sandbox model's languages: a guess from common words, and a small phrase table for the
demo's messages (English, German, French and Spanish, each to each). Deterministic and instant:
the sandbox never loads a language model."""

from __future__ import annotations

import re
import unicodedata

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

_COMMON_WORDS = {
    "en": "the and is my i was not to you it have please of this can",
    "de": "ich und ist nicht mein meine die der das wurde bitte ein eine mit kann",
    "fr": "je et est pas mon ma le la les un une été mes vous ne",
    "es": "yo y es no mi el la los un una me ha por que con",
}
_WORD_SETS = {code: frozenset(words.split()) for code, words in _COMMON_WORDS.items()}


def guess_language(text: str) -> str | None:
    """The language (en, de, fr, es) most of whose common words `text` holds; None on a tie
    or without any."""
    words = re.findall(r"[^\W\d_]+", text.casefold())
    scores = sorted(
        ((sum(w in common for w in words), code) for code, common in _WORD_SETS.items()),
        reverse=True,
    )
    best, runner_up = scores[0], scores[1]
    return best[1] if best[0] > 0 and best[0] > runner_up[0] else None


# English first, then the same in German, French and Spanish (no final punctuation: the
# source's is kept).
_PHRASES: tuple[tuple[str, str, str, str], ...] = (
    ("I was charged twice", "Ich wurde doppelt belastet", "J'ai été débité deux fois",
     "Me cobraron dos veces"),
    ("My parcel has not arrived", "Mein Paket ist nicht angekommen",
     "Mon colis n'est pas arrivé", "Mi paquete no ha llegado"),
    ("I would like a refund", "Ich möchte eine Rückerstattung", "Je voudrais un remboursement",
     "Quiero un reembolso"),
    ("I cannot log in", "Ich kann mich nicht anmelden", "Je n'arrive pas à me connecter",
     "No puedo iniciar sesión"),
    ("Where is my order", "Wo ist meine Bestellung", "Où est ma commande",
     "¿Dónde está mi pedido"),
    ("Please help me", "Bitte helfen Sie mir", "Aidez-moi, s'il vous plaît",
     "Por favor, ayúdeme"),
    ("Hello", "Hallo", "Bonjour", "Hola"),
    ("Thank you", "Danke", "Merci", "Gracias"),
    ("Thanks for the quick help", "Danke für die schnelle Hilfe", "Merci pour l'aide rapide",
     "Gracias por la ayuda rápida"),
    ("Sorry about that", "Das tut mir leid", "Désolé pour cela", "Lo siento"),
    ("I've asked the courier to trace it", "Ich habe den Kurier gebeten, es zu verfolgen",
     "J'ai demandé au transporteur de le retrouver", "He pedido al mensajero que lo rastree"),
    ("We've refunded you; it shows on your card in 3-5 days",
     "Wir haben Ihnen das Geld erstattet; es erscheint in 3-5 Tagen auf Ihrer Karte",
     "Nous vous avons remboursé ; cela apparaît sur votre carte sous 3 à 5 jours",
     "Le hemos reembolsado; aparecerá en su tarjeta en 3-5 días"),
    ("Thanks, I'll wait for news", "Danke, ich warte auf Neuigkeiten",
     "Merci, j'attends des nouvelles", "Gracias, espero noticias"),
    ("Your refund is on its way", "Ihre Erstattung ist unterwegs",
     "Votre remboursement est en route", "Su reembolso está en camino"),
    ("Please refund my money", "Bitte erstatten Sie mir das Geld zurück",
     "Merci de me rembourser", "Por favor, devuélvanme el dinero"),
    ("It arrived after all, but the box is crushed",
     "Es ist doch angekommen, aber der Karton ist zerdrückt",
     "Il est finalement arrivé, mais la boîte est écrasée",
     "Al final llegó, pero la caja está aplastada"),
)  # fmt: skip
_CODES = ("en", "de", "fr", "es")
_EDGES = "¿¡.!?;:,… \t\n"


def _key(sentence: str) -> str:
    folded = unicodedata.normalize("NFC", sentence).replace("\u2019", "'").casefold()
    return " ".join(folded.strip(_EDGES).split())


_TABLE: dict[str, tuple[str, int]] = {
    _key(phrase): (code, row)
    for row, phrases in enumerate(_PHRASES)
    for code, phrase in zip(_CODES, phrases, strict=True)
}


def translate(text: str, target: str) -> tuple[str, str] | None:
    """`text` in `target` and the language it was in, when the table holds all its sentences;
    None otherwise."""
    if target not in _CODES:
        return None
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if s.strip()]
    pieces: list[str] = []
    source = None
    for sentence in sentences:
        entry = _TABLE.get(_key(sentence))
        if entry is None:
            return None
        source = source or entry[0]
        ending = sentence.rstrip()[-1:] if sentence.rstrip()[-1:] in ".!?" else ""
        pieces.append(_PHRASES[entry[1]][_CODES.index(target)] + ending)
    return (" ".join(pieces), source) if source is not None else None
