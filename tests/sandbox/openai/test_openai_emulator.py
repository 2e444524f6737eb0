"""The model server through the real AsyncOpenAI client: answers, structured outputs, the
requests it rejects, and what it records."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
from openai import AsyncOpenAI

from bot.config import load_settings
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.openai import ChatRequest, OpenAIEmulator, Reply, count_tokens
from tests.sandbox.openai.openai_support import (
    MODEL,
    ClientFactory,
    Sentiment,
    Triage,
    ask,
)

# plain and structured answers


async def test_a_plain_completion_has_the_api_shape(
    model: OpenAIEmulator, client: AsyncOpenAI
) -> None:
    done = await client.chat.completions.create(model=MODEL, messages=ask())
    assert done.id.startswith("chatcmpl-")
    assert done.object == "chat.completion"
    assert done.model == MODEL
    assert abs(done.created - time.time()) < 60
    [choice] = done.choices
    assert choice.index == 0
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.refusal is None
    assert choice.message.content == "Summary: I was charged twice on my bill this month."
    raw = model.chat_calls[0].response
    assert raw is not None
    assert set(raw["choices"][0]["message"]) >= {"role", "content", "refusal"}


async def test_the_same_request_gets_the_same_answer(client: AsyncOpenAI) -> None:
    answers = [
        (await client.chat.completions.create(model=MODEL, messages=ask())).choices[0]
        for _ in range(2)
    ]
    assert answers[0].message.content == answers[1].message.content


async def test_usage_counts_tokens_deterministically(
    model: OpenAIEmulator, client: AsyncOpenAI
) -> None:
    done = await client.chat.completions.create(model=MODEL, messages=ask())
    assert done.usage is not None
    content = done.choices[0].message.content or ""
    assert done.usage.completion_tokens == count_tokens(content)
    texts = [m["content"] for m in ask()]
    assert done.usage.prompt_tokens == 3 + sum(count_tokens(t) + 3 for t in texts)
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens
    assert model.tokens_used == done.usage.total_tokens


async def test_parse_gives_a_valid_model_drawn_from_the_conversation(
    model: OpenAIEmulator, client: AsyncOpenAI
) -> None:
    done = await client.chat.completions.parse(model=MODEL, messages=ask(), response_format=Triage)
    triage = done.choices[0].message.parsed
    assert isinstance(triage, Triage)
    assert triage.category == "billing"  # "bill" in the message
    assert triage.sentiment in Sentiment
    assert triage.title.value == "I was charged twice on my bill this"
    assert 0 <= triage.confidence <= 1
    assert 0 <= triage.title.confidence <= 1
    assert 1 <= len(triage.articles) <= 3
    assert triage.note is not None
    sent = model.chat_calls[0].body["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["strict"] is True
    assert "$defs" in sent["json_schema"]["schema"]


async def test_enum_values_follow_the_last_user_message(client: AsyncOpenAI) -> None:
    messages = [*ask(), {"role": "assistant", "content": "ok"}]
    messages.append({"role": "user", "content": "Also the login page shows a bug, urgent."})
    done = await client.chat.completions.parse(
        model=MODEL, messages=messages, response_format=Triage
    )
    triage = done.choices[0].message.parsed
    assert triage is not None
    assert (triage.category, triage.priority) == ("bug", "urgent")


async def test_json_mode_answers_a_json_object(client: AsyncOpenAI) -> None:
    done = await client.chat.completions.create(
        model=MODEL,
        messages=ask(system="Answer in JSON."),
        response_format={"type": "json_object"},
    )
    answer = json.loads(done.choices[0].message.content or "")
    assert answer == {"answer": "Summary: I was charged twice on my bill this month."}


async def test_json_mode_fills_a_schema_written_into_the_prompt(client: AsyncOpenAI) -> None:
    schema = json.dumps(Triage.model_json_schema())
    done = await client.chat.completions.create(
        model=MODEL,
        messages=ask(system=f"Answer with JSON valid against this schema: {schema}"),
        response_format={"type": "json_object"},
    )
    triage = Triage.model_validate_json(done.choices[0].message.content or "")
    assert triage.category == "billing"


async def test_json_mode_needs_the_word_json_in_the_messages(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model=MODEL, messages=ask(system="Triage."), response_format={"type": "json_object"}
        )
    assert "must contain the word 'json'" in caught.value.message


async def test_a_server_without_schemas_refuses_them_but_serves_json_mode() -> None:
    async with (
        OpenAIEmulator(schemas=False) as model,
        AsyncOpenAI(base_url=model.base_url, api_key=model.api_key, max_retries=0) as client,
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.parse(model=MODEL, messages=ask(), response_format=Triage)
        assert caught.value.status_code == 400
        assert caught.value.param == "response_format.type"
        assert caught.value.code == "invalid_value"
        done = await client.chat.completions.create(
            model=MODEL,
            messages=ask(system=f"Reply in JSON: {json.dumps(Triage.model_json_schema())}"),
            response_format={"type": "json_object"},
        )
        assert Triage.model_validate_json(done.choices[0].message.content or "")


async def test_max_tokens_cuts_the_answer(client: AsyncOpenAI) -> None:
    done = await client.chat.completions.create(model=MODEL, messages=ask(), max_tokens=3)
    assert done.choices[0].finish_reason == "length"
    assert done.choices[0].message.content == "Summary: I w"  # 3 tokens of 4 characters
    with pytest.raises(openai.LengthFinishReasonError):
        await client.chat.completions.parse(
            model=MODEL, messages=ask(), response_format=Triage, max_completion_tokens=5
        )


async def test_n_answers_several_choices(client: AsyncOpenAI) -> None:
    done = await client.chat.completions.create(model=MODEL, messages=ask(), n=2)
    assert [c.index for c in done.choices] == [0, 1]


# choosing the answers


async def test_canned_replies_come_first_then_the_responder(
    model: OpenAIEmulator, client: AsyncOpenAI
) -> None:
    model.reply_with("first", {"category": "bug"}, Reply(content=None, refusal="no"))
    answers = [
        (await client.chat.completions.create(model=MODEL, messages=ask())).choices[0].message
        for _ in range(4)
    ]
    assert [a.content for a in answers[:2]] == ["first", '{"category": "bug"}']
    assert (answers[2].content, answers[2].refusal) == (None, "no")
    assert answers[3].content is not None
    assert answers[3].content.startswith("Summary:")


async def test_an_installed_responder_sees_the_parsed_request(
    model: OpenAIEmulator, client: AsyncOpenAI
) -> None:
    seen: list[ChatRequest] = []

    async def responder(request: ChatRequest) -> str | None:
        seen.append(request)
        return None if "default" in request.last_user_text else "custom"

    model.responder = responder
    done = await client.chat.completions.create(model=MODEL, messages=ask("hello"))
    assert done.choices[0].message.content == "custom"
    done = await client.chat.completions.create(model=MODEL, messages=ask("use the default"))
    assert done.choices[0].message.content == "Summary: use the default"
    assert [m.role for m in seen[0].messages] == ["system", "user"]
    assert seen[0].model == MODEL
    assert seen[0].response_format.type == "text"


# requests the API rejects


@pytest.mark.parametrize(
    ("changes", "status", "param", "code"),
    [
        ({"messages": []}, 400, "messages", "empty_array"),
        (
            {"messages": [{"role": "bot", "content": "hi"}]},
            400,
            "messages[0].role",
            "invalid_value",
        ),
        (
            {"messages": [{"role": "user"}]},
            400,
            "messages[0].content",
            "missing_required_parameter",
        ),
        ({"model": "gpt-unknown"}, 404, None, "model_not_found"),
        ({"stream": True}, 400, "stream", "unsupported_value"),
        ({"n": 0}, 400, "n", "integer_below_min_value"),
        (
            {"response_format": {"type": "xml"}},
            400,
            "response_format.type",
            "invalid_value",
        ),
    ],
)
async def test_common_mistakes_are_rejected_like_the_api_does(
    client: AsyncOpenAI, changes: dict[str, Any], status: int, param: str | None, code: str
) -> None:
    request: dict[str, Any] = {"model": MODEL, "messages": ask(), **changes}
    with pytest.raises(openai.APIStatusError) as caught:
        await client.chat.completions.create(**request)
    error = caught.value
    assert (error.status_code, error.param, error.code) == (status, param, code)
    assert isinstance(error.body, dict)
    assert set(error.body) == {"message", "type", "param", "code"}


async def test_a_strict_schema_must_close_its_objects(client: AsyncOpenAI) -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "string"}}}
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model=MODEL,
            messages=ask(),
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "Thing", "schema": schema, "strict": True},
            },
        )
    assert "'additionalProperties' is required to be supplied and to be false" in (
        caught.value.message
    )


async def test_a_wrong_or_missing_key_is_401(
    model: OpenAIEmulator, make_client: ClientFactory
) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        await make_client(api_key="sk-wrong-key-1234").chat.completions.create(
            model=MODEL, messages=ask()
        )
    assert caught.value.code == "invalid_api_key"
    assert "sk-wrong-key-1234" not in caught.value.message
    async with aiohttp.ClientSession() as http:
        url = f"{model.base_url}/chat/completions"
        async with http.post(url, json={"model": MODEL, "messages": ask()}) as answer:
            assert answer.status == 401
            body = await answer.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == "invalid_request_error"


async def test_models_are_listed(client: AsyncOpenAI) -> None:
    listed = [m.id async for m in client.models.list()]
    assert listed == ["gpt-4o-mini", "gpt-4o"]
    assert (await client.models.retrieve("gpt-4o")).id == "gpt-4o"
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("gpt-unknown")


# what reached the model


async def test_every_call_is_recorded_without_the_key(
    model: OpenAIEmulator, client: AsyncOpenAI
) -> None:
    await client.chat.completions.create(model=MODEL, messages=ask("mail me at a@example.org"))
    await client.models.list()
    chat, listing = model.calls
    assert (chat.method, chat.path, chat.status) == ("POST", "/v1/chat/completions", 200)
    assert (listing.method, listing.path) == ("GET", "/v1/models")
    assert "authorization" not in chat.headers
    assert model.api_key not in json.dumps(chat.headers)
    assert chat.body["messages"][1]["content"] == "mail me at a@example.org"
    assert "a@example.org" in chat.text
    assert await model.wait_for(lambda: model.chat_calls, timeout=1) == [chat]


async def test_the_sandbox_settings_point_the_real_client_at_it(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in sandbox.settings().items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.ai_enabled
    assert settings.openai_api_key is not None
    async with AsyncOpenAI(
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key.get_secret_value(),
        max_retries=0,
    ) as client:
        done = await client.chat.completions.create(model=settings.openai_model, messages=ask())
    assert done.choices[0].message.content
    assert sandbox.openai is not None
    assert len(sandbox.openai.chat_calls) == 1
