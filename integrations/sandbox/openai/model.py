"""What the model server understood of a request, and what it recorded of each call."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .text import first_sentence, words

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation: its role and its text (text parts joined by newlines)."""

    role: str
    text: str
    name: str | None = None


@dataclass(frozen=True)
class ResponseFormat:
    """The requested `response_format`: `text`, `json_object` or `json_schema` (with its schema)."""

    type: str = "text"
    name: str | None = None
    schema: JsonDict | None = None
    strict: bool = False

    @property
    def wants_json(self) -> bool:
        """Whether the content must be JSON."""
        return self.type in ("json_object", "json_schema")


@dataclass(frozen=True)
class ChatRequest:
    """A validated Chat Completions request, as responders receive it."""

    model: str
    messages: tuple[ChatMessage, ...]
    response_format: ResponseFormat
    body: JsonDict
    max_tokens: int | None = None
    n: int = 1

    @property
    def last_user_text(self) -> str:
        """The text of the last `user` message ("" when there is none)."""
        return next((m.text for m in reversed(self.messages) if m.role == "user"), "")

    @property
    def gist(self) -> str:
        """The first sentence of the last user message (of any message when no user spoke)."""
        found = first_sentence(self.last_user_text)
        if found:
            return found
        return next((s for m in self.messages if (s := first_sentence(m.text))), "")

    @property
    def vocabulary(self) -> frozenset[str]:
        """The words of the last user message, for matching enum values against."""
        return frozenset(words(self.last_user_text))


@dataclass(frozen=True)
class Reply:
    """A complete answer: `content`, or a `refusal` (content None), and why the model stopped."""

    content: str | None = None
    refusal: str | None = None
    finish_reason: str = "stop"


@dataclass
class Call:
    """One HTTP request that reached the server, oldest first in `OpenAIEmulator.calls`.

    `headers` never hold the API key (`Authorization` and `api-key` are left out); `body` is the
    parsed JSON (None when the body was not JSON); `status` and `response` are filled in once
    answered (a dropped or still-delayed call has neither).
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.time)
    status: int | None = None
    response: JsonDict | None = None

    @property
    def text(self) -> str:
        """Everything the call's messages said, joined by newlines: what reached the model."""
        if not isinstance(self.body, dict):
            return ""
        messages = self.body.get("messages")
        if not isinstance(messages, list):
            return ""
        return "\n".join(message_text(m) for m in messages if isinstance(m, dict))

    @property
    def usage(self) -> JsonDict | None:
        """The `usage` the server reported for this call, if it answered one."""
        return None if self.response is None else self.response.get("usage")


def message_text(message: JsonDict) -> str:
    """A message's text: its string content, or its text parts joined by newlines."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""
