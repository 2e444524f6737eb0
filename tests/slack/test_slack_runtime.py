"""`threadline run` with Slack: Socket Mode or HTTP mode, request signatures, /healthz."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.app import Bot
from bot.config import load_settings
from bot.core.domain import Direction
from bot.core.events import CustomerMessage
from bot.core.service import TicketService
from integrations.platforms import DISCORD, SLACK
from integrations.sandbox.slack import DEMO, SlackEmulator, Timing, demo_workspace
from integrations.slack.refs import split_ref
from tests.support import eventually


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(demo_workspace(), timing=Timing.fast()) as emulator:
        yield emulator


@pytest.fixture
def env(slack: SlackEmulator, workdir: object, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DATABASE_URL": "sqlite+aiosqlite:///run.db",
        "HTTP_PORT": "0",
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SUPPORT_CHANNEL": DEMO.support,
        "SLACK_AGENTS": DEMO.agent1,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
    }.items():
        monkeypatch.setenv(name, value)


async def started(monkeypatch: pytest.MonkeyPatch, socket_mode: bool, slack: SlackEmulator) -> Bot:
    if socket_mode:
        monkeypatch.setenv("SLACK_APP_TOKEN", slack.app_token)
    bot = Bot(load_settings())
    await bot.start()
    assert bot.server is not None
    if not socket_mode:
        slack.request_url = f"http://127.0.0.1:{bot.server.port}/slack/events"
    return bot


async def health(bot: Bot) -> tuple[int, dict[str, object]]:
    assert bot.server is not None
    url = f"http://127.0.0.1:{bot.server.port}/healthz"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json()


async def round_trip(bot: Bot, slack: SlackEmulator) -> None:
    """A customer writes; the card appears; an agent answers in the thread; it is recorded."""
    service = bot.service
    assert isinstance(service, TicketService)
    intake = await service.receive_customer_message(
        CustomerMessage(DISCORD, "m1", "42", "Dana", "Help!", datetime.now(UTC))
    )

    async def card() -> str | None:
        return (await service.get_ticket(intake.ticket.number)).workspace_ref

    channel, root = split_ref(await eventually(card, what="the card"))
    await slack.user(DEMO.agent1).post(channel, "On my way", thread_ts=root)

    async def replied() -> bool:
        detail = await service.ticket_detail(intake.ticket.number)
        return detail.messages[-1].direction is Direction.TO_CUSTOMER

    await eventually(replied, what="the agent's reply to be recorded")


@pytest.mark.parametrize("socket_mode", [True, False], ids=["socket-mode", "http-mode"])
async def test_the_bot_runs_in_either_mode(
    env: None, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch, socket_mode: bool
) -> None:
    bot = await started(monkeypatch, socket_mode, slack)
    try:
        await round_trip(bot, slack)
        status, report = await health(bot)
        assert status == 200
        assert report == {
            "ready": True,
            "database": "ok",
            "slack": "connected" if socket_mode else "ok",
            "discord": "off",
        }
    finally:
        await bot.stop()


def signed(secret: str, body: str, timestamp: int) -> dict[str, str]:
    base = f"v0:{timestamp}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature,
        "Content-Type": "application/json",
    }


@pytest.mark.parametrize(
    ("secret", "age"),
    [("wrong-secret", 0), (None, 600)],
    ids=["bad-signature", "replayed-old-timestamp"],
)
async def test_unsigned_or_stale_requests_get_401_and_change_nothing(
    env: None, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch, secret: str | None, age: int
) -> None:
    bot = await started(monkeypatch, False, slack)
    try:
        body = json.dumps(
            {
                "type": "event_callback",
                "event_id": "EvForged",
                "team_id": DEMO.team,
                "event": {
                    "type": "message",
                    "channel": DEMO.support,
                    "user": DEMO.agent1,
                    "text": "forged",
                    "ts": "1.1",
                    "thread_ts": "1.0",
                },
            }
        )
        headers = signed(secret or slack.signing_secret, body, int(time.time()) - age)
        assert bot.server is not None
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{bot.server.port}/slack/events"
            async with http.post(url, data=body, headers=headers) as response:
                assert response.status == 401
        assert bot.service is not None
        # Nothing was stored: no raw event, no ticket.
        assert await bot.service.unprocessed(SLACK, timedelta(days=-1)) == []
        assert await bot.service.list_tickets() == []
    finally:
        await bot.stop()


async def test_health_reports_a_lost_slack_connection(
    env: None, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await started(monkeypatch, True, slack)
    try:
        await slack.stop_listening()
        await slack.drop_sockets()

        async def unhealthy() -> dict[str, object] | None:
            status, report = await health(bot)
            return report if status == 503 else None

        report = await eventually(unhealthy, what="health to notice")
        assert report["slack"] == "disconnected"
        assert report["ready"] is False
    finally:
        await slack.start_listening()
        await bot.stop()


def thread_event(event_id: str, channel: str, root: str, user: str, text: str, ts: str) -> str:
    return json.dumps(
        {
            "type": "event_callback",
            "event_id": event_id,
            "team_id": DEMO.team,
            "api_app_id": "A0001",
            "authorizations": [{"team_id": DEMO.team, "user_id": "UBOT", "is_bot": True}],
            "event": {
                "type": "message",
                "channel": channel,
                "channel_type": "channel",
                "user": user,
                "text": text,
                "ts": ts,
                "thread_ts": root,
                "event_ts": ts,
            },
        }
    )


async def deliver_with_retries(bot: Bot, slack: SlackEmulator, body: str) -> None:
    """The original delivery, then Slack's three retries after an http_timeout."""
    assert bot.server is not None
    url = f"http://127.0.0.1:{bot.server.port}/slack/events"
    async with aiohttp.ClientSession() as http:
        for attempt in range(4):
            headers = signed(slack.signing_secret, body, int(time.time()))
            if attempt:
                headers |= {
                    "X-Slack-Retry-Num": str(attempt),
                    "X-Slack-Retry-Reason": "http_timeout",
                }
            async with http.post(url, data=body, headers=headers) as response:
                assert response.status == 200


async def test_an_event_retried_three_times_is_processed_once(
    env: None,
    slack: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="integrations.slack.desk")
    bot = await started(monkeypatch, False, slack)
    try:
        assert bot.service is not None
        service = bot.service
        intake = await service.receive_customer_message(
            CustomerMessage(DISCORD, "m1", "42", "Dana", "Help!", datetime.now(UTC))
        )

        async def card() -> str | None:
            return (await service.get_ticket(intake.ticket.number)).workspace_ref

        channel, root = split_ref(await eventually(card, what="the card"))
        reply = "Sent once, whatever Slack does"
        await deliver_with_retries(
            bot, slack, thread_event("EvReply", channel, root, DEMO.agent1, reply, "1900000000.1")
        )
        # Someone who is no agent writes in the thread: each processing of the event would
        # tell them again, and nothing but the event_id tells the retries apart from it.
        stranger = thread_event("EvStranger", channel, root, DEMO.agent2, "Hi", "1900000000.2")
        await deliver_with_retries(bot, slack, stranger)

        detail = await service.ticket_detail(intake.ticket.number)
        replies = [m.body for m in detail.messages if m.direction is Direction.TO_CUSTOMER]
        assert replies == [reply]
        told = [e.text for e in slack.ephemerals(DEMO.agent2)]
        assert len(told) == 1
        assert told[0].startswith("Only support agents")
        dropped = [r.getMessage() for r in caplog.records if "redelivered" in r.getMessage()]
        assert dropped == 3 * ["Slack redelivered event EvReply; dropping it"] + 3 * [
            "Slack redelivered event EvStranger; dropping it"
        ]
    finally:
        await bot.stop()


async def test_the_running_bot_checkpoints_its_sqlite_log_off_the_loop(
    env: None, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot's own connections leave the write-ahead log alone (storage/wal.py): its
    checkpointer runs while the bot does, and copies what the bot wrote."""
    bot = await started(monkeypatch, False, slack)
    try:
        checkpoints = bot.checkpoints
        assert checkpoints is not None
        assert bot.service is not None
        await bot.service.receive_customer_message(
            CustomerMessage(DISCORD, "m1", "42", "Dana", "Help!", datetime.now(UTC))
        )

        async def copied() -> bool:
            last = checkpoints.last
            return last is not None and last[1] > 0 and last[2] == last[1]

        await eventually(copied, what="a checkpoint of what the bot wrote")
    finally:
        await bot.stop()
