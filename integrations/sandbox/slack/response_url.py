"""`response_url`: the loopback webhook an app answers an action or command through."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web

from .api import json_response
from .blocks import parse_blocks, truncate
from .errors import SlackError
from .model import JsonDict
from .timing import Timing
from .workspace import Workspace


@dataclass
class Target:
    """What a response_url acts on: the channel, and the message the action came from."""

    user: str
    channel: str
    message_ts: str | None
    ephemeral: bool
    created_at: float
    uses: int = 0


@dataclass(frozen=True)
class Response:
    """One use of a response_url, as the log keeps it."""

    token: str
    body: JsonDict
    ok: bool
    error: str | None


class ResponseUrls:
    """Issues response_urls and applies what the app posts to them."""

    def __init__(self, workspace: Workspace, timing: Timing, now: Callable[[], float]) -> None:
        self._workspace = workspace
        self._timing = timing
        self._now = now
        self._targets: dict[str, Target] = {}
        self.base_url = ""
        self.log: list[Response] = []

    def new(self, user: str, channel: str, message_ts: str | None, ephemeral: bool) -> str:
        """A fresh response_url for an interaction by `user` in `channel`."""
        token = secrets.token_urlsafe(12)
        self._targets[token] = Target(user, channel, message_ts, ephemeral, self._now())
        team = self._workspace.team_id
        return f"{self.base_url}/actions/{team}/{token}"

    async def handle(self, request: web.Request) -> web.Response:
        """POST `/actions/{team}/{token}`."""
        token = request.match_info["token"]
        raw = await request.read()
        try:
            body = _parse(raw)
            self._apply(token, body)
        except SlackError as exc:
            self.log.append(Response(token, {}, False, exc.code))
            status = 404 if exc.code in ("no_such_url", "expired_url", "used_url") else 400
            return json_response(exc.to_api(), status)
        self.log.append(Response(token, body, True, None))
        self._workspace.changed()
        return json_response({"ok": True})

    def _target(self, token: str) -> Target:
        target = self._targets.get(token)
        if target is None:
            raise SlackError("no_such_url")
        if self._now() - target.created_at > self._timing.response_url_ttl:
            raise SlackError("expired_url")
        if target.uses >= self._timing.response_url_uses:
            raise SlackError("used_url")
        target.uses += 1
        return target

    def _apply(self, token: str, body: JsonDict) -> None:
        target = self._target(token)
        text, _ = truncate(str(body.get("text") or ""))
        blocks = parse_blocks(body.get("blocks"))
        if body.get("delete_original"):
            self._delete(target)
        elif body.get("replace_original"):
            self._replace(target, text, blocks)
        elif body.get("response_type") == "in_channel":
            bot = self._workspace.bot.user_id
            thread_ts = body.get("thread_ts")
            self._workspace.post(
                target.channel,
                bot,
                text,
                blocks=blocks,
                thread_ts=str(thread_ts) if thread_ts else None,
                check_member=False,
            )
        else:
            self._workspace.post_ephemeral(target.channel, target.user, text, blocks)

    def _delete(self, target: Target) -> None:
        if target.message_ts is None:
            raise SlackError("no_original_message")
        if target.ephemeral:
            self._workspace.drop_ephemeral(target.channel, target.user, target.message_ts)
        else:
            self._workspace.delete(target.channel, target.message_ts, self._workspace.bot.user_id)

    def _replace(self, target: Target, text: str, blocks: list[JsonDict] | None) -> None:
        if target.message_ts is None:
            raise SlackError("no_original_message")
        workspace = self._workspace
        if target.ephemeral:
            workspace.replace_ephemeral(
                target.channel, target.user, target.message_ts, text, blocks
            )
        else:
            # replace_original replaces the whole message: no blocks given means none left.
            bot = workspace.bot.user_id
            workspace.edit(target.channel, target.message_ts, bot, text, blocks or [])


def _parse(raw: bytes) -> JsonDict:
    text = raw.decode(errors="replace")
    if not text.lstrip().startswith("{"):
        fields = dict(parse_qsl(text))
        text = fields.get("payload", "")
    try:
        body = json.loads(text)
    except ValueError:
        raise SlackError("invalid_json") from None
    if not isinstance(body, dict):
        raise SlackError("invalid_json")
    return body
