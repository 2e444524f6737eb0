"""REST: interaction callbacks (with_response JSON) and the interaction follow-up webhooks."""

from __future__ import annotations

from aiohttp import web

from .bodies import Upload, read_payload
from .constants import CallbackType, InteractionType, MessageFlag, MessageType
from .context import Context, Route, snowflake
from .errors import (
    ApiError,
    already_acknowledged,
    field_error,
    invalid_form,
    json_response,
    unknown_interaction,
    unknown_message,
    unknown_webhook,
)
from .model import JSON, Interaction, Message, Modal
from .payloads import message_json
from .routes_messages import SETTABLE_FLAGS, apply_edit, normalise_embeds, store_uploads
from .validation import validate_message, validate_modal

_MESSAGE_TYPES = (InteractionType.MESSAGE_COMPONENT, InteractionType.MODAL_SUBMIT)


class InteractionRoutes:
    """POST /interactions/{id}/{token}/callback and /webhooks/{app_id}/{token}[/messages/...]."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.world = ctx.world

    def routes(self) -> list[Route]:
        """(method, path, handler) triples, paths relative to /api/v10."""
        hook = "/webhooks/{webhook_id}/{webhook_token}"
        return [
            ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self.callback),
            ("POST", hook, self.followup),
            ("GET", hook + "/messages/{message_id}", self.get_message),
            ("PATCH", hook + "/messages/{message_id}", self.edit_message),
            ("DELETE", hook + "/messages/{message_id}", self.delete_message),
        ]

    # ----- the initial response ----------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        """The first response: 200 + InteractionCallbackResponse JSON (discord.py reads it)."""
        interaction = self._callback_target(request)
        payload, uploads = await read_payload(request)
        kind = int(payload.get("type") or 0)
        data = payload.get("data") or {}
        if kind not in CallbackType.__members__.values():
            raise invalid_form(
                {
                    "type": field_error(
                        "BASE_TYPE_CHOICES", "Value must be one of {1, 4, 5, 6, 7, 8, 9}."
                    )
                }
            )
        message = self._respond(interaction, CallbackType(kind), data, uploads)
        interaction.response_type, interaction.response_data = kind, data
        return json_response(_callback_body(self.ctx, interaction, kind, message))

    def _callback_target(self, request: web.Request) -> Interaction:
        interaction = self.world.interactions.get(snowflake(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["interaction_token"]:
            raise unknown_interaction()
        if interaction.responded:
            raise already_acknowledged()
        # Past the 3-second window Discord has already shown the user "interaction failed".
        if self.ctx.now() - interaction.created_at > self.ctx.config.interaction_response_window:
            raise unknown_interaction()
        return interaction

    def _respond(
        self, interaction: Interaction, kind: CallbackType, data: JSON, uploads: list[Upload]
    ) -> Message | None:
        if kind is CallbackType.CHANNEL_MESSAGE_WITH_SOURCE:
            validate_message(data, attachments=len(uploads))
            return self._new_response_message(interaction, data, uploads, loading=False)
        if kind is CallbackType.DEFERRED_CHANNEL_MESSAGE:
            return self._new_response_message(interaction, data, [], loading=True)
        if kind in (CallbackType.DEFERRED_UPDATE_MESSAGE, CallbackType.UPDATE_MESSAGE):
            return self._update_source(interaction, kind, data, uploads)
        if kind is CallbackType.MODAL:
            self._open_modal(interaction, data)
        elif kind is CallbackType.PONG and interaction.type != InteractionType.PING:
            raise invalid_form(
                {
                    "type": field_error(
                        "INTERACTION_RESPONSE_TYPE_INVALID", "PONG answers only PING."
                    )
                }
            )
        return None

    def _new_response_message(
        self, interaction: Interaction, data: JSON, uploads: list[Upload], *, loading: bool
    ) -> Message:
        flags = int(data.get("flags") or 0)
        ephemeral = bool(flags & MessageFlag.EPHEMERAL)
        flags = (flags & (SETTABLE_FLAGS | MessageFlag.EPHEMERAL)) | (
            MessageFlag.LOADING if loading else 0
        )
        channel = self.world.channels[interaction.channel_id]
        is_command = interaction.type == InteractionType.APPLICATION_COMMAND
        message = self.world.add_message(
            channel,
            self.world.bot_id,
            content="" if loading else str(data.get("content") or ""),
            embeds=[] if loading else normalise_embeds(data.get("embeds")),
            components=[] if loading else list(data.get("components") or []),
            attachments=store_uploads(self.ctx, channel, data, uploads),
            flags=flags,
            type=MessageType.CHAT_INPUT_COMMAND if is_command else MessageType.DEFAULT,
            webhook_id=self.world.application_id,
            interaction_id=interaction.id,
            visible_to=interaction.user_id if ephemeral else None,
        )
        interaction.original_message_id = message.id
        self.ctx.events.message_created(message)
        return message

    def _update_source(
        self, interaction: Interaction, kind: CallbackType, data: JSON, uploads: list[Upload]
    ) -> Message:
        source = self.world.messages.get(interaction.message_id or 0)
        if interaction.type not in _MESSAGE_TYPES or source is None:
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "type": field_error(
                        "INTERACTION_HAS_NO_MESSAGE", "This interaction has no message to update."
                    )
                },
            )
        interaction.original_message_id = source.id
        if kind is CallbackType.UPDATE_MESSAGE:
            validate_message(data, require_body=False)
            apply_edit(self.ctx, self.world.channels[source.channel_id], source, data, uploads)
            self.ctx.events.message_updated(source)
        return source

    def _open_modal(self, interaction: Interaction, data: JSON) -> None:
        if interaction.type == InteractionType.MODAL_SUBMIT:
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "type": field_error(
                        "INTERACTION_RESPONSE_TYPE_INVALID", "A modal cannot open another modal."
                    )
                },
            )
        validate_modal(data)
        modal = Modal(
            interaction.id,
            interaction.user_id,
            str(data["custom_id"]),
            str(data["title"]),
            list(data["components"]),
        )
        self.world.modals.append(modal)

    # ----- follow-ups --------------------------------------------------------------------

    async def followup(self, request: web.Request) -> web.Response:
        """POST /webhooks/{app}/{token}: a follow-up message.

        The first follow-up after a deferred response replaces the "thinking" placeholder.
        """
        interaction = self._webhook_target(request)
        payload, uploads = await read_payload(request)
        validate_message(payload, attachments=len(uploads))
        original = self.world.messages.get(interaction.original_message_id or 0)
        if original is not None and original.flags & MessageFlag.LOADING:
            message = self._fill_placeholder(interaction, original, payload, uploads)
        else:
            message = self._new_followup(interaction, payload, uploads)
        if request.query.get("wait", "0").lower() in ("0", "false"):
            return web.Response(status=204)
        return json_response(message_json(message, self.world))

    def _new_followup(
        self, interaction: Interaction, payload: JSON, uploads: list[Upload]
    ) -> Message:
        flags = int(payload.get("flags") or 0)
        ephemeral = bool(flags & MessageFlag.EPHEMERAL)
        channel = self.world.channels[interaction.channel_id]
        message = self.world.add_message(
            channel,
            self.world.bot_id,
            content=str(payload.get("content") or ""),
            embeds=normalise_embeds(payload.get("embeds")),
            components=list(payload.get("components") or []),
            attachments=store_uploads(self.ctx, channel, payload, uploads),
            flags=flags & (SETTABLE_FLAGS | MessageFlag.EPHEMERAL),
            webhook_id=self.world.application_id,
            interaction_id=interaction.id,
            visible_to=interaction.user_id if ephemeral else None,
        )
        interaction.followup_ids.append(message.id)
        self.ctx.events.message_created(message)
        return message

    def _fill_placeholder(
        self, interaction: Interaction, original: Message, payload: JSON, uploads: list[Upload]
    ) -> Message:
        original.flags &= ~int(MessageFlag.LOADING)
        apply_edit(self.ctx, self.world.channels[original.channel_id], original, payload, uploads)
        self.ctx.events.message_updated(original)
        return original

    async def get_message(self, request: web.Request) -> web.Response:
        """GET .../messages/@original or a follow-up's id."""
        _, message = self._webhook_message(request)
        return json_response(message_json(message, self.world))

    async def edit_message(self, request: web.Request) -> web.Response:
        """PATCH .../messages/@original|{id}: edits (and completes a deferred response)."""
        _, message = self._webhook_message(request)
        payload, uploads = await read_payload(request)
        validate_message(payload, require_body=False)
        message.flags &= ~int(MessageFlag.LOADING)
        apply_edit(self.ctx, self.world.channels[message.channel_id], message, payload, uploads)
        self.ctx.events.message_updated(message)
        return json_response(message_json(message, self.world))

    async def delete_message(self, request: web.Request) -> web.Response:
        """DELETE .../messages/@original|{id}: 204."""
        _, message = self._webhook_message(request)
        self.world.delete_message(message)
        self.ctx.events.message_deleted(message)
        return web.Response(status=204)

    def _webhook_target(self, request: web.Request) -> Interaction:
        if snowflake(request.match_info["webhook_id"]) != self.world.application_id:
            raise unknown_webhook()
        token = request.match_info["webhook_token"]
        for interaction in self.world.interactions.values():
            if interaction.token == token:
                if self.ctx.now() - interaction.created_at > self.ctx.config.interaction_token_ttl:
                    raise unknown_webhook()
                if not interaction.responded:
                    raise unknown_webhook()
                return interaction
        raise unknown_webhook()

    def _webhook_message(self, request: web.Request) -> tuple[Interaction, Message]:
        interaction = self._webhook_target(request)
        raw = request.match_info["message_id"]
        message_id = interaction.original_message_id if raw == "@original" else snowflake(raw)
        allowed = {interaction.original_message_id, *interaction.followup_ids}
        message = self.world.messages.get(message_id or 0)
        if message is None or message_id not in allowed:
            raise unknown_message()
        return interaction, message


def _callback_body(
    ctx: Context, interaction: Interaction, kind: int, message: Message | None
) -> JSON:
    info: JSON = {"id": str(interaction.id), "type": interaction.type}
    resource: JSON = {"type": kind}
    if message is not None:
        info.update(
            response_message_id=str(message.id),
            response_message_loading=bool(message.flags & MessageFlag.LOADING),
            response_message_ephemeral=message.ephemeral,
        )
        resource["message"] = message_json(message, ctx.world)
    return {"interaction": info, "resource": resource}
