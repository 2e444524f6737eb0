"""A deterministic value valid against a JSON schema, chosen from the conversation.

Written here rather than taken from a library: the generators that exist (hypothesis-jsonschema
and the like) produce random values, and the sandbox wants the same plausible answer on every run,
its enums and texts drawn from what the customer wrote. It covers what pydantic emits: objects,
enums and consts, strings with lengths and common formats, numbers and integers with bounds,
booleans, arrays with item counts (tuples as `prefixItems`), nulls, `anyOf`/`oneOf`/`allOf`, and
`$ref` into `$defs`. Not covered: `pattern`, `multipleOf` on floats, `not`, `if`/`then`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .model import JsonDict
from .text import overlap, trim, words

MAX_DEPTH = 6  # past this, a recursive schema gets its smallest value (empty lists, nulls)
CONFIDENCE = 0.8  # the number preferred when the bounds allow it: a plausible confidence
FALLBACK_TEXT = "ok"
FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "duration": "PT1H",
    "email": "someone@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "example.com",
}
_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")


@dataclass(frozen=True)
class Context:
    """What the values are drawn from: a sentence for texts, words to match enums against."""

    sentence: str
    vocabulary: frozenset[str]


def value_for(schema: JsonDict, context: Context) -> Any:
    """A value valid against `schema` (a JSON-schema object, `$defs` at its root)."""
    return _Walker(schema, context).value(schema, "", 0)


class _Walker:
    def __init__(self, root: JsonDict, context: Context) -> None:
        self.root = root
        self.context = context

    def value(self, schema: Any, key: str, depth: int) -> Any:
        if schema is True or not isinstance(schema, dict):
            return self.text({})
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.ranked(schema["enum"])[0]
        branches = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(branches, list) and branches:
            return self.value(self.branch(branches, depth), key, depth)
        return self.typed(_kind(schema), schema, key, depth)

    def typed(self, kind: str, schema: JsonDict, key: str, depth: int) -> Any:
        """A value of one JSON type."""
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            return self.array(schema, key, depth)
        if kind in ("integer", "number"):
            return _number(schema, integer=kind == "integer")
        if kind == "boolean":
            return self.flag(key)
        return None if kind == "null" else self.text(schema)

    def resolve(self, schema: JsonDict) -> JsonDict:
        """Follow `$ref` (siblings win, as in OpenAI's strict schemas) and merge `allOf`."""
        seen = 0
        while isinstance(schema.get("$ref"), str) and seen < 32:
            target = self.lookup(schema["$ref"])
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            seen += 1
        parts = schema.get("allOf")
        if isinstance(parts, list) and parts:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in parts:
                merged = _merge(merged, self.resolve(part) if isinstance(part, dict) else {})
            schema = merged
        return schema

    def lookup(self, ref: str) -> JsonDict:
        found: Any = self.root
        for part in ref.removeprefix("#").strip("/").split("/"):
            if not part:
                continue
            name = part.replace("~1", "/").replace("~0", "~")
            found = found.get(name, {}) if isinstance(found, dict) else {}
        return found if isinstance(found, dict) else {}

    def branch(self, branches: list[Any], depth: int) -> Any:
        """The first branch that is not `null` (a null one only past MAX_DEPTH or if alone)."""

        def is_null(branch: Any) -> bool:
            return isinstance(branch, dict) and self.resolve(branch).get("type") == "null"

        if depth > MAX_DEPTH:
            return next((b for b in branches if is_null(b)), branches[0])
        return next((b for b in branches if not is_null(b)), branches[0])

    def ranked(self, values: list[Any]) -> list[Any]:
        """Enum values, best match with the conversation first (ties keep the schema's order)."""
        vocabulary = self.context.vocabulary
        scored = sorted(
            enumerate(values), key=lambda pair: (-overlap(str(pair[1]), vocabulary), pair[0])
        )
        return [value for _, value in scored]

    def object(self, schema: JsonDict, depth: int) -> JsonDict:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = set(schema.get("required") or ())
        found = {
            name: self.value(sub, name, depth + 1)
            for name, sub in properties.items()
            if depth <= MAX_DEPTH or name in required
        }
        extra = schema.get("additionalProperties")
        wanted = int(schema.get("minProperties") or 0)
        for index in range(len(found), wanted):
            found[f"key{index + 1}"] = self.value(extra, "", depth + 1)
        return found

    def array(self, schema: JsonDict, key: str, depth: int) -> list[Any]:
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        least = max(int(schema.get("minItems") or 0), len(prefix))
        count = least if depth > MAX_DEPTH else max(least, 1)
        if isinstance(schema.get("maxItems"), int):
            count = min(count, schema["maxItems"])
        items = schema.get("items", {})
        if schema.get("uniqueItems") and count > 1:
            return self.distinct(items, count, depth)
        return [
            self.value(prefix[i] if i < len(prefix) else items, key, depth + 1)
            for i in range(count)
        ]

    def distinct(self, items: Any, count: int, depth: int) -> list[Any]:
        """Different values for `uniqueItems`: enum values in ranked order, or numbered texts
        (other item types get one value)."""
        resolved = self.resolve(items) if isinstance(items, dict) else {}
        if isinstance(resolved.get("enum"), list):
            return self.ranked(resolved["enum"])[:count]
        first = self.value(items, "", depth + 1)
        if not isinstance(first, str):
            return [first]
        found = [first]
        for number in range(2, count + 1):  # same length as `first`, so its bounds still hold
            mark = str(number)
            found.append(first[: max(0, len(first) - len(mark))] + mark)
        return list(dict.fromkeys(found))

    def flag(self, key: str) -> bool:
        """True when the property's name is about something the customer wrote of."""
        vocabulary = self.context.vocabulary
        return any(overlap(word, vocabulary) for word in words(key) if len(word) >= 4)

    def text(self, schema: JsonDict) -> str:
        fmt = schema.get("format")
        found = FORMATS.get(fmt, "") if isinstance(fmt, str) else ""
        found = found or self.context.sentence or FALLBACK_TEXT
        longest = schema.get("maxLength")
        if isinstance(longest, int):
            found = trim(found, longest)
        shortest = int(schema.get("minLength") or 0)
        return found + "." * max(0, shortest - len(found))


def _kind(schema: JsonDict) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind in _TYPES:
        return str(kind)
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _merge(one: JsonDict, other: JsonDict) -> JsonDict:
    merged = {**one, **other}
    if "properties" in one and "properties" in other:
        merged["properties"] = {**one["properties"], **other["properties"]}
    if "required" in one and "required" in other:
        merged["required"] = [*one["required"], *other["required"]]
    return merged


def _number(schema: JsonDict, *, integer: bool) -> int | float:
    low, high = _bound(schema.get("minimum")), _bound(schema.get("maximum"))
    above, below = _bound(schema.get("exclusiveMinimum")), _bound(schema.get("exclusiveMaximum"))

    def fits(value: float) -> bool:
        return (
            (low is None or value >= low)
            and (high is None or value <= high)
            and (above is None or value > above)
            and (below is None or value < below)
        )

    floor_ = low if low is not None else above
    ceiling = high if high is not None else below
    candidates: list[float | None] = [1 if integer else CONFIDENCE, low, high]
    if floor_ is not None and ceiling is not None:
        candidates.append((floor_ + ceiling) / 2)
    candidates += [None if above is None else above + 1, None if below is None else below - 1]
    for candidate in candidates:
        if candidate is None:
            continue
        value = _integer(candidate, schema, fits) if integer else candidate
        if value is not None and fits(value):
            return value
    return 1 if integer else CONFIDENCE


def _integer(candidate: float, schema: JsonDict, fits: Any) -> int | None:
    """An integer near `candidate` that fits (a multiple of `multipleOf` when given)."""
    step = schema.get("multipleOf")
    step = int(step) if isinstance(step, int) and step > 0 else 1
    for value in (math.ceil(candidate / step) * step, math.floor(candidate / step) * step):
        if fits(value):
            return int(value)
    return None


def _bound(value: Any) -> float | None:
    # Draft 4's boolean exclusiveMinimum is not a bound; pydantic emits numbers (2020-12).
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value
