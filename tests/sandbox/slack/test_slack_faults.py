"""Rate limits (429 + integer Retry-After) and injected faults, through the real clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from integrations.sandbox.slack import DEMO, Rate, SlackEmulator

Connect = Callable[[AsyncApp], Awaitable[None]]


async def test_limits_are_off_by_default(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    for i in range(20):
        await web_client.chat_postMessage(channel=DEMO.support, text=f"m{i}")
    assert len(slack.messages(DEMO.support)) == 20


async def test_post_message_burst_then_429_with_integer_retry_after(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    slack.limits.enabled = True
    slack.limits.set_rate("chat.postMessage", Rate(1, 1.0, burst=3))
    for i in range(3):
        await web_client.chat_postMessage(channel=DEMO.support, text=f"m{i}")
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel=DEMO.support, text="too fast")
    response = caught.value.response
    assert response.status_code == 429
    assert response["error"] == "ratelimited"
    assert response.headers["retry-after"] == "1"
    # The limit is per channel: another channel still has its burst.
    await web_client.chat_postMessage(channel=DEMO.escalations, text="elsewhere")
    assert slack.calls[-2].status == 429


async def test_rate_limit_retry_handler_waits_and_succeeds(slack: SlackEmulator) -> None:
    slack.limits.enabled = True
    slack.limits.set_rate("chat.postMessage", Rate(1, 1.0, burst=1))
    client = AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    await client.chat_postMessage(channel=DEMO.support, text="first")
    await client.chat_postMessage(channel=DEMO.support, text="second")
    assert [m.text for m in slack.messages(DEMO.support)] == ["first", "second"]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [200, 429, 200]


async def test_tiered_method_limit(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    slack.limits.enabled = True
    slack.limits.set_rate("users.info", Rate(2, 60, burst=2))
    await web_client.users_info(user=DEMO.agent1)
    await web_client.users_info(user=DEMO.agent2)
    with pytest.raises(SlackApiError) as caught:
        await web_client.users_info(user=DEMO.lead)
    assert int(caught.value.response.headers["retry-after"]) >= 30
    await web_client.auth_test()  # other methods have their own buckets


async def test_next_calls_fail_with_server_error(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    slack.faults.fail_next(1, method="chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel=DEMO.support, text="x")
    assert caught.value.response.status_code == 500
    await web_client.chat_postMessage(channel=DEMO.support, text="y")
    assert [m.text for m in slack.messages(DEMO.support)] == ["y"]


async def test_server_error_retry_handler_recovers(slack: SlackEmulator) -> None:
    slack.faults.fail_next(2, status=503)
    fast = FixedValueRetryIntervalCalculator(fixed_internal=0.01)
    client = AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=2, interval_calculator=fast)],
    )
    await client.chat_postMessage(channel=DEMO.support, text="eventually")
    assert [c.status for c in slack.calls] == [503, 503, 200]


async def test_slow_and_hanging_answers_hit_the_client_timeout(slack: SlackEmulator) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, timeout=0.2)
    slack.faults.slow(0.05, method="auth.test", count=1)
    await client.auth_test()
    slack.faults.hang(method="auth.test")
    with pytest.raises(TimeoutError):
        await client.auth_test()
    slack.faults.clear()
    await client.auth_test()


async def test_outage_refuses_connections_then_recovers(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    port = slack.port
    await slack.faults.outage(60)
    assert slack.faults.down
    with pytest.raises(aiohttp.ClientConnectionError):
        await web_client.auth_test()
    await slack.faults.end_outage()
    assert slack.port == port
    await web_client.auth_test()


async def test_outage_in_503_mode(slack: SlackEmulator) -> None:
    client = AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[AsyncConnectionErrorRetryHandler()],
    )
    await slack.faults.outage(60, refuse=False)
    with pytest.raises(SlackApiError) as caught:
        await client.auth_test()
    assert caught.value.response.status_code == 503
    await slack.faults.end_outage()
    await client.auth_test()


async def test_socket_mode_app_comes_back_after_outage_and_gets_queued_events(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    seen: list[str] = []

    @bolt_app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        seen.append(event["text"])

    await socket_mode(bolt_app)
    await slack.faults.outage(60)
    assert slack.connections == 0
    await slack.user(DEMO.agent1).post(DEMO.support, "during outage")
    await slack.faults.end_outage()
    await slack.wait_for(lambda: seen == ["during outage"], timeout=10)
    assert slack.hub.opened == 2
