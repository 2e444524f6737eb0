"""A platform back after an outage: what waited for it goes out at once, not when the backoff
it grew to during the outage runs out. The bot's clock is frozen here, so a delivery that
waits out its backoff would wait for ever: only the comeback can send it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import Bot
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from tests.loop.loop_support import ALICE, card, running
from tests.support import FakeClock, eventually

pytestmark = pytest.mark.e2e

RETRIES = 5  # by then the next retry is 16 s away, and doubling


def retried(bot: Bot) -> float:
    return sum(
        sample.value
        for metric in bot.metrics.deliveries.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels.get("outcome") == "retried"
    )


async def test_what_waited_for_slack_goes_out_once_it_is_back(
    sandbox: Sandbox, settings_env: None
) -> None:
    clock = FakeClock(datetime.now(UTC))
    async with running(clock) as bot:
        alice = sandbox.discord.user(ALICE)
        await alice.send_dm("hello")
        root = (await card(sandbox)).ts
        await eventually(
            lambda: _async(bool(sandbox.slack.thread(SLACK.support, root))), what="the message"
        )

        await sandbox.slack.stop_listening()  # Slack away: connections refused
        await sandbox.slack.drop_sockets()
        await alice.send_dm("while Slack is away")
        for attempt in range(1, RETRIES + 1):
            await eventually(lambda n=attempt: _async(retried(bot) >= n), what=f"retry {attempt}")
            clock.advance(minutes=1)  # past this retry's backoff, so the next one comes
        await eventually(lambda: _async(retried(bot) >= RETRIES + 1), what="the last failure")

        await sandbox.slack.start_listening()  # back; the bot's clock does not move

        async def shown() -> bool:
            texts = [m.text for m in sandbox.slack.thread(SLACK.support, root)]
            return "while Slack is away" in texts

        await eventually(shown, what="the message once Slack is back", within=30)


async def _async(value: bool) -> bool:
    return value
