"""What the model server's tests share: the model name, a conversation, a triage schema."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, Literal

from openai import AsyncOpenAI
from pydantic import BaseModel, ConfigDict, Field

ClientFactory = Callable[..., AsyncOpenAI]  # the `make_client` fixture
MODEL = "gpt-4o-mini"
COMPLAINT = "I was charged twice on my bill this month. Please refund one of the payments!"


def ask(text: str = COMPLAINT, system: str = "You triage support tickets.") -> list[Any]:
    """A system prompt and one user message."""
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class Scored(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str = Field(max_length=40)
    confidence: float = Field(ge=0, le=1)


class Triage(BaseModel):
    """Enums, a nested object, a bounded list, an optional field and confidences."""

    model_config = ConfigDict(extra="forbid")
    category: Literal["account", "billing", "bug", "other"]
    sentiment: Sentiment
    priority: Literal["low", "normal", "high", "urgent"]
    title: Scored
    language: str = Field(max_length=5)
    articles: list[Scored] = Field(min_length=1, max_length=3)
    escalate: bool
    note: str | None
    confidence: float = Field(ge=0, le=1)
