"""The `[ai]` table of `threadline.toml`: which AI features are on, which model each uses, the
daily token budget, the team's categories, the knowledge base, the team's language, what is
redacted, and the auto-answer's mode.

With no `[ai]` table and no model configured, nothing here is used: tickets flow exactly as they
did before AI existed. With the table and no model (or the model down, or the day's budget
spent), every feature that can falls back to what needs no model: keyword triage, "articles that
may help" from the knowledge base, and a summary made of the conversation's own lines.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.core.domain import Priority

# The categories a team has when `[ai] categories` lists none (the keyword triage in
# `integrations/ai/triage_fallback.py` knows words for each).
DEFAULT_CATEGORY_NAMES = (
    "Shipping",
    "Returns & refunds",
    "Billing",
    "Account & login",
    "Technical problem",
    "Other",
)

# What a person can name in `redact`: the kinds `integrations/ai/redact.py` knows.
REDACT_KINDS = ("email", "phone", "card", "token", "iban", "ip")


class AutoAnswerMode(StrEnum):
    OFF = "off"  # never (the default)
    OUTSIDE_HOURS = "outside_hours"  # only while the team's business calendar is closed
    ALWAYS = "always"


class Feature(StrEnum):
    """The AI features; each can be turned off and given a model of its own."""

    TRIAGE = "triage"
    SUMMARY = "summary"
    DRAFT = "draft"
    TRANSLATION = "translation"
    AUTO_ANSWER = "auto_answer"


class CategoryPolicy(BaseModel):
    """One of the team's categories: a name, and words that point to it (for the triage that
    needs no model; the syntax is in `integrations/ai/triage_fallback.py`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=80)]
    keywords: tuple[str, ...] = ()


class AiPolicy(BaseModel):
    """`[ai]` in `threadline.toml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Features, each on unless turned off; auto-answer has its own mode, off by default.
    triage: bool = True
    summary: bool = True
    draft: bool = True
    translation: bool = True
    auto_answer: AutoAnswerMode = AutoAnswerMode.OFF
    # A model per feature ({"draft" = "gpt-4o"}); the rest use OPENAI_MODEL.
    models: dict[Feature, Annotated[str, Field(min_length=1, max_length=128)]] = {}
    # Tokens a UTC day may spend across all features; past it they fall back. None: no limit.
    daily_tokens: Annotated[int, Field(gt=0)] | None = None
    # The team's categories; empty: the built-in list (billing, account, bug, ...).
    categories: tuple[CategoryPolicy, ...] = ()
    # A folder of Markdown articles the drafts and the auto-answer draw on; None: no articles.
    knowledge: str | None = None
    # Below this relevance (0..1) an article does not count: no draft, no auto-answer.
    cutoff: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    # The language agents read and write (ISO 639-1); other languages get a translation line.
    team_language: Annotated[str, Field(min_length=2, max_length=3, pattern=r"^[a-z]+$")] = "en"
    # Turn "translate replies" on for a ticket by itself when its customer writes in another
    # language (agents can turn it off and on with a button on the card).
    translate_replies: bool = True
    # What is replaced by placeholders before any text leaves for a model.
    redact: tuple[str, ...] = REDACT_KINDS
    # Apply the suggested priority to the ticket (otherwise it is only shown).
    auto_priority: bool = False
    # A model call that takes longer than this many seconds counts as failed.
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 20.0

    @model_validator(mode="after")
    def _known(self) -> AiPolicy:
        unknown = sorted(set(self.redact) - set(REDACT_KINDS))
        if unknown:
            raise ValueError(f"redact: unknown kinds {unknown}; known: {list(REDACT_KINDS)}")
        names = [c.name.casefold() for c in self.categories]
        if len(set(names)) != len(names):
            raise ValueError("categories: a name appears twice")
        return self

    def on(self, feature: Feature) -> bool:
        if feature is Feature.AUTO_ANSWER:
            return self.auto_answer is not AutoAnswerMode.OFF
        enabled: bool = getattr(self, feature.value)
        return enabled

    def category_names(self) -> list[str]:
        if not self.categories:
            return list(DEFAULT_CATEGORY_NAMES)
        return [category.name for category in self.categories]

    def model_for(self, feature: Feature, default: str) -> str:
        return self.models.get(feature, default)


def priority_of(name: str) -> Priority | None:
    try:
        return Priority(name)
    except ValueError:
        return None
