"""REST: channel messages (JSON and multipart), history, reactions, typing, files.

Threads (creating, editing, listing, members) live in routes_threads.py."""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web

from .bodies import Upload, read_payload
from .constants import ChannelType, MessageFlag, MessageType
from .context import Context, Route, snowflake
from .errors import (
    ApiError,
    cannot_dm,
    cannot_edit_others,
    field_error,
    invalid_form,
    json_response,
    unknown_emoji,
)
from .model import JSON, Attachment, Channel, Message
from .payloads import message_json
from .threads import reopen_thread
from .validation import validate_message

# Flags an app may set when sending; Discord ignores the rest.
SETTABLE_FLAGS = 4 | 4096 | int(MessageFlag.IS_COMPONENTS_V2)


class MessageRoutes:
    """Messages, history, reactions and the attachment file server."""

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
        nonce = payload.get("nonce")
        if payload.get("enforce_nonce") and nonce is not None:
            # The same author sent this nonce a moment ago: that message, not a second one.
            earlier = self.world.nonce_taken(self.world.bot_id, str(nonce))
            if earlier is not None:
                return json_response(message_json(earlier, self.world))
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
        if channel.type is ChannelType.GUILD_FORUM:  # a forum takes posts (threads) only
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        if channel.archived and not channel.locked:
            # Discord unarchives a thread someone writes in (unless it is locked).
            limit = self.ctx.config.max_active_threads
            reopen_thread(self.world, self.ctx.events, limit, channel)
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

    # ----- reactions, typing ----------------------------------------------------

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
