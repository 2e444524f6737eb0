"""The Slack Web API client, pointed at SLACK_API_URL, with retries for 429 and 5xx."""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from integrations.proxy import keep_direct

RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2
# A post that failed with no answer (a dropped connection, a server error) may have been made:
# the SDK would repeat it blindly, so it is left to the delivery queue, whose retry looks for
# the post first (integrations/slack/posted.py). Every other call the bot repeats is harmless.
UNSURE_WHEN_UNANSWERED = "chat.postMessage"


class _NotForPosts(AsyncRetryHandler):
    """A retry handler that leaves chat.postMessage alone (see UNSURE_WHEN_UNANSWERED)."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.endswith(UNSURE_WHEN_UNANSWERED):
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


class _ConnectionErrors(_NotForPosts, AsyncConnectionErrorRetryHandler):
    pass


class _ServerErrors(_NotForPosts, AsyncServerErrorRetryHandler):
    pass


def web_client(
    settings: Settings, token: str | None = None, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """A client for the configured Slack API. Bolt copies its base URL, proxy, session and
    retry handlers into the client it makes for every request, so listeners reach the same API.

    Without a `session` slack_sdk opens a new connection for every call; a long-lived one
    keeps connections alive (the caller closes it).
    """
    keep_direct(settings.slack_api_url)
    if token is None and settings.slack_bot_token is not None:
        token = settings.slack_bot_token.get_secret_value()
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        session=session,
        # The SDK retries nothing but dropped connections by default; a 429 would be an error.
        retry_handlers=[
            _ConnectionErrors(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            _ServerErrors(max_retry_count=SERVER_ERROR_RETRIES),
        ],
    )
