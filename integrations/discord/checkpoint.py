"""How far Discord's gateway stream is stored, kept in the database so a new process can resume.

Discord replays a session's missed dispatches to a client that RESUMEs it with the last sequence
number it handled. discord.py resumes only within one process, so Threadline keeps the session
id, its resume URL and the highest sequence number below which every dispatch is stored. The
raw gateway messages (discord.py's `on_socket_raw_receive`, a public debug event) give the
numbers; the intake says when the message a dispatch carries is stored. A crash then loses at
most a replay of what was already stored (recorded once: Discord message ids are unique keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.inbound import GatewayCheckpoint
from bot.core.service import TicketService

log = logging.getLogger(__name__)

NAME = "discord"
# Present while a catch-up from history is unfinished: a start after a crash then reads history
# again even though it resumes the newer session.
HISTORY_OWED = "discord:history-owed"
SAVE_EVERY = 0.25  # seconds: the checkpoint trails what is stored by at most this much
# A tracked dispatch whose handler never reported (discord.py failed to parse it, so no handler
# ran) stops holding the checkpoint back after this long.
ABANDON_AFTER = 120.0
# Dispatches whose message the intake stores; everything else is handled when it arrives.
TRACKED = frozenset({"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"})
HAND_OVER_SECONDS = 2.0  # a last save on a hand-over waits no longer for the database

Key = tuple[str, int]  # (dispatch type, message id)


@dataclass
class _Pending:
    seq: int
    since: float
    failed: bool = False


@dataclass
class _Stream:
    session_id: str
    resume_url: str
    high: int = 0  # the highest sequence number seen
    # Unfinished tracked dispatches, oldest first, and by key (a key can repeat: two edits).
    pending: dict[int, _Pending] = field(default_factory=dict)
    by_key: dict[Key, deque[int]] = field(default_factory=dict)

    def safe_seq(self) -> int:
        return min(self.pending) - 1 if self.pending else self.high


class GatewayCheckpoints:
    """Tracks discord.py's session and stores its checkpoint (once `enable()`d)."""

    def __init__(self, service: TicketService) -> None:
        self._service = service
        self._stream: _Stream | None = None
        self._saved: GatewayCheckpoint | None = None
        self._enabled = False
        self._changed = asyncio.Event()
        self._saver: asyncio.Task[None] | None = None
        self.sessions = 0  # READYs seen: a second one means discord.py identified afresh
        # Told of each new session at its READY, before any of its messages is handled.
        self.on_session: Callable[[int], None] = lambda count: None

    # --- from the gateway ----------------------------------------------------------------

    async def on_socket_raw_receive(self, raw: str | bytes) -> None:
        """Every gateway message, before discord.py's own handlers for it are scheduled.
        Nothing here awaits before the dispatch is registered, so a handler that finishes
        quickly still finds it."""
        self.receive(raw)

    def receive(self, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            return
        if not isinstance(frame, dict) or frame.get("op") != 0:
            return
        seq, kind, data = frame.get("s"), frame.get("t"), frame.get("d")
        if not isinstance(seq, int) or not isinstance(data, dict):
            return
        if kind == "READY":
            self._stream = _Stream(
                str(data.get("session_id", "")), str(data.get("resume_gateway_url", ""))
            )
            self.sessions += 1
            self.on_session(self.sessions)
        stream = self._stream
        if stream is None:
            return
        stream.high = max(stream.high, seq)
        if kind in TRACKED and str(data.get("id", "")).isdigit():
            key = (str(kind), int(data["id"]))
            stream.pending[seq] = _Pending(seq, time.monotonic())
            stream.by_key.setdefault(key, deque()).append(seq)
        self._changed.set()

    # --- from the intake -----------------------------------------------------------------

    def done(self, kind: str, message_id: int) -> None:
        """The dispatch for this message is handled: stored, or nothing to store."""
        seq = self._take(kind, message_id)
        if seq is not None and self._stream is not None:
            self._stream.pending.pop(seq, None)
            self._changed.set()

    def failed(self, kind: str, message_id: int) -> None:
        """It is not stored yet (the database is away): the checkpoint stays before it, so a
        crash meanwhile has Discord replay it, until `done` says it is kept after all."""
        stream = self._stream
        seqs = stream.by_key.get((kind, message_id)) if stream is not None else None
        if stream is not None and seqs:
            stream.pending[seqs[0]].failed = True

    def _take(self, kind: str, message_id: int) -> int | None:
        stream = self._stream
        if stream is None:
            return None
        seqs = stream.by_key.get((kind, message_id))
        if not seqs:
            return None
        seq = seqs.popleft()
        if not seqs:
            del stream.by_key[(kind, message_id)]
        return seq

    # --- saving --------------------------------------------------------------------------

    def enable(self) -> None:
        """Start storing checkpoints. Until then the stored one (an older session still to be
        caught up with) must not be overwritten."""
        self._enabled = True
        self._changed.set()
        if self._saver is None:
            self._saver = asyncio.create_task(self._save_loop(), name="discord-checkpoint")

    def current(self) -> GatewayCheckpoint | None:
        stream = self._stream
        if stream is None or not stream.session_id or not stream.resume_url:
            return None
        self._abandon_stale(stream)
        return GatewayCheckpoint(stream.session_id, stream.resume_url, stream.safe_seq())

    def _abandon_stale(self, stream: _Stream) -> None:
        now = time.monotonic()
        for seq, pending in list(stream.pending.items()):
            if not pending.failed and now - pending.since > ABANDON_AFTER:
                log.warning("Discord dispatch %s was never handled; not waiting for it", seq)
                del stream.pending[seq]

    async def save(self) -> None:
        """Store the checkpoint now, if it moved."""
        checkpoint = self.current()
        if not self._enabled or checkpoint is None or checkpoint == self._saved:
            return
        await self._service.save_gateway_checkpoint(NAME, checkpoint)
        self._saved = checkpoint
        log.debug("Stored Discord checkpoint %s", checkpoint)

    async def _save_loop(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self.save()
            except Exception as exc:  # the next change tries again; nothing else depends on it
                log.warning("Could not store Discord's gateway checkpoint: %s", exc)
            await asyncio.sleep(SAVE_EVERY)

    async def hand_over(self, *, save: bool) -> None:
        """Stop saving but leave the stored checkpoint, for the replica that takes the gateway
        over (the connection is closed with a code that keeps its session resumable). With
        `save`, the latest checkpoint is stored first (a clean hand-over, the lease still
        ours; never after losing it, when the new holder's checkpoint may be there already).
        A later session in this process is a first one again."""
        await self._stop_saving()
        if save and self._enabled:
            try:
                async with asyncio.timeout(HAND_OVER_SECONDS):
                    await self.save()
            except Exception as exc:
                log.warning("Could not store Discord's gateway checkpoint: %s", exc)
        self._enabled = False
        self._stream = self._saved = None
        self.sessions = 0

    async def _stop_saving(self) -> None:
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
            self._saver = None

    async def close(self) -> None:
        """Stop saving. Called as discord.py closes its connection with code 1000, which ends
        the session for good (Discord's rule), so the stored checkpoint is cleared too: the
        next start goes straight to catching up from history instead of a refused RESUME."""
        await self._stop_saving()
        if self._enabled:
            try:
                await self._service.clear_gateway_checkpoint(NAME)
            except Exception as exc:
                log.warning("Could not clear Discord's gateway checkpoint: %s", exc)
