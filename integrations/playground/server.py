"""`Playground`: the web page of `threadline demo`, over the sandbox's Slack and Discord.

Routes: `/` and `/static/{name}` (the page), `GET /api/state?slack=&discord=&staff=` (the
worlds as the chosen people see them, and the clock bar: the bot's time and whether the
automated answer is on), `POST /api/act` (what they do, JSON in and out; `side: "clock"` moves
the clock or switches the automated answer) and
`GET /api/events` (server-sent `changed` events carrying the revision, `: ping` every 15 s).
Where the bot's agents work decides the panes: `workspaces` "slack" (the Slack pane), "discord"
(the staff pane: the Discord server's staff channel as Sam Staff or Lee Lead see it), or both;
a pane whose workspace is not used is null in the state and its actions are refused.
Only this machine's browser may use it unless `allow_remote`: requests naming another host
are refused (DNS rebinding), and actions from another site's pages are refused (CSRF).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from integrations.sandbox.launch import Sandbox
from integrations.sandbox.notify import Notifier

from . import actions, discord_view, slack_view, staff_view
from .controls import BotClock, Refused

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MAX_ACT_BODY = 64 * 1024
DEBOUNCE = 0.05  # seconds: a burst of changes becomes one `changed` event
PING_EVERY = 15.0
SLACK_COMMANDS = ("/threadline",)
WORKSPACES = frozenset({"slack", "discord"})
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # no other page may frame the playground and click for us
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Playground:
    """The playground's HTTP server on `host:port` (port 0: a free one, then `.port`).

    `clock` is the bot's clock; `allow_remote` accepts any Host header (for a server reached
    through another name: its visitors can act as anyone, so only on trusted networks);
    `workspaces` says where the bot's agents work ("slack", "discord": the sandbox then has the
    staff world), and so which panes the page shows.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        clock: BotClock,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        allow_remote: bool = False,
        slack_commands: Sequence[str] = SLACK_COMMANDS,
        ping_every: float = PING_EVERY,
        workspaces: Collection[str] = ("slack",),
    ) -> None:
        unknown = set(workspaces) - WORKSPACES
        if unknown or not workspaces:
            raise ValueError(f"workspaces are slack and/or discord, not {sorted(workspaces)}")
        self.sandbox = sandbox
        self.workspaces = frozenset(workspaces)
        self.clock = clock
        self.host = host
        self.allow_remote = allow_remote
        self.slack_commands = tuple(slack_commands)
        self._requested_port = port
        self._port: int | None = None
        self._ping_every = ping_every
        # The clock's moves and the demo's switches, counted alongside the emulators' changes.
        self._bot_changes = Notifier()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._stage = actions.Stage(
            sandbox, clock, self._bot_changes.notify, workspaces=self.workspaces
        )

    # ----- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Bind `host:port` and serve."""
        self._closing = asyncio.Event()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self._requested_port), family=family)
        self._port = int(sock.getsockname()[1])
        self._runner = web.AppRunner(
            self._app(), access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        try:
            await self._runner.setup()
            await web.SockSite(self._runner, sock).start()
        except BaseException:
            sock.close()
            await self.stop()
            raise
        log.info("playground at %s", self.url)

    async def stop(self) -> None:
        """End the event streams and stop serving."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        if self._port is None:
            raise RuntimeError("the playground is not started")
        return self._port

    @property
    def url(self) -> str:
        """Where to open the page: http://host:port."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def revision(self) -> int:
        """Grows on every change of either emulator, of the clock or of the demo's switches."""
        return sum(n.revision for n in self._notifiers())

    def _notifiers(self) -> tuple[Notifier, ...]:
        return (
            self.sandbox.slack.workspace.notifier,
            self.sandbox.discord.notifier,
            self._bot_changes,
        )

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard, _errors], client_max_size=MAX_ACT_BODY)
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/state", self._state)
        app.router.add_post("/api/act", self._act)
        app.router.add_get("/api/events", self._events)
        return app

    # ----- who may ask -------------------------------------------------------------------

    def _allowed_hosts(self) -> set[str]:
        names = {self.host, "localhost", "127.0.0.1", "[::1]"}
        names = {f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names}
        hosts = {f"{n}:{self.port}" for n in names}
        return hosts | names if self.port == 80 else hosts

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "").lower()
        if not self.allow_remote and host not in self._allowed_hosts():
            # A page elsewhere reaching us through a name it controls (DNS rebinding).
            log.warning("playground: refused a request for host %r", host)
            return _refusal(request, 403, "this playground answers only on localhost")
        return await handler(request)

    # ----- the page ----------------------------------------------------------------------

    async def _index(self, _request: web.Request) -> web.StreamResponse:
        return _file("index.html")

    async def _static(self, request: web.Request) -> web.StreamResponse:
        return _file(request.match_info["name"])

    # ----- the API -----------------------------------------------------------------------

    async def _state(self, request: web.Request) -> web.StreamResponse:
        revision = self.revision  # before reading: a change meanwhile brings another fetch
        discord = self.sandbox.discord
        raw = request.query.get("discord")
        discord_id = (
            discord_view.person(discord.world, raw)
            if raw
            else discord_view.default_person(discord.world)
        )
        clock = await self._clock()
        body = {
            "revision": revision,
            "clock": clock,
            "workspaces": sorted(self.workspaces),
            "slack": self._slack_state(request.query.get("slack")),
            "discord": discord_view.state(discord, discord_id),
            "staff": self._staff_state(request.query.get("staff")),
        }
        return _json(body)

    def _slack_state(self, raw: str | None) -> dict[str, Any] | None:
        """The Slack pane as one person sees it; None when the agents do not work in Slack."""
        if "slack" not in self.workspaces:
            return None
        slack = self.sandbox.slack
        slack_id = raw or slack_view.default_person(slack.workspace)
        slack_view.person(slack.workspace, slack_id)
        return slack_view.state(slack, slack_id, self.slack_commands)

    def _staff_state(self, raw: str | None) -> dict[str, Any] | None:
        """The staff pane as Sam or Lee sees it; None when the agents do not work in Discord
        (or its world has no staff)."""
        if "discord" not in self.workspaces:
            return None
        world = self.sandbox.discord.world
        staff_id = staff_view.person(world, raw) if raw else staff_view.default_person(world)
        return None if staff_id is None else staff_view.state(self.sandbox.discord, staff_id)

    async def _clock(self) -> dict[str, Any]:
        """The clock bar: the bot's time, and the automated answer's switch (null: no AI)."""
        due = await self.clock.next_due()
        # Whole seconds: every browser's Date parses them (not all take microseconds).
        return {
            "now": self.clock.now().isoformat(timespec="seconds"),
            "moved": describe_move(self.clock.moved()),
            "next_due": None if due is None else due.isoformat(timespec="seconds"),
            "auto_answer": self.clock.auto_answer(),
        }

    async def _act(self, request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return _json({"ok": False, "error": "Content-Type must be application/json"}, 415)
        if not _same_origin(request):
            log.warning("playground: refused an action from %r", request.headers.get("Origin"))
            return _json({"ok": False, "error": "actions come only from the playground page"}, 403)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _json({"ok": False, "error": f"body over {MAX_ACT_BODY} bytes"}, 413)
        try:
            body = json.loads(raw)
        except ValueError:
            return _json({"ok": False, "error": "the body is not valid JSON"}, 400)
        note = await actions.act(self._stage, body)
        return _json({"ok": True, "note": note} if note else {"ok": True})

    # ----- change notices ----------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):  # the page went away
            await self._stream(response)
        return response

    async def _stream(self, response: web.StreamResponse) -> None:
        loop = asyncio.get_running_loop()
        sent = -1
        next_ping = loop.time() + self._ping_every
        while not self._closing.is_set():
            if self.revision != sent:
                sent = self.revision
                data = json.dumps({"revision": sent})
                await response.write(f"event: changed\ndata: {data}\n\n".encode())
            left = next_ping - loop.time()
            if left <= 0:
                await response.write(b": ping\n\n")
                next_ping = loop.time() + self._ping_every
            elif await self._changed_since(sent, left):
                await asyncio.sleep(DEBOUNCE)

    async def _changed_since(self, revision: int, within: float) -> bool:
        """Wait up to `within` s for the revision to pass `revision` (or for stop())."""
        if self.revision > revision:
            return True
        waits = [asyncio.ensure_future(n.changed(n.revision)) for n in self._notifiers()]
        waits.append(asyncio.ensure_future(self._closing.wait()))
        try:
            await asyncio.wait(waits, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        return self.revision > revision and not self._closing.is_set()


def describe_move(moved: timedelta) -> str:
    """A span of time as people say it: "1 day", "2 days 3 h", "1 h 5 min", "45 s"; "" for
    none (the clock was not moved)."""
    seconds = int(moved.total_seconds())
    if seconds <= 0:
        return ""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{days} day{'s' if days != 1 else ''}" if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
        f"{seconds} s" if seconds and not (days or hours) else "",
    ]
    return " ".join(p for p in parts if p)


def _same_origin(request: web.Request) -> bool:
    """Whether an action comes from the playground's own page (browsers send Origin with
    every POST; a client that is no browser sends none and has no cookies to abuse)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site in ("cross-site", "same-site"):
        return False
    origin = request.headers.get("Origin")
    return origin is None or origin.lower() == f"http://{request.headers.get('Host', '')}".lower()


def _file(name: str) -> web.StreamResponse:
    """A file of the page; only names present in the static folder (no path escapes it)."""
    path = STATIC / name
    kind = CONTENT_TYPES.get(path.suffix.lower())
    inside = path.resolve().parent == STATIC.resolve()
    if kind is None or "/" in name or "\\" in name or not inside or not path.is_file():
        raise web.HTTPNotFound(text="not found")
    return web.FileResponse(path, headers={**PAGE_HEADERS, "Content-Type": kind})


def _json(body: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


def _refusal(request: web.Request, status: int, message: str) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        return _json({"ok": False, "error": message}, status)
    return web.Response(status=status, text=message)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Visitor mistakes answer 400 with one line; a bug is logged once and answers 500."""
    try:
        return await handler(request)
    except Refused as exc:
        return _json({"ok": False, "error": str(exc)}, 400)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        return _json({"ok": False, "error": exc.reason}, exc.status)
    except Exception:
        log.exception("playground: %s %s failed", request.method, request.path)
        return _json({"ok": False, "error": "internal error (see the demo's log)"}, 500)
