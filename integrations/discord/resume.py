"""Resume the gateway session of an earlier process, so Discord replays what it missed.

discord.py can resume a session only within the process that opened it (it has no public way
to take one in), so this is a small gateway client of our own, speaking just what a RESUME
needs (Discord's gateway docs, "Resuming"): connect to the session's `resume_gateway_url`,
HELLO, RESUME with the stored sequence number, heartbeats, the replayed dispatches, RESUMED.
It stays connected, handing on live dispatches too, until discord.py's own new session is ready;
then it closes with 1000, which ends the old session for good. A message that arrives on both
sessions meanwhile is recorded once (Discord message ids are unique keys).

Reading and handling are apart: the socket is read as frames come, and the dispatches are
handed on one at a time, in order, by a task of their own. A message sent before discord.py's
new session began reaches only this one; `close()` lets every dispatch read by then be handed
on before the old session ends, so none is cut off halfway or left unread in the socket (the
intake holds the new session's messages until then: recovery.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import yarl

from bot.core.inbound import GatewayCheckpoint

log = logging.getLogger(__name__)

OP_DISPATCH, OP_HEARTBEAT, OP_RECONNECT, OP_RESUME = 0, 1, 7, 6
OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 9, 10, 11
CONNECT_SECONDS = 10.0
# Discord sends RESUMED after the replay; a session that never says so is given up on.
RESUME_SECONDS = 30.0
# How long `close()` waits for the dispatches already read to be handed on.
DRAIN_SECONDS = 30.0

Dispatch = Callable[[str, dict[str, Any]], Awaitable[None]]


class ResumeRefused(Exception):
    """Discord would not resume the session (INVALID_SESSION, a close, or no answer)."""


class SessionResumer:
    """One RESUME of a stored session; `start()` returns once the replay is handed on."""

    def __init__(self, checkpoint: GatewayCheckpoint, token: str, on_dispatch: Dispatch) -> None:
        self._checkpoint = checkpoint
        self._token = token
        self._on_dispatch = on_dispatch
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._seq = checkpoint.seq
        self._resumed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._beater: asyncio.Task[None] | None = None
        self._handler: asyncio.Task[None] | None = None
        # The dispatches read, to be handed on; None where RESUMED came (the replay's end).
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()
        self._replay_handed = asyncio.Event()
        self.replayed = 0

    async def start(self) -> int:
        """Resume and hand on every replayed dispatch, in order; the number replayed.
        Raises ResumeRefused when Discord refuses or does not answer."""
        url = yarl.URL(self._checkpoint.resume_url).with_query(v=10, encoding="json")
        self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(CONNECT_SECONDS):
                self._ws = await self._session.ws_connect(url, max_msg_size=0)
                hello = await self._receive()
            if hello.get("op") != OP_HELLO:
                raise ResumeRefused(f"expected HELLO, got op {hello.get('op')}")
            interval = float(hello["d"]["heartbeat_interval"]) / 1000
            self._beater = asyncio.create_task(self._beat(interval), name="discord-resume-beat")
            await self._send(
                {
                    "op": OP_RESUME,
                    "d": {
                        "token": self._token,
                        "session_id": self._checkpoint.session_id,
                        "seq": self._checkpoint.seq,
                    },
                }
            )
            self._reader = asyncio.create_task(self._read(), name="discord-resume-read")
            self._handler = asyncio.create_task(self._hand_on(), name="discord-resume-hand-on")
            waiter = asyncio.create_task(self._replay_handed.wait())
            done, _ = await asyncio.wait(
                {self._reader, self._handler, waiter},
                timeout=RESUME_SECONDS,
                return_when=asyncio.FIRST_COMPLETED,
            )
            waiter.cancel()
            if not self._replay_handed.is_set():
                for task in (self._reader, self._handler):
                    if task in done:
                        task.result()  # raises why it stopped
                raise ResumeRefused(f"no RESUMED within {RESUME_SECONDS:.0f} s")
        except (aiohttp.ClientError, OSError, TimeoutError, KeyError, TypeError, ValueError) as exc:
            await self.close()
            raise ResumeRefused(f"{type(exc).__name__}: {exc}") from exc
        except (ResumeRefused, asyncio.CancelledError):  # cancelled: a replica letting go
            await self.close()
            raise
        return self.replayed

    async def _read(self) -> None:
        while True:
            frame = await self._receive()
            code = frame.get("op")
            if code == OP_DISPATCH:
                seq, kind = frame.get("s"), frame.get("t")
                if isinstance(seq, int):
                    self._seq = seq
                if kind == "RESUMED":
                    self._resumed.set()
                    self._queue.put_nowait(None)
                elif isinstance(kind, str) and isinstance(frame.get("d"), dict):
                    if not self._resumed.is_set():
                        self.replayed += 1
                    self._queue.put_nowait((kind, frame["d"]))
            elif code == OP_HEARTBEAT:
                await self._send({"op": OP_HEARTBEAT, "d": self._seq})
            elif code in (OP_INVALID_SESSION, OP_RECONNECT):
                raise ResumeRefused(
                    "INVALID_SESSION" if code == OP_INVALID_SESSION else "RECONNECT"
                )

    async def _hand_on(self) -> None:
        """Hand the dispatches read on, one at a time, in the order they came."""
        while True:
            item = await self._queue.get()
            try:
                if item is None:
                    self._replay_handed.set()
                else:
                    await self._on_dispatch(*item)
            finally:
                self._queue.task_done()

    async def _receive(self) -> dict[str, Any]:
        assert self._ws is not None
        while True:
            msg = await self._ws.receive()
            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                frame = json.loads(msg.data)
                if isinstance(frame, dict) and frame.get("op") != OP_HEARTBEAT_ACK:
                    return frame
                continue
            code = self._ws.close_code
            raise ResumeRefused(f"the gateway closed the connection ({code})")

    async def _send(self, frame: dict[str, Any]) -> None:
        assert self._ws is not None
        await self._ws.send_str(json.dumps(frame))

    async def _beat(self, interval: float) -> None:
        with contextlib.suppress(ConnectionError, aiohttp.ClientError, RuntimeError):
            while True:
                await self._send({"op": OP_HEARTBEAT, "d": self._seq})
                await asyncio.sleep(interval)

    async def close(self) -> bool:
        """End the old session (close code 1000) once the new one is ready: first every
        dispatch read by then is handed on (at most DRAIN_SECONDS), since what was sent before
        the new session began is on this one only. False when some were not (the caller then
        reads history)."""
        await _cancel(self._reader)
        handler = self._handler
        drained = handler is None or not handler.done()
        if handler is not None and handler.done() and not handler.cancelled():
            # It stopped on an error: what it had not handed on is left.
            log.error(
                "Handing on the resumed session's dispatches failed", exc_info=handler.exception()
            )
        if drained:
            try:
                async with asyncio.timeout(DRAIN_SECONDS):
                    await self._queue.join()
            except TimeoutError:
                drained = False
                log.warning(
                    "%d dispatch(es) of the resumed session not handled within %.0f s",
                    self._queue.qsize(),
                    DRAIN_SECONDS,
                )
        for task in (self._handler, self._beater):
            await _cancel(task)
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close(code=1000)
        if self._session is not None:
            await self._session.close()
        self._ws = self._session = None
        return drained


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
