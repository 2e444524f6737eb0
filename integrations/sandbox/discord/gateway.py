"""The gateway WebSocket server: HELLO, heartbeats, IDENTIFY/READY, RESUME+replay, control ops."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from . import constants as op
from .config import EmulatorConfig
from .constants import PRIVILEGED_INTENTS, Intent
from .gateway_connection import Connection, Session
from .model import JSON
from .payloads import guild_create_json, member_json, user_json
from .tasks import BackgroundTasks
from .world import World

log = logging.getLogger(__name__)

# Seconds before a heartbeat is acknowledged (a round trip to Discord; see `_on_frame`).
HEARTBEAT_ACK_DELAY = 0.02

FATAL_CLOSE_MESSAGES = {
    op.CLOSE_UNKNOWN_OPCODE: "Unknown opcode.",
    op.CLOSE_DECODE_ERROR: "Decode error.",
    op.CLOSE_NOT_AUTHENTICATED: "Not authenticated.",
    op.CLOSE_AUTHENTICATION_FAILED: "Authentication failed.",
    op.CLOSE_ALREADY_AUTHENTICATED: "Already authenticated.",
    op.CLOSE_DISALLOWED_INTENTS: "Disallowed intent(s).",
}


@dataclass(frozen=True)
class GatewayRecord:
    """Something that happened on the gateway: connect, identify, resume, heartbeat, close..."""

    kind: str
    detail: Any = None


class GatewayHub:
    """Accepts gateway connections and fans dispatches out to the bot's sessions."""

    def __init__(
        self,
        world: World,
        config: EmulatorConfig,
        tasks: BackgroundTasks,
        changed: Callable[[], None],
        is_down: Callable[[], bool],
    ) -> None:
        self.world = world
        self.config = config
        self._tasks = tasks
        self._changed = changed
        self._is_down = is_down
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.log: list[GatewayRecord] = []
        self.ack_heartbeats = True
        self.resume_url = ""
        self._accepting = asyncio.Event()
        self._accepting.set()

    # ----- connection lifecycle --------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """GET / (and /resume): the WebSocket endpoint."""
        if self._is_down():
            return web.Response(
                status=502, text="<html>502 Bad Gateway</html>", content_type="text/html"
            )
        if not self._accepting.is_set():
            self._record("held", request.path_qs)
            await self._accepting.wait()
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        compress = request.query.get("compress") if self.config.gateway_compression else None
        conn = Connection(ws, request, compress)
        self.connections.add(conn)
        self._record("connect", request.path_qs)
        writer = self._tasks.spawn(conn.write_loop(), "discord-gateway-writer")
        conn.send(
            {
                "op": op.OP_HELLO,
                "d": {"heartbeat_interval": self.config.heartbeat_interval_ms},
                "s": None,
                "t": None,
            }
        )
        try:
            await self._read_loop(conn)
        finally:
            self._disconnected(conn)
            conn.stop_writer()
            await writer
        return ws

    async def _read_loop(self, conn: Connection) -> None:
        async for msg in conn.ws:
            if msg.type is not WSMsgType.TEXT:
                await self._close(conn, op.CLOSE_DECODE_ERROR)
                return
            try:
                frame = json.loads(msg.data)
            except ValueError:
                await self._close(conn, op.CLOSE_DECODE_ERROR)
                return
            await self._on_frame(conn, frame)

    def _disconnected(self, conn: Connection) -> None:
        self.connections.discard(conn)
        code = conn.ws.close_code
        self._record("close", code)
        session = conn.session
        if session is not None and session.connection is conn:
            session.connection = None
            # A client closing with 1000/1001 ends its session for good (gateway docs,
            # "Disconnections"); a close the server started leaves it resumable.
            if code in (1000, 1001) and not conn.closing:
                session.alive = False

    async def _close(self, conn: Connection, code: int) -> None:
        self._record("server_close", code)
        await conn.close(code, FATAL_CLOSE_MESSAGES.get(code, ""))

    def _record(self, kind: str, detail: Any = None) -> None:
        self.log.append(GatewayRecord(kind, detail))
        self._changed()

    # ----- client opcodes --------------------------------------------------------------

    async def _on_frame(self, conn: Connection, frame: JSON) -> None:
        code = frame.get("op")
        data = frame.get("d")
        if code == op.OP_HEARTBEAT:
            self._record("heartbeat", data)
            if self.ack_heartbeats:
                # After a round trip's worth, as from Discord: discord.py notes a heartbeat as
                # sent only once its send returned, so an instant ACK can be handled before
                # that and read as a whole heartbeat interval of lag ("Can't keep up").
                asyncio.get_running_loop().call_later(
                    HEARTBEAT_ACK_DELAY, conn.send, {"op": op.OP_HEARTBEAT_ACK}
                )
        elif code == op.OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif code == op.OP_RESUME:
            await self._resume(conn, data or {})
        elif code in (op.OP_REQUEST_GUILD_MEMBERS, op.OP_PRESENCE_UPDATE, op.OP_VOICE_STATE_UPDATE):
            if conn.session is None:
                await self._close(conn, op.CLOSE_NOT_AUTHENTICATED)
            elif code == op.OP_REQUEST_GUILD_MEMBERS:
                self._members_chunk(conn.session, data or {})
        else:
            await self._close(conn, op.CLOSE_UNKNOWN_OPCODE)

    async def _identify(self, conn: Connection, data: JSON) -> None:
        intents = int(data.get("intents") or 0)
        self._record("identify", intents)
        if data.get("token") != self.world.seed.token:
            await self._close(conn, op.CLOSE_AUTHENTICATION_FAILED)
            return
        if conn.session is not None:
            await self._close(conn, op.CLOSE_ALREADY_AUTHENTICATED)
            return
        if intents & PRIVILEGED_INTENTS & ~self.world.seed.enabled_intents:
            await self._close(conn, op.CLOSE_DISALLOWED_INTENTS)
            return
        shard_id, shard_count = data.get("shard") or (0, 1)
        self._forget_stale_sessions((shard_id, shard_count))
        session = Session(
            secrets.token_hex(16), intents, (shard_id, shard_count), self.config.resume_buffer
        )
        self.sessions[session.id] = session
        session.connection = conn
        conn.session = session
        guilds = [g for g in self.world.guilds.values() if (g.id >> 22) % shard_count == shard_id]
        session.dispatch("READY", self._ready(session, [g.id for g in guilds]))
        for guild in guilds:
            session.dispatch("GUILD_CREATE", guild_create_json(guild, self.world))

    def _forget_stale_sessions(self, shard: tuple[int, int]) -> None:
        for session in list(self.sessions.values()):
            if session.connection is None and session.shard == shard:
                del self.sessions[session.id]

    def _ready(self, session: Session, guild_ids: list[int]) -> JSON:
        bot = user_json(self.world.bot())
        bot.update(verified=True, mfa_enabled=False, flags=0, email=None)
        return {
            "v": 10,
            "user": bot,
            "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_url,
            "application": {"id": str(self.world.application_id), "flags": 0},
            "shard": list(session.shard),
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
        }

    async def _resume(self, conn: Connection, data: JSON) -> None:
        self._record("resume", data.get("seq"))
        if data.get("token") != self.world.seed.token:
            await self._close(conn, op.CLOSE_AUTHENTICATION_FAILED)
            return
        session = self.sessions.get(str(data.get("session_id")))
        seq = int(data.get("seq") or 0)
        missed = session.missed_since(seq) if session is not None and session.alive else None
        if session is None or missed is None:
            conn.send({"op": op.OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        previous = session.connection
        if previous is not None and previous is not conn:
            previous.session = None
            self._tasks.spawn(previous.close(op.CLOSE_UNKNOWN_ERROR), "discord-gateway-close")
        session.connection = conn
        conn.session = session
        for payload in missed:
            conn.send(payload)
        session.dispatch("RESUMED", {}, replayable=False)

    def _members_chunk(self, session: Session, data: JSON) -> None:
        guild = self.world.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        members = [member_json(self.world.users[m], guild) for m in guild.member_ids]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        session.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    # ----- dispatch --------------------------------------------------------------------

    def live_sessions(self) -> list[Session]:
        """Sessions that still receive (and buffer) dispatches."""
        return [s for s in self.sessions.values() if s.alive]

    def dispatch(self, event: str, data: Any, *, intent: Intent | None = None) -> None:
        """Send one event to every live session that subscribed to `intent` (None: always)."""
        for session in self.live_sessions():
            if intent is None or session.intents & intent:
                session.dispatch(event, data)

    def dispatch_each(self, event: str, build: Callable[[Session], Any | None]) -> None:
        """Send a per-session payload; `build` returns None to skip a session."""
        for session in self.live_sessions():
            data = build(session)
            if data is not None:
                session.dispatch(event, data)

    # ----- control ---------------------------------------------------------------------

    def request_reconnect(self) -> int:
        """Send op 7 RECONNECT to every connection (clients then RESUME)."""
        return self._broadcast({"op": op.OP_RECONNECT, "d": None, "s": None, "t": None})

    def invalidate_sessions(self, *, resumable: bool) -> int:
        """Send op 9 INVALID_SESSION; with resumable=False the sessions are gone for good."""
        count = self._broadcast({"op": op.OP_INVALID_SESSION, "d": resumable, "s": None, "t": None})
        if not resumable:
            for session in self.sessions.values():
                session.alive = False
        return count

    def hold_connections(self) -> None:
        """Park new connection attempts until `release_connections()` (events keep buffering)."""
        self._accepting.clear()

    def release_connections(self) -> None:
        """Let parked and new connection attempts through."""
        self._accepting.set()

    def count(self, kind: str) -> int:
        """How many gateway records of this kind ("identify", "resume", "heartbeat"...) exist."""
        return sum(1 for r in self.log if r.kind == kind)

    def _broadcast(self, payload: JSON) -> int:
        for conn in self.connections:
            conn.send(payload)
        return len(self.connections)

    def drop(self, code: int | None) -> int:
        """Close every connection, abruptly when `code` is None; sessions stay resumable."""
        connections = list(self.connections)
        for conn in connections:
            self._record("server_drop", code)
            if code is None:
                conn.abort()
            else:
                self._tasks.spawn(conn.close(code), "discord-gateway-drop")
        return len(connections)

    async def close_all(self) -> None:
        """Shut every connection down (emulator stopping)."""
        self._accepting.set()
        for conn in list(self.connections):
            await conn.close(1001, "Emulator stopping")
