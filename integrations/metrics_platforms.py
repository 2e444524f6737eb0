"""Retries and 429s, counted where each platform's client makes them, through its public hooks.

- Slack: slack_sdk asks each of the Web API client's retry handlers (`slack_sdk.http_retry`)
  about every answer, in order, until one takes it. A first handler that never takes one sees
  every 429; each real handler is wrapped so that the retries it makes are counted.
- Discord: discord.py retries inside its HTTP client and offers no hook on it (a 429 is only a
  warning logged by `discord.http`). Its public `http_trace` (an aiohttp `TraceConfig`) sees
  every answer: each 429 is counted, and as retries the answers discord.py retries by its
  rules: a 429 with a `Via` header (without one it is Cloudflare's ban, not retried) and a 500,
  502, 504 or 524. So a request's fifth and last failed try is counted as a retry too.
- The model: the openai client marks each try with `x-stainless-retry-count`; a request hook on
  its HTTP client counts every try after the first, and a response hook every 429.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from integrations.metrics import Metrics

SLACK, DISCORD, MODEL = "slack", "discord", "model"
# What discord.py's HTTP client tries again without being asked (discord/http.py).
DISCORD_RETRIED = frozenset({500, 502, 504, 524})
RATE_LIMITED = 429


def count_slack(client: AsyncWebClient, metrics: Metrics) -> None:
    """Count the 429s and retries of `client` (and of the clients Bolt copies from it for each
    request, which share its handlers). Call before the client is used."""
    handlers = client.retry_handlers or []
    client.retry_handlers = [
        _SeesRateLimits(metrics),
        *(_Counted(handler, metrics) for handler in handlers),
    ]


class _SeesRateLimits(AsyncRetryHandler):
    """Asked first about every answer; counts the 429s and takes none."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self._metrics = metrics

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == RATE_LIMITED:
            self._metrics.rate_limited.labels(SLACK).inc()
        return False


class _Counted(AsyncRetryHandler):
    """A retry handler that does what `inner` does, counting each retry it makes."""

    def __init__(self, inner: AsyncRetryHandler, metrics: Metrics) -> None:
        super().__init__(inner.max_retry_count, inner.interval_calculator)
        self._inner = inner
        self._metrics = metrics

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return await self._inner.can_retry_async(
            state=state, request=request, response=response, error=error
        )

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        self._metrics.retries.labels(SLACK).inc()
        await self._inner.prepare_for_next_attempt_async(
            state=state, request=request, response=response, error=error
        )


def discord_trace(metrics: Metrics) -> aiohttp.TraceConfig:
    """The `http_trace` to give discord.py's client: counts its 429s and what it retries."""

    async def answered(
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        response = params.response
        if response.status == RATE_LIMITED:
            metrics.rate_limited.labels(DISCORD).inc()
            if response.headers.get("Via"):
                metrics.retries.labels(DISCORD).inc()
        elif response.status in DISCORD_RETRIED:
            metrics.retries.labels(DISCORD).inc()

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(answered)
    return trace


Hook = Callable[[Any], Awaitable[None]]


def model_hooks(metrics: Metrics) -> dict[str, list[Hook]]:
    """Event hooks for the HTTP client under the openai client: its retries and 429s."""

    async def sending(request: Any) -> None:
        tries_before = request.headers.get("x-stainless-retry-count", "0")
        if tries_before.isdigit() and int(tries_before) > 0:
            metrics.retries.labels(MODEL).inc()

    async def answered(response: Any) -> None:
        if response.status_code == RATE_LIMITED:
            metrics.rate_limited.labels(MODEL).inc()

    return {"request": [sending], "response": [answered]}
