"""Customers' messages (and their edits and deletions), and agents' in a staff channel's ticket
threads, that failed for an unexpected reason.

They are kept as stored inbound events, as Slack's are: retried with backoff by a background
pass, and after MAX_ATTEMPTS set aside as dead letters that `threadline events` and
`/threadline failed` list, show, retry and drop. What is stored is what the ticket service
needs, not the discord.py object, so a retry needs no Discord call.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from bot.core.domain import Agent, AgentId, Attachment, MessageRef, Platform, TicketNumber
from bot.core.errors import CustomerRefused, StorageError
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.inbound import RETRY_EVERY, InboundState
from bot.core.service import TicketService
from integrations.platforms import DISCORD
from integrations.repeating import Repeating

log = logging.getLogger(__name__)

MOST_UNSAVED = 10_000  # failures held in memory while the database is away

Payload = dict[str, Any]


def message_payload(message: CustomerMessage) -> tuple[str, Payload]:
    fields = asdict(message)
    fields["platform"] = message.platform
    fields["sent_at"] = message.sent_at.isoformat()
    return f"message:{message.message_id}", {"kind": "message", "message": fields}


def edit_payload(message_id: str, body: str, workspace: str = "") -> tuple[str, Payload]:
    """An edit of a customer's message, or (`workspace`) of an agent's written there."""
    digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    payload = {"kind": "edit", "id": message_id, "body": body, "workspace": workspace}
    return f"edit:{message_id}:{digest}", payload


def delete_payload(message_id: str, workspace: str = "") -> tuple[str, Payload]:
    """A customer deleted a message, or (`workspace`) an agent deleted one written there."""
    return f"delete:{message_id}", {"kind": "delete", "id": message_id, "workspace": workspace}


def agent_payload(number: int, message: AgentMessage) -> tuple[str, Payload]:
    """An agent's message in a ticket's thread, decided already (reply or note)."""
    assert message.ref is not None
    fields = {
        "agent_id": message.agent.id,
        "agent_name": message.agent.name,
        "body": message.body,
        "internal": message.internal,
        "sent_at": message.sent_at.isoformat(),
        "id": message.ref.external_id,
        "workspace": message.ref.workspace,
        "attachments": [asdict(a) for a in message.attachments],
    }
    return f"agent:{message.ref.external_id}", {"kind": "agent", "number": number, **fields}


def _agent_message(fields: Payload) -> AgentMessage:
    return AgentMessage(
        agent=Agent(AgentId(str(fields["agent_id"])), str(fields["agent_name"])),
        body=str(fields["body"]),
        internal=bool(fields["internal"]),
        sent_at=datetime.fromisoformat(fields["sent_at"]),
        ref=MessageRef(DISCORD, str(fields["id"]), str(fields["workspace"])),
        attachments=tuple(Attachment(**a) for a in fields.get("attachments") or ()),
    )


def _customer_message(fields: Payload) -> CustomerMessage:
    return CustomerMessage(
        platform=Platform(fields["platform"]),
        message_id=str(fields["message_id"]),
        customer_id=str(fields["customer_id"]),
        customer_name=str(fields["customer_name"]),
        body=str(fields["body"]),
        sent_at=datetime.fromisoformat(fields["sent_at"]),
        attachments=tuple(Attachment(**a) for a in fields.get("attachments") or ()),
        customer_avatar_url=fields.get("customer_avatar_url"),
    )


class Deferred(Exception):
    """A failed event could not be stored yet either; it is held in memory meanwhile."""


class Waiting(Exception):
    """Not tried: an earlier message of the same customer is set aside, and this one must not
    overtake it."""

    def __init__(self) -> None:
        super().__init__("an earlier message from this customer is waiting to be recorded")


def _customer_of(payload: Payload) -> str | None:
    """Whose message a stored event is (None: not a customer's message)."""
    if payload.get("kind") != "message":
        return None
    message = payload.get("message")
    return str(message.get("customer_id")) if isinstance(message, dict) else None


class SetAside:
    """Keeps failed Discord events; `retries` runs `retry_pass` in the background."""

    def __init__(self, service: TicketService) -> None:
        self._service = service
        self.retries = Repeating("discord-retries", RETRY_EVERY, self.retry_pass)
        # Failures that could not be stored (the database was away), held here until it is
        # back; `kept` is told once each is stored. A crash loses these, but the gateway
        # checkpoint waits for them, so Discord replays them at the next start.
        self._unsaved: dict[str, tuple[Payload, str, Callable[[], None]]] = {}
        # Each customer's messages set aside, in the order they wrote them: only the first is
        # tried, and a new one waits behind them (`holds`), so none overtakes another.
        self._lines: dict[str, list[str]] = {}

    def holds(self, customer_id: str) -> bool:
        """Whether a message of this customer is set aside: a new one must wait behind it."""
        return bool(self._lines.get(customer_id))

    async def load(self) -> None:
        """The lines of messages set aside before a restart (call before the gateway connects,
        so that no live message overtakes them)."""
        waiting = await self._service.inbound_events(dead=False, platform=DISCORD, limit=10_000)
        for event in waiting:
            self._join(event.event_id, event.payload)

    def _join(self, event_id: str, payload: Payload) -> None:
        customer = _customer_of(payload)
        if customer is not None and event_id not in self._lines.get(customer, ()):
            self._lines.setdefault(customer, []).append(event_id)

    def _leave(self, event_id: str, payload: Payload) -> None:
        customer = _customer_of(payload)
        line = self._lines.get(customer or "")
        if line is not None and event_id in line:
            line.remove(event_id)
            if not line:
                del self._lines[customer or ""]

    def _first(self, event_id: str, payload: Payload) -> bool:
        """Whether the event is first in its customer's line (or in none)."""
        line = self._lines.get(_customer_of(payload) or "")
        return not line or line[0] == event_id

    async def failed(
        self,
        event_id: str,
        payload: Payload,
        error: BaseException,
        kept: Callable[[], None] = lambda: None,
    ) -> bool:
        """Store the event (once) and count this failure; logged once per attempt. False when
        the database is away too: it is held here, stored by a later pass, and then `kept` is
        called."""
        reason = f"{type(error).__name__}: {error}"
        self._join(event_id, payload)
        customer = _customer_of(payload)
        waiting = [e for e in self._unsaved if _customer_of(self._unsaved[e][0]) == customer]
        if customer is not None and waiting and event_id not in self._unsaved:
            # Stored now, it would come before the earlier ones still held here: it waits too.
            self._unsaved[event_id] = (payload, reason, kept)
            return False
        try:
            await self._keep(event_id, payload, reason)
        except StorageError as exc:
            if event_id in self._unsaved:
                return False
            if len(self._unsaved) < MOST_UNSAVED:
                log.error("Discord event %s not stored yet (%s); trying again", event_id, exc)
                self._unsaved[event_id] = (payload, reason, kept)
            else:
                log.error("Discord event %s not stored (%s); a restart replays it", event_id, exc)
            return False
        return True

    async def _keep(self, event_id: str, payload: Payload, reason: str) -> None:
        await self._service.record_inbound(DISCORD, event_id, payload)
        state = await self._service.inbound_failed(DISCORD, event_id, reason)
        if state is InboundState.DEAD:
            self._leave(event_id, payload)  # for a person now: the customer's next go on
            log.error(
                "Discord event %s failed every attempt (%s); set aside: `threadline events list`",
                event_id,
                reason,
            )
        elif reason.startswith(Waiting.__name__):
            log.info("Discord event %s waits behind the customer's earlier ones", event_id)
        else:
            log.warning("Discord event %s failed (%s); it will be retried", event_id, reason)

    async def process(self, event_id: str, payload: Payload) -> None:
        """One stored event, handled again; a failure is counted, success marks it done."""
        try:
            await self._apply(payload)
        except CustomerRefused as refused:
            log.info("Discord event %s refused on retry: %s", event_id, refused)
        except Exception as exc:
            await self.failed(event_id, payload, exc)
            return
        await self._service.mark_processed(DISCORD, event_id)
        self._leave(event_id, payload)

    async def _apply(self, payload: Payload) -> None:
        kind = payload.get("kind")
        if kind == "message":
            await self._service.receive_customer_message(_customer_message(payload["message"]))
        elif kind == "edit":
            ref = MessageRef(DISCORD, str(payload["id"]), str(payload.get("workspace") or ""))
            await self._service.edit_message(ref, str(payload["body"]))
        elif kind == "delete" and payload.get("workspace"):  # an agent's own message
            ref = MessageRef(DISCORD, str(payload["id"]), str(payload["workspace"]))
            await self._service.delete_message(ref)
        elif kind == "delete":
            await self._service.delete_customer_message(MessageRef(DISCORD, str(payload["id"])))
        elif kind == "agent":
            message = _agent_message(payload)
            await self._service.add_agent_message(TicketNumber(int(payload["number"])), message)
        else:
            raise ValueError(f"unknown stored Discord event kind {kind!r}")

    async def retry_pass(self) -> int:
        for event_id, (payload, reason, kept) in list(self._unsaved.items()):
            await self._keep(event_id, payload, reason)  # raises while the database is away
            del self._unsaved[event_id]
            kept()
        due = await self._service.retry_due(DISCORD)
        tried = 0
        for event_id, stored in due:
            payload = dict(stored)
            self._join(event_id, payload)  # stored by another process, say
            if not self._first(event_id, payload):
                continue  # behind an earlier message of its customer, not done yet
            await self.process(event_id, payload)
            tried += 1
        return tried
