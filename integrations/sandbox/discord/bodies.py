"""Reading request bodies the way discord.py sends them: JSON, or multipart with files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from .errors import ApiError, field_error, invalid_form, invalid_json
from .model import JSON
from .validation import MAX_FILE_BYTES


@dataclass(frozen=True)
class Upload:
    """A file part (`files[n]`) of a multipart request."""

    index: int
    filename: str
    data: bytes
    content_type: str


async def read_any_json(request: web.Request) -> Any:
    """The JSON body (any JSON value); 50109 when it does not parse."""
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid_json() from None


async def read_payload(request: web.Request) -> tuple[JSON, list[Upload]]:
    """The message payload and uploaded files, from a JSON or multipart/form-data body."""
    if request.content_type == "multipart/form-data":
        return await _read_multipart(request)
    body = await read_any_json(request)
    if body is None:
        return {}, []
    if not isinstance(body, dict):
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"),
        )
    return body, []


async def _read_multipart(request: web.Request) -> tuple[JSON, list[Upload]]:
    payload: JSON = {}
    uploads: list[Upload] = []
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            continue
        data = await part.read(decode=False)
        if part.name == "payload_json":
            try:
                payload = json.loads(bytes(data))
            except (ValueError, UnicodeDecodeError):
                raise invalid_json() from None
        elif part.name and part.name.startswith("files["):
            uploads.append(_upload(part, bytes(data)))
    return payload, uploads


def _upload(part: BodyPartReader, data: bytes) -> Upload:
    name = part.name or "files[0]"
    try:
        index = int(name[len("files[") : -1])
    except ValueError:
        raise invalid_form({name: field_error("BASE_TYPE_NUMBER", "Value is not int.")}) from None
    if len(data) > MAX_FILE_BYTES:
        raise ApiError(413, 40005, "Request entity too large")
    content_type = part.headers.get("Content-Type", "application/octet-stream")
    return Upload(index, part.filename or f"file{index}", data, content_type)
