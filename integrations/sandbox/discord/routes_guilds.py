"""REST: a guild's roles, its members (one, or the list the GUILD_MEMBERS intent unlocks), and
its active threads."""

from __future__ import annotations

from aiohttp import web

from .constants import Intent
from .context import Context, Route, snowflake
from .errors import ApiError, field_error, invalid_form, json_response, unknown_user
from .model import Guild
from .payloads import guild_json, member_json, role_json, thread_listing_json

MAX_MEMBERS_PAGE = 1000


class GuildRoutes:
    """GET roles, members and active threads of a guild the bot is in."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.world = ctx.world

    def routes(self) -> list[Route]:
        """(method, path, handler) triples, paths relative to /api/v10."""
        guild = "/guilds/{guild_id}"
        return [
            ("GET", guild, self.guild),
            ("GET", guild + "/roles", self.roles),
            ("GET", guild + "/members", self.members),
            ("GET", guild + "/members/{user_id}", self.member),
            ("GET", guild + "/threads/active", self.active_threads),
        ]

    async def guild(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}: the guild (404 10004 for one the bot is not in)."""
        return json_response(guild_json(self._guild(request), self.world))

    async def roles(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/roles: @everyone first, then the guild's roles."""
        guild = self._guild(request)
        return json_response([role_json(r) for r in guild.roles])

    async def member(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/members/{user}: the member with their roles; 404 10007 for someone
        not in the guild (10013 for an id nobody has)."""
        guild = self._guild(request)
        user = self.world.users.get(snowflake(request.match_info["user_id"]))
        if user is None:
            raise unknown_user()
        if user.id not in guild.member_ids:
            raise ApiError(404, 10007, "Unknown Member")
        return json_response(member_json(user, guild))

    async def members(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/members?limit=1..1000 (1)&after=<user id>, by user id.

        Discord refuses it (403, 50001) unless the GUILD_MEMBERS privileged intent is switched
        on for the app in the developer portal (the seed's `enabled_intents`)."""
        guild = self._guild(request)
        if not self.world.seed.enabled_intents & Intent.GUILD_MEMBERS:
            raise ApiError(403, 50001, "Missing Access")
        limit = _int(request.query.get("limit"), "limit", default=1)
        if not 1 <= limit <= MAX_MEMBERS_PAGE:
            raise invalid_form(
                {"limit": field_error("NUMBER_TYPE_MAX", "int value should be <= 1000 and >= 1.")}
            )
        after = _int(request.query.get("after"), "after", default=0)
        ids = sorted(m for m in guild.member_ids if m > after)[:limit]
        return json_response([member_json(self.world.users[m], guild) for m in ids])

    async def active_threads(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/threads/active: every unarchived thread the bot can see, and the
        bot's own thread memberships."""
        guild = self._guild(request)
        bot_id = self.world.bot_id
        threads = [t for t in self.world.active_threads(guild) if not t.hidden_from(bot_id)]
        return json_response(thread_listing_json(threads, bot_id, has_more=None))

    def _guild(self, request: web.Request) -> Guild:
        guild = self.world.guilds.get(snowflake(request.match_info["guild_id"]))
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        return guild


def _int(raw: str | None, name: str, *, default: int) -> int:
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid_form(
            {name: field_error("NUMBER_TYPE_COERCE", f'Value "{raw}" is not int.')}
        ) from None
