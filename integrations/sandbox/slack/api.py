"""The Web API endpoint `/api/{method}`: arguments, tokens, faults, rate limits, the call log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from .errors import SlackError
from .faults import Faults
from .limits import RateLimits
from .model import JsonDict
from .timing import Timing
from .workspace import Workspace

log = logging.getLogger(__name__)

CALL_LOG_LIMIT = 100_000
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


@dataclass(frozen=True)
class ApiCall:
    """One Web API call the app made, as the call log keeps it."""

    method: str
    args: JsonDict
    ok: bool
    error: str | None
    status: int
    at: float = field(default_factory=time.time)


@dataclass
class Call:
    """The arguments of one call, merged from query string, form and JSON body."""

    method: str
    args: JsonDict

    def get(self, name: str) -> Any:
        """The raw argument (a string, or any JSON value for JSON bodies)."""
        return self.args.get(name)

    def text(self, name: str, missing: str | None = None) -> str:
        """A string argument; raises SlackError(`missing`) when absent and `missing` is given."""
        value = self.args.get(name)
        if value is None or value == "":
            if missing:
                raise SlackError(missing)
            return ""
        return str(value)

    def flag(self, name: str) -> bool:
        """A boolean argument (`true`, `1`, JSON true)."""
        value = self.args.get(name)
        return value is True or str(value).lower() in ("1", "true")


@dataclass
class ApiContext:
    """What method handlers need besides their arguments."""

    workspace: Workspace
    timing: Timing
    base_url: Callable[[], str]
    socket_url: Callable[[], str]
    now: Callable[[], float]


Handler = Callable[[ApiContext, Call], JsonDict]


def json_response(
    data: JsonDict, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer with `Content-Type: application/json` (what slack_sdk requires)."""
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")


class WebApi:
    """Serves `/api/{method}` from a table of handlers."""

    def __init__(
        self,
        context: ApiContext,
        handlers: dict[str, Handler],
        limits: RateLimits,
        faults: Faults,
    ) -> None:
        self.context = context
        self.handlers = handlers
        self.limits = limits
        self.faults = faults
        self.calls: deque[ApiCall] = deque(maxlen=CALL_LOG_LIMIT)
        self.notify: Callable[[], None] = lambda: None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One Web API call."""
        method = request.match_info["method"]
        refusal = await apply_fault(self.faults, method, self.context.timing)
        if refusal is not None:
            self._log(method, {}, False, "fault", refusal.status)
            return refusal
        try:
            args, token = await read_args(request)
        except SlackError as exc:
            return self._answer(method, {}, exc.to_api())
        try:
            self._authorize(method, token)
        except SlackError as exc:
            return self._answer(method, args, exc.to_api())
        retry_after = self.limits.check(method, _channel_key(args))
        if retry_after is not None:
            self._log(method, args, False, "ratelimited", 429)
            return json_response(
                {"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(retry_after)}
            )
        answer = self._answer(method, args, self._run(method, args))
        if self.faults.answer_lost(method):
            self._log(method, args, False, "answer lost", 500)
            return web.Response(status=500, text="Internal Server Error")
        return answer

    def _run(self, method: str, args: JsonDict) -> JsonDict:
        handler = self.handlers.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        try:
            return handler(self.context, Call(method, args))
        except SlackError as exc:
            return exc.to_api()

    def _authorize(self, method: str, token: str | None) -> None:
        seed = self.context.workspace.seed
        if not token:
            raise SlackError("not_authed")
        wanted, other = (
            (seed.app_token, seed.bot_token)
            if method in APP_TOKEN_METHODS
            else (seed.bot_token, seed.app_token)
        )
        if token == wanted:
            return
        raise SlackError("not_allowed_token_type" if token == other else "invalid_auth")

    def _answer(self, method: str, args: JsonDict, data: JsonDict) -> web.Response:
        self._log(method, args, bool(data.get("ok")), data.get("error"), 200)
        headers = None
        if method == "auth.test" and data.get("ok"):
            headers = {"X-OAuth-Scopes": ",".join(self.context.workspace.seed.bot_scopes)}
        return json_response(data, headers=headers)

    def _log(self, method: str, args: JsonDict, ok: bool, error: str | None, status: int) -> None:
        self.calls.append(ApiCall(method, args, ok, error, status))
        self.notify()


def _channel_key(args: JsonDict) -> str | None:
    channel = args.get("channel")
    return channel if isinstance(channel, str) else None


async def apply_fault(faults: Faults, method: str, timing: Timing) -> web.Response | None:
    """Delay, hang or fail the call as the injected faults say; None to go on normally."""
    if faults.down:
        return web.Response(status=503, text="Service Unavailable")
    fault = faults.take(method)
    if fault is None:
        return None
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.hang:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(faults.wait_released(), timing.hang_seconds)
        return web.Response(status=504, text="Gateway Timeout")
    if fault.status:
        return web.Response(status=fault.status, text="Internal Server Error")
    return None


async def read_args(request: web.Request) -> tuple[JsonDict, str | None]:
    """Merge query string, form or JSON body; the token from `Authorization: Bearer` or `token`."""
    args: JsonDict = dict(request.query)
    raw = await request.read()
    if raw:
        args.update(_parse_body(raw, request.content_type))
    token = args.pop("token", None)
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        token = auth[len("Bearer ") :].strip()
    return args, token if isinstance(token, str) else None


def _parse_body(raw: bytes, content_type: str) -> JsonDict:
    if content_type == "application/json":
        try:
            data = json.loads(raw)
        except ValueError:
            raise SlackError("invalid_json") from None
        if not isinstance(data, dict):
            raise SlackError("invalid_json")
        return data
    try:
        return dict(parse_qsl(raw.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        raise SlackError("invalid_form_data") from None
