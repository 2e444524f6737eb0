"""Discord's error bodies, and the one JSON response helper every reply goes through."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .model import JSON

# discord.py compares the header to this exact string: a charset suffix makes it parse text.
CONTENT_TYPE = "application/json"


def json_body(payload: Any) -> bytes:
    """Compact JSON, as Discord sends it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(payload: Any, status: int = 200) -> web.Response:
    """A reply with Content-Type exactly `application/json` (never aiohttp's json_response)."""
    return web.Response(
        body=json_body(payload), status=status, headers={"Content-Type": CONTENT_TYPE}
    )


class ApiError(Exception):
    """An error Discord would answer with: HTTP status, JSON error code, message, form errors."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> JSON:
        """The JSON body Discord sends for this error."""
        data: JSON = {"message": self.message, "code": self.code}
        if self.errors is not None:
            data["errors"] = self.errors
        return data

    def response(self) -> web.Response:
        """This error as an HTTP reply."""
        return json_response(self.body(), self.status)


def unauthorized() -> ApiError:
    """Missing or wrong bot token."""
    return ApiError(401, 0, "401: Unauthorized")


def unknown_application() -> ApiError:
    """An application id that is not the bot's."""
    return ApiError(404, 10002, "Unknown Application")


def unknown_channel() -> ApiError:
    """A channel id the bot cannot see."""
    return ApiError(404, 10003, "Unknown Channel")


def unknown_message() -> ApiError:
    """A message id not in that channel."""
    return ApiError(404, 10008, "Unknown Message")


def unknown_user() -> ApiError:
    """A user id nobody has."""
    return ApiError(404, 10013, "Unknown User")


def unknown_webhook() -> ApiError:
    """A webhook id/token pair that matches nothing (e.g. an expired interaction token)."""
    return ApiError(404, 10015, "Unknown Webhook")


def unknown_interaction() -> ApiError:
    """An interaction id/token that is unknown or past its 3-second response window."""
    return ApiError(404, 10062, "Unknown interaction")


def unknown_emoji() -> ApiError:
    """A malformed reaction emoji."""
    return ApiError(400, 10014, "Unknown Emoji")


def already_acknowledged() -> ApiError:
    """A second initial response to one interaction."""
    return ApiError(400, 40060, "Interaction has already been acknowledged.")


def cannot_edit_others() -> ApiError:
    """Editing a message someone else wrote."""
    return ApiError(403, 50005, "Cannot edit a message authored by another user")


def empty_message() -> ApiError:
    """A message with no content, embeds, components, files or stickers."""
    return ApiError(400, 50006, "Cannot send an empty message")


def cannot_dm() -> ApiError:
    """The recipient closed their DMs to the bot."""
    return ApiError(403, 50007, "Cannot send messages to this user")


def invalid_json() -> ApiError:
    """A body that does not parse as JSON."""
    return ApiError(400, 50109, "The request body contains invalid JSON.")


def invalid_form(errors: JSON) -> ApiError:
    """Field validation failed; `errors` is Discord's nested `{"field": {"_errors": [...]}}`."""
    return ApiError(400, 50035, "Invalid Form Body", errors)


def field_error(code: str, message: str) -> JSON:
    """One leaf of an Invalid Form Body error tree."""
    return {"_errors": [{"code": code, "message": message}]}
