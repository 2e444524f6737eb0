"""The API's wire shapes: error bodies, completion bodies, usage and the standard headers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .model import ChatRequest, JsonDict, Reply
from .text import count_tokens

OPENAI_VERSION = "2020-10-01"
FINGERPRINT = "fp_sandbox"
MESSAGE_OVERHEAD = 3  # tokens each message costs beyond its text, as with the real tokenizers
REPLY_PRIMING = 3  # tokens every reply is primed with


class ApiError(Exception):
    """An error the API answers with: `{"error": {"message", "type", "param", "code"}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # the API's own field name
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> JsonDict:
        """The response body."""
        error = {"message": self.message, "type": self.type, "param": self.param}
        return {"error": {**error, "code": self.code}}


def failure(status: int) -> ApiError:
    """What the API says when it fails with `status` (500 and 503 as it words them)."""
    if status == 503:
        return ApiError(status, "The server is overloaded or not ready yet.", type="server_error")
    if status >= 500:
        message = "The server had an error while processing your request. Sorry about that!"
        return ApiError(status, message, type="server_error")
    return ApiError(status, f"The request failed with status {status}.")


def invalid_value(param: str, value: Any, allowed: tuple[str, ...]) -> ApiError:
    """A 400 for a value outside an enumeration, worded like the API."""
    quoted = [f"'{a}'" for a in allowed]
    listed = (
        " and ".join(quoted) if len(quoted) <= 2 else f"{', '.join(quoted[:-1])}, and {quoted[-1]}"
    )
    return ApiError(
        400,
        f"Invalid value: '{str(value)[:60]}'. Supported values are: {listed}.",
        param=param,
        code="invalid_value",
    )


def missing(param: str) -> ApiError:
    """A 400 for a required parameter left out."""
    return ApiError(
        400,
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


def prompt_tokens(request: ChatRequest) -> int:
    """The prompt's token count: every message's text and overhead, and the schema's size."""
    total = REPLY_PRIMING + sum(count_tokens(m.text) + MESSAGE_OVERHEAD for m in request.messages)
    schema = request.response_format.schema
    return total + (count_tokens(json.dumps(schema)) if schema else 0)


def usage(prompt: int, completion: int) -> JsonDict:
    """The `usage` object, details included as the API reports them."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def completion(request: ChatRequest, reply: Reply, *, completion_id: str, created: int) -> JsonDict:
    """A `chat.completion` object: `request.n` identical choices of `reply`."""
    message: JsonDict = {
        "role": "assistant",
        "content": reply.content,
        "refusal": reply.refusal,
        "annotations": [],
    }
    choice = {"message": message, "logprobs": None, "finish_reason": reply.finish_reason}
    spoken = count_tokens(reply.content or reply.refusal or "")
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": request.model,
        "choices": [{"index": i, **choice} for i in range(request.n)],
        "usage": usage(prompt_tokens(request), spoken * request.n),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }


def model_object(name: str, created: int) -> JsonDict:
    """One entry of `GET /v1/models`."""
    return {"id": name, "object": "model", "created": created, "owned_by": "threadline-sandbox"}


def respond(body: JsonDict, *, status: int = 200, headers: dict[str, str]) -> web.Response:
    """A JSON response with the API's headers."""
    merged = {"openai-version": OPENAI_VERSION, **headers}
    return web.json_response(body, status=status, headers=merged)
