"""Routes what happens in the workspace to the app: Socket Mode or HTTP mode."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections import deque

from .background import Background
from .delivery import NO_ACK, Ack
from .faults import Faults
from .http_mode import HttpSender
from .model import JsonDict
from .socket_mode import SocketHub
from .timing import Timing

log = logging.getLogger(__name__)

BACKLOG_LIMIT = 10_000


class Dispatcher:
    """Queues events until the app can receive them and delivers interactions.

    With `request_url` set the app is reached over HTTP; otherwise through its Socket Mode
    connections. Events posted while the app is not connected wait (up to BACKLOG_LIMIT, the
    oldest are dropped beyond that) and go out once it connects.
    """

    def __init__(self, hub: SocketHub, http: HttpSender, faults: Faults, timing: Timing) -> None:
        self._hub = hub
        self._http = http
        self._faults = faults
        self._timing = timing
        self._backlog: deque[JsonDict] = deque(maxlen=BACKLOG_LIMIT)
        self._pending = asyncio.Event()
        self._dropping = False
        self._tasks = Background("slack-dispatch")
        self._pump: asyncio.Task[None] | None = None
        self._event_ids = itertools.count(1)
        self._mode_changed = asyncio.Event()
        self._request_url: str | None = None
        self.sent_events: deque[JsonDict] = deque(maxlen=BACKLOG_LIMIT)

    @property
    def request_url(self) -> str | None:
        """The app's HTTP endpoint; None means Socket Mode."""
        return self._request_url

    @request_url.setter
    def request_url(self, url: str | None) -> None:
        self._request_url = url
        self._mode_changed.set()

    def start(self) -> None:
        """Start the delivery pump."""
        if self._pump is None:
            self._pump = self._tasks.spawn(self._run())

    async def close(self) -> None:
        """Stop delivering (undelivered events are dropped)."""
        self._pump = None
        await self._tasks.close()

    def next_event_id(self) -> str:
        """A fresh `Ev…` id."""
        return f"Ev{next(self._event_ids):010d}"

    def enqueue(self, body: JsonDict) -> None:
        """Queue an Events API body for delivery."""
        if len(self._backlog) == self._backlog.maxlen and not self._dropping:
            # Logged once per episode: a load test with no app connected fills it continuously.
            log.warning("slack emulator: event backlog full, dropping the oldest events")
            self._dropping = True
        self._backlog.append(body)
        self._pending.set()

    async def _run(self) -> None:
        while True:
            await self._pending.wait()
            await self._ready()
            if not self._backlog:
                self._pending.clear()
                continue
            body = self._backlog.popleft()
            self._dropping = False
            self.sent_events.append(body)
            self._tasks.spawn(self._deliver(body))

    async def _ready(self) -> None:
        while True:
            await self._faults.up.wait()
            if self.request_url is not None or self._hub.connected.is_set():
                return
            # Wait for a Socket Mode connection, or for the app to switch to HTTP mode.
            self._mode_changed.clear()
            waits = [
                asyncio.ensure_future(self._hub.connected.wait()),
                asyncio.ensure_future(self._mode_changed.wait()),
            ]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()

    async def _deliver(self, body: JsonDict) -> None:
        timing = self._timing
        if self.request_url is not None:
            await self._http.deliver_event(
                self.request_url, body, timing.http_timeout, timing.retry_delays, self._faults.up
            )
        else:
            await self._hub.deliver_event(body, timing.ack_timeout, timing.retry_delays)

    async def interactive(self, payload: JsonDict, *, accepts_response_payload: bool) -> Ack:
        """Deliver a block_actions / view_submission / shortcut payload; the app's ack."""
        if self.request_url is not None:
            fields = {"payload": json.dumps(payload)}
            ident = str(payload.get("trigger_id", ""))
            return await self._http.request(
                self.request_url, "interactive", ident, fields, self._timing.http_timeout
            )
        return await self._socket_request("interactive", payload, accepts_response_payload)

    async def command(self, fields: dict[str, str]) -> Ack:
        """Deliver a slash command (form fields over HTTP, a JSON object in Socket Mode)."""
        if self.request_url is not None:
            ident = fields.get("trigger_id", "")
            return await self._http.request(
                self.request_url, "slash_commands", ident, fields, self._timing.http_timeout
            )
        return await self._socket_request("slash_commands", dict(fields), True)

    async def _socket_request(self, kind: str, payload: JsonDict, accepts: bool) -> Ack:
        try:
            await asyncio.wait_for(self._hub.connected.wait(), self._timing.connect_wait)
        except TimeoutError:
            log.warning("slack emulator: no Socket Mode connection for a %s request", kind)
            return NO_ACK
        return await self._hub.request(kind, payload, accepts, self._timing.ack_timeout)


def event_time() -> int:
    """`event_time` of an Events API body."""
    return int(time.time())
