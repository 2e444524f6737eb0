"""What the model answers with: one pydantic model per task, sent as the JSON schema of the
request (its `name` is the class name) and validated when the answer comes back.

The wire format they belong to (the sections of the request) is described in `prompts.py`. A
value that validates is still only a suggestion: `assistant.py` checks it against what was
offered (a category from the team's list, an article that was given) before anyone sees it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .triage_fallback import Triage

__all__ = ["AutoAnswer", "DraftAnswer", "SummaryAnswer", "TranslationAnswer", "Triage"]

ArticleIds = Annotated[list[str], Field(description="Ids of the articles the answer drew on")]


class SummaryAnswer(BaseModel):
    """A ticket's summary for the agent who picks it up."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    summary: str = Field(
        min_length=1,
        max_length=1200,
        description="Plain text, at most 5 short lines, in the team's language",
    )


class DraftAnswer(BaseModel):
    """A reply for agents to approve, grounded in the articles given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reply: str = Field(description="The reply to the customer; empty when enough is false")
    sources: ArticleIds
    enough: bool = Field(description="False when the articles do not answer the question")


class TranslationAnswer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    translation: str
    source_language: str = Field(max_length=8, description="ISO 639-1 code of the text")


class AutoAnswer(BaseModel):
    """The automated answer: a reply for the customer, or a hand-off to a person."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Literal["answer", "handoff"]
    reply: str = Field(description="The answer for the customer; empty for a handoff")
    sources: ArticleIds
