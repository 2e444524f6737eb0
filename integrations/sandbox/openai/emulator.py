"""`OpenAIEmulator`: an OpenAI-compatible Chat Completions server on one loopback port."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from integrations.sandbox.notify import Notifier

from .faults import ARRIVAL, CONTENT, REFUSAL, Fault, Faults
from .model import Call, ChatRequest, JsonDict, Reply
from .responder import Answers, Responder
from .text import count_tokens, truncate_to_tokens
from .validation import parse_request
from .wire import ApiError, completion, failure, model_object, respond

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_API_KEY = "sk-sandbox-threadline"  # a loopback server's fixed key
DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o")
MODELS_CREATED = 1_700_000_000
HIDDEN_HEADERS = frozenset({"authorization", "api-key"})
MALFORMED_PREFIX = "Sure! Here is the JSON you asked for:\n"
REQUESTS_PER_MINUTE = 500
TOKENS_PER_MINUTE = 200_000


@dataclass
class Outcome:
    """What an endpoint answers: a JSON body, a status, extra headers."""

    body: JsonDict
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Endpoint = Callable[[web.Request, Call], Awaitable[Outcome | None]]  # None: drop the connection


class OpenAIEmulator:
    """A loopback OpenAI-compatible model server the real `openai` client talks to.

    `async with OpenAIEmulator() as model:` then
    `AsyncOpenAI(base_url=model.base_url, api_key=model.api_key)`. `api_key=None` accepts any
    key (like a local server); `models=None` accepts any model name; `schemas=False` answers
    `json_schema` requests 400, like servers without structured outputs.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = DEFAULT_API_KEY,
        models: Iterable[str] | None = DEFAULT_MODELS,
        schemas: bool = True,
        responder: Responder | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.port = port
        self._api_key = api_key
        self.models: tuple[str, ...] | None = None if models is None else tuple(models)
        self.schemas = schemas
        self.clock = clock
        self.faults = Faults()
        self.answers = Answers(responder)
        self.notifier = Notifier()
        self._calls: list[Call] = []
        self._serial = 0
        self._completions = 0
        self._runner: web.AppRunner | None = None

    # lifecycle

    async def __aenter__(self) -> OpenAIEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on `host:port` (port 0: a free port, then `self.port` holds it)."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._route(self._chat))
        app.router.add_get("/v1/models", self._route(self._models))
        app.router.add_get("/v1/models/{model}", self._route(self._model))
        app.router.add_route("*", "/{tail:.*}", self._route(self._unknown))
        # A short shutdown: delays end at stop(), and no handler should outlive the server.
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if not self.port:
            sockets = getattr(site._server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])
        log.info("openai emulator listening on %s", self.base_url)

    async def stop(self) -> None:
        """End pending delays and stop the server."""
        self.faults.closing()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # addresses, credentials and controls

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT/v1`: the client's `base_url` (`OPENAI_BASE_URL`)."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def api_key(self) -> str:
        """The key the server accepts (`OPENAI_API_KEY`); any key when built with None."""
        return self._api_key or DEFAULT_API_KEY

    @property
    def responder(self) -> Responder:
        """Who answers requests when no canned reply is queued (the default responder)."""
        return self.answers.responder

    @responder.setter
    def responder(self, responder: Responder) -> None:
        self.answers.responder = responder

    def reply_with(self, *replies: Any) -> None:
        """Queue canned replies: the next calls get them in order (a string, a `Reply`, or a
        JSON-able value sent as JSON), then the responder answers again."""
        self.answers.queue_replies(*replies)

    # what reached the server

    @property
    def calls(self) -> list[Call]:
        """Every request, oldest first."""
        return list(self._calls)

    def calls_to(self, path: str) -> list[Call]:
        """The requests to one path (`/v1/chat/completions`, `/v1/models`)."""
        return [call for call in self._calls if call.path == path]

    @property
    def chat_calls(self) -> list[Call]:
        """The Chat Completions requests, oldest first."""
        return self.calls_to("/v1/chat/completions")

    @property
    def tokens_used(self) -> int:
        """The total tokens reported in `usage` over every answered completion."""
        return sum(int(call.usage["total_tokens"]) for call in self.chat_calls if call.usage)

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for a state, not one awaited call
    ) -> T:
        """Wait until `predicate()` is truthy (re-checked whenever a call arrives or is
        answered); its value."""
        return await self.notifier.wait_for(predicate, timeout)

    # serving

    def _route(self, endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, endpoint)

        return handle

    async def _serve(self, request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
        started = time.monotonic()
        call = await _record(request)
        self._calls.append(call)
        self.notifier.notify()
        self._serial += 1
        request_id = f"req_sandbox{self._serial:012d}"
        try:
            outcome = await endpoint(request, call)
        except ApiError as error:
            outcome = Outcome(error.body(), error.status, error.headers)
        if outcome is None:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never sent: the connection is gone
        call.status, call.response = outcome.status, outcome.body
        self.notifier.notify()
        elapsed = str(round((time.monotonic() - started) * 1000))
        headers = {"x-request-id": request_id, "openai-processing-ms": elapsed, **outcome.headers}
        return respond(outcome.body, status=outcome.status, headers=headers)

    def _authorize(self, request: web.Request) -> None:
        given = request.headers.get("Authorization", "")
        if not given.startswith("Bearer ") or not given[7:].strip():
            raise ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        key = given[7:].strip()
        if self._api_key is not None and key != self._api_key:
            raise ApiError(
                401,
                f"Incorrect API key provided: {_masked(key)}.",
                code="invalid_api_key",
            )

    async def _chat(self, request: web.Request, call: Call) -> Outcome | None:
        self._authorize(request)
        await self.faults.delay()
        fault = self.faults.take(ARRIVAL)
        if fault is not None:
            if fault.kind == "drop":
                return None
            raise (
                _rate_limited(call, fault) if fault.kind == "rate_limit" else failure(fault.status)
            )
        chat = parse_request(call.body, models=self.models, schemas=self.schemas)
        log.debug("openai emulator: prompt %s", [m.text for m in chat.messages])
        reply = await self._reply(chat)
        log.debug("openai emulator: answer %r", reply.content or reply.refusal)
        self._completions += 1
        completion_id = f"chatcmpl-sandbox{self._completions:012d}"
        body = completion(chat, reply, completion_id=completion_id, created=int(self.clock()))
        used = int(body["usage"]["total_tokens"])
        return Outcome(body, headers=_limits(REQUESTS_PER_MINUTE - 1, TOKENS_PER_MINUTE - used))

    async def _reply(self, chat: ChatRequest) -> Reply:
        try:
            reply = await self.answers.answer(chat)
        except Exception:
            # A broken responder is the test's bug: log it, and answer as a failing model would.
            log.exception("openai emulator: the responder failed")
            raise failure(500) from None
        fault = self.faults.take(CONTENT)
        if fault is not None and fault.kind == "refuse":
            return Reply(content=None, refusal=REFUSAL)
        if fault is not None:
            text = reply.content or ""
            reply = Reply(MALFORMED_PREFIX + text[: len(text) // 2], None, reply.finish_reason)
        limit = chat.max_tokens
        if limit is not None and reply.content and count_tokens(reply.content) > limit:
            return Reply(truncate_to_tokens(reply.content, limit), None, "length")
        return reply

    async def _models(self, request: web.Request, call: Call) -> Outcome:
        self._authorize(request)
        listed = [model_object(name, MODELS_CREATED) for name in self.models or ()]
        return Outcome({"object": "list", "data": listed})

    async def _model(self, request: web.Request, call: Call) -> Outcome:
        self._authorize(request)
        name = request.match_info["model"]
        if self.models is not None and name not in self.models:
            raise ApiError(
                404,
                f"The model '{name}' does not exist",
                param="model",
                code="model_not_found",
            )
        return Outcome(model_object(name, MODELS_CREATED))

    async def _unknown(self, request: web.Request, call: Call) -> Outcome:
        raise ApiError(404, f"Invalid URL ({request.method} {request.path})")


async def _record(request: web.Request) -> Call:
    raw = await request.text()
    body: Any = None
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() not in HIDDEN_HEADERS}
    return Call(request.method, request.path, headers, body)


def _rate_limited(call: Call, fault: Fault) -> ApiError:
    model = call.body.get("model") if isinstance(call.body, dict) else None
    wait = f"{fault.seconds:g}"
    message = (
        f"Rate limit reached for {model or 'the model'} in organization org-sandbox on requests "
        f"per min (RPM): Limit {REQUESTS_PER_MINUTE}, Used {REQUESTS_PER_MINUTE}, Requested 1. "
        f"Please try again in {wait}s."
    )
    headers = {
        "retry-after": wait,
        "retry-after-ms": str(round(fault.seconds * 1000)),
        **_limits(0, TOKENS_PER_MINUTE, reset=_duration(fault.seconds)),
    }
    return ApiError(429, message, type="requests", code="rate_limit_exceeded", headers=headers)


def _limits(requests_left: int, tokens_left: int, *, reset: str = "0s") -> dict[str, str]:
    """The `x-ratelimit-*` headers the API sends with every answer."""
    return {
        "x-ratelimit-limit-requests": str(REQUESTS_PER_MINUTE),
        "x-ratelimit-remaining-requests": str(max(0, requests_left)),
        "x-ratelimit-reset-requests": reset,
        "x-ratelimit-limit-tokens": str(TOKENS_PER_MINUTE),
        "x-ratelimit-remaining-tokens": str(max(0, tokens_left)),
        "x-ratelimit-reset-tokens": "0s",
    }


def _duration(seconds: float) -> str:
    """`2s`, `100ms`, `1m30s`: how the API writes the x-ratelimit-reset-* durations."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:g}s" if minutes else f"{rest:g}s"


def _masked(key: str) -> str:
    return f"{key[:3]}{'*' * 8}{key[-4:]}" if len(key) > 8 else "*" * len(key)
