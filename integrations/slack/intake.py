"""The first look at everything Slack sends: malformed payloads dropped, replayed clicks ignored.

A global middleware, ahead of the desk and every listener: it checks the shape of what the
listeners (and Bolt's own matchers) read, so a malformed payload is logged in one line and
acknowledged instead of raising in a listener. Interactions (clicks, dialog submissions,
shortcuts) are recorded under a key that a replay of the same request repeats and a new
interaction does not, before they are applied: a replayed request is acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.core.service import TicketService
from integrations.platforms import SLACK
from integrations.slack.payloads import (
    BlockActions,
    HomeOpened,
    MessageShortcut,
    SlashCommand,
    ViewSubmission,
    parse,
    problem,
    storable,
)

log = logging.getLogger(__name__)

Json = Mapping[str, Any]
INTERACTIONS: dict[str, type[BaseModel]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "message_action": MessageShortcut,
    "shortcut": MessageShortcut,
}


class Intake:
    def __init__(self, service: TicketService) -> None:
        self._service = service

    def register(self, app: AsyncApp) -> None:
        app.middleware(self._checked)

    async def _checked(
        self, body: Json, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        wrong = shape_problem(body)
        if wrong is not None:
            log.warning("Slack sent a malformed %s; dropped: %s", _kind(body), wrong)
            return _ack()
        key = interaction_key(body)
        if key is not None and not await self._first_time(key, body):
            log.info("Slack interaction %s was seen before; ignoring the replay", key)
            return _ack()
        await next()
        return None

    async def _first_time(self, key: str, body: Json) -> bool:
        """Record the interaction; False when it was recorded before (a replay). It is an
        interaction applied now or never (its trigger expires in seconds, and Slack never
        redelivers one), so it is recorded as processed at once."""
        return await self._service.first_time(SLACK, key, body)


def shape_problem(body: Json) -> str | None:
    """Why `body` is not something Threadline's listeners can read (None when it is)."""
    kind = body.get("type")
    if kind in INTERACTIONS:
        return problem(INTERACTIONS[str(kind)], body)
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
            return "event: not an object with a type"
        if event.get("type") == "app_home_opened":
            return problem(HomeOpened, event)
        return storable(body)  # message events are checked in full by the desk, once stored
    if "command" in body:
        return problem(SlashCommand, body)
    return None


def interaction_key(body: Json) -> str | None:
    """The inbound key of an interaction: the same for a replay, new for a new interaction."""
    kind = body.get("type")
    if kind == "block_actions":
        actions = parse(BlockActions, body)
        assert actions is not None  # shape_problem passed
        return f"action:{actions.user.id}:{actions.actions[0].action_ts}"
    if kind == "view_submission":
        view = parse(ViewSubmission, body)
        assert view is not None
        # A corrected resubmission (after the dialog showed errors) keeps the view's id and
        # hash; what was entered tells it apart from a replay.
        entered = json.dumps(view.view.state, sort_keys=True, default=str)
        digest = hashlib.sha256(f"{view.view.hash}|{entered}".encode()).hexdigest()[:40]
        return f"view:{view.view.id}:{digest}"
    if kind in ("message_action", "shortcut"):
        shortcut = parse(MessageShortcut, body)
        assert shortcut is not None
        return f"shortcut:{hashlib.sha256(shortcut.trigger_id.encode()).hexdigest()[:40]}"
    return None


def _kind(body: Json) -> str:
    kind = body.get("type")
    if kind == "event_callback" and isinstance(body.get("event"), Mapping):
        return f"{body['event'].get('type')!r} event"[:60]
    if "command" in body:
        return "command"
    return f"{kind!r} payload"[:60] if isinstance(kind, str) else "payload"


def _ack() -> BoltResponse:
    return BoltResponse(status=200, body="")
