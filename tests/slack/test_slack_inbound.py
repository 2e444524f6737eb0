"""No single Slack request can stop the bot: HTTP-mode answers for malformed requests, events
that fail retried and then set aside (dead letters), replayed clicks ignored."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.app import Bot
from bot.config import load_settings
from bot.core.domain import Actor
from bot.core.events import CustomerMessage
from bot.core.inbound import MAX_ATTEMPTS, InboundState
from bot.core.service import TicketService
from integrations.platforms import DISCORD, SLACK
from integrations.sandbox.slack import DEMO, SlackEmulator
from integrations.slack.desk import SlackDesk
from integrations.slack.refs import split_ref
from tests.slack.test_slack_runtime import env, signed, slack, thread_event
from tests.support import FakeClock, eventually

__all__ = ["env", "slack"]  # fixtures shared with test_slack_runtime


async def running(clock: FakeClock, slack: SlackEmulator) -> Bot:
    bot = Bot(load_settings(), clock=clock)
    await bot.start()
    assert bot.server is not None
    slack.request_url = f"http://127.0.0.1:{bot.server.port}/slack/events"
    return bot


async def post(bot: Bot, body: str, headers: dict[str, str]) -> int:
    assert bot.server is not None
    url = f"http://127.0.0.1:{bot.server.port}/slack/events"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status


async def card_of(bot: Bot) -> tuple[str, str]:
    service = bot.service
    assert service is not None
    intake = await service.receive_customer_message(
        CustomerMessage(DISCORD, "m1", "42", "Dana", "Help!", datetime.now(UTC))
    )

    async def card() -> str | None:
        return (await service.get_ticket(intake.ticket.number)).workspace_ref

    return split_ref(await eventually(card, what="the card"))


def form(fields: dict[str, str], secret: str) -> tuple[str, dict[str, str]]:
    body = urlencode(fields)
    headers = signed(secret, body, int(time.time()))
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return body, headers


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ("{}", {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}, 401),
        ("{}", {"X-Slack-Signature": "v0=00"}, 401),
        ("{}", {"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": "v0=00"}, 401),
        ("{not json", None, 400),
        ('{"type": "event_callback", "x": NaN}', None, 400),
        ('{"a": "\\ud800"}', None, 400),
        ("[1, 2]", "json", 400),
        ("payload=%7Bnot", "form", 400),
        ("payloadx=1", "form", 400),
        ("text=hello", "form", 400),
    ],
    ids=[
        "word-timestamp",
        "no-timestamp",
        "float-timestamp",
        "bad-json",
        "nan",
        "lone-surrogate",
        "json-array",
        "bad-payload",
        "form-without-payload",
        "form-without-command",
    ],
)
async def test_malformed_http_requests_get_400_or_401_never_500(
    env: None,
    slack: SlackEmulator,
    clock: FakeClock,
    body: str,
    headers: dict[str, str] | str | None,
    status: int,
) -> None:
    bot = await running(clock, slack)
    try:
        if not isinstance(headers, dict):
            sent = signed(slack.signing_secret, body, int(time.time()))
            if headers == "form":
                sent["Content-Type"] = "application/x-www-form-urlencoded"
            headers = sent
        assert await post(bot, body, headers) == status
        assert bot.service is not None
        assert await bot.service.inbound_events(dead=False) == []
    finally:
        await bot.stop()


async def test_a_reply_from_someone_slack_cannot_address_does_not_stop_the_bot(
    env: None, slack: SlackEmulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await running(clock, slack)
    try:
        channel, root = await card_of(bot)
        # No such user: the "not an agent" ephemeral fails (user_not_found), and before, so
        # did the event, and every start after it.
        ghost = thread_event("EvGhost", channel, root, "UGHOST01", "hello?", "1900000000.5")
        assert await post(bot, ghost, signed(slack.signing_secret, ghost, int(time.time()))) == 200
        assert bot.service is not None
        assert await bot.service.inbound_events(dead=False) == []  # processed
        assert any("Could not answer Slack user UGHOST01" in r.message for r in caplog.records)
    finally:
        await bot.stop()
    clock.advance(minutes=5)
    again = await running(clock, slack)  # restarts cleanly
    await again.stop()


async def test_an_event_that_always_fails_becomes_a_dead_letter_and_never_stops_start(
    env: None,
    slack: SlackEmulator,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(self: SlackDesk, event: object, event_id: object = None) -> bool:
        raise RuntimeError("cannot handle this one")

    monkeypatch.setattr(SlackDesk, "_message_event", broken)
    body = json.loads(thread_event("EvBad", DEMO.support, "1.0", DEMO.agent1, "hi", "1.1"))
    bot = await running(clock, slack)
    assert bot.service is not None
    assert bot.slack is not None
    await bot.service.record_inbound(SLACK, "EvBad", body)  # stored, then a crash
    await bot.stop()

    clock.advance(minutes=1)
    for _ in range(MAX_ATTEMPTS):  # each start tries it at most once, and starts all the same
        bot = await running(clock, slack)
        assert bot.slack is not None
        await bot.slack.recover()  # never raises
        await bot.slack.retry_pass()
        await bot.stop()
        clock.advance(minutes=10)

    # A dead letter waits for a person: a start leaves it alone, a retry puts it back in line.
    bot = await running(clock, slack)
    try:
        assert bot.slack is not None
        assert bot.service is not None
        await bot.slack.recover()
        [dead] = await bot.service.inbound_events()
        assert (dead.event_id, dead.attempts, dead.state) == (
            "EvBad",
            MAX_ATTEMPTS,
            InboundState.DEAD,
        )
        assert dead.last_error == "RuntimeError: cannot handle this one"
        told = [m.text for m in slack.messages(DEMO.support) if "could not be processed" in m.text]
        assert len(told) == 1
        assert f"/threadline failed show {dead.id}" in told[0]
        dead_letters = [r for r in caplog.records if "dead letter" in r.message]
        assert len(dead_letters) == 1

        monkeypatch.undo()
        await bot.service.retry_dead_letter(dead.id)
        assert await bot.slack.retry_pass() == 1
        assert (await bot.service.inbound_event(dead.id)).state is InboundState.PROCESSED
    finally:
        await bot.stop()


async def test_a_failed_event_is_retried_by_the_running_bot_with_backoff(
    env: None,
    slack: SlackEmulator,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = SlackDesk._thread_reply
    # The first try fails twice: at once (nothing stored), then stored the usual way.
    failures = [RuntimeError("first try fails"), RuntimeError("first try fails")]

    async def flaky(self: SlackDesk, event: dict[str, object], **kwargs: Any) -> bool:
        if failures:
            raise failures.pop()
        # Marked processed in the same transaction as the reply it records.
        return await original(self, event, **kwargs)

    monkeypatch.setattr(SlackDesk, "_thread_reply", flaky)
    bot = await running(clock, slack)
    try:
        assert bot.slack is not None
        assert bot.service is not None
        bot.slack.retries.seconds = 0.01  # the background pass, often: it waits on the clock
        channel, root = await card_of(bot)
        reply = thread_event("EvFlaky", channel, root, DEMO.agent1, "On it", "1900000000.7")
        assert await post(bot, reply, signed(slack.signing_secret, reply, int(time.time()))) == 200
        [waiting] = await bot.service.inbound_events(dead=False)
        assert waiting.attempts == 1
        assert waiting.next_attempt_at == clock.now() + timedelta(seconds=2)
        service = bot.service

        async def processed() -> bool:
            return await service.inbound_events(dead=False) == []

        clock.advance(seconds=2)
        await eventually(processed, what="the retry")
        [ticket] = await service.list_tickets()
        bodies = [m.body for m in (await service.ticket_detail(ticket.number)).messages]
        assert bodies == ["Help!", "On it"]
    finally:
        await bot.stop()


async def test_a_replayed_click_is_acknowledged_and_ignored(
    env: None, slack: SlackEmulator, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await running(clock, slack)
    try:
        assert bot.service is not None
        service = bot.service
        channel, root = await card_of(bot)
        card = slack.message(channel, root)
        actor = slack.user(DEMO.agent1)
        sent: list[dict[str, object]] = []
        original = slack.dispatcher.interactive

        async def keep(payload: dict[str, object], **kw: object) -> object:
            sent.append(payload)
            return await original(payload, **kw)

        monkeypatch.setattr(slack.dispatcher, "interactive", keep)
        await actor.click(channel, card.ts, "Claim")
        [ticket] = await bot.service.list_tickets()

        async def claimed() -> bool:
            return (await service.get_ticket(ticket.number)).assignee is not None

        await eventually(claimed, what="the claim")
        await service.unclaim(ticket.number, Actor.system("a lead"))  # someone lets it go again
        history = len((await bot.service.ticket_detail(ticket.number)).events)

        body, headers = form({"payload": json.dumps(sent[0])}, slack.signing_secret)
        assert await post(bot, body, headers) == 200  # the same click, replayed
        assert (await bot.service.get_ticket(ticket.number)).assignee is None
        assert len((await bot.service.ticket_detail(ticket.number)).events) == history

        await actor.click(channel, card.ts, "Claim")  # a new click does count
        await eventually(claimed, what="the second claim")
    finally:
        await bot.stop()


async def test_an_agents_reply_is_stored_with_its_event_and_anything_else_stored_first(
    env: None, slack: SlackEmulator, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = TicketService.record_inbound
    stored_first: list[str] = []

    async def counted(self: TicketService, platform: Any, event_id: str, body: Any) -> bool:
        stored_first.append(event_id)
        return bool(await record(self, platform, event_id, body))

    monkeypatch.setattr(TicketService, "record_inbound", counted)
    bot = await running(clock, slack)
    try:
        assert bot.service is not None
        service = bot.service
        channel, root = await card_of(bot)
        secret = slack.signing_secret
        reply = thread_event("EvReply", channel, root, DEMO.agent1, "On it", "1900000000.1")
        assert await post(bot, reply, signed(secret, reply, int(time.time()))) == 200
        # Stored with the reply, in its transaction, as processed: not stored first.
        stored = await service.stored_event(SLACK, "EvReply")
        assert stored is not None
        assert stored.state is InboundState.PROCESSED
        assert stored_first == []
        [ticket] = await service.list_tickets()
        bodies = [m.body for m in (await service.ticket_detail(ticket.number)).messages]
        assert bodies == ["Help!", "On it"]

        # A redelivery goes the usual way, and is dropped there.
        assert await post(bot, reply, signed(secret, reply, int(time.time()))) == 200
        assert stored_first == ["EvReply"]
        # Someone who is no agent: stored first, then told once.
        other = thread_event("EvOther", channel, root, DEMO.agent2, "Hi", "1900000000.2")
        assert await post(bot, other, signed(secret, other, int(time.time()))) == 200
        assert stored_first == ["EvReply", "EvOther"]
        stored = await service.stored_event(SLACK, "EvOther")
        assert stored is not None
        assert stored.state is InboundState.PROCESSED
        [told] = [e.text for e in slack.ephemerals(DEMO.agent2)]
        assert told.startswith("Only support agents")
        bodies = [m.body for m in (await service.ticket_detail(ticket.number)).messages]
        assert bodies == ["Help!", "On it"]
    finally:
        await bot.stop()


async def test_a_message_event_of_an_odd_subtype_is_acknowledged_and_changes_nothing(
    env: None, slack: SlackEmulator, clock: FakeClock
) -> None:
    bot = await running(clock, slack)
    try:
        assert bot.service is not None
        channel, root = await card_of(bot)
        odd = json.loads(thread_event("EvOdd", channel, root, DEMO.agent1, "Hi", "1900000000.1"))
        odd["event"]["subtype"] = ["file_share"]  # not a string: no kind of message at all
        body = json.dumps(odd)
        assert await post(bot, body, signed(slack.signing_secret, body, int(time.time()))) == 200
        reply = thread_event("EvReply", channel, root, DEMO.agent1, "On it", "1900000000.2")
        assert await post(bot, reply, signed(slack.signing_secret, reply, int(time.time()))) == 200
        [ticket] = await bot.service.list_tickets()
        bodies = [m.body for m in (await bot.service.ticket_detail(ticket.number)).messages]
        assert bodies == ["Help!", "On it"]
    finally:
        await bot.stop()
