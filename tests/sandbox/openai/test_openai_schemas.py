"""The default responder's structured answers: valid for every schema shape pydantic emits
(a property test over generated models), drawn from the conversation, and deterministic."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Optional
from uuid import UUID

import openai
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, create_model

from integrations.sandbox.openai import Context, default_responder, value_for
from integrations.sandbox.openai.text import first_sentence, trim, words
from integrations.sandbox.openai.validation import parse_request

WORDS = ["account", "billing", "bug", "refund", "login", "shipping", "other", "urgent", "low"]
TEXTS = [
    "I was charged twice on my bill. Please refund one!",
    "The login page shows an error after the update",
    "¿Dónde está mi pedido? Lo pedí hace dos semanas.",
    "",
]
_names = itertools.count()


def make_model(fields: dict[str, Any]) -> type[BaseModel]:
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"Generated{next(_names)}",
        __config__=ConfigDict(extra="forbid"),
        **{name: (kind, ...) for name, kind in fields.items()},
    )


def _bounded_strings() -> st.SearchStrategy[Any]:
    return st.builds(
        lambda low, extra: Annotated[str, Field(min_length=low, max_length=low + extra)],
        st.integers(0, 5),
        st.integers(0, 40),
    )


def _integers() -> st.SearchStrategy[Any]:
    closed = st.builds(
        lambda low, span: Annotated[int, Field(ge=low, le=low + span)],
        st.integers(-50, 50),
        st.integers(0, 10),
    )
    opened = st.builds(
        lambda low, span: Annotated[int, Field(gt=low, lt=low + span + 2)],
        st.integers(-50, 50),
        st.integers(0, 10),
    )
    return st.sampled_from([int]) | closed | opened


def _floats() -> st.SearchStrategy[Any]:
    edge = st.floats(-1e4, 1e4, allow_nan=False)
    width = st.floats(1e-3, 1e4, allow_nan=False)
    closed = st.builds(lambda low, w: Annotated[float, Field(ge=low, le=low + w)], edge, width)
    opened = st.builds(lambda low, w: Annotated[float, Field(gt=low, lt=low + w)], edge, width)
    confidence = st.just(Annotated[float, Field(ge=0, le=1)])
    return st.sampled_from([float]) | confidence | closed | opened


def _choices() -> st.SearchStrategy[Any]:
    values = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4, unique=True)
    literals = values.map(lambda found: Literal[tuple(found)])
    enums = values.map(
        lambda found: StrEnum(f"Choice{next(_names)}", {v.upper(): v for v in found})
    )
    return literals | enums


LEAVES = st.one_of(
    st.sampled_from([str, bool, datetime, date, UUID]),
    _bounded_strings(),
    _integers(),
    _floats(),
    _choices(),
)
FIELD_NAMES = st.sampled_from(["title", "is_urgent", "refund_requested", "note", "items"]) | (
    st.from_regex(r"f_[a-z]{1,8}", fullmatch=True)
)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    lists = st.builds(
        lambda kind, low, extra: Annotated[
            list[kind],  # type: ignore[valid-type]
            Field(min_length=low, max_length=low + extra),
        ],
        children,
        st.integers(0, 3),
        st.integers(0, 3),
    )
    optional = children.map(lambda kind: Optional[kind])  # noqa: UP045 - built at run time
    described = children.map(lambda kind: Annotated[kind, Field(description="what it is")])
    nested = st.dictionaries(FIELD_NAMES, children, min_size=1, max_size=4).map(make_model)
    return lists | optional | described | nested


MODELS = st.dictionaries(
    FIELD_NAMES, st.recursive(LEAVES, _extend, max_leaves=8), min_size=1, max_size=5
).map(make_model)
MODES = st.sampled_from(["strict", "loose", "embedded"])


def request_for(model: type[BaseModel], text: str, mode: str) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": text}]
    schema: Any = model.model_json_schema()
    if mode == "embedded":
        messages.insert(0, {"role": "system", "content": f"Reply in JSON: {json.dumps(schema)}"})
        return {"model": "m", "messages": messages, "response_format": {"type": "json_object"}}
    if mode == "strict":
        tool = openai.pydantic_function_tool(model)  # the client's own strict conversion
        schema = tool["function"]["parameters"]
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "Answer", "schema": schema, "strict": mode == "strict"},
    }
    return {"model": "m", "messages": messages, "response_format": response_format}


def answer(body: dict[str, Any]) -> str:
    found = default_responder(parse_request(body, models=None, schemas=True))
    assert isinstance(found, str)
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MODELS, st.sampled_from(TEXTS) | st.text(max_size=120), MODES)
def test_the_default_answer_validates_against_any_generated_schema(
    model: type[BaseModel], text: str, mode: str
) -> None:
    body = request_for(model, text, mode)
    content = answer(body)
    model.model_validate_json(content)
    assert answer(body) == content  # deterministic


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    parent: Node | None
    children: list[Node]


def test_a_recursive_schema_ends() -> None:
    for mode in ("strict", "loose", "embedded"):
        Node.model_validate_json(answer(request_for(Node, TEXTS[0], mode)))


class Shapes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pair: tuple[str, int]
    labels: Annotated[set[Literal["account", "billing", "bug"]], Field(min_length=2)]
    names: Annotated[set[Annotated[str, Field(max_length=6)]], Field(min_length=3)]
    kind: Literal["ticket"]
    when: datetime
    words: Annotated[list[str], Field(max_length=0)]


def test_tuples_sets_consts_and_formats() -> None:
    for mode in ("strict", "loose"):
        shapes = Shapes.model_validate_json(answer(request_for(Shapes, TEXTS[0], mode)))
        assert shapes.labels == {"billing", "account"}  # the best match first
        assert len(shapes.names) == 3
        assert shapes.kind == "ticket"
        assert shapes.words == []


def test_refs_with_siblings_and_all_of_are_followed() -> None:
    schema = {
        "$defs": {"Level": {"enum": ["low", "high"]}, "Base": {"properties": {"a": {}}}},
        "type": "object",
        "properties": {
            "level": {"$ref": "#/$defs/Level", "description": "how bad"},
            "merged": {"allOf": [{"$ref": "#/$defs/Base"}, {"properties": {"b": {"const": 2}}}]},
            "score": {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 2},
            "count": {"type": "integer", "minimum": 10, "multipleOf": 4},
        },
    }
    found = value_for(schema, Context("It is high time", frozenset(words("high"))))
    assert found == {
        "level": "high",
        "merged": {"a": "It is high time", "b": 2},
        "score": 1.5,
        "count": 12,
    }


def test_booleans_say_whether_the_customer_wrote_of_them() -> None:
    schema = {
        "type": "object",
        "properties": {"refund_requested": {"type": "boolean"}, "is_spam": {"type": "boolean"}},
    }
    context = Context("", frozenset(words("Please refund me")))
    assert value_for(schema, context) == {"refund_requested": True, "is_spam": False}


def test_the_text_helpers() -> None:
    assert first_sentence("  Hello there.  How are you?") == "Hello there."
    assert first_sentence("\n\nline one\nline two") == "line one"
    assert first_sentence("注文が届きません。助けてください。") == "注文が届きません。"
    assert trim("I was charged twice on my bill", 12) == "I was"
    assert trim("short", 12) == "short"
    assert words("refundRequested is_spam") == ["refund", "requested", "is", "spam"]
