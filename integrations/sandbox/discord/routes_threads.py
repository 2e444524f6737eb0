"""REST: threads in text channels and forum posts, editing them (archive, lock, rename),
their members, and the archived-thread listings."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from .bodies import Upload, read_payload
from .constants import THREAD_TYPES, ChannelType, MessageType
from .context import Context, Route, snowflake
from .errors import ApiError, field_error, invalid_form, json_response, unknown_user
from .model import JSON, Channel
from .payloads import channel_json, message_json, thread_listing_json
from .routes_messages import SETTABLE_FLAGS, normalise_embeds, store_uploads
from .threads import check_room, thread_name
from .validation import validate_message

# What PATCH /channels/{thread} may change on a thread that stays archived.
_ARCHIVE_KEYS = frozenset({"archived", "locked"})


class ThreadRoutes:
    """Creating, editing and listing threads; adding people to them."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.world = ctx.world

    def routes(self) -> list[Route]:
        """(method, path, handler) triples, paths relative to /api/v10."""
        channel = "/channels/{channel_id}"
        return [
            ("PATCH", channel, self.edit_channel),
            ("POST", channel + "/threads", self.create_thread),
            ("POST", channel + "/messages/{message_id}/threads", self.create_message_thread),
            ("PUT", channel + "/thread-members/{user_id}", self.add_thread_member),
            ("GET", channel + "/threads/archived/public", self.archived_public),
            ("GET", channel + "/threads/archived/private", self.archived_private),
            ("GET", channel + "/users/@me/threads/archived/private", self.archived_joined),
        ]

    # ----- creating ----------------------------------------------------------------------

    async def create_thread(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/threads: in a text channel a thread without a starter message
        (type 11 or 12); in a forum a post, i.e. a thread and its starter message."""
        parent = self._thread_parent(request)
        body, uploads = await read_payload(request)
        if parent.type is ChannelType.GUILD_FORUM:
            return self._forum_post(parent, body, uploads)
        name = thread_name(body)
        kind = ChannelType(int(body.get("type") or ChannelType.PRIVATE_THREAD))
        if kind not in THREAD_TYPES:
            raise invalid_form(
                {"type": field_error("BASE_TYPE_CHOICES", "Value must be one of {11, 12}.")}
            )
        self._check_room(parent)
        thread = self.world.create_thread(
            parent, name, self.world.bot_id, kind=kind, auto_archive_duration=_archive(body)
        )
        self.ctx.events.thread_created(thread)
        return json_response(channel_json(thread, self.world), status=201)

    def _forum_post(self, forum: Channel, body: JSON, uploads: list[Upload]) -> web.Response:
        """A forum post: a public thread whose starter message has the thread's id."""
        name = thread_name(body)
        message = body.get("message")
        if not isinstance(message, dict):
            raise invalid_form(
                {"message": field_error("BASE_TYPE_REQUIRED", "This field is required")}
            )
        try:
            validate_message(message, attachments=len(uploads))
        except ApiError as error:  # the form errors sit under "message", as Discord nests them
            if error.errors is not None:
                error.errors = {"message": error.errors}
            raise
        self._check_room(forum)
        thread = self.world.create_thread(
            forum, name, self.world.bot_id, auto_archive_duration=_archive(body)
        )
        starter = self.world.add_message(
            thread,
            self.world.bot_id,
            content=str(message.get("content") or ""),
            embeds=normalise_embeds(message.get("embeds")),
            components=list(message.get("components") or []),
            attachments=store_uploads(self.ctx, thread, message, uploads),
            flags=int(message.get("flags") or 0) & SETTABLE_FLAGS,
            message_id=thread.id,
        )
        thread.message_count -= 1  # a thread's message_count leaves out its starter message
        forum.last_message_id = thread.id  # a forum's "last message" is its newest post
        self.ctx.events.thread_created(thread)
        self.ctx.events.message_created(starter)
        data = channel_json(thread, self.world)
        data["message"] = message_json(starter, self.world)
        return json_response(data, status=201)

    async def create_message_thread(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/messages/{mid}/threads: a public thread started from a message."""
        parent = self._thread_parent(request)
        if parent.type is not ChannelType.GUILD_TEXT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        starter = self.ctx.channel_message(parent, request.match_info["message_id"])
        if starter.thread_id is not None:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        body, _ = await read_payload(request)
        name = thread_name(body)
        self._check_room(parent)
        thread = self.world.create_thread(
            parent,
            name,
            self.world.bot_id,
            starter=starter,
            auto_archive_duration=_archive(body),
        )
        self.ctx.events.thread_created(thread)
        self.ctx.events.message_updated(starter)
        return json_response(channel_json(thread, self.world), status=201)

    def _thread_parent(self, request: web.Request) -> Channel:
        parent = self.ctx.visible_channel(request.match_info["channel_id"])
        if parent.type not in (ChannelType.GUILD_TEXT, ChannelType.GUILD_FORUM):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return parent

    def _check_room(self, channel: Channel) -> None:
        check_room(self.world, self.world.guild_of(channel), self.ctx.config.max_active_threads)

    # ----- editing -----------------------------------------------------------------------

    async def edit_channel(self, request: web.Request) -> web.Response:
        """PATCH /channels/{id}: a thread's name, archived, locked, auto_archive_duration
        (THREAD_UPDATE); a guild channel's name and topic (CHANNEL_UPDATE)."""
        channel = self.ctx.visible_channel(request.match_info["channel_id"])
        body, _ = await read_payload(request)
        if channel.type in THREAD_TYPES:
            self._edit_thread(channel, body)
            self.ctx.events.thread_updated(channel)
        elif channel.guild_id is not None:
            if "name" in body:
                channel.name = thread_name(body)  # channel names have the same 1..100 rule
            if "topic" in body:
                channel.topic = body["topic"]
            self.ctx.events.channel_updated(channel)
        else:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return json_response(channel_json(channel, self.world))

    def _edit_thread(self, thread: Channel, body: JSON) -> None:
        unarchive = body.get("archived") is False
        if thread.archived and not unarchive and set(body) - _ARCHIVE_KEYS:
            raise ApiError(400, 50083, "Thread is archived")
        name = thread_name(body) if "name" in body else None
        if unarchive and thread.archived:
            self._check_room(thread)
        if name is not None:
            thread.name = name
        if "locked" in body:
            thread.locked = bool(body["locked"])
        if "auto_archive_duration" in body:
            thread.auto_archive_duration = _archive(body)
        if "archived" in body:
            self.world.set_archived(thread, bool(body["archived"]))

    # ----- members -----------------------------------------------------------------------

    async def add_thread_member(self, request: web.Request) -> web.Response:
        """PUT /channels/{thread}/thread-members/{user|@me}: 204 (also when already a member).

        The thread must be active; only members of the guild can join. A new member fires
        THREAD_MEMBERS_UPDATE, and someone added by another shows as a RECIPIENT_ADD message.
        """
        thread = self.ctx.visible_channel(request.match_info["channel_id"])
        if thread.type not in THREAD_TYPES:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if thread.archived:
            raise ApiError(400, 50083, "Thread is archived")
        raw = request.match_info["user_id"]
        user_id = self.world.bot_id if raw == "@me" else snowflake(raw)
        guild = self.world.guild_of(thread)
        if user_id not in self.world.users:
            raise unknown_user()
        if guild is None or user_id not in guild.member_ids:
            raise ApiError(404, 10007, "Unknown Member")
        if self.world.add_thread_member(thread, user_id):
            self.ctx.events.thread_member_added(thread, user_id, datetime.now(UTC))
            if user_id != self.world.bot_id:
                self._announce_member(thread, user_id)
        return web.Response(status=204)

    def _announce_member(self, thread: Channel, user_id: int) -> None:
        notice = self.world.add_message(thread, self.world.bot_id, type=MessageType.RECIPIENT_ADD)
        notice.mention_ids = [user_id]
        self.ctx.events.message_created(notice)

    # ----- archived listings ---------------------------------------------------------------

    async def archived_public(self, request: web.Request) -> web.Response:
        """GET .../threads/archived/public?before=ISO8601&limit: newest archived first."""
        return self._archived(request, ChannelType.PUBLIC_THREAD)

    async def archived_private(self, request: web.Request) -> web.Response:
        """GET .../threads/archived/private?before=ISO8601&limit (those the bot can see)."""
        return self._archived(request, ChannelType.PRIVATE_THREAD)

    async def archived_joined(self, request: web.Request) -> web.Response:
        """GET .../users/@me/threads/archived/private?before=<thread id>&limit: by id, newest
        first."""
        parent = self._thread_parent(request)
        limit = _limit(request.query.get("limit"))
        before = _int(request.query.get("before"), "before")
        found = [
            t
            for t in self._archived_under(parent, ChannelType.PRIVATE_THREAD)
            if self.world.bot_id in t.member_ids and (before is None or t.id < before)
        ]
        found.sort(key=lambda t: t.id, reverse=True)
        return _page(found, limit, self.world.bot_id)

    def _archived(self, request: web.Request, kind: ChannelType) -> web.Response:
        parent = self._thread_parent(request)
        limit = _limit(request.query.get("limit"))
        before = _moment(request.query.get("before"))
        found = [
            t
            for t in self._archived_under(parent, kind)
            if before is None or _archived_at(t) < before
        ]
        found.sort(key=_archived_at, reverse=True)
        return _page(found, limit, self.world.bot_id)

    def _archived_under(self, parent: Channel, kind: ChannelType) -> list[Channel]:
        return [
            c
            for c in self.world.channels.values()
            if c.parent_id == parent.id
            and c.type is kind
            and c.archived
            and not c.hidden_from(self.world.bot_id)
        ]


def _page(threads: list[Channel], limit: int, bot_id: int) -> web.Response:
    chosen = threads[:limit]
    return json_response(thread_listing_json(chosen, bot_id, has_more=len(threads) > limit))


def _archived_at(thread: Channel) -> datetime:
    return thread.archived_at or thread.created_at or datetime.min.replace(tzinfo=UTC)


def _archive(body: JSON) -> int:
    return int(body.get("auto_archive_duration") or 1440)


def _limit(raw: str | None) -> int:
    limit = _int(raw, "limit")
    if limit is None:
        return 50
    if not 2 <= limit <= 100:
        raise invalid_form(
            {"limit": field_error("NUMBER_TYPE_MAX", "int value should be <= 100 and >= 2.")}
        )
    return limit


def _int(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise invalid_form(
            {name: field_error("NUMBER_TYPE_COERCE", f'Value "{raw}" is not int.')}
        ) from None


def _moment(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise invalid_form(
            {"before": field_error("DATE_TIME_TYPE_PARSE", "Could not parse date.")}
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
