"""HTTP mode: signed deliveries to the app's request URL, with Slack's retry rules."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from .background import Background
from .delivery import NO_ACK, Ack, Delivery, ack_from_http
from .model import JsonDict

log = logging.getLogger(__name__)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's `X-Slack-Signature`: `v0=` + HMAC-SHA256 of `v0:{ts}:{body}`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Answer:
    """What one HTTP attempt produced."""

    outcome: str  # "acked" | "http_timeout" | "http_error" | "connection_failed"
    status: int | None = None
    no_retry: bool = False
    body: str = ""
    content_type: str = ""


class HttpSender:
    """Posts signed Events API bodies, interactivity payloads and slash commands to the app."""

    def __init__(self, secret: str, record: Callable[[Delivery], None]) -> None:
        self._secret = secret
        self._record = record
        self._session: aiohttp.ClientSession | None = None
        self._stragglers = Background("slack-http-mode")
        self.clock: Callable[[], float] = time.time

    async def start(self) -> None:
        """Open the client session."""
        if self._session is None:
            self._session = aiohttp.ClientSession(trust_env=False)

    async def close(self) -> None:
        """Cancel requests still running and close the session."""
        await self._stragglers.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _headers(self, body: bytes, content_type: str) -> dict[str, str]:
        timestamp = str(int(self.clock()))
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(self._secret, timestamp, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        assert self._session is not None, "HttpSender.start() was not called"
        try:
            async with self._session.post(url, data=body, headers=headers) as response:
                text = await response.text()
                no_retry = response.headers.get("X-Slack-No-Retry") == "1"
                ok = 200 <= response.status < 300
                outcome = "acked" if ok else "http_error"
                ctype = response.headers.get("Content-Type", "")
                return Answer(outcome, response.status, no_retry, text, ctype)
        except aiohttp.ClientError as exc:
            log.info("http mode: %s unreachable: %s", url, exc)
            return Answer("connection_failed")

    async def _attempt(
        self, url: str, body: bytes, headers: dict[str, str], limit: float
    ) -> Answer:
        # On a timeout Slack retries while the first request may still be running: keep it going.
        task = self._stragglers.spawn(self._post(url, body, headers))
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            return Answer("http_timeout")
        return task.result()

    async def deliver_event(
        self,
        url: str,
        body: JsonDict,
        limit: float,
        delays: tuple[float, ...],
        up: asyncio.Event,
    ) -> None:
        """POST the event JSON; retry up to len(delays) times unless 2xx or X-Slack-No-Retry."""
        raw = json.dumps(body).encode()
        event_id = str(body.get("event_id", ""))
        reason = ""
        for attempt in range(len(delays) + 1):
            if attempt:
                await asyncio.sleep(delays[attempt - 1])
                await up.wait()
            headers = self._headers(raw, "application/json")
            if attempt:
                headers.update({"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": reason})
            answer = await self._attempt(url, raw, headers, limit)
            record = Delivery("http", "events_api", event_id, attempt, reason, answer.outcome)
            self._record(dataclasses.replace(record, status=answer.status))
            if answer.outcome == "acked" or answer.no_retry:
                return
            reason = answer.outcome
        log.warning("http mode: event %s was never acknowledged", event_id)

    async def url_verification(self, url: str, token: str, limit: float) -> bool:
        """Send the signed `url_verification` challenge; True when the app echoes it back."""
        challenge = secrets.token_urlsafe(24)
        body = {"token": token, "challenge": challenge, "type": "url_verification"}
        raw = json.dumps(body).encode()
        answer = await self._attempt(url, raw, self._headers(raw, "application/json"), limit)
        if answer.outcome != "acked":
            return False
        try:
            return bool(json.loads(answer.body).get("challenge") == challenge)
        except (ValueError, AttributeError):
            return False

    async def request(
        self, url: str, kind: str, ident: str, fields: dict[str, str], limit: float
    ) -> Ack:
        """POST an interaction (`payload=`) or a command (form fields); never retried."""
        raw = urlencode(fields).encode()
        headers = self._headers(raw, "application/x-www-form-urlencoded")
        answer = await self._attempt(url, raw, headers, limit)
        record = Delivery("http", kind, ident, 0, "", answer.outcome)
        self._record(dataclasses.replace(record, status=answer.status))
        if answer.status is None:
            return NO_ACK
        return ack_from_http(answer.status, answer.body, answer.content_type)
