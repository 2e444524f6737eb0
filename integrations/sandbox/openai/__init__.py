"""A wire-level loopback OpenAI-compatible model server for the real `openai` client.

`OpenAIEmulator` answers `POST /v1/chat/completions` (plain text, JSON mode and JSON-schema
structured outputs) and `GET /v1/models` on 127.0.0.1, deterministically: the default responder
writes `Summary: <first sentence of the last user message>`, or a value valid against the
requested schema, its enums matched against what the user wrote. Streaming and tools are not
served.

    async with OpenAIEmulator() as model:
        client = AsyncOpenAI(base_url=model.base_url, api_key=model.api_key, max_retries=2)
        done = await client.chat.completions.parse(
            model="gpt-4o-mini", messages=[...], response_format=Triage
        )
        assert model.chat_calls[0].text  # what reached the model (the key never recorded)

Answers can be chosen: `model.responder = fn` (a callable taking the `ChatRequest`, returning
text, a `Reply`, a JSON-able value, or None for the default), or `model.reply_with(...)` for the
next calls. Faults: `model.faults.fail_next(1, status=500)`, `rate_limit_next(1, retry_after=0.1)`,
`delay_next(1, seconds=2)`, `malformed_next()`, `refuse_next()`, `drop_next()`.
`OpenAIEmulator(schemas=False)` is a server without structured outputs (JSON mode only).
"""

from __future__ import annotations

from .emulator import DEFAULT_API_KEY, DEFAULT_MODELS, OpenAIEmulator
from .faults import REFUSAL, Fault, Faults
from .model import Call, ChatMessage, ChatRequest, Reply, ResponseFormat
from .responder import Responder, default_responder, embedded_schema, plain_reply
from .schema import Context, value_for
from .text import count_tokens
from .wire import ApiError

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_MODELS",
    "REFUSAL",
    "ApiError",
    "Call",
    "ChatMessage",
    "ChatRequest",
    "Context",
    "Fault",
    "Faults",
    "OpenAIEmulator",
    "Reply",
    "Responder",
    "ResponseFormat",
    "count_tokens",
    "default_responder",
    "embedded_schema",
    "plain_reply",
    "value_for",
]
