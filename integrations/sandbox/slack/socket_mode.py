"""Socket Mode: `apps.connections.open` tickets, the `/link/` WebSocket, envelopes and acks."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from .delivery import NO_ACK, Ack, Delivery
from .model import JsonDict

log = logging.getLogger(__name__)

ACK_LOG_LIMIT = 100_000


@dataclass
class Connection:
    """One open Socket Mode WebSocket."""

    id: int
    ws: web.WebSocketResponse


@dataclass(frozen=True)
class AckFrame:
    """An ack the app sent: `{"envelope_id": …, "payload"?: …}`."""

    envelope_id: str
    payload: JsonDict | None


class SocketHub:
    """Connections of the app, and the send-then-await-ack exchange of envelopes."""

    def __init__(self, app_id: str, record: Callable[[Delivery], None], notify: Callable[[], None]):
        self._app_id = app_id
        self._record = record
        self._notify = notify
        self._tickets: set[str] = set()
        self._ids = itertools.count(1)
        self._next = 0
        self._waiting: dict[str, asyncio.Future[JsonDict | None]] = {}
        self.connections: list[Connection] = []
        self.connected = asyncio.Event()
        self.acks: deque[AckFrame] = deque(maxlen=ACK_LOG_LIMIT)
        self.opened = 0
        self.accepting = True

    def new_ticket(self) -> str:
        """A one-time credential for the WebSocket URL."""
        ticket = secrets.token_urlsafe(16)
        self._tickets.add(ticket)
        return ticket

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The `/link/?ticket=…` WebSocket endpoint."""
        if not self.accepting:
            return web.Response(status=503, text="service unavailable")
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        connection = Connection(next(self._ids), ws)
        self._add(connection)
        try:
            await ws.send_str(json.dumps(self._hello()))
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._on_text(frame.data)
        finally:
            self._remove(connection)
        return ws

    def _hello(self) -> JsonDict:
        return {
            "type": "hello",
            "num_connections": len(self.connections),
            "debug_info": {
                "host": "applink-emu",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self._app_id},
        }

    def _add(self, connection: Connection) -> None:
        self.connections.append(connection)
        self.opened += 1
        self.connected.set()
        self._notify()

    def _remove(self, connection: Connection) -> None:
        if connection in self.connections:
            self.connections.remove(connection)
        if not self.connections:
            self.connected.clear()
        self._notify()

    def _on_text(self, data: str) -> None:
        try:
            frame = json.loads(data)
        except ValueError:
            log.warning("socket mode: frame is not JSON: %.200s", data)
            return
        envelope_id = frame.get("envelope_id") if isinstance(frame, dict) else None
        if not isinstance(envelope_id, str):
            log.warning("socket mode: frame without envelope_id: %.200s", data)
            return
        payload = frame.get("payload")
        ack = AckFrame(envelope_id, payload if isinstance(payload, dict) else None)
        self.acks.append(ack)
        waiter = self._waiting.get(envelope_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(ack.payload)
        self._notify()

    def _pick(self) -> Connection | None:
        # Round robin: each envelope goes to exactly one open connection.
        if not self.connections:
            return None
        self._next = (self._next + 1) % len(self.connections)
        return self.connections[self._next]

    async def exchange(self, envelope: JsonDict, ack_timeout: float) -> Ack:
        """Send one envelope to one connection; the app's ack, or NO_ACK after `ack_timeout`."""
        envelope_id = str(envelope["envelope_id"])
        waiter: asyncio.Future[JsonDict | None] = asyncio.get_running_loop().create_future()
        self._waiting[envelope_id] = waiter
        try:
            if not await self._send(json.dumps(envelope)):
                return NO_ACK
            payload = await asyncio.wait_for(waiter, ack_timeout)
        except TimeoutError:
            return NO_ACK
        finally:
            self._waiting.pop(envelope_id, None)
        return Ack(True, payload)

    async def _send(self, text: str) -> bool:
        while (connection := self._pick()) is not None:
            try:
                await connection.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                self._remove(connection)
                continue
            return True
        return False

    async def deliver_event(
        self, body: JsonDict, timing_ack: float, delays: tuple[float, ...]
    ) -> None:
        """An events_api envelope, redelivered with `retry_attempt` while unacknowledged."""
        event_id = str(body.get("event_id", ""))
        for attempt in range(len(delays) + 1):
            if attempt:
                await asyncio.sleep(delays[attempt - 1])
                await self.connected.wait()
            envelope = envelope_for("events_api", body, accepts_response_payload=False)
            envelope["retry_attempt"] = attempt
            envelope["retry_reason"] = "timeout" if attempt else ""
            ack = await self.exchange(envelope, timing_ack)
            outcome = "acked" if ack.acked else "no_ack"
            reason = str(envelope["retry_reason"])
            self._record(Delivery("socket", "events_api", event_id, attempt, reason, outcome))
            if ack.acked:
                return
        log.warning("socket mode: event %s was never acknowledged", event_id)

    async def request(self, kind: str, payload: JsonDict, accepts: bool, ack_timeout: float) -> Ack:
        """An interactive or slash_commands envelope: sent once, never retried."""
        envelope = envelope_for(kind, payload, accepts_response_payload=accepts)
        ack = await self.exchange(envelope, ack_timeout)
        outcome = "acked" if ack.acked else "no_ack"
        self._record(Delivery("socket", kind, str(envelope["envelope_id"]), 0, "", outcome))
        return ack

    async def disconnect(self, reason: str = "refresh_requested") -> int:
        """Ask every connection to reconnect (`type: disconnect`); returns how many were asked."""
        message = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-emu"}}
        )
        sent = 0
        for connection in list(self.connections):
            try:
                await connection.ws.send_str(message)
                sent += 1
            except (ConnectionError, RuntimeError):
                self._remove(connection)
        return sent

    async def drop(self) -> int:
        """Close every connection from the server side; returns how many there were."""
        connections = list(self.connections)
        for connection in connections:
            await connection.ws.close(code=1001, message=b"going away")
            self._remove(connection)
        return len(connections)


def envelope_for(kind: str, payload: JsonDict, *, accepts_response_payload: bool) -> JsonDict:
    """A Socket Mode envelope around `payload`."""
    return {
        "envelope_id": str(uuid.uuid4()),
        "type": kind,
        "accepts_response_payload": accepts_response_payload,
        "payload": payload,
    }
