"""`threadline check-config` for agents in Discord: ask Discord's REST API whether the staff
workspace the settings name is there and usable, and say what is wrong in words people act on.

Plain REST calls (aiohttp, which discord.py itself uses) rather than a logged-in discord.Client:
no process-wide `Route.BASE` to point, no gateway, and none of discord.py's retries and
rate-limit sleeps, so an unreachable Discord costs one short timeout and one line. The bot's
permissions in a channel are resolved the way discord.py's `GuildChannel.permissions_for`
resolves them, from the guild's roles, the bot's roles and the channel's overwrites.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import discord

from bot.config import Settings

TIMEOUT_SECONDS = 5.0

FORUM = 15
TEXT = 0
ANNOUNCEMENT = 5
_KINDS = {TEXT: "text", ANNOUNCEMENT: "announcement", FORUM: "forum", 2: "voice", 4: "category"}

# Application flags (GET /applications/@me): the privileged intents switched on in the
# Developer Portal. The _LIMITED bits are what an unverified app under 100 servers gets.
GATEWAY_GUILD_MEMBERS = 1 << 14
GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15
GATEWAY_MESSAGE_CONTENT = 1 << 18
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19

UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
MISSING_ACCESS = 50001

# discord.Permissions attribute -> the name Discord's UI shows, and in a forum, if it differs.
_NAMES: dict[str, tuple[str, str | None]] = {
    "view_channel": ("View Channel", None),
    "send_messages": ("Send Messages", "Create Posts"),
    "send_messages_in_threads": ("Send Messages in Threads", "Send Messages in Posts"),
    "create_public_threads": ("Create Public Threads", None),
    "manage_threads": ("Manage Threads", "Manage Posts"),
    "embed_links": ("Embed Links", None),
    "attach_files": ("Attach Files", None),
    "read_message_history": ("Read Message History", None),
    "add_reactions": ("Add Reactions", None),
}
# Manage Threads archives a resolved ticket's thread and unarchives it on reopen. A forum post
# is made with Send Messages (Create Posts); a text channel's thread needs Create Public Threads.
STAFF_PERMISSIONS = tuple(_NAMES)
LEADS_PERMISSIONS = ("view_channel", "send_messages", "embed_links")


@dataclass(frozen=True)
class Finding:
    """One thing checked: fine, a problem to fix, or a note (optional, nothing to fix)."""

    text: str
    problem: bool = False
    note: bool = False

    def line(self) -> str:
        mark = "PROBLEM" if self.problem else "note" if self.note else "ok"
        return f"  {mark}: {self.text}"


@dataclass
class StaffReport:
    """What the check found, in order."""

    findings: list[Finding] = field(default_factory=list)

    def ok(self, text: str) -> None:
        self.findings.append(Finding(text))

    def problem(self, text: str) -> None:
        self.findings.append(Finding(text, problem=True))

    def note(self, text: str) -> None:
        self.findings.append(Finding(text, note=True))

    @property
    def problems(self) -> list[str]:
        return [f.text for f in self.findings if f.problem]

    def lines(self) -> list[str]:
        return [f.line() for f in self.findings]


class _Refused(Exception):
    """Discord answered with an error status."""

    def __init__(self, status: int, code: int, message: str, retry_after: float | None) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class _Stop(Exception):
    """The check cannot go on; the text says why, in one line."""


async def check_staff(settings: Settings, *, seconds: float = TIMEOUT_SECONDS) -> StaffReport:
    """Check the Discord agent workspace against Discord: the staff channel (in the server,
    a forum or text channel), the roles, the leads channel, the bot's permissions in both
    channels, and the privileged intents. Never raises for what Discord or the network does:
    an unreachable Discord is one problem line. Needs the settings complete
    (`settings.missing_for_discord_staff()` empty)."""
    report = StaffReport()
    base = settings.discord_api_url.rstrip("/")
    where = shown_url(base)
    token = settings.discord_bot_token
    assert token is not None  # the caller checks missing_for_discord_staff() first
    headers = {
        "Authorization": f"Bot {token.get_secret_value()}",
        "User-Agent": f"DiscordBot (https://github.com/threadline, {_version()})",
    }
    try:
        async with aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=seconds)
        ) as http:
            await _Check(_Api(http, base, where), settings, report).run()
    except _Stop as stop:
        report.problem(str(stop))
    except TimeoutError:
        report.problem(f"Discord at {where} did not answer within {seconds:g} s; try again")
    except (aiohttp.ClientError, OSError) as exc:
        report.problem(f"cannot reach Discord at {where} ({_reason(exc)}); check DISCORD_API_URL")
    except ValueError as exc:  # aiohttp refuses a URL with credentials beside the bot token
        report.problem(f"cannot call Discord at {where} ({exc}); check DISCORD_API_URL")
    return report


class _Api:
    def __init__(self, http: aiohttp.ClientSession, base: str, where: str) -> None:
        self.http = http
        self.base = base
        self.where = where  # the base as it may be shown

    async def get(self, path: str) -> Any:
        async with self.http.get(self.base + path) as response:
            text = await response.text()
            if response.status < 300:
                try:
                    return json.loads(text)
                except ValueError:
                    raise _Stop(
                        f"{self.where} answered GET {path} with something other than JSON; "
                        "is DISCORD_API_URL Discord's API (https://discord.com/api/v10)?"
                    ) from None
            try:
                body = json.loads(text)
            except ValueError:  # an HTML error page from a proxy or Discord's edge
                body = None
            data = body if isinstance(body, dict) else {}
            error = _Refused(
                response.status,
                int(data.get("code") or 0),
                str(data.get("message") or response.reason or ""),
                float(data["retry_after"]) if "retry_after" in data else None,
            )
        if error.status == 401:
            raise _Stop(
                "Discord refused DISCORD_BOT_TOKEN (401 Unauthorized): copy the token again "
                "from the Developer Portal (your app → Bot → Reset Token)"
            )
        if error.status == 429:
            wait = f" for {error.retry_after:g} s" if error.retry_after is not None else ""
            raise _Stop(f"Discord is rate-limiting this bot{wait}; run the check again later")
        if error.status >= 500:
            raise _Stop(f"Discord answered {error.status} to GET {path}; try again later")
        raise error


@dataclass
class _Check:
    api: _Api
    settings: Settings
    report: StaffReport

    async def run(self) -> None:
        me = await self.api.get("/users/@me")
        self.report.ok(f"bot {me.get('username')} ({me.get('id')})")
        guild_id = str(self.settings.discord_guild_id)
        staff = await self._channel("staff channel", self.settings.discord_staff_channel)
        if staff is not None:
            self._staff_kind(staff, guild_id)
        roles = await self._roles(guild_id)
        leads = await self._channel("leads channel", self.settings.discord_leads_channel)
        if leads is not None:
            self._leads_kind(leads, guild_id)
        if roles is not None:
            bot_id = str(me.get("id"))
            held = await self._bot_roles(guild_id, bot_id)
            found: list[tuple[dict[str, Any], discord.Permissions]] = []
            for channel, needed in ((staff, STAFF_PERMISSIONS), (leads, LEADS_PERMISSIONS)):
                if channel is not None and _in_guild(channel, guild_id):
                    has = channel_permissions(channel, roles, held, guild_id, bot_id)
                    self._permissions(channel, needed, has)
                    found.append((channel, has))
            if found:
                # Breach notices go to the leads channel, or to the ticket's thread without one.
                self._leads_mention(roles, *found[-1])
        self._intents(await self.api.get("/applications/@me"))

    async def _channel(self, what: str, channel_id: str | None) -> dict[str, Any] | None:
        if channel_id is None:
            return None
        setting = f"DISCORD_{what.upper().replace(' ', '_')}"
        try:
            found: dict[str, Any] = await self.api.get(f"/channels/{channel_id}")
        except _Refused as refused:
            if refused.status == 404:
                self.report.problem(
                    f"{what} {channel_id} ({setting}): no such channel; copy the channel's id "
                    "again (Developer Mode on, right-click the channel → Copy Channel ID)"
                )
            elif refused.status == 403:
                self.report.problem(
                    f"{what} {channel_id} ({setting}): the bot cannot see it; give the bot "
                    "View Channel there (the channel's settings → Permissions)"
                )
            else:
                raise _Stop(f"Discord answered {refused} for {what} {channel_id}") from None
            return None
        return found

    def _staff_kind(self, channel: dict[str, Any], guild_id: str) -> None:
        name = _named(channel)
        if not _in_guild(channel, guild_id):
            self.report.problem(_elsewhere("staff channel", name, channel, guild_id))
        elif channel.get("type") not in (FORUM, TEXT):
            self.report.problem(
                f"staff channel {name} is a {_kind(channel)} channel; it must be a forum "
                "channel (each ticket a post) or a text channel (each ticket a thread)"
            )
        else:
            self.report.ok(f"staff channel {name}: a {_kind(channel)} channel in the server")

    def _leads_kind(self, channel: dict[str, Any], guild_id: str) -> None:
        name = _named(channel)
        if not _in_guild(channel, guild_id):
            self.report.problem(_elsewhere("leads channel", name, channel, guild_id))
        elif channel.get("type") not in (TEXT, ANNOUNCEMENT):
            self.report.problem(
                f"leads channel {name} is a {_kind(channel)} channel; it must be a text channel"
            )
        else:
            self.report.ok(f"leads channel {name}: a {_kind(channel)} channel in the server")

    async def _roles(self, guild_id: str) -> dict[str, dict[str, Any]] | None:
        try:
            listed: list[dict[str, Any]] = await self.api.get(f"/guilds/{guild_id}/roles")
        except _Refused as refused:
            if refused.status not in (403, 404):
                raise _Stop(f"Discord answered {refused} for server {guild_id}") from None
            self.report.problem(
                f"server {guild_id} (DISCORD_GUILD_ID): the bot is not in it; invite the bot, "
                "or copy the server's id again (right-click the server → Copy Server ID)"
            )
            return None
        roles = {str(r["id"]): r for r in listed}
        for what, role_id in (
            ("staff role", self.settings.discord_staff_role),
            ("leads role", self.settings.discord_leads_role),
        ):
            if role_id is None:
                continue
            setting = f"DISCORD_{what.upper().replace(' ', '_')}"
            if role_id == guild_id:
                self.report.problem(
                    f"{what} ({setting}) is @everyone: every member of the server would count"
                )
            elif role_id in roles:
                self.report.ok(f"{what} @{roles[role_id].get('name')}")
            else:
                self.report.problem(
                    f"{what} {role_id} ({setting}): no such role in the server; copy its id "
                    "again (Server Settings → Roles → right-click the role → Copy Role ID)"
                )
        return roles

    async def _bot_roles(self, guild_id: str, bot_id: str) -> list[str]:
        try:
            member: dict[str, Any] = await self.api.get(f"/guilds/{guild_id}/members/{bot_id}")
        except _Refused as refused:
            raise _Stop(f"Discord answered {refused} for the bot's membership") from None
        return [str(r) for r in member.get("roles") or []]

    def _permissions(
        self, channel: dict[str, Any], needed: tuple[str, ...], has: discord.Permissions
    ) -> None:
        forum = channel.get("type") == FORUM
        wanted = [p for p in needed if not (forum and p == "create_public_threads")]
        missing = [p for p in wanted if not getattr(has, p)]
        name = _named(channel)
        if not missing:
            self.report.ok(f"bot permissions in {name}: all {len(wanted)} it needs")
            return
        shown = ", ".join(_permission_name(p, forum=forum) for p in missing)
        self.report.problem(
            f"bot permissions in {name}: MISSING {shown}; grant them to the bot's role, or to "
            "the bot in the channel's settings → Permissions"
        )

    def _leads_mention(
        self, roles: dict[str, dict[str, Any]], channel: dict[str, Any], has: discord.Permissions
    ) -> None:
        """A role mention notifies its members only if the role is mentionable or the sender
        may mention every role; otherwise breach notices name the leads without telling them."""
        role = roles.get(str(self.settings.discord_leads_role))
        if role is None or role.get("mentionable") or has.mention_everyone:
            return
        self.report.note(
            f"breach notices in {_named(channel)} will name @{role.get('name')} without "
            "notifying them: make the role mentionable (Server Settings → Roles → Allow anyone "
            "to @mention this role) or give the bot Mention @everyone, @here and All Roles there"
        )

    def _intents(self, application: dict[str, Any]) -> None:
        flags = int(application.get("flags") or 0)
        if flags & (GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED):
            self.report.ok("MESSAGE CONTENT intent: on")
        else:
            self.report.problem(
                "MESSAGE CONTENT intent: off, so the bot cannot read what agents write in the "
                "staff threads; turn it on: Developer Portal → Applications → your app → Bot → "
                "Privileged Gateway Intents → MESSAGE CONTENT INTENT → Save Changes"
            )
        members = flags & (GATEWAY_GUILD_MEMBERS | GATEWAY_GUILD_MEMBERS_LIMITED)
        self.report.note(
            f"Server Members intent: {'on' if members else 'off'} (optional: Threadline learns "
            "who holds the staff and leads roles from each message and click)"
        )


def channel_permissions(
    channel: dict[str, Any],
    roles: dict[str, dict[str, Any]],
    held: list[str],
    guild_id: str,
    member_id: str,
) -> discord.Permissions:
    """A member's permissions in a channel, as discord.py's `permissions_for` computes them:
    @everyone's and the member's roles' permissions (Administrator: all), then the channel's
    @everyone overwrite, its role overwrites together, the member's own overwrite, and the
    implicit rules (no Send Messages: no links or files; no View Channel: nothing).
    The guild owner's all-permissions rule is left out: a bot does not own the server."""
    base = discord.Permissions(0)
    for role_id in (guild_id, *held):
        if role_id in roles:
            base.value |= int(roles[role_id].get("permissions") or 0)
    if base.administrator:
        return discord.Permissions.all()
    overwrites: list[dict[str, Any]] = channel.get("permission_overwrites") or []
    everyone = [ow for ow in overwrites if str(ow.get("id")) == guild_id]
    by_role = [ow for ow in overwrites if _role_overwrite(ow) and str(ow.get("id")) in held]
    own = [ow for ow in overwrites if not _role_overwrite(ow) and str(ow.get("id")) == member_id]
    for ow in everyone:
        base.handle_overwrite(allow=int(ow["allow"]), deny=int(ow["deny"]))
    # The member's roles' overwrites count together: an allow in one beats a deny in another.
    allow = deny = 0
    for ow in by_role:
        allow |= int(ow["allow"])
        deny |= int(ow["deny"])
    base.handle_overwrite(allow=allow, deny=deny)
    for ow in own:
        base.handle_overwrite(allow=int(ow["allow"]), deny=int(ow["deny"]))
    if not base.send_messages:
        base.update(
            send_tts_messages=False, mention_everyone=False, embed_links=False, attach_files=False
        )
    if not base.view_channel:
        base.value &= ~discord.Permissions.all_channel().value
    return base


def _role_overwrite(overwrite: dict[str, Any]) -> bool:
    return int(overwrite.get("type", 0)) == 0


def shown_url(url: str) -> str:
    """The URL without user, password or query: what may be printed of an API address."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "DISCORD_API_URL"
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def _permission_name(attribute: str, *, forum: bool) -> str:
    plain, in_forum = _NAMES[attribute]
    return f"{plain} ({in_forum} in a forum)" if forum and in_forum else plain


def _in_guild(channel: dict[str, Any], guild_id: str) -> bool:
    return str(channel.get("guild_id")) == guild_id


def _elsewhere(what: str, name: str, channel: dict[str, Any], guild_id: str) -> str:
    where = channel.get("guild_id")
    found = f"in server {where}" if where else "not a server channel"
    return f"{what} {name} is {found}, not in DISCORD_GUILD_ID {guild_id}"


def _named(channel: dict[str, Any]) -> str:
    name = channel.get("name")
    return f"#{name} ({channel.get('id')})" if name else str(channel.get("id"))


def _kind(channel: dict[str, Any]) -> str:
    kind = channel.get("type")
    return _KINDS.get(kind, f"type {kind}") if isinstance(kind, int) else "unknown"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return str(exc.os_error.strerror or exc.os_error).lower()
    return str(exc) or type(exc).__name__


def _version() -> str:
    try:
        return metadata.version("threadline")
    except metadata.PackageNotFoundError:
        return "dev"
