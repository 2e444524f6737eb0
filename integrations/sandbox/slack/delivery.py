"""What the app answered to a delivery, and the log of every delivery attempt."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from .model import JsonDict


@dataclass(frozen=True)
class Ack:
    """The app's answer to an interaction or command (`acked` False: no answer in time)."""

    acked: bool
    payload: JsonDict | None = None

    @property
    def response_action(self) -> str | None:
        """`errors`, `update`, `push` or `clear` for view submissions."""
        value = (self.payload or {}).get("response_action")
        return str(value) if value is not None else None

    @property
    def errors(self) -> dict[str, Any]:
        """The field errors of `response_action: errors`."""
        value = (self.payload or {}).get("errors")
        return dict(value) if isinstance(value, dict) else {}


NO_ACK = Ack(False)


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver an event, interaction or command to the app."""

    transport: str  # "socket" | "http"
    kind: str  # "events_api" | "interactive" | "slash_commands"
    id: str  # event_id for events, envelope_id/trigger for the rest
    attempt: int
    retry_reason: str
    outcome: str  # "acked" | "no_ack" | "http_timeout" | "http_error" | "connection_failed"
    status: int | None = None
    at: float = field(default_factory=time.time)


def ack_from_http(status: int, body: str, content_type: str) -> Ack:
    """Read an HTTP answer the way Slack reads it: 200 acks; a JSON body is its payload."""
    if status != 200:
        return NO_ACK
    if not body.strip():
        return Ack(True)
    if content_type.startswith("application/json") or body.lstrip().startswith("{"):
        try:
            payload = json.loads(body)
        except ValueError:
            return Ack(True, {"text": body})
        return Ack(True, payload if isinstance(payload, dict) else {"payload": payload})
    return Ack(True, {"text": body})
