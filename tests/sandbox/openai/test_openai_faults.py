"""Faults through the real AsyncOpenAI client: rate limits and server errors its own retries
wait out, a slow model, malformed JSON, a refusal, a dropped connection."""

from __future__ import annotations

import json
import time

import aiohttp
import openai
import pydantic
import pytest
from openai import AsyncOpenAI

from integrations.sandbox.openai import REFUSAL, ChatRequest, OpenAIEmulator
from tests.sandbox.openai.openai_support import MODEL, ClientFactory, Triage, ask


async def test_a_rate_limit_is_waited_out_by_the_clients_own_retry(
    model: OpenAIEmulator, make_client: ClientFactory
) -> None:
    model.faults.rate_limit_next(1, retry_after=0.1)
    done = await make_client(max_retries=2).chat.completions.create(model=MODEL, messages=ask())
    assert done.choices[0].message.content
    assert [c.status for c in model.chat_calls] == [429, 200]
    error = model.chat_calls[0].response
    assert error is not None
    assert error["error"]["code"] == "rate_limit_exceeded"


async def test_a_rate_limit_sends_the_headers_the_client_reads(model: OpenAIEmulator) -> None:
    model.faults.rate_limit_next(1, retry_after=2.0)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{model.base_url}/chat/completions",
            json={"model": MODEL, "messages": ask()},
            headers={"Authorization": f"Bearer {model.api_key}"},
        ) as answer,
    ):
        assert answer.status == 429
        headers = answer.headers
    assert headers["retry-after"] == "2"
    assert headers["retry-after-ms"] == "2000"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "2s"


async def test_a_server_error_is_retried_by_the_client(
    model: OpenAIEmulator, make_client: ClientFactory
) -> None:
    model.faults.fail_next(1, status=500)
    with pytest.raises(openai.InternalServerError):
        await make_client().chat.completions.create(model=MODEL, messages=ask())
    model.faults.fail_next(1, status=503)
    done = await make_client(max_retries=2).chat.completions.create(model=MODEL, messages=ask())
    assert done.choices[0].message.content
    assert [c.status for c in model.chat_calls] == [500, 503, 200]


async def test_a_slow_model_times_the_client_out(
    model: OpenAIEmulator, make_client: ClientFactory
) -> None:
    model.faults.delay_next(1, seconds=2.0)
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await make_client(timeout=0.5).chat.completions.create(model=MODEL, messages=ask())
    assert time.monotonic() - started < 1.5
    done = await make_client(timeout=0.5).chat.completions.create(model=MODEL, messages=ask())
    assert done.choices[0].message.content


async def test_a_malformed_answer_is_not_json(model: OpenAIEmulator, client: AsyncOpenAI) -> None:
    model.faults.malformed_next(2)
    done = await client.chat.completions.create(
        model=MODEL, messages=ask(system="json"), response_format={"type": "json_object"}
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(done.choices[0].message.content or "")
    with pytest.raises(pydantic.ValidationError):
        await client.chat.completions.parse(model=MODEL, messages=ask(), response_format=Triage)
    done = await client.chat.completions.parse(model=MODEL, messages=ask(), response_format=Triage)
    assert done.choices[0].message.parsed is not None


async def test_a_refusal_has_no_content(model: OpenAIEmulator, client: AsyncOpenAI) -> None:
    model.faults.refuse_next()
    done = await client.chat.completions.parse(model=MODEL, messages=ask(), response_format=Triage)
    message = done.choices[0].message
    assert (message.content, message.parsed, message.refusal) == (None, None, REFUSAL)


async def test_a_dropped_connection_is_a_connection_error(
    model: OpenAIEmulator, client: AsyncOpenAI
) -> None:
    model.faults.drop_next()
    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(model=MODEL, messages=ask())
    assert model.chat_calls[0].status is None
    done = await client.chat.completions.create(model=MODEL, messages=ask())
    assert done.choices[0].message.content


async def test_faults_wait_for_a_call_with_the_right_key(
    model: OpenAIEmulator, make_client: ClientFactory
) -> None:
    model.faults.fail_next()
    with pytest.raises(openai.AuthenticationError):
        await make_client(api_key="sk-wrong").chat.completions.create(model=MODEL, messages=ask())
    assert len(model.faults.armed) == 1


async def test_a_failing_responder_is_a_500_and_logged(
    model: OpenAIEmulator, client: AsyncOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: ChatRequest) -> str:
        raise ValueError("the test's responder is broken")

    model.responder = broken
    with pytest.raises(openai.InternalServerError):
        await client.chat.completions.create(model=MODEL, messages=ask())
    assert "the responder failed" in caplog.text
