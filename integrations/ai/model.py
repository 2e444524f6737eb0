"""The model behind the AI features: any server that speaks OpenAI's Chat Completions.

`ModelClient` asks for structured results with a JSON schema (`response_format`), validated by
pydantic, and falls back to JSON mode plus the same validation where a server has no schema
support (several local servers); it remembers that, so each later call goes straight to JSON
mode. Every failure (no answer in time, a 5xx after the client's own retries, a refusal, output
that does not validate, the circuit open) is one `ModelUnavailable`: callers fall back to what
works without a model, and a ticket never waits on one.

Prompts and completions are logged only at DEBUG: they hold customers' words.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import openai
from openai import AsyncOpenAI, omit
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
Messages = Sequence[ChatCompletionMessageParam]


class ModelUnavailable(Exception):
    """The model gave no usable answer; `reason` says why in a few words (for the log and for
    the people who look at why a feature fell back)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    value: T
    usage: Usage
    model: str


@dataclass(frozen=True, slots=True)
class TextAnswer:
    text: str
    usage: Usage
    model: str


class CircuitBreaker:
    """After `failures` failures in a row, no call is made for `cooldown` seconds; then one
    call is let through, and its outcome closes the circuit or opens it again.

    A model that is down would otherwise cost every AI job its full timeout and retries, and
    the provider a storm of calls. (Small enough not to need a library.)"""

    def __init__(
        self,
        failures: int = 3,
        cooldown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = failures
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._open_until: float | None = None

    @property
    def is_open(self) -> bool:
        return self._open_until is not None and self._clock() < self._open_until

    def allow(self) -> bool:
        """Whether a call may be made now (a half-open circuit lets one through)."""
        if self._open_until is None:
            return True
        if self._clock() >= self._open_until:
            self._open_until = self._clock() + self._cooldown  # one trial; others still wait
            return True
        return False

    def succeeded(self) -> None:
        self._failures = 0
        self._open_until = None

    def failed(self) -> None:
        self._failures += 1
        if self._failures >= self._limit:
            self._open_until = self._clock() + self._cooldown
            log.warning(
                "The model failed %d times in a row; no calls for %.0f s",
                self._failures,
                self._cooldown,
            )


class ModelClient:
    """One model server: `structured()` for typed results, `text()` for prose."""

    def __init__(
        self,
        client: AsyncOpenAI,
        model: str,
        *,
        timeout: float = 20.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._client = client
        self.model = model
        self._timeout = timeout
        self._breaker = breaker or CircuitBreaker()
        self._schemas = True  # until the server says it has no schema support

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    async def structured(
        self, messages: Messages, schema: type[T], *, model: str | None = None
    ) -> Answer[T]:
        """A result of type `schema`, validated; `ModelUnavailable` when there is none."""
        chosen = model or self.model
        self._check_open()
        try:
            if self._schemas:
                try:
                    answer = await self._with_schema(messages, schema, chosen)
                except openai.BadRequestError as exc:
                    if not _lacks_schemas(exc):
                        raise
                    log.info("The model server has no JSON schema support; using JSON mode")
                    self._schemas = False
                    answer = await self._json_mode(messages, schema, chosen)
            else:
                answer = await self._json_mode(messages, schema, chosen)
        except ModelUnavailable:
            self._breaker.failed()
            raise
        except openai.OpenAIError as exc:
            self._breaker.failed()
            raise ModelUnavailable(_why(exc)) from exc
        self._breaker.succeeded()
        return answer

    async def text(
        self, messages: Messages, *, model: str | None = None, max_tokens: int | None = None
    ) -> TextAnswer:
        """A reply in prose; `ModelUnavailable` when there is none."""
        chosen = model or self.model
        self._check_open()
        _debug("prompt", messages)
        try:
            done = await self._client.chat.completions.create(
                model=chosen,
                messages=messages,
                timeout=self._timeout,
                max_tokens=max_tokens if max_tokens else omit,
            )
        except openai.OpenAIError as exc:
            self._breaker.failed()
            raise ModelUnavailable(_why(exc)) from exc
        choice = done.choices[0] if done.choices else None
        content = choice.message.content if choice else None
        if not content or (choice is not None and choice.message.refusal):
            self._breaker.failed()
            raise ModelUnavailable("the model refused" if choice else "an empty answer")
        self._breaker.succeeded()
        log.debug("Model answer: %s", content)
        return TextAnswer(content, _usage(done.usage), done.model or chosen)

    # --- the two ways to a structured result ----------------------------------------------

    async def _with_schema(self, messages: Messages, schema: type[T], model: str) -> Answer[T]:
        _debug("prompt", messages)
        try:
            done = await self._client.chat.completions.parse(
                model=model, messages=messages, response_format=schema, timeout=self._timeout
            )
        except (ValidationError, ValueError) as exc:  # the client parses as it receives
            raise ModelUnavailable("the answer did not match the schema") from exc
        message = done.choices[0].message if done.choices else None
        if message is None or message.refusal:
            raise ModelUnavailable("the model refused")
        if message.parsed is None:
            raise ModelUnavailable("the answer did not match the schema")
        log.debug("Model answer: %s", message.content)
        return Answer(message.parsed, _usage(done.usage), done.model or model)

    async def _json_mode(self, messages: Messages, schema: type[T], model: str) -> Answer[T]:
        shape = json.dumps(schema.model_json_schema())
        asked: list[ChatCompletionMessageParam] = [
            {
                "role": "system",
                "content": "Answer with one JSON object only, valid against this JSON schema: "
                + shape,
            },
            *messages,
        ]
        _debug("prompt", asked)
        done = await self._client.chat.completions.create(
            model=model,
            messages=asked,
            response_format={"type": "json_object"},
            timeout=self._timeout,
        )
        message = done.choices[0].message if done.choices else None
        if message is None or message.refusal or not message.content:
            raise ModelUnavailable("the model refused")
        log.debug("Model answer: %s", message.content)
        try:
            value = schema.model_validate_json(message.content)
        except ValidationError as exc:
            raise ModelUnavailable("the answer did not match the schema") from exc
        return Answer(value, _usage(done.usage), done.model or model)

    def _check_open(self) -> None:
        if not self._breaker.allow():
            raise ModelUnavailable("the model failed repeatedly; waiting before trying again")


def _lacks_schemas(exc: openai.BadRequestError) -> bool:
    """A 400 about `response_format` itself: the server has no JSON schema support."""
    return "response_format" in str(exc) or "json_schema" in str(exc)


# Most specific first: a timeout is a connection error, a rate limit a status error.
_WHY: tuple[tuple[type[openai.OpenAIError], str], ...] = (
    (openai.APITimeoutError, "no answer in time"),
    (openai.RateLimitError, "rate-limited by the model server"),
    (openai.APIConnectionError, "the model server is unreachable"),
    (openai.LengthFinishReasonError, "the answer was cut off"),
    (openai.ContentFilterFinishReasonError, "the answer was filtered"),
)


def _why(exc: openai.OpenAIError) -> str:
    for kind, why in _WHY:
        if isinstance(exc, kind):
            return why
    if isinstance(exc, openai.APIStatusError):
        return f"the model server answered {exc.status_code}"
    return type(exc).__name__


def _usage(found: Any) -> Usage:
    if found is None:
        return Usage()
    return Usage(int(found.prompt_tokens or 0), int(found.completion_tokens or 0))


def _debug(what: str, messages: Messages) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug("Model %s: %s", what, json.dumps(list(messages), default=str))
