"""Fixtures: a started model server and the real AsyncOpenAI client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from openai import AsyncOpenAI

from integrations.sandbox.openai import OpenAIEmulator

ClientFactory = Callable[..., AsyncOpenAI]


@pytest.fixture
async def model() -> AsyncIterator[OpenAIEmulator]:
    """The model server with its default key, models and responder."""
    async with OpenAIEmulator() as emulator:
        yield emulator


@pytest.fixture
async def make_client(model: OpenAIEmulator) -> AsyncIterator[ClientFactory]:
    """Build real clients for the server (no retries and a 5 s timeout unless told); closed
    after the test."""
    made: list[AsyncOpenAI] = []

    def build(**options: object) -> AsyncOpenAI:
        settings: dict[str, object] = {
            "base_url": model.base_url,
            "api_key": model.api_key,
            "max_retries": 0,
            "timeout": 5.0,
            **options,
        }
        client = AsyncOpenAI(**settings)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield build
    for client in made:
        await client.close()


@pytest.fixture
def client(make_client: ClientFactory) -> AsyncOpenAI:
    """The real client: no retries, a 5 s timeout."""
    return make_client()
