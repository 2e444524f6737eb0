"""Slack's failures sorted into "try again later" and "never": a message must not be given up
on because Slack answered with something other than JSON."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

from integrations.slack.errors import platform_error


def _refusal(status: int, data: Any, headers: dict[str, str] | None = None) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="http://slack.test/api/chat.postMessage",
        req_args={},
        data=data,
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("refused", response)


def test_a_503_page_that_is_not_json_is_retried() -> None:
    error = platform_error(_refusal(503, "<html>Service Unavailable</html>"))
    assert error.retryable
    assert "HTTP 503" in str(error)


def test_a_rate_limit_carries_its_retry_after() -> None:
    error = platform_error(
        _refusal(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"})
    )
    assert error.retryable
    assert error.retry_after == 7.0


def test_a_refusal_that_will_never_succeed_is_not_retried() -> None:
    error = platform_error(_refusal(200, {"ok": False, "error": "channel_not_found"}))
    assert not error.retryable
    assert "channel_not_found" in str(error)
