"""Fixtures for the assistant's tests: the sandbox model server, the real `openai` client on it,
the demo knowledge base, and one language detector per test module (lingua's first call takes
seconds and hundreds of MB)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from openai import AsyncOpenAI

import integrations.sandbox
from bot.core.ai_policy import AiPolicy
from integrations.ai.assistant import ModelAssistant
from integrations.ai.knowledge import KnowledgeBase
from integrations.ai.language import LanguageDetector
from integrations.ai.model import ModelClient
from integrations.sandbox.openai import OpenAIEmulator

MODEL = "gpt-4o-mini"
KNOWLEDGE = Path(integrations.sandbox.__file__).parent / "knowledge"

MakeAssistant = Callable[..., ModelAssistant]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    found = LanguageDetector()
    found.detect("Loading the models once for the whole module")
    return found


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    return KnowledgeBase(KNOWLEDGE)


@pytest.fixture
async def emulator() -> AsyncIterator[OpenAIEmulator]:
    async with OpenAIEmulator() as server:
        yield server


@pytest.fixture
async def make_assistant(
    emulator: OpenAIEmulator, detector: LanguageDetector, knowledge: KnowledgeBase
) -> AsyncIterator[MakeAssistant]:
    """Assistants on the real client and the sandbox model: no retries and a 5 s timeout
    unless told (`model=False`: no model configured)."""
    made: list[AsyncOpenAI] = []

    def build(
        policy: AiPolicy | None = None,
        *,
        model: bool = True,
        retries: int = 0,
        timeout: float = 5.0,
        articles: bool = True,
    ) -> ModelAssistant:
        client = None
        if model:
            sdk = AsyncOpenAI(
                base_url=emulator.base_url,
                api_key=emulator.api_key,
                max_retries=retries,
                timeout=timeout,
            )
            made.append(sdk)
            client = ModelClient(sdk, MODEL, timeout=timeout)
        return ModelAssistant(
            policy=policy or AiPolicy(),
            client=client,
            default_model=MODEL,
            knowledge=knowledge if articles else None,
            detector=detector,
        )

    yield build
    for sdk in made:
        await sdk.close()
