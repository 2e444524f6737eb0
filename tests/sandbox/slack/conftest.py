"""Fixtures: a started emulator, the real AsyncWebClient, and real Bolt apps in both modes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from integrations.sandbox.slack import SlackEmulator, Timing, demo_workspace

AppFactory = Callable[[AsyncApp], Awaitable[AsyncApp]]


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    """The demo workspace with test timings (tiny ack timeouts and retry delays), sending every
    event: these tests' apps listen for more than Threadline subscribes to."""
    seed = replace(demo_workspace(), bot_events=None)
    async with SlackEmulator(seed, timing=Timing.fast()) as emulator:
        yield emulator


@pytest.fixture
def web_client(slack: SlackEmulator) -> AsyncWebClient:
    """The real slack_sdk client, pointed at the emulator with the bot token."""
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


@pytest.fixture
def bolt_app(slack: SlackEmulator) -> AsyncApp:
    """A real Bolt app whose client talks to the emulator (listeners are added by each test)."""
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    logger = logging.getLogger("tests.bolt")
    return AsyncApp(client=client, signing_secret=slack.signing_secret, logger=logger)


@pytest.fixture
async def socket_mode(slack: SlackEmulator) -> AsyncIterator[Callable[[AsyncApp], Awaitable[None]]]:
    """Connect a Bolt app in Socket Mode (the handler is built inside the running loop)."""
    handlers: list[AsyncSocketModeHandler] = []

    async def connect(app: AsyncApp) -> None:
        handler = AsyncSocketModeHandler(app, app_token=slack.app_token, ping_interval=0.5)
        handlers.append(handler)
        await handler.connect_async()
        await slack.wait_for(lambda: slack.connections >= len(handlers), timeout=5)

    yield connect
    for handler in handlers:
        await handler.close_async()


@pytest.fixture
async def http_mode(slack: SlackEmulator) -> AsyncIterator[Callable[[AsyncApp], Awaitable[str]]]:
    """Serve a Bolt app over HTTP on 127.0.0.1 and point the emulator's request URL at it."""
    runners: list[web.AppRunner] = []

    async def serve(app: AsyncApp) -> str:
        runner = web.AppRunner(app.web_app(path="/slack/events"), handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        slack.request_url = f"http://{host}:{port}/slack/events"
        return slack.request_url

    yield serve
    for runner in runners:
        await runner.cleanup()
