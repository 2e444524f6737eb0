"""REST: channel messages (JSON and multipart), history, reactions, threads, typing, files."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

from aiohttp import web

from .bodies import Upload, read_payload
from .constants import THREAD_TYPES, ChannelType, MessageFlag, MessageType
from .context import Context, Route, snowflake
from .errors import (
    ApiError,
    cannot_dm,
    cannot_edit_others,
    field_error,
    invalid_form,
    json_response,
    unknown_emoji,
    unknown_user,
)
from .model import JSON, Attachment, Channel, Message
from .payloads import channel_json, message_json
from .validation import validate_message

# Flags an app may set when sending; Discord ignores the rest.
SETTABLE_FLAGS = 4 | 4096 | int(MessageFlag.IS_COMPONENTS_V2)


class MessageRoutes:
    """Messages, history, reactions, threads and the attachment file server."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.world = ctx.world

    def routes(self) -> list[Route]:
        """(method, path, handler) triples, paths relative to /api/v10."""
        one = "/channels/{channel_id}/messages/{message_id}"
        reaction = one + "/reactions/{emoji}/@me"
        return [
            ("GET", "/channels/{channel_id}/messages", self.history),
            ("POST", "/channels/{channel_id}/messages", self.create),
            ("GET", one, self.get_one),
            ("PATCH", one, self.edit),
            ("DELETE", one, self.delete),
            ("PUT", reaction, self.add_reaction),
            ("DELETE", reaction, self.remove_reaction),
            ("POST", "/channels/{channel_id}/threads", self.create_thread),
            ("POST", one + "/threads", self.create_message_thread),
            ("PUT", "/channels/{channel_id}/thread-members/{user_id}", self.add_thread_member),
            ("POST", "/channels/{channel_id}/typing", self.typing),
        ]

    def file_routes(self) -> list[Route]:
        """Loopback CDN routes (no /api prefix, no auth) for attachment url/proxy_url."""
        path = "/attachments/{channel_id}/{attachment_id}/{filename}"
        return [("GET", path, self.serve_file), ("GET", "/media" + path, self.serve_file)]

    # ----- reading ---------------------------------------------------------------------

    async def history(self, request: web.Request) -> web.Response:
        """GET /channels/{id}/messages?before|after|around&limit=1..100 (50), newest first."""
        channel = self.ctx.visible_channel(request.match_info["channel_id"])
        query = request.query
        limit = _query_int(query.get("limit"), "limit", default=50)
        if not 1 <= limit <= 100:
            raise invalid_form(
                {"limit": field_error("NUMBER_TYPE_MAX", "int value should be <= 100 and >= 1.")}
            )
        page = self.world.page(
            channel.id,
            limit=limit,
            before=_optional_int(query.get("before"), "before"),
            after=_optional_int(query.get("after"), "after"),
            around=_optional_int(query.get("around"), "around"),
        )
        return json_response([self._json(m) for m in page])

    async def get_one(self, request: web.Request) -> web.Response:
        """GET one message; 404 Unknown Message (10008)."""
        channel = self.ctx.visible_channel(request.match_info["channel_id"])
        message = self.ctx.channel_message(channel, request.match_info["message_id"])
        return json_response(self._json(message))

    def _json(self, message: Message) -> JSON:
        # Without the MESSAGE_CONTENT intent enabled for the app, REST blanks content too.
        hide = (
            not self.world.seed.enabled_intents & (1 << 15)
            and self.world.channels[message.channel_id].guild_id is not None
            and message.author_id != self.world.bot_id
            and self.world.bot_id not in message.mention_ids
        )
        return message_json(message, self.world, hide_content=hide)

    # ----- writing ---------------------------------------------------------------------

    async def create(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/messages (JSON, or multipart with payload_json and files[n])."""
        channel = self.ctx.visible_channel(request.match_info["channel_id"])
        payload, uploads = await read_payload(request)
        validate_message(payload, attachments=len(uploads))
        self._check_can_send(channel)
        reference = self._reference(channel, payload.get("message_reference"))
        message = self.world.add_message(
            channel,
            self.world.bot_id,
            content=str(payload.get("content") or ""),
            embeds=normalise_embeds(payload.get("embeds")),
            components=list(payload.get("components") or []),
            attachments=store_uploads(self.ctx, channel, payload, uploads),
            flags=int(payload.get("flags") or 0) & SETTABLE_FLAGS,
            type=MessageType.REPLY if reference else MessageType.DEFAULT,
            nonce=payload.get("nonce"),
            reference=reference,
        )
        self.ctx.events.message_created(message)
        return json_response(message_json(message, self.world))

    def _check_can_send(self, channel: Channel) -> None:
        if channel.is_dm:
            recipient = self.world.users[channel.recipient_id or 0]
            if not recipient.dms_open:
                raise cannot_dm()
        if channel.archived or channel.locked:
            raise ApiError(400, 50083, "Thread is archived")

    def _reference(self, channel: Channel, raw: object) -> JSON | None:
        if not isinstance(raw, dict) or raw.get("message_id") is None:
            return None
        target = self.world.history.get(channel.id, {}).get(int(raw["message_id"]))
        if target is None:
            if raw.get("fail_if_not_exists", True):
                raise invalid_form(
                    {
                        "message_reference": field_error(
                            "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                        )
                    }
                )
            return None
        reference: JSON = {"type": 0, "message_id": str(target.id), "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            reference["guild_id"] = str(channel.guild_id)
        return reference

    async def edit(self, request: web.Request) -> web.Response:
        """PATCH a message the bot wrote (403 50005 for anyone else's)."""
        channel = self.ctx.visible_channel(request.match_info["channel_id"])
        message = self.ctx.channel_message(channel, request.match_info["message_id"])
        payload, uploads = await read_payload(request)
        if message.author_id != self.world.bot_id:
            raise cannot_edit_others()
        validate_message(payload, require_body=False)
        apply_edit(self.ctx, channel, message, payload, uploads)
        self.ctx.events.message_updated(message)
        return json_response(message_json(message, self.world))

    async def delete(self, request: web.Request) -> web.Response:
        """DELETE a message: 204."""
        channel = self.ctx.visible_channel(request.match_info["channel_id"])
        message = self.ctx.channel_message(channel, request.match_info["message_id"])
        self.world.delete_message(message)
        self.ctx.events.message_deleted(message)
        return web.Response(status=204)

    # ----- reactions, threads, typing ----------------------------------------------------

    async def add_reaction(self, request: web.Request) -> web.Response:
        """PUT .../reactions/{emoji}/@me: 204, MESSAGE_REACTION_ADD."""
        message, emoji = self._reaction_target(request)
        users = message.reactions.setdefault(emoji, set())
        if self.world.bot_id not in users:
            users.add(self.world.bot_id)
            self.ctx.events.reaction_added(message, self.world.bot_id, emoji)
        return web.Response(status=204)

    async def remove_reaction(self, request: web.Request) -> web.Response:
        """DELETE .../reactions/{emoji}/@me: 204."""
        message, emoji = self._reaction_target(request)
        users = message.reactions.get(emoji, set())
        users.discard(self.world.bot_id)
        if not users:
            message.reactions.pop(emoji, None)
        return web.Response(status=204)

    def _reaction_target(self, request: web.Request) -> tuple[Message, str]:
        channel = self.ctx.visible_channel(request.match_info["channel_id"])
        message = self.ctx.channel_message(channel, request.match_info["message_id"])
        emoji = unquote(request.match_info["emoji"])
        if not emoji or (emoji.isascii() and ":" not in emoji):
            raise unknown_emoji()
        return message, emoji

    async def create_thread(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/threads: a thread without a starter message (type 11 or 12)."""
        parent = self._thread_parent(request)
        body, _ = await read_payload(request)
        name = _thread_name(body)
        kind = ChannelType(int(body.get("type") or ChannelType.PRIVATE_THREAD))
        if kind not in (ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD):
            raise invalid_form(
                {"type": field_error("BASE_TYPE_CHOICES", "Value must be one of {11, 12}.")}
            )
        thread = self.world.create_thread(
            parent, name, self.world.bot_id, kind=kind, auto_archive_duration=_archive(body)
        )
        self.ctx.events.thread_created(thread)
        return json_response(channel_json(thread, self.world), status=201)

    async def create_message_thread(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/messages/{mid}/threads: a public thread started from a message."""
        parent = self._thread_parent(request)
        starter = self.ctx.channel_message(parent, request.match_info["message_id"])
        if starter.thread_id is not None:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        body, _ = await read_payload(request)
        thread = self.world.create_thread(
            parent,
            _thread_name(body),
            self.world.bot_id,
            starter=starter,
            auto_archive_duration=_archive(body),
        )
        self.ctx.events.thread_created(thread)
        self.ctx.events.message_updated(starter)
        return json_response(channel_json(thread, self.world), status=201)

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

    def _thread_parent(self, request: web.Request) -> Channel:
        parent = self.ctx.visible_channel(request.match_info["channel_id"])
        if parent.type is not ChannelType.GUILD_TEXT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return parent

    async def typing(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/typing: 204."""
        self.ctx.visible_channel(request.match_info["channel_id"])
        return web.Response(status=204)

    async def serve_file(self, request: web.Request) -> web.Response:
        """The loopback CDN: an attachment's bytes."""
        attachment = self.world.files.get(snowflake(request.match_info["attachment_id"]))
        if attachment is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=attachment.data, headers={"Content-Type": attachment.content_type})


def store_uploads(
    ctx: Context, channel: Channel, payload: JSON, uploads: list[Upload]
) -> list[Attachment]:
    """Keep the uploaded files; names and descriptions come from payload_json's attachments."""
    described = {
        str(a.get("id")): a for a in payload.get("attachments") or [] if isinstance(a, dict)
    }
    stored = []
    for upload in uploads:
        meta = described.get(str(upload.index), {})
        filename = str(meta.get("filename") or upload.filename)
        attachment = ctx.world.store_file(channel.id, filename, upload.data, upload.content_type)
        attachment.description = meta.get("description")
        stored.append(attachment)
    return stored


def apply_edit(
    ctx: Context, channel: Channel, message: Message, payload: JSON, uploads: list[Upload]
) -> None:
    """Apply an edit: fields present in the payload, kept/added attachments."""
    changes = dict(payload)
    if "embeds" in changes:
        changes["embeds"] = normalise_embeds(changes["embeds"])
    ctx.world.edit_message(message, changes)
    if "attachments" in payload or uploads:
        keep = {str(a.get("id")) for a in payload.get("attachments") or [] if isinstance(a, dict)}
        kept = [a for a in message.attachments if str(a.id) in keep]
        message.attachments = kept + store_uploads(ctx, channel, payload, uploads)


def normalise_embeds(raw: object) -> list[JSON]:
    """Embeds as Discord echoes them (type "rich" unless given)."""
    if not isinstance(raw, list):
        return []
    return [{"type": "rich", **e} for e in raw if isinstance(e, dict)]


def _thread_name(body: JSON) -> str:
    name = str(body.get("name") or "")
    if not 1 <= len(name) <= 100:
        raise invalid_form(
            {"name": field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")}
        )
    return name


def _archive(body: JSON) -> int:
    return int(body.get("auto_archive_duration") or 1440)


def _query_int(raw: str | None, name: str, *, default: int) -> int:
    value = _optional_int(raw, name)
    return default if value is None else value


def _optional_int(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise invalid_form(
            {name: field_error("NUMBER_TYPE_COERCE", f'Value "{raw}" is not int.')}
        ) from None
