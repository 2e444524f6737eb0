"""Threadline's global Bolt middleware, as Bolt middleware objects.

Bolt runs a middleware function through its keyword injection: for every request it works out
which of the function's arguments to pass (`build_async_required_kwargs`), about 40% of Bolt's
own time for an event, paid on the way to every agent's reply. A middleware object (Bolt's
public `AsyncMiddleware`) is called as it is. Threadline's middleware reads only the request's
body, so each is given Bolt's parsed body and `next`, as a function middleware asking for
`body` and `next` would be.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

Next = Callable[[], Awaitable[object]]
Process = Callable[[Mapping[str, Any], Next], Awaitable[BoltResponse | None]]


class BodyMiddleware(AsyncMiddleware):
    """Run `process(body, next)` for every request, in the app's chain of middleware."""

    def __init__(self, process: Process) -> None:
        self._process = process

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        return await self._process(req.body, next)

    @property
    def name(self) -> str:
        return f"BodyMiddleware({getattr(self._process, '__qualname__', self._process)})"
