"""What Threadline reads of Slack's payloads, validated before anything is done with them.

Only signed requests (or Socket Mode frames) get here, but a signed request can still be
malformed: each model names the fields a listener reads, with the types it relies on, and lets
every other field through untouched. A payload that fails is logged in one line and dropped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import parse_qsl

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

Json = Mapping[str, Any]
M = TypeVar("M", bound=BaseModel)

# Slack's ids and timestamps are short; a bound keeps dedup keys within inbound_events' 128.
ID_LIMIT = 40
DEPTH_LIMIT = 64  # nesting deeper than any Slack payload: refused before it is walked again
# "1712345678.123456": at most 10 digits of seconds, so the instant is a valid datetime.
TS_PATTERN = r"^\d{1,10}(\.\d{1,9})?$"


def _plain(text: str) -> str:
    """Text that can be stored and sent on: no NUL, no lone surrogate."""
    if "\x00" in text:
        raise ValueError("contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("contains a lone surrogate") from exc
    return text


Text = Annotated[str, AfterValidator(_plain)]
Id = Annotated[str, Field(min_length=1, max_length=ID_LIMIT, pattern=r"^[A-Za-z0-9._\-]+$")]
Ts = Annotated[str, Field(max_length=24, pattern=TS_PATTERN)]


class _Model(BaseModel):
    # strict: a number where Slack sends a string (or the reverse) is malformed, not coerced.
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


# --- Events API --------------------------------------------------------------------------


class SharedFile(_Model):
    name: Text | None = None
    title: Text | None = None
    url_private_download: Text | None = None
    size: Annotated[int, Field(ge=0, le=2**53)] | None = None
    mimetype: Text | None = None


class MessageBody(_Model):
    """A message as carried inside message_changed (`message`, `previous_message`)."""

    user: Text | None = None
    bot_id: Text | None = None
    text: Text | None = None
    ts: Ts | None = None
    thread_ts: Ts | None = None
    files: list[SharedFile] | None = None


class MessageEvent(MessageBody):
    type: Literal["message"]
    channel: Text
    subtype: Text | None = None
    event_ts: Ts | None = None
    deleted_ts: Ts | None = None
    message: MessageBody | None = None
    previous_message: MessageBody | None = None


class EventEnvelope(_Model):
    type: Literal["event_callback"]
    event_id: Annotated[Text, Field(min_length=1, max_length=100)]
    event: MessageEvent


class HomeOpened(_Model):
    type: Literal["app_home_opened"]
    user: Id
    tab: Text = "home"


# --- interactivity -----------------------------------------------------------------------


class UserRef(_Model):
    id: Id


class Option(_Model):
    value: Text


class ActionPart(_Model):
    action_id: Text
    action_ts: Ts
    value: Text | None = None
    selected_option: Option | None = None
    selected_user: Id | None = None


class ChannelRef(_Model):
    id: Id


class Container(_Model):
    type: Text
    channel_id: Id | None = None
    message_ts: Ts | None = None
    is_ephemeral: bool = False


class Element(_Model):
    type: Text | None = None
    value: Text | None = None


class Block(_Model):
    elements: list[Element] | None = None


class CardMessage(_Model):
    ts: Ts | None = None
    blocks: list[Block] | None = None


class BlockActions(_Model):
    type: Literal["block_actions"]
    user: UserRef
    actions: Annotated[list[ActionPart], Field(min_length=1)]
    trigger_id: Text | None = None
    container: Container | None = None
    message: CardMessage | None = None


class SubmittedView(_Model):
    id: Id
    type: Text  # read by Bolt itself ("modal", or "workflow_step")
    hash: Text | None = None
    callback_id: Text
    private_metadata: Text = ""
    state: dict[str, Any] | None = None


class ViewSubmission(_Model):
    type: Literal["view_submission"]
    user: UserRef
    view: SubmittedView


class MessageShortcut(_Model):
    type: Literal["message_action", "shortcut"]
    user: UserRef
    callback_id: Text
    trigger_id: Annotated[Text, Field(min_length=1, max_length=100)]
    channel: ChannelRef | None = None
    message: CardMessage | None = None


class PostPlace(_Model):
    """Where a clicked post is: its channel, its ts, and its thread's root when in a thread."""

    type: Literal["message"]
    channel_id: Id
    message_ts: Ts
    thread_ts: Ts | None = None
    is_ephemeral: bool = False


class PostBlock(_Model):
    """One block of a clicked post, kept as it is when the post is redrawn."""

    type: Text
    block_id: Text | None = None


class ClickedPost(_Model):
    """The clicked post as the clicker saw it."""

    ts: Ts | None = None
    thread_ts: Ts | None = None
    text: Text | None = None
    blocks: list[PostBlock] = Field(default_factory=list)


class PostClick(_Model):
    """A click on a button of a post of Threadline's (a ticket's card, a draft in its
    thread): the button, and the post it is on, to answer in its thread or redraw it."""

    type: Literal["block_actions"]
    user: UserRef
    actions: Annotated[list[ActionPart], Field(min_length=1)]
    trigger_id: Text | None = None
    container: PostPlace
    message: ClickedPost | None = None


class SlashCommand(_Model):
    command: Text
    user_id: Id
    text: Text = ""
    response_url: Annotated[Text, Field(pattern=r"^https?://")]  # where the answer goes


def parse(model: type[M], data: object) -> M | None:
    """`data` as `model`, or None when it does not fit (the caller logs and drops it)."""
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def problem(model: type[BaseModel], data: object) -> str | None:
    """Why `data` is not a `model`, in one line (None when it is one)."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        return f"{where}: {first['msg']} ({exc.error_count()} problem(s))"
    return None


# --- the request as a whole --------------------------------------------------------------


class Malformed(ValueError):
    """A request body that is not what Slack sends: answered 400."""


def storable(value: object, depth: int = 0) -> str | None:
    """Why `value` cannot be stored as JSON on either database (None when it can): NaN or an
    infinity, a NUL or a lone surrogate in a string or a key, or absurd nesting."""
    if depth > DEPTH_LIMIT:
        return "nested too deeply"
    if isinstance(value, Mapping):
        items: list[object] = [part for pair in value.items() for part in pair]
    elif isinstance(value, list):
        items = value
    else:
        return _scalar_problem(value)
    for item in items:
        found = storable(item, depth + 1)
        if found:
            return found
    return None


def _scalar_problem(value: object) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "a number that is not finite"
    if isinstance(value, str):
        try:
            _plain(value)
        except ValueError as exc:
            return f"a string that {exc}"
    return None


def request_body(text: str, content_type: str) -> dict[str, Any]:
    """The body of a signed HTTP-mode request, read the way Bolt will read it, strictly.

    Raises Malformed for what Bolt would choke on (and answer 500) or what could not be stored.
    """
    if content_type == "application/json" or text.startswith("{"):
        return _json_object(text)
    if content_type != "application/x-www-form-urlencoded":
        raise Malformed(f"unexpected content type {content_type!r}")
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in text:  # Bolt's own test: an interaction
        if "payload" not in fields:
            raise Malformed("form without a payload field")
        return _json_object(fields["payload"])
    if "command" not in fields and "ssl_check" not in fields:
        raise Malformed("form that is neither a command nor an interaction")
    found = storable(fields)
    if found:
        raise Malformed(f"form field with {found}")
    return dict(fields)


def _json_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise Malformed(f"not JSON: {str(exc)[:80]}") from exc
    if not isinstance(data, dict):
        raise Malformed(f"JSON {type(data).__name__} where an object belongs")
    found = storable(data)
    if found:
        raise Malformed(f"JSON with {found}")
    return data


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")
