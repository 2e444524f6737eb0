"""Request validation: the mistakes the real API rejects, rejected the same way (HTTP 400/404).

Checked: a body that is not a JSON object, the model (when the server has a list), `messages`
(present, not empty, known roles, content of the right type), `stream`, `n`, the token limits
and `response_format` (its type, a schema's name and root, strict mode's rules, and the word
"json" that JSON mode requires in the messages).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from .model import ChatMessage, ChatRequest, JsonDict, ResponseFormat, message_text
from .wire import ApiError, invalid_value, missing

ROLES = ("system", "assistant", "user", "function", "tool", "developer")
FORMATS = ("text", "json_object", "json_schema")
NO_SCHEMA_FORMATS = ("text", "json_object")
SCHEMA_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
CONTENT_OPTIONAL = ("assistant", "function")
MAX_CHOICES = 128


def parse_request(body: Any, *, models: Collection[str] | None, schemas: bool) -> ChatRequest:
    """The request as responders see it; raises ApiError as the API would."""
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. The API expects a JSON object.",
        )
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "you must provide a model parameter")
    if models is not None and model not in models:
        raise ApiError(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    if body.get("stream"):
        raise ApiError(
            400,
            "Streaming is not supported by this server; send the request without `stream`.",
            param="stream",
            code="unsupported_value",
        )
    messages = _messages(body)
    response_format = _response_format(body.get("response_format"), schemas=schemas)
    if response_format.type == "json_object" and not any(
        "json" in m.text.lower() for m in messages
    ):
        raise ApiError(
            400,
            "'messages' must contain the word 'json' in some form, to use 'response_format' "
            "of type 'json_object'.",
            param="messages",
        )
    return ChatRequest(
        model=model,
        messages=messages,
        response_format=response_format,
        body=body,
        max_tokens=_max_tokens(body),
        n=_positive(body, "n", MAX_CHOICES) or 1,
    )


def _messages(body: JsonDict) -> tuple[ChatMessage, ...]:
    raw = body.get("messages")
    if raw is None:
        raise missing("messages")
    if not isinstance(raw, list):
        raise _wrong_type("messages", "an array", raw)
    if not raw:
        raise ApiError(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    return tuple(_message(index, entry) for index, entry in enumerate(raw))


def _message(index: int, entry: Any) -> ChatMessage:
    where = f"messages[{index}]"
    if not isinstance(entry, dict):
        raise _wrong_type(where, "an object", entry)
    role = entry.get("role")
    if role is None:
        raise missing(f"{where}.role")
    if role not in ROLES:
        raise invalid_value(f"{where}.role", role, ROLES)
    content = entry.get("content")
    if content is None and role not in CONTENT_OPTIONAL:
        raise missing(f"{where}.content")
    if content is not None and not isinstance(content, str | list):
        raise _wrong_type(f"{where}.content", "one of a string or array of objects", content)
    if role == "tool" and not entry.get("tool_call_id"):
        raise missing(f"{where}.tool_call_id")
    name = entry.get("name")
    return ChatMessage(role, message_text(entry), name if isinstance(name, str) else None)


def _response_format(raw: Any, *, schemas: bool) -> ResponseFormat:
    if raw is None:
        return ResponseFormat()
    if not isinstance(raw, dict):
        raise _wrong_type("response_format", "an object", raw)
    allowed = FORMATS if schemas else NO_SCHEMA_FORMATS
    kind = raw.get("type")
    if kind is None:
        raise missing("response_format.type")
    if kind not in allowed:
        raise invalid_value("response_format.type", kind, allowed)
    if kind != "json_schema":
        return ResponseFormat(kind)
    spec = raw.get("json_schema")
    if not isinstance(spec, dict):
        raise missing("response_format.json_schema")
    name = spec.get("name")
    if not isinstance(name, str):
        raise missing("response_format.json_schema.name")
    if not SCHEMA_NAME.match(name):
        raise ApiError(
            400,
            f"Invalid 'response_format.json_schema.name': string does not match pattern. "
            f"Expected a string that matches the pattern '{SCHEMA_NAME.pattern}'.",
            param="response_format.json_schema.name",
            code="invalid_value",
        )
    schema = spec.get("schema")
    strict = spec.get("strict") is True
    if schema is not None:
        _check_schema(name, schema, strict=strict)
    return ResponseFormat(kind, name, schema, strict)


def _check_schema(name: str, schema: Any, *, strict: bool) -> None:
    if not isinstance(schema, dict):
        raise _wrong_type("response_format.json_schema.schema", "an object", schema)
    root = _root(schema).get("type")
    if root != "object":
        raise _bad_schema(
            name, f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{root}\"'."
        )
    problem = strict_problem(schema) if strict else None
    if problem:
        raise _bad_schema(name, problem)


def _root(schema: JsonDict) -> JsonDict:
    """The root, through a `$ref` into `$defs` (how pydantic writes a recursive model)."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        found = (schema.get("$defs") or {}).get(ref.removeprefix("#/$defs/"))
        if isinstance(found, dict):
            return found
    return schema


def strict_problem(schema: JsonDict, path: tuple[str, ...] = ()) -> str | None:
    """What strict mode rejects in `schema` (first problem found), or None.

    Strict mode wants every object closed (`additionalProperties: false`) and every property
    listed in `required`: the two rules schemas written by hand most often break.
    """
    is_object = schema.get("type") == "object" or "properties" in schema
    if is_object:
        if schema.get("additionalProperties") is not False:
            return (
                f"In context={path}, 'additionalProperties' is required to be supplied "
                "and to be false."
            )
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        absent = [name for name in properties if name not in required]
        if absent:
            return (
                f"In context={path}, 'required' is required to be supplied and to be an array "
                f"including every key in properties. Missing '{absent[0]}'."
            )
    for key, sub in _children(schema):
        found = strict_problem(sub, (*path, *key))
        if found:
            return found
    return None


def _children(schema: JsonDict) -> list[tuple[tuple[str, ...], JsonDict]]:
    found: list[tuple[tuple[str, ...], JsonDict]] = []
    for group in ("$defs", "definitions", "properties"):
        entries = schema.get(group)
        if isinstance(entries, dict):
            found += [((group, k), v) for k, v in entries.items() if isinstance(v, dict)]
    for group in ("anyOf", "oneOf", "allOf", "prefixItems"):
        entries = schema.get(group)
        if isinstance(entries, list):
            found += [((group, str(i)), v) for i, v in enumerate(entries) if isinstance(v, dict)]
    if isinstance(schema.get("items"), dict):
        found.append((("items",), schema["items"]))
    return found


def _max_tokens(body: JsonDict) -> int | None:
    found = [_positive(body, name, None) for name in ("max_completion_tokens", "max_tokens")]
    return next((limit for limit in found if limit is not None), None)


def _positive(body: JsonDict, name: str, most: int | None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _wrong_type(name, "an integer", value)
    if value < 1:
        raise ApiError(
            400,
            f"Invalid '{name}': integer below minimum value. Expected a value >= 1, "
            f"but got {value} instead.",
            param=name,
            code="integer_below_min_value",
        )
    if most is not None and value > most:
        raise ApiError(
            400,
            f"Invalid '{name}': integer above maximum value. Expected a value <= {most}, "
            f"but got {value} instead.",
            param=name,
            code="integer_above_max_value",
        )
    return value


def _wrong_type(param: str, expected: str, value: Any) -> ApiError:
    got = {str: "a string", int: "an integer", float: "a decimal", bool: "a boolean"}.get(
        type(value), "an array" if isinstance(value, list) else "an object"
    )
    if value is None:
        got = "null"
    return ApiError(
        400,
        f"Invalid type for '{param}': expected {expected}, but got {got} instead.",
        param=param,
        code="invalid_type",
    )


def _bad_schema(name: str, problem: str) -> ApiError:
    return ApiError(
        400,
        f"Invalid schema for response_format '{name}': {problem}",
        param="response_format",
    )
