"""Who writes the answers: the default responder, test-installed responders, canned replies.

A responder is a callable taking the `ChatRequest` and returning (or awaiting) the answer: a
string is the content as is, a `Reply` is used whole (a refusal, a finish reason), None defers
to the default responder, and anything else is sent as JSON.
"""

from __future__ import annotations

import inspect
import json
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from .model import ChatRequest, JsonDict, Reply
from .schema import Context, value_for
from .threadline import threadline_responder

Responder = Callable[[ChatRequest], Any | Awaitable[Any]]

NOTHING_ASKED = "(nothing was asked)"
SCHEMA_ROLES = ("developer", "system", "user", "assistant")  # where an embedded schema is sought


def default_responder(request: ChatRequest) -> str | JsonDict:
    """A deterministic answer drawn from the conversation.

    With a JSON schema: a value valid against it (enums matched against the last user message).
    In JSON mode: a value for the JSON schema a message embeds (as an adapter does when falling
    back from schemas), else `{"answer": <the plain reply>}`. Otherwise plain text:
    `Summary: <first sentence of the last user message>`. A request of Threadline's assistant
    (its user message starts with `<task>`) is answered by `threadline.py`.
    """
    if request.last_user_text.lstrip().startswith("<task>"):
        answer = threadline_responder(request)
        if answer is not None:
            return answer
    context = Context(request.gist, request.vocabulary)
    fmt = request.response_format
    if fmt.schema is not None:
        return json.dumps(value_for(fmt.schema, context), ensure_ascii=False)
    if fmt.type in ("json_object", "json_schema"):
        embedded = embedded_schema(request)
        if embedded is not None:
            return json.dumps(value_for(embedded, context), ensure_ascii=False)
        return json.dumps({"answer": plain_reply(request)}, ensure_ascii=False)
    return plain_reply(request)


def plain_reply(request: ChatRequest) -> str:
    """`Summary: <first sentence of the last user message>`."""
    return f"Summary: {request.gist or NOTHING_ASKED}"


def embedded_schema(request: ChatRequest) -> JsonDict | None:
    """The first JSON schema written into a message (system and developer messages first)."""
    ordered = sorted(
        request.messages,
        key=lambda m: SCHEMA_ROLES.index(m.role) if m.role in SCHEMA_ROLES else len(SCHEMA_ROLES),
    )
    for message in ordered:
        found = _schema_in(message.text)
        if found is not None:
            return found
    return None


def _schema_in(text: str) -> JsonDict | None:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict) and _looks_like_schema(value):
            return value
        start = text.find("{", end)
    return None


def _looks_like_schema(value: JsonDict) -> bool:
    # An object's schema, or a recursive model's: a root `$ref` into its `$defs`.
    return isinstance(value.get("properties"), dict) or (
        isinstance(value.get("$defs"), dict) and ("$ref" in value or value.get("type") == "object")
    )


class Answers:
    """The answer to each request: a queued canned reply first, else the installed responder."""

    def __init__(self, responder: Responder | None = None) -> None:
        self.responder: Responder = responder or default_responder
        self.queue: deque[Any] = deque()

    def queue_replies(self, *replies: Any) -> None:
        """The next calls answer these, one each, in order (before any responder)."""
        self.queue.extend(replies)

    async def answer(self, request: ChatRequest) -> Reply:
        """The reply to `request`."""
        found: Any = self.queue.popleft() if self.queue else await _call(self.responder, request)
        if found is None:
            found = default_responder(request)
        return as_reply(found)


async def _call(responder: Responder, request: ChatRequest) -> Any:
    found = responder(request)
    if inspect.isawaitable(found):
        found = await found
    return found


def as_reply(found: Any) -> Reply:
    """A responder's result as a `Reply` (strings as they are, other values as JSON)."""
    if isinstance(found, Reply):
        return found
    if isinstance(found, str):
        return Reply(content=found)
    return Reply(content=json.dumps(found, ensure_ascii=False))
