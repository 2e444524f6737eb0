"""What the assistant checks in a model's answer before anyone sees it, and the summary it
writes when no model answers. Pure functions.

A model's answer is a suggestion built from untrusted text: a triage's category must be one
of the team's, the articles it cites must be ones it was given, an automated answer must not
pass itself off as a person (a customer who was told "I am a real person" and was not has been
lied to), and an answer must fit in a message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from bot.core import domain
from bot.core.ai_policy import priority_of
from bot.core.assist import Citation, Conversation, Speaker

from . import schemas

# An automated answer claiming to be a person, in the languages of the team's keyword lists
# that matter most (en, de, fr, es). Accents optional: models and customers drop them alike.
_HUMAN_CLAIMS = (
    # en
    r"\bI\s*(?:am|'m|\u2019m)\s+(?:a\s+|an\s+)?(?:real\s+|actual\s+)?(?:live\s+)?"
    r"(?:person|human(?:\s+being)?)\b",
    r"\bI\s*(?:am|'m|\u2019m)\s+not\s+(?:a\s+|an\s+)?(?:bot|robot|ai|machine|chatbot|computer)\b",
    r"\b(?:this|it)\s*(?:is|'s|\u2019s)\s+not\s+(?:a\s+|an\s+)?(?:bot|robot|ai|machine|chatbot)\b",
    r"\b(?:a\s+)?real\s+(?:person|human)\s+here\b",
    r"\byou(?:\s+are|'re|\u2019re)\s+(?:talking|speaking|chatting)\s+(?:to|with)\s+a\s+"
    r"(?:real\s+)?(?:person|human)\b",
    # de
    r"\bich\s+bin\s+(?:ein\s+|eine\s+)?(?:echte[rs]?\s+|richtige[rs]?\s+)?(?:mensch|person)\b",
    r"\bich\s+bin\s+(?:kein(?:e)?\s+)(?:bot|roboter|ki|maschine|chatbot)\b",
    r"\b(?:das|hier)\s+ist\s+(?:kein(?:e)?\s+)(?:bot|roboter|ki|maschine|chatbot)\b",
    # fr
    r"\bje\s+suis\s+(?:un|une)\s+(?:vraie?\s+)?(?:personne|humaine?|[eê]tre\s+humain)\b",
    r"\bje\s+ne\s+suis\s+pas\s+(?:un|une)\s+(?:bot|robot|ia|machine|chatbot)\b",
    r"\b(?:ce\s+n|c)['\u2019]est\s+pas\s+(?:un|une)\s+(?:bot|robot|ia|machine|chatbot)\b",
    # es
    r"\bsoy\s+(?:una\s+|un\s+)?(?:persona|humano|humana|ser\s+humano)(?:\s+real)?\b",
    r"\bno\s+soy\s+(?:un\s+|una\s+)?(?:bot|robot|ia|m[aá]quina|chatbot)\b",
    r"\besto\s+no\s+es\s+(?:un\s+|una\s+)?(?:bot|robot|ia|m[aá]quina|chatbot)\b",
)
_HUMAN_CLAIM = re.compile("|".join(f"(?:{p})" for p in _HUMAN_CLAIMS), re.IGNORECASE)

_ISO_639_1 = re.compile(r"[a-z]{2}")
_SENTENCE_END = re.compile(r"(?<=[.!?…\u3002\uff01\uff1f])(?=\s|$)")


def claims_to_be_human(text: str) -> bool:
    """Whether an automated answer says it is a person (or not a bot)."""
    return _HUMAN_CLAIM.search(" ".join(text.split())) is not None


def cut_at_sentence(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters after its last whole sentence that fits; at a
    word, with an ellipsis, when not even the first sentence fits."""
    if len(text) <= limit:
        return text
    ends = [m.start() for m in _SENTENCE_END.finditer(text, 0, limit + 1) if m.start() <= limit]
    if ends:
        return text[: ends[-1]].rstrip()
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"


def cited(sources: Sequence[str], offered: Sequence[Citation]) -> tuple[Citation, ...]:
    """The offered articles a model named in `sources`, in the order offered; ids it was not
    given are ignored (it cannot have drawn on them), and with none left, the best offered."""
    named = {source.strip() for source in sources}
    found = tuple(citation for citation in offered if citation.slug in named)
    return found or tuple(offered[:1])


def clipped(text: str, chars: int = 200) -> str:
    """One line of at most `chars`, cut at a word with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= chars:
        return flat
    cut = flat[: chars - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"


def extractive_summary(conversation: Conversation) -> str:
    """A summary that needs no model: the customer's first and last messages, and how many
    replies and notes there were."""
    customer = [t for t in conversation.turns if t.speaker is Speaker.CUSTOMER]
    replies = sum(t.speaker in (Speaker.AGENT, Speaker.ASSISTANT) for t in conversation.turns)
    notes = sum(t.speaker is Speaker.NOTE for t in conversation.turns)
    lines = []
    if customer:
        first = customer[0]
        lines.append(f"Customer ({clipped(first.name, 80)}): {clipped(first.text)}")
        if len(customer) > 1:
            lines.append(f"Last from the customer: {clipped(customer[-1].text)}")
    else:
        lines.append(f"Subject: {clipped(conversation.subject)}")
    lines.append(f"Replies so far: {replies}; notes: {notes}")
    return "\n".join(lines)


# Triage -------------------------------------------------------------------------------------------


def primary_language(code: str) -> str:
    """The language of a tag ("pt" of "pt-BR" or "pt_BR"), in lower case."""
    return re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]


def language_code(code: str | None) -> str | None:
    """`code` as ISO 639-1 (its primary subtag), or None when it is not one."""
    found = primary_language(code or "")
    return found if _ISO_639_1.fullmatch(found) else None


def _confidence(value: float) -> float:
    return 0.0 if math.isnan(value) else min(1.0, max(0.0, value))


def checked_triage(
    answer: schemas.Triage,
    keyword: schemas.Triage,
    names: Sequence[str],
    detected: str | None,
) -> domain.Triage:
    """The model's triage, held to what the team allows: a category from its list (else the
    keyword triage's), a known priority, confidences in [0, 1], and lingua's language when it
    is sure of one (the model's otherwise)."""
    by_name = {name.casefold(): name for name in names}
    category = by_name.get(answer.category.strip().casefold())
    category_confidence = answer.category_confidence
    if category is None:
        category, category_confidence = keyword.category, keyword.category_confidence
    priority = priority_of(answer.priority)
    priority_confidence = answer.priority_confidence
    if priority is None:
        priority = domain.Priority(keyword.priority)
        priority_confidence = keyword.priority_confidence
    return domain.Triage(
        category=category,
        category_confidence=_confidence(category_confidence),
        priority=priority,
        priority_confidence=_confidence(priority_confidence),
        sentiment=answer.sentiment,
        sentiment_confidence=_confidence(answer.sentiment_confidence),
        language=detected or language_code(answer.language),
        title=" ".join(answer.title.split()) or keyword.title,
        by_model=True,
    )


def domain_triage(found: schemas.Triage, *, by_model: bool) -> domain.Triage:
    return domain.Triage(
        category=found.category,
        category_confidence=found.category_confidence,
        priority=domain.Priority(found.priority),
        priority_confidence=found.priority_confidence,
        sentiment=found.sentiment,
        sentiment_confidence=found.sentiment_confidence,
        language=found.language,
        title=found.title,
        by_model=by_model,
    )
