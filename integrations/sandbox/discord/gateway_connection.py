"""One gateway WebSocket: transport compression and an ordered outbound queue."""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from .model import JSON

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 1.0


class _Compressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self, mode: int = ...) -> bytes: ...


def _zstd_compressor() -> tuple[_Compressor, int] | None:
    try:
        import zstandard  # type: ignore[import-not-found]  # noqa: PLC0415
    except ImportError:
        return None
    return zstandard.ZstdCompressor().compressobj(), int(zstandard.COMPRESSOBJ_FLUSH_BLOCK)


class Connection:
    """A connected gateway client; frames are compressed in send order and written by one task.

    zlib-stream: one compressobj per connection, each message flushed with Z_SYNC_FLUSH so it
    ends with 00 00 ff ff, sent as a BINARY frame. zstd-stream (when `zstandard` is installed):
    one compressobj per connection flushed per block. Otherwise plain TEXT JSON frames.
    """

    def __init__(
        self, ws: web.WebSocketResponse, request: web.Request, compress: str | None
    ) -> None:
        self.ws = ws
        self.request = request
        self.path = request.path
        self.session: Session | None = None
        self.compression: str | None = None
        self._compressor: _Compressor | None = None
        self._flush_mode = zlib.Z_SYNC_FLUSH
        self._choose_compression(compress)
        self._queue: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self.closing = False

    def _choose_compression(self, compress: str | None) -> None:
        if compress == "zlib-stream":
            self._compressor, self.compression = zlib.compressobj(), compress
        elif compress == "zstd-stream":
            found = _zstd_compressor()
            if found is not None:
                self._compressor, self._flush_mode = found
                self.compression = compress

    def send(self, payload: JSON) -> None:
        """Queue one gateway message (never blocks; the writer task sends in order)."""
        if self.closing:
            return
        raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        if self._compressor is None:
            self._queue.put_nowait(raw)
            return
        data = self._compressor.compress(raw.encode()) + self._compressor.flush(self._flush_mode)
        self._queue.put_nowait(data)

    async def write_loop(self) -> None:
        """Drain the queue onto the socket until `stop_writer()` or the socket fails."""
        while True:
            item = await self._queue.get()
            try:
                if item is None or self.ws.closed:
                    return
                if isinstance(item, bytes):
                    await self.ws.send_bytes(item)
                else:
                    await self.ws.send_str(item)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("gateway write failed: %s", exc)
                return
            finally:
                self._queue.task_done()

    def stop_writer(self) -> None:
        """Let the writer finish what is queued, then exit."""
        self._queue.put_nowait(None)

    async def close(self, code: int, message: str = "") -> None:
        """Close with a close frame carrying `code` (after flushing queued frames)."""
        self.closing = True
        await self._drain()
        await self.ws.close(code=code, message=message.encode())

    async def _drain(self) -> None:
        try:
            await asyncio.wait_for(self._queue.join(), DRAIN_TIMEOUT)
        except TimeoutError:
            log.debug("gateway queue not drained before close")

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (a 1006-like abnormal closure)."""
        self.closing = True
        transport = self.request.transport
        if transport is not None:
            transport.abort()


@dataclass
class Session:
    """A gateway session: survives disconnects and replays missed dispatches on RESUME."""

    id: str
    intents: int
    shard: tuple[int, int]
    buffer_size: int
    seq: int = 0
    connection: Connection | None = None
    alive: bool = True
    buffer: deque[JSON] = field(default_factory=deque)

    def dispatch(self, event: str, data: Any, *, replayable: bool = True) -> None:
        """Number, remember and (when connected) send one dispatch. RESUMED is not
        `replayable`: it answers one connection's RESUME, and a later RESUME must not find an
        earlier connection's RESUMED in the middle of its replay."""
        self.seq += 1
        payload: JSON = {"op": 0, "t": event, "s": self.seq, "d": data}
        if replayable:
            self.buffer.append(payload)
        while len(self.buffer) > self.buffer_size:
            self.buffer.popleft()
        if self.connection is not None:
            self.connection.send(payload)

    def missed_since(self, seq: int) -> list[JSON] | None:
        """Dispatches after `seq`, or None when the buffer no longer reaches back that far."""
        if self.buffer and self.buffer[0]["s"] > seq + 1:
            return None
        return [p for p in self.buffer if p["s"] > seq]
