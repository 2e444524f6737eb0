"""REST: the bot's identity, users, DM channels, channels, gateway URL, command sync."""

from __future__ import annotations

from aiohttp import web

from .bodies import read_any_json
from .context import Context, Route, snowflake
from .errors import (
    ApiError,
    field_error,
    invalid_form,
    json_response,
    unknown_application,
    unknown_user,
)
from .model import JSON
from .payloads import channel_json, command_json, user_json

_VERIFY_KEY = "0" * 64


class CoreRoutes:
    """Identity, users, channels and application commands."""

    def __init__(self, ctx: Context, gateway_url: str) -> None:
        self.ctx = ctx
        self.world = ctx.world
        self.gateway_url = gateway_url

    def routes(self) -> list[Route]:
        """(method, path, handler) triples, paths relative to /api/v10."""
        apps = "/applications/{application_id}"
        return [
            ("GET", "/users/@me", self.me),
            ("GET", "/users/{user_id}", self.get_user),
            ("POST", "/users/@me/channels", self.open_dm),
            ("GET", "/oauth2/applications/@me", self.application),
            ("GET", "/applications/@me", self.application),
            ("GET", "/gateway", self.gateway),
            ("GET", "/gateway/bot", self.gateway_bot),
            ("GET", "/channels/{channel_id}", self.get_channel),
            ("GET", apps + "/commands", self.list_commands),
            ("PUT", apps + "/commands", self.sync_commands),
            ("GET", apps + "/guilds/{guild_id}/commands", self.list_commands),
            ("PUT", apps + "/guilds/{guild_id}/commands", self.sync_commands),
        ]

    async def me(self, request: web.Request) -> web.Response:
        """GET /users/@me: the bot account (first call of discord.py's login)."""
        data = user_json(self.world.bot())
        data.update(verified=True, mfa_enabled=False, flags=0, locale="en-US", email=None)
        return json_response(data)

    async def get_user(self, request: web.Request) -> web.Response:
        """GET /users/{id}; 404 Unknown User (10013)."""
        user = self.world.users.get(snowflake(request.match_info["user_id"]))
        if user is None:
            raise unknown_user()
        return json_response(user_json(user))

    async def open_dm(self, request: web.Request) -> web.Response:
        """POST /users/@me/channels {"recipient_id"}: the DM channel.

        Opening succeeds even when the person closed their DMs; sending is what fails.
        """
        body = await _json_object(request)
        recipient = self.world.users.get(snowflake(str(body.get("recipient_id", ""))))
        if recipient is None or recipient.id == self.world.bot_id:
            raise unknown_user()
        return json_response(channel_json(self.world.open_dm(recipient.id), self.world))

    async def application(self, request: web.Request) -> web.Response:
        """GET /oauth2/applications/@me: AppInfo needs these keys (second call of login)."""
        seed = self.world.seed
        owner = self.world.users[seed.owner.id]
        data: JSON = {
            "id": str(seed.application_id),
            "name": seed.application_name or seed.bot.username,
            "description": "",
            "icon": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": user_json(owner),
            "verify_key": _VERIFY_KEY,
            "flags": _portal_flags(int(seed.enabled_intents)),
            "team": None,
            "summary": "",
            "bot": user_json(self.world.bot()),
        }
        return json_response(data)

    async def gateway(self, request: web.Request) -> web.Response:
        """GET /gateway."""
        return json_response({"url": self.gateway_url})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        """GET /gateway/bot (AutoShardedClient asks it for the URL and shard count)."""
        limit = {"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}
        return json_response({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def get_channel(self, request: web.Request) -> web.Response:
        """GET /channels/{id}; 404 Unknown Channel (10003)."""
        channel = self.ctx.visible_channel(request.match_info["channel_id"])
        return json_response(channel_json(channel, self.world))

    async def list_commands(self, request: web.Request) -> web.Response:
        """GET the registered commands (global or guild)."""
        guild_id = self._command_scope(request)
        commands = [c for c in self.world.commands.values() if c.guild_id == guild_id]
        return json_response([command_json(c) for c in commands])

    async def sync_commands(self, request: web.Request) -> web.Response:
        """PUT the whole command set (tree.sync()); echoes it with ids."""
        guild_id = self._command_scope(request)
        body = await read_any_json(request)
        if not isinstance(body, list) or not all(
            isinstance(c, dict) and c.get("name") for c in body
        ):
            raise invalid_form(
                {
                    "_errors": [
                        {"code": "LIST_TYPE_CONVERT", "message": "Must be an array of commands."}
                    ]
                }
            )
        commands = self.world.register_commands(guild_id, body)
        return json_response([command_json(c) for c in commands])

    def _command_scope(self, request: web.Request) -> int | None:
        if snowflake(request.match_info["application_id"]) != self.world.application_id:
            raise unknown_application()
        raw_guild = request.match_info.get("guild_id")
        if raw_guild is None:
            return None
        guild_id = snowflake(raw_guild)
        if guild_id not in self.world.guilds:
            raise ApiError(404, 10004, "Unknown Guild")
        return guild_id


def _portal_flags(enabled_intents: int) -> int:
    # GATEWAY_PRESENCE (1<<12), GATEWAY_GUILD_MEMBERS (1<<14), GATEWAY_MESSAGE_CONTENT (1<<18).
    flags = 0
    if enabled_intents & (1 << 8):
        flags |= 1 << 12
    if enabled_intents & (1 << 1):
        flags |= 1 << 14
    if enabled_intents & (1 << 15):
        flags |= 1 << 18
    return flags


async def _json_object(request: web.Request) -> JSON:
    body = await read_any_json(request)
    if not isinstance(body, dict):
        raise invalid_form(field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used"))
    return body
