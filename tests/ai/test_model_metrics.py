"""The model's 429s and retries, counted by hooks on the openai client's HTTP requests: the
real client against the sandbox model server."""

from __future__ import annotations

from bot.core.ai_policy import AiPolicy
from integrations.ai.assistant import build_assistant
from integrations.metrics import Metrics
from integrations.metrics_platforms import model_hooks
from integrations.sandbox.openai import OpenAIEmulator
from tests.ai.assistant_support import REFUND
from tests.ai.conftest import MODEL
from tests.support import FakeClock


def counted(metrics: Metrics, name: str) -> float:
    return metrics.registry.get_sample_value(name, {"platform": "model"}) or 0.0


async def test_the_model_clients_429s_and_retries_are_counted(emulator: OpenAIEmulator) -> None:
    metrics = Metrics(FakeClock())
    assistant = build_assistant(
        AiPolicy(), emulator.api_key, emulator.base_url, MODEL, http_hooks=model_hooks(metrics)
    )
    try:
        emulator.faults.rate_limit_next(1, retry_after=0.05)
        found = await assistant.summarise(REFUND, use_model=True)
        assert found.fallback is None
        assert [c.status for c in emulator.chat_calls] == [429, 200]
        assert counted(metrics, "threadline_platform_rate_limited_total") == 1
        assert counted(metrics, "threadline_platform_retries_total") == 1

        emulator.faults.fail_next(1, status=500)
        found = await assistant.summarise(REFUND, use_model=True)
        assert found.fallback is None
        assert counted(metrics, "threadline_platform_retries_total") == 2
        assert counted(metrics, "threadline_platform_rate_limited_total") == 1

        await assistant.summarise(REFUND, use_model=True)  # answered at once: nothing counted
        assert counted(metrics, "threadline_platform_retries_total") == 2
    finally:
        await assistant.aclose()
