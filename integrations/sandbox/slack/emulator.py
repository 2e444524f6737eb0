"""`SlackEmulator`: the Web API, Socket Mode, HTTP mode and people, on one loopback port."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from aiohttp import web

from . import api_chat, api_conversations, api_misc, api_views, events
from .actors import SlackUser, Stage
from .api import ApiCall, ApiContext, Handler, WebApi
from .delivery import Delivery
from .dispatch import Dispatcher, event_time
from .faults import Faults
from .http_mode import HttpSender
from .limits import RateLimits
from .model import Ephemeral, JsonDict, Message, View
from .response_url import ResponseUrls
from .seed import WorkspaceSeed
from .socket_mode import SocketHub
from .timing import Timing
from .workspace import Workspace

log = logging.getLogger(__name__)
T = TypeVar("T")

HANDLERS: dict[str, Handler] = {
    **api_chat.HANDLERS,
    **api_conversations.HANDLERS,
    **api_views.HANDLERS,
    **api_misc.HANDLERS,
}


class SlackEmulator:
    """A loopback Slack the real slack_sdk / slack_bolt talk to.

    Use as `async with SlackEmulator(seed) as slack:`; point
    `AsyncWebClient(base_url=slack.api_url)` at it, and either connect Socket Mode with
    `slack.app_token` or set `slack.request_url` to the app's HTTP endpoint. Rate limits are off
    unless `rate_limits=True` (or `slack.limits.enabled`).
    """

    def __init__(
        self,
        seed: WorkspaceSeed | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        request_url: str | None = None,
        timing: Timing | None = None,
        rate_limits: bool = False,
    ) -> None:
        self.seed = seed or WorkspaceSeed()
        self.host = host
        self.port = port
        self.timing = timing or Timing()
        self.workspace = Workspace(self.seed)
        self.workspace.emit = self._emit
        self.limits = RateLimits(enabled=rate_limits)
        self.faults = Faults(self)
        self.deliveries: list[Delivery] = []
        self.hub = SocketHub(self.seed.bot.app_id, self._record, self.workspace.changed)
        self.http = HttpSender(self.seed.signing_secret, self._record)
        self.dispatcher = Dispatcher(self.hub, self.http, self.faults, self.timing)
        self.dispatcher.request_url = request_url
        self.responses = ResponseUrls(self.workspace, self.timing, time.monotonic)
        context = ApiContext(
            self.workspace, self.timing, lambda: self.base_url, self._socket_url, time.monotonic
        )
        self.api = WebApi(context, HANDLERS, self.limits, self.faults)
        self.api.notify = self.workspace.changed
        self._stage = Stage(self.workspace, self.dispatcher, self.responses, time.monotonic)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    # lifecycle

    async def __aenter__(self) -> SlackEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self.api.handle)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/actions/{team}/{token}", self._respond)
        app.router.add_get("/link/", self.hub.handle)
        app.router.add_get("/files-pri/{file_id}/{name}", self._download)
        return app

    async def start(self) -> None:
        """Listen on `host:port` (port 0: a free port, then `self.port` holds it)."""
        self._runner = web.AppRunner(self._app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        await self.start_listening()
        self.responses.base_url = self.base_url
        self.workspace.file_host = self.base_url
        await self.http.start()
        self.dispatcher.start()
        log.info("slack emulator listening on %s", self.base_url)

    async def stop(self) -> None:
        """Close sockets, stop deliveries and the server."""
        self.faults.release_hung()
        await self.faults.end_outage()
        await self.hub.drop()
        await self.dispatcher.close()
        await self.http.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

    async def start_listening(self) -> None:
        """Accept connections (again, on the same port after an outage)."""
        assert self._runner is not None, "start() first"
        self._site = web.TCPSite(self._runner, self.host, self.port)
        await self._site.start()
        if not self.port:
            server = self._site._server
            sockets = getattr(server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])
        self.hub.accepting = True

    async def stop_listening(self) -> None:
        """Refuse connections and cut the keep-alive ones (an outage)."""
        self.hub.accepting = False
        if self._site is not None:
            await self._site.stop()
            self._site = None
        if self._runner is not None and self._runner.server is not None:
            await self._runner.server.shutdown(0.05)

    async def drop_sockets(self) -> int:
        """Close every Socket Mode WebSocket (the client reconnects)."""
        return await self.hub.drop()

    # addresses and credentials

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL for `AsyncWebClient(base_url=…)`."""
        return f"{self.base_url}/api/"

    @property
    def bot_token(self) -> str:
        """The `xoxb-` bot token."""
        return self.seed.bot_token

    @property
    def app_token(self) -> str:
        """The `xapp-` app-level token (Socket Mode)."""
        return self.seed.app_token

    @property
    def signing_secret(self) -> str:
        """The secret HTTP-mode requests are signed with."""
        return self.seed.signing_secret

    @property
    def team_id(self) -> str:
        """The workspace id."""
        return self.seed.team_id

    @property
    def bot_user_id(self) -> str:
        """The bot's user id (`auth.test` user_id)."""
        return self.seed.bot.user_id

    @property
    def bot_id(self) -> str:
        """The bot id (`B…`)."""
        return self.seed.bot.bot_id

    @property
    def request_url(self) -> str | None:
        """The app's HTTP endpoint; None means Socket Mode."""
        return self.dispatcher.request_url

    @request_url.setter
    def request_url(self, url: str | None) -> None:
        self.dispatcher.request_url = url

    async def verify_request_url(self) -> bool:
        """Do what Slack does when the request URL is saved: a signed `url_verification`."""
        if self.request_url is None:
            raise ValueError("no request_url set")
        return await self.http.url_verification(
            self.request_url, self.seed.verification_token, self.timing.http_timeout
        )

    def _socket_url(self) -> str:
        return f"ws://{self.host}:{self.port}/link/?ticket={self.hub.new_ticket()}"

    # the app's side

    def _emit(self, event: JsonDict) -> None:
        seed = self.seed
        body = events.event_callback(
            team_id=seed.team_id,
            app_id=seed.bot.app_id,
            bot_user=seed.bot.user_id,
            token=seed.verification_token,
            event=event,
            event_id=self.dispatcher.next_event_id(),
            at=event_time(),
        )
        self.dispatcher.enqueue(body)

    def _record(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        self.workspace.changed()

    async def _upload(self, request: web.Request) -> web.Response:
        if self.faults.down:
            return web.Response(status=503, text="Service Unavailable")
        found = self.workspace.files.get(request.match_info["file_id"])
        if found is None:
            return web.Response(status=404, text="file not found")
        found.content = await request.read()
        self.workspace.changed()
        return web.Response(text=f"OK - {len(found.content)}")

    async def _download(self, request: web.Request) -> web.Response:
        """A file's private URL: like Slack, it answers only with a valid token."""
        if self.faults.down:
            return web.Response(status=503, text="Service Unavailable")
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return web.Response(status=403, text="sign in to download this file")
        found = self.workspace.files.get(request.match_info["file_id"])
        if found is None or found.content is None:
            return web.Response(status=404, text="file not found")
        return web.Response(body=found.content, content_type="application/octet-stream")

    async def _respond(self, request: web.Request) -> web.Response:
        if self.faults.down:
            return web.Response(status=503, text="Service Unavailable")
        return await self.responses.handle(request)

    @property
    def calls(self) -> list[ApiCall]:
        """Every Web API call the app made, oldest first."""
        return list(self.api.calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        """The calls of one method."""
        return [c for c in self.api.calls if c.method == method]

    @property
    def connections(self) -> int:
        """Open Socket Mode connections."""
        return len(self.hub.connections)

    async def disconnect(self, reason: str = "refresh_requested") -> int:
        """Send `disconnect` to every Socket Mode connection (the app reconnects)."""
        return await self.hub.disconnect(reason)

    # people and what they see

    def user(self, user_id: str) -> SlackUser:
        """Act as this person."""
        return SlackUser(self._stage, user_id)

    def channel_id(self, name: str) -> str:
        """The id of the channel called `name`."""
        return self.workspace.find_channel(name).id

    def messages(self, channel: str) -> list[Message]:
        """A channel's top-level messages, oldest first."""
        return self.workspace.find_channel(channel).top_level()

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The replies of a thread, oldest first (the parent excluded)."""
        return self.workspace.find_channel(channel).replies(ts)

    def message(self, channel: str, ts: str) -> Message:
        """One message."""
        return self.workspace.message(self.workspace.find_channel(channel).id, ts)

    def remove_message(self, channel: str, ts: str) -> None:
        """An admin deletes a message (a ticket's card: its thread is then gone)."""
        self.workspace.remove(self.workspace.find_channel(channel).id, ts)

    def archive_channel(self, channel: str) -> None:
        """Archive a channel: posts, edits and reactions there fail with `is_archived`."""
        self.workspace.archive(self.workspace.find_channel(channel).id)

    def delete_channel(self, channel: str) -> None:
        """Delete a channel: every call naming it fails with `channel_not_found`."""
        self.workspace.delete_channel(self.workspace.find_channel(channel).id)

    def reset(self) -> None:
        """Wipe every message in the workspace (channels and people stay)."""
        self.workspace.reset()

    def dm(self, user_id: str) -> list[Message]:
        """Every message of the DM between the bot and `user_id`, oldest first."""
        channel, _ = self.workspace.im_with(user_id)
        return list(channel.messages.values())

    def ephemerals(self, user_id: str, channel: str | None = None) -> list[Ephemeral]:
        """Ephemeral messages shown to `user_id`."""
        return self.user(user_id).ephemerals(channel)

    def home(self, user_id: str) -> View | None:
        """The Home tab `user_id` sees."""
        return self.workspace.views.homes.get(user_id)

    def modals(self, user_id: str) -> list[View]:
        """The modals `user_id` has open, root first."""
        return list(self.workspace.views.modals.get(user_id, []))

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for a state, not one awaited call
    ) -> T:
        """Wait until `predicate()` is truthy (re-checked on every state change); its value."""
        return await self.workspace.notifier.wait_for(predicate, timeout)
