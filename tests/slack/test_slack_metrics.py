"""Slack's 429s and retries, counted through the Web API client's retry handlers: the real
slack_sdk client against the Slack emulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from integrations.metrics import Metrics
from integrations.metrics_platforms import count_slack
from integrations.platforms import SLACK
from integrations.sandbox.slack import DEMO, SlackEmulator, Timing, demo_workspace
from integrations.slack.client import SERVER_ERROR_RETRIES, web_client
from tests.slack.test_slack_inbound import card_of, running
from tests.slack.test_slack_runtime import env, thread_event
from tests.support import FakeClock

__all__ = ["env"]  # a fixture shared with test_slack_runtime


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(demo_workspace(), timing=Timing.fast()) as emulator:
        yield emulator


def counted(metrics: Metrics, name: str) -> float:
    found = metrics.registry.get_sample_value(name, {"platform": "slack"})
    return found or 0.0


async def test_each_429_and_each_retry_is_counted(slack: SlackEmulator) -> None:
    metrics = Metrics(FakeClock())
    settings = Settings(slack_api_url=slack.api_url, slack_bot_token=slack.bot_token)
    client = web_client(settings)
    count_slack(client, metrics)

    slack.faults.fail_next(1, method="conversations.info", status=429)
    found = await client.conversations_info(channel=DEMO.support)
    assert found["ok"]
    assert counted(metrics, "threadline_platform_rate_limited_total") == 1
    assert counted(metrics, "threadline_platform_retries_total") == 1

    # Server errors: retried as the client is told, then given up; no 429 among them.
    slack.faults.fail_next(SERVER_ERROR_RETRIES + 1, method="conversations.info", status=500)
    with pytest.raises(SlackApiError):
        await client.conversations_info(channel=DEMO.support)
    assert counted(metrics, "threadline_platform_retries_total") == 1 + SERVER_ERROR_RETRIES
    assert counted(metrics, "threadline_platform_rate_limited_total") == 1

    # An answer that needs no retry counts nothing.
    await client.conversations_info(channel=DEMO.support)
    assert counted(metrics, "threadline_platform_retries_total") == 1 + SERVER_ERROR_RETRIES


async def test_events_left_over_from_a_crash_are_counted_as_caught_up(
    env: None, slack: SlackEmulator
) -> None:
    """An agent's reply stored (and acknowledged) just before a crash is processed at the next
    start: /metrics counts it under what Slack's catch-up recovered."""
    clock = FakeClock(datetime.now(UTC))
    bot = await running(clock, slack)
    try:
        channel, root = await card_of(bot)
        assert bot.service is not None
        body = json.loads(thread_event("EvLeft", channel, root, DEMO.agent1, "Hi!", "1900000000.1"))
        await bot.service.record_inbound(SLACK, "EvLeft", body)  # stored, then a crash
    finally:
        await bot.stop()
    clock.advance(minutes=1)  # older than what a listener may still hold
    again = await running(clock, slack)
    try:
        assert again.slack is not None
        assert again.slack.recovered == 1
        samples = (await again.metrics.exposition()).decode()
        assert 'threadline_caught_up_total{platform="slack",way="stored"} 1.0' in samples
    finally:
        await again.stop()
