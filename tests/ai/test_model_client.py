"""The model client against the sandbox's OpenAI-compatible server, through the real `openai`
client: structured results, the fall-back to JSON mode, and every failure as ModelUnavailable."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Literal

import pytest
from openai import AsyncOpenAI
from pydantic import BaseModel, Field

from integrations.ai.model import CircuitBreaker, ModelClient, ModelUnavailable
from integrations.sandbox.openai import OpenAIEmulator

ASK = [
    {"role": "system", "content": "Triage the customer's message."},
    {"role": "user", "content": "My parcel never arrived and I am angry about it."},
]


class Triage(BaseModel):
    category: Literal["shipping", "billing", "account"]
    sentiment: Literal["positive", "neutral", "negative"]
    title: str = Field(max_length=80)
    confidence: float = Field(ge=0, le=1)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def serve(*, schemas: bool = True) -> AsyncIterator[tuple[OpenAIEmulator, ModelClient]]:
    async with OpenAIEmulator(schemas=schemas) as emu:
        client = AsyncOpenAI(base_url=emu.base_url, api_key=emu.api_key, max_retries=1)
        yield emu, ModelClient(client, "gpt-4o-mini", timeout=0.5)
        await client.close()


@pytest.fixture
async def model() -> AsyncIterator[tuple[OpenAIEmulator, ModelClient]]:
    async for pair in serve():
        yield pair


async def test_a_structured_answer_is_validated_into_the_schema(
    model: tuple[OpenAIEmulator, ModelClient],
) -> None:
    emu, client = model
    answer = await client.structured(ASK, Triage)
    assert isinstance(answer.value, Triage)
    assert answer.value.category == "shipping"  # the words of the message decide
    assert 0 <= answer.value.confidence <= 1
    assert answer.usage.total > 0
    assert emu.calls[-1].body["response_format"]["type"] == "json_schema"


async def test_a_server_without_schemas_gets_json_mode_from_then_on() -> None:
    async for emu, client in serve(schemas=False):
        first = await client.structured(ASK, Triage)
        second = await client.structured(ASK, Triage)
        assert isinstance(first.value, Triage)
        assert isinstance(second.value, Triage)
        formats = [c.body.get("response_format", {}).get("type") for c in emu.calls]
        assert formats == ["json_schema", "json_object", "json_object"]
        # The schema travels in the instructions instead.
        assert '"category"' in emu.calls[-1].body["messages"][0]["content"]


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("malformed_next", "the answer did not match the schema"),
        ("refuse_next", "the model refused"),
    ],
)
async def test_an_unusable_answer_is_unavailable(
    model: tuple[OpenAIEmulator, ModelClient], fault: str, reason: str
) -> None:
    emu, client = model
    getattr(emu.faults, fault)(1)
    with pytest.raises(ModelUnavailable) as caught:
        await client.structured(ASK, Triage)
    assert caught.value.reason == reason


async def test_a_server_error_is_retried_once_by_the_client(
    model: tuple[OpenAIEmulator, ModelClient],
) -> None:
    emu, client = model
    emu.faults.fail_next(1, status=500)
    assert isinstance((await client.structured(ASK, Triage)).value, Triage)
    assert len(emu.calls) == 2
    emu.faults.fail_next(2, status=503)
    with pytest.raises(ModelUnavailable, match="answered 503"):
        await client.text(ASK)


async def test_a_slow_model_is_unavailable_not_waited_for(
    model: tuple[OpenAIEmulator, ModelClient],
) -> None:
    emu, client = model
    emu.faults.delay_next(2, seconds=3.0)  # the call and the client's one retry
    with pytest.raises(ModelUnavailable, match="no answer in time"):
        await client.text(ASK)


async def test_text_answers_and_their_usage(model: tuple[OpenAIEmulator, ModelClient]) -> None:
    _, client = model
    answer = await client.text(ASK, max_tokens=50)
    assert answer.text
    assert answer.usage.prompt_tokens > 0
    assert answer.model


async def test_prompts_are_logged_only_at_debug(
    model: tuple[OpenAIEmulator, ModelClient], caplog: pytest.LogCaptureFixture
) -> None:
    _, client = model
    caplog.set_level(logging.INFO, logger="integrations.ai.model")
    await client.text(ASK)
    assert "parcel" not in caplog.text
    caplog.set_level(logging.DEBUG, logger="integrations.ai.model")
    await client.text(ASK)
    assert "parcel" in caplog.text


async def test_repeated_failures_open_the_circuit_until_the_cooldown() -> None:
    clock = Clock()
    async with OpenAIEmulator() as emu:
        openai_client = AsyncOpenAI(base_url=emu.base_url, api_key=emu.api_key, max_retries=0)
        breaker = CircuitBreaker(failures=2, cooldown=30, clock=clock)
        client = ModelClient(openai_client, "gpt-4o-mini", timeout=0.5, breaker=breaker)
        emu.faults.fail_next(2, status=500)
        for _ in range(2):
            with pytest.raises(ModelUnavailable):
                await client.text(ASK)
        calls = len(emu.calls)
        with pytest.raises(ModelUnavailable, match="waiting before trying again"):
            await client.text(ASK)
        assert len(emu.calls) == calls  # no call was made
        clock.now += 30  # half open: one trial call, which succeeds and closes it
        assert (await client.text(ASK)).text
        assert not breaker.is_open
        await openai_client.close()


def test_the_breaker_lets_one_trial_through_when_half_open() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, cooldown=10, clock=clock)
    breaker.failed()
    assert not breaker.allow()
    clock.now = 10
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # the others wait for its outcome
    breaker.failed()
    clock.now = 15
    assert not breaker.allow()
