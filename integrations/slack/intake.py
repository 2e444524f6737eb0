"""The first look at everything Slack sends: malformed payloads dropped, replayed clicks ignored.

A global middleware, ahead of the desk and every listener: it checks the shape of what the
listeners (and Bolt's own matchers) read, so a malformed payload is logged in one line and
acknowledged instead of raising in a listener. Interactions (clicks, dialog submissions,
shortcuts) are recorded under a key that a replay of the same request repeats and a new
interaction does not, before they are applied: a replayed request is acknowledged and ignored.
What no listener takes (a control of an older version, an event nobody asked for) is
acknowledged by the listeners registered last, in one line, instead of Bolt's 404: Slack would
show the person an error, or deliver an event three times more.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.core.service import TicketService
from integrations.platforms import SLACK
from integrations.slack.middleware import BodyMiddleware, Next
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
# The other kinds of request Slack sends an app (Bolt answers url_verification and ssl_check
# itself); a body of any other `type` is no Slack request.
OTHER_KINDS = frozenset(
    {"event_callback", "url_verification", "app_rate_limited", "view_closed", "block_suggestion"}
)
ANY = re.compile(r"[\s\S]*")


class Intake:
    def __init__(self, service: TicketService) -> None:
        self._service = service

    def register(self, app: AsyncApp) -> None:
        app.middleware(BodyMiddleware(self._checked))

    def register_last(self, app: AsyncApp) -> None:
        """Listeners for what no other listener took: registered after all of them."""
        app.action(ANY)(_unknown("a control"))
        app.view(ANY)(_unknown("a dialog"))
        app.view_closed(ANY)(_unknown("a closed dialog"))
        app.shortcut(ANY)(_unknown("a shortcut"))
        app.options(ANY)(_no_options)
        app.command(ANY)(_unknown("a command"))
        app.event(ANY)(_unknown("an event"))

    async def _checked(self, body: Json, next: Next) -> BoltResponse | None:
        wrong = shape_problem(body)
        if wrong is not None:
            log.warning("Slack sent a malformed %s; dropped: %s", _kind(body), wrong)
            return _ack()
        if body.get("type") == "app_rate_limited":
            log.warning("Slack is holding back events: it rate-limits Threadline for a minute")
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
    if kind is not None and not isinstance(kind, str):
        return f"type: a {type(kind).__name__} where a string belongs"
    if kind in INTERACTIONS:
        return problem(INTERACTIONS[str(kind)], body)
    if kind == "event_callback":
        return _event_problem(body)
    if "command" in body:
        return problem(SlashCommand, body)
    if kind not in OTHER_KINDS and "ssl_check" not in body:
        return f"type {str(kind)[:40]!r}: not a kind of request Slack sends"
    return None


def _event_problem(body: Json) -> str | None:
    event = body.get("event")
    if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
        return "event: not an object with a type"
    if event.get("type") == "app_home_opened":
        return problem(HomeOpened, event)
    return storable(body)  # message events are checked in full by the desk, once stored


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


def _unknown(what: str) -> Callable[..., Awaitable[None]]:
    """A listener that acknowledges a `what` no other listener takes, in one line."""

    async def acknowledged(ack: Callable[..., Awaitable[None]], body: Json) -> None:
        await ack()
        log.info("Slack sent %s Threadline does not know (%s); acknowledged", what, _name(body))

    return acknowledged


async def _no_options(ack: Callable[..., Awaitable[None]], body: Json) -> None:
    await ack(options=[])
    log.info("Slack asked for the options of a menu Threadline does not know (%s)", _name(body))


def _name(body: Json) -> str:
    """What names an unknown request (an action, callback or command), for the log."""
    found: object = body.get("command") or body.get("callback_id") or body.get("action_id")
    actions = body.get("actions")
    if not found and isinstance(actions, list) and actions and isinstance(actions[0], Mapping):
        found = actions[0].get("action_id")
    view = body.get("view")
    if not found and isinstance(view, Mapping):
        found = view.get("callback_id")
    event = body.get("event")
    if not found and isinstance(event, Mapping):
        found = event.get("type")
    return repr(str(found)[:60]) if found else "unnamed"


def _kind(body: Json) -> str:
    kind = body.get("type")
    if kind == "event_callback" and isinstance(body.get("event"), Mapping):
        return f"{body['event'].get('type')!r} event"[:60]
    if "command" in body:
        return "command"
    return f"{kind!r} payload"[:60] if isinstance(kind, str) else "payload"


def _ack() -> BoltResponse:
    return BoltResponse(status=200, body="")
