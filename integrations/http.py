"""The HTTP listener: `/healthz` always, `/metrics` when given, and Slack's `/slack/events` in
HTTP mode."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

log = logging.getLogger(__name__)

# name -> a check that returns a short state ("ok", "connected", "off") or raises. "standby":
# another replica holds the connection (Discord's gateway), which is as it should be.
HealthCheck = Callable[[], Awaitable[str]]
HEALTHY = frozenset({"ok", "connected", "off", "standby"})
Handler = Callable[[web.Request], Awaitable[web.Response]]


class HttpServer:
    def __init__(
        self,
        host: str,
        port: int,
        checks: Mapping[str, HealthCheck],
        metrics: Handler | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._checks = dict(checks)
        self._app = web.Application()
        self._app.router.add_get("/healthz", self._health)
        if metrics is not None:
            self._app.router.add_get("/metrics", metrics)
        self._runner: web.AppRunner | None = None

    def add_post(self, path: str, handler: Handler) -> None:
        self._app.router.add_post(path, handler)

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("Listening on http://%s:%s (health at /healthz)", self._host, self.port)

    @property
    def port(self) -> int:
        """The bound port (useful when 0 asked the system for a free one)."""
        if self._runner is None or not self._runner.addresses:
            return self._port
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, _request: web.Request) -> web.Response:
        report = {name: await state_of(check) for name, check in self._checks.items()}
        ready = all(state in HEALTHY for state in report.values())
        return web.Response(
            status=200 if ready else 503,
            body=json.dumps({"ready": ready, **report}),
            content_type="application/json",
        )


async def state_of(check: HealthCheck) -> str:
    """What a check says, or what it raised."""
    try:
        return await check()
    except Exception as exc:
        return f"error: {exc}"
