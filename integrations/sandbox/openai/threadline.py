"""The sandbox model's answers to Threadline's assistant: plausible, deterministic, instant.

`threadline_responder(request)` reads a request in the assistant's wire format (a user message
of tagged sections starting with `<task>`, written by `integrations/ai/prompts.py`) and answers
with the JSON of the task's schema (`integrations/ai/schemas.py`):

- triage: the keyword triage of `<text>`, a little more confident, its category one of
  `<categories>` and the language guessed from a few common words;
- summary: two or three lines drawn from the conversation;
- draft: "Hi NAME, " and the first two sentences of the best article's excerpt, citing it;
  `enough` false when no article was given;
- translate: a small phrase table (`phrases.py`: the demo's messages in English, German,
  French and Spanish, each to each), else "(translated from XX) " and the text as it was;
- auto_answer: the best article's first sentences when the customer's language is English and
  they did not ask for a person; a hand-off otherwise.

The emulator's default responder hands every request that starts with `<task>` to this module,
so the tests and `threadline demo` get these answers with no set-up. None for a task it does
not know: the default responder answers that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from integrations.ai import triage_fallback

from .model import ChatRequest, JsonDict
from .phrases import guess_language, translate

_SECTION = re.compile(
    r"<(task|categories|team_language|target_language|text)>(.*?)</\1>", re.DOTALL
)
_TICKET = re.compile(r'<ticket number="(\d+)">(.*?)</ticket>', re.DOTALL)
_CONVERSATION = re.compile(r"<conversation>\n?(.*?)\n?</conversation>", re.DOTALL)
_ARTICLE = re.compile(
    r'<article id="([^"]*)" title="([^"]*)" relevance="([0-9.]+)">\n?(.*?)\n?</article>',
    re.DOTALL,
)
_TURN = re.compile(r"^\[(customer|agent|note|assistant)\] ([^:\n]*): ?(.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_MARKDOWN = re.compile(r"^\s*(?:[-*+]|\d+\.|#+)\s+|\*\*|__|`", re.MULTILINE)
_PERSON = re.compile(
    r"\b(?:person|human|agent|someone real|real person|mensch|menschen|mitarbeiter\w*|"
    r"personne|humain|conseiller|persona|humano|agente)\b",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^\s*#")
_PLACEHOLDER = re.compile(r"^\[[a-z]+ \d+\]$")

BOOST = 0.15  # the model is a little surer than the keywords
MOST_CONFIDENT = 0.95
CLIP = 200


@dataclass(frozen=True)
class Offered:
    """An article the request offers."""

    id: str
    title: str
    relevance: float
    excerpt: str


@dataclass(frozen=True)
class Asked:
    """A request in the assistant's wire format, as sections."""

    task: str
    sections: dict[str, str]
    subject: str = ""
    turns: list[tuple[str, str, str]] = field(default_factory=list)  # speaker, name, text
    articles: list[Offered] = field(default_factory=list)

    def said_by(self, speaker: str) -> list[tuple[str, str]]:
        return [(name, text) for who, name, text in self.turns if who == speaker]


def threadline_responder(request: ChatRequest) -> JsonDict | None:
    """The JSON answer to one of the assistant's requests (None: not one of its tasks)."""
    asked = parse(request.last_user_text)
    answer = _TASKS.get(asked.task) if asked is not None else None
    return answer(asked) if answer is not None and asked is not None else None


def parse(text: str) -> Asked | None:
    """The sections of a user message in the wire format; None when it has no `<task>`."""
    sections = {tag: body.strip() for tag, body in _SECTION.findall(text)}
    if "task" not in sections:
        return None
    ticket = _TICKET.search(text)
    conversation = _CONVERSATION.search(text)
    return Asked(
        task=sections["task"],
        sections=sections,
        subject=ticket[2].strip() if ticket else "",
        turns=_turns(conversation[1]) if conversation else [],
        articles=[
            Offered(a_id, title, float(relevance), excerpt.strip())
            for a_id, title, relevance, excerpt in _ARTICLE.findall(text)
        ],
    )


def _turns(block: str) -> list[tuple[str, str, str]]:
    turns: list[tuple[str, str, str]] = []
    for line in block.splitlines():
        found = _TURN.match(line)
        if found:
            turns.append((found[1], found[2].strip(), found[3].strip()))
        elif turns and line.startswith(" "):  # a message's later lines are indented
            speaker, name, text = turns[-1]
            turns[-1] = (speaker, name, f"{text}\n{line.strip()}")
    return turns


# The tasks -------------------------------------------------------------------------------------


def _triage(asked: Asked) -> JsonDict:
    text = asked.sections.get("text", "")
    names = [n.strip() for n in asked.sections.get("categories", "").split(",") if n.strip()]
    known = {c.name.casefold(): c for c in triage_fallback.DEFAULT_CATEGORIES}
    categories = [
        known.get(n.casefold()) or triage_fallback.Category(n, _own_words(n)) for n in names
    ] or list(triage_fallback.DEFAULT_CATEGORIES)
    found = triage_fallback.triage(text, categories, guess_language(text))
    category = next((n for n in names if n.casefold() == found.category.casefold()), found.category)
    if names and category not in names:  # the keywords' "Other" when the team has none
        category = next((n for n in names if n.casefold() == "other"), names[-1])
    return found.model_copy(
        update={
            "category": category,
            "category_confidence": _surer(found.category_confidence),
            "priority_confidence": _surer(found.priority_confidence),
            "sentiment_confidence": _surer(found.sentiment_confidence),
        }
    ).model_dump()


def _summary(asked: Asked) -> JsonDict:
    customer = asked.said_by("customer")
    agents = asked.said_by("agent") + asked.said_by("assistant")
    lines = []
    if customer:
        name, text = customer[0]
        lines.append(f"Customer: {name} says: {_first(text, 1)}")
    else:
        lines.append(f"Customer: no message yet; subject {asked.subject or '(none)'}")
    if agents:
        name, text = agents[-1]
        lines.append(f"Last reply, from {name}: {_first(text, 1)}")
    else:
        lines.append("No reply yet.")
    if len(customer) > 1:
        lines.append(f"Latest from the customer: {_first(customer[-1][1], 1)}")
    return {"summary": "\n".join(lines)[:1200]}


def _draft(asked: Asked) -> JsonDict:
    if not asked.articles:
        return {"reply": "", "sources": [], "enough": False}
    best = _best(asked)
    reply = f"{_greeting(asked)}{_continuing(_first(best.excerpt, 2))} Let me know if that helps."
    return {"reply": reply, "sources": [best.id], "enough": True}


def _auto_answer(asked: Asked) -> JsonDict:
    handoff: JsonDict = {"action": "handoff", "reply": "", "sources": []}
    customer = asked.said_by("customer")
    if customer and _PERSON.search(customer[-1][1]):
        return handoff
    if not asked.articles or asked.sections.get("target_language", "en") != "en":
        return handoff
    best = _best(asked)
    reply = f"{_greeting(asked)}{_continuing(_first(best.excerpt, 2))}"
    return {"action": "answer", "reply": reply, "sources": [best.id]}


def _translate(asked: Asked) -> JsonDict:
    text = asked.sections.get("text", "")
    target = asked.sections.get("target_language", "en")
    translated = translate(text, target)
    if translated is not None:
        return {"translation": translated[0], "source_language": translated[1]}
    source = guess_language(text) or "und"
    return {"translation": f"(translated from {source}) {text}", "source_language": source}


_TASKS = {
    "triage": _triage,
    "summary": _summary,
    "draft": _draft,
    "translate": _translate,
    "auto_answer": _auto_answer,
}


# Helpers ---------------------------------------------------------------------------------------


def _own_words(name: str) -> tuple[str, ...]:
    """Keywords for a category the built-in list lacks: its name's words, any ending
    ("Payments": payment, payments, ...)."""
    return tuple(
        f"{word[:-1] if word.endswith('s') else word}*" for word in re.findall(r"\w{4,}", name)
    )


def _surer(confidence: float) -> float:
    return round(min(MOST_CONFIDENT, confidence + BOOST), 2)


def _best(asked: Asked) -> Offered:
    return max(asked.articles, key=lambda article: article.relevance)


def _greeting(asked: Asked) -> str:
    customer = asked.said_by("customer")
    name = customer[0][0].split()[0] if customer and customer[0][0].split() else ""
    if not name or _PLACEHOLDER.match(name) or name == "?":
        return "Hi there, "
    return f"Hi {name}, "


def _first(text: str, sentences: int) -> str:
    """The first `sentences` sentences of `text` on one line: headings left out, Markdown
    marks taken off, each line (a paragraph or a list item) at least one sentence."""
    found: list[str] = []
    for line in text.splitlines():
        if _HEADING.match(line):
            continue
        plain = " ".join(_MARKDOWN.sub("", line).split())
        found.extend(s for s in _SENTENCE_END.split(plain) if s)
    # An excerpt is cut to length: its cut-off last sentence is no sentence to answer with.
    whole = [s for s in found if not s.endswith(("…", "..."))] or found[:1]
    chosen = " ".join(whole[:sentences])
    if len(chosen) > CLIP:
        chosen = chosen[: CLIP - 1].rsplit(" ", 1)[0] + "…"
    return chosen


def _continuing(sentence: str) -> str:
    """A sentence as it reads after "Hi Alice, ": its first word in lower case, unless it is
    "I" or an acronym."""
    first = sentence.split(" ", 1)[0]
    if first == "I" or first[1:2].isupper():
        return sentence
    return sentence[:1].lower() + sentence[1:]
