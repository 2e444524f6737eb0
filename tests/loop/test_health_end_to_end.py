"""/healthz of the running bot, asked over HTTP, while each platform goes away and comes back:
the emulator drops the bot's connection and refuses new ones; within 10 s /healthz answers 503
naming that platform disconnected, and 200 again once the platform is back."""

from __future__ import annotations

import aiohttp
import pytest

from bot.app import Bot
from integrations.sandbox.launch import Sandbox
from tests.support import eventually

pytestmark = pytest.mark.e2e

NOTICED_WITHIN = 10.0  # seconds: what operators are promised
# Coming back is up to each library's reconnection: slack_sdk looks every 5 s, discord.py
# backs off up to a minute; the emulators are back at once, so both are much quicker here.
BACK_WITHIN = 30.0

Report = dict[str, object]


async def health(bot: Bot) -> tuple[int, Report]:
    assert bot.server is not None
    url = f"http://127.0.0.1:{bot.server.port}/healthz"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json()


async def says(bot: Bot, status: int, **parts: str) -> Report:
    """Wait until /healthz answers `status` with these parts in these states."""

    async def there() -> Report | None:
        got, report = await health(bot)
        fits = got == status and all(report.get(k) == v for k, v in parts.items())
        return report if fits else None

    within = NOTICED_WITHIN if status == 503 else BACK_WITHIN
    return await eventually(there, what=f"/healthz {status} with {parts}", within=within)


async def test_a_lost_slack_connection_is_reported_and_its_return_too(
    sandbox: Sandbox, bot: Bot
) -> None:
    await says(bot, 200, slack="connected", discord="connected", database="ok")
    await sandbox.slack.stop_listening()  # refuses new connections and cuts the open ones
    await sandbox.slack.drop_sockets()
    report = await says(bot, 503, slack="disconnected")
    assert report == {
        "ready": False,
        "database": "ok",
        "slack": "disconnected",
        "discord": "connected",
    }
    await sandbox.slack.start_listening()
    await says(bot, 200, slack="connected", discord="connected")


async def test_a_lost_discord_gateway_is_reported_and_its_return_too(
    sandbox: Sandbox, bot: Bot
) -> None:
    await says(bot, 200, slack="connected", discord="connected", database="ok")
    gateway = sandbox.discord.gateway
    gateway.hold_connections()  # new connections wait, unanswered, until released
    gateway.drop(None)  # the open one is cut without a close frame
    report = await says(bot, 503, discord="disconnected")
    assert report == {
        "ready": False,
        "database": "ok",
        "slack": "connected",
        "discord": "disconnected",
    }
    gateway.release_connections()
    await says(bot, 200, slack="connected", discord="connected")
