"""What the AI features hand the core, and what the core hands them.

The core never talks to a model: it asks the `Assistant` port (`bot/core/ports.py`), which the
adapter in `integrations/ai/` implements on a model and on fallbacks that need none. Every answer
says what it cost (`Spend`, recorded per ticket and per day) and, when no model gave it, why
(`fallback`), so agents can tell a model's suggestion from a keyword's.

Customer text is untrusted: what the assistant returns is data (a category, a draft for agents to
approve, an explicit `answer` or `handoff` action), never an instruction the core follows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from bot.core.domain import Triage


class Speaker(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"  # a reply the customer saw
    NOTE = "note"  # internal: never shown to a model that answers customers
    ASSISTANT = "assistant"  # an automated answer the customer saw


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: Speaker
    name: str
    text: str


@dataclass(frozen=True, slots=True)
class Conversation:
    """A ticket's conversation as the assistant reads it (oldest first)."""

    number: int
    subject: str
    turns: tuple[Turn, ...]
    language: str | None = None  # the customer's, when known

    def for_customer(self) -> Conversation:
        """The conversation without internal notes: what may inform an answer to the customer."""
        turns = tuple(t for t in self.turns if t.speaker is not Speaker.NOTE)
        return Conversation(self.number, self.subject, turns, self.language)

    @property
    def last_customer_text(self) -> str:
        for turn in reversed(self.turns):
            if turn.speaker is Speaker.CUSTOMER:
                return turn.text
        return ""


@dataclass(frozen=True, slots=True)
class Spend:
    """One model call's tokens."""

    model: str
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class Citation:
    """A knowledge-base article an answer drew on; `relevance` in [0, 1]."""

    slug: str
    title: str
    relevance: float


def encode_citations(citations: tuple[Citation, ...]) -> str:
    """Citations as one text field (queued events hold plain fields)."""
    return json.dumps([[c.slug, c.title, round(c.relevance, 3)] for c in citations])


def decode_citations(text: str) -> tuple[Citation, ...]:
    if not text:
        return ()
    return tuple(Citation(str(s), str(t), float(r)) for s, t, r in json.loads(text))


@dataclass(frozen=True, slots=True)
class Triaged:
    triage: Triage
    spent: tuple[Spend, ...] = ()
    fallback: str | None = None  # why no model gave it; None when one did


@dataclass(frozen=True, slots=True)
class Summarised:
    text: str
    spent: tuple[Spend, ...] = ()
    fallback: str | None = None


@dataclass(frozen=True, slots=True)
class Drafted:
    """A reply for agents to approve. `text` None: no draft (no model, or no article above the
    cut-off); `citations` are then the articles that may help, if any."""

    text: str | None
    citations: tuple[Citation, ...] = ()
    spent: tuple[Spend, ...] = ()
    fallback: str | None = None


@dataclass(frozen=True, slots=True)
class Translated:
    """`text` None: not translated (no model, or already in that language)."""

    text: str | None
    source: str | None  # the language it was in, when known
    target: str
    spent: tuple[Spend, ...] = ()
    fallback: str | None = None


@dataclass(frozen=True, slots=True)
class AutoReply:
    """What the automated answer decided: answer the customer (`text`, from `citations`), hand
    the ticket to a person, or do nothing (no model, nothing above the cut-off)."""

    action: Literal["answer", "handoff", "none"]
    text: str | None = None
    citations: tuple[Citation, ...] = ()
    spent: tuple[Spend, ...] = ()
    fallback: str | None = None


class DraftStatus(StrEnum):
    OFFERED = "offered"  # in the thread, waiting for an agent
    SENT = "sent"  # an agent sent it (as written or edited): it is their reply now
    DISCARDED = "discarded"


@dataclass(frozen=True, slots=True)
class Draft:
    """A drafted reply, kept so that Send works once, after a restart too."""

    id: int
    ticket_id: int
    text: str
    citations: tuple[Citation, ...]
    by_model: bool
    status: DraftStatus
    created_at: datetime
    decided_by: str | None = None  # the agent who sent or discarded it
    decided_at: datetime | None = None
    message_id: int | None = None  # the reply it became, once sent
