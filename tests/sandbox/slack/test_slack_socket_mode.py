"""A real Bolt AsyncApp in Socket Mode against the emulator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.say.async_say import AsyncSay
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from integrations.sandbox.slack import DEMO, SlackEmulator

Connect = Callable[[AsyncApp], Awaitable[None]]
Json = dict[str, Any]

CLAIM_BLOCKS = [
    {
        "type": "section",
        "block_id": "ticket",
        "text": {"type": "mrkdwn", "text": "Ticket #7: printer"},
        "accessory": {
            "type": "button",
            "action_id": "claim",
            "text": {"type": "plain_text", "text": "Claim"},
            "value": "7",
        },
    }
]


async def test_hello_first_and_acks_recorded(slack: SlackEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{slack.api_url}apps.connections.open",
            headers={"Authorization": f"Bearer {slack.app_token}"},
        ) as response:
            url = (await response.json())["url"]
        assert url.startswith(f"ws://127.0.0.1:{slack.port}/link/?ticket=")
        async with session.ws_connect(url) as ws:
            hello = await ws.receive_json()
            assert hello["type"] == "hello"
            assert hello["connection_info"] == {"app_id": "A0001"}
            await slack.user(DEMO.agent1).post(DEMO.support, "hi")
            envelope = await ws.receive_json()
            assert envelope["type"] == "events_api"
            assert envelope["retry_attempt"] == 0
            assert envelope["accepts_response_payload"] is False
            assert envelope["payload"]["event"]["text"] == "hi"
            await ws.send_str(json.dumps({"envelope_id": envelope["envelope_id"]}))
            await slack.wait_for(lambda: slack.hub.acks, timeout=2)
        # A ticket is good for one connection only.
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url)
        assert refused.value.status == 401


async def test_wrong_app_token_is_invalid_auth(slack: SlackEmulator) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{slack.api_url}apps.connections.open",
            headers={"Authorization": "Bearer xapp-1-wrong"},
        ) as response,
    ):
        assert await response.json() == {"ok": False, "error": "invalid_auth"}


async def test_self_events_are_echoed_and_bolt_ignores_them(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    seen: list[Json] = []

    @bolt_app.event("message")
    async def on_message(event: Json, say: AsyncSay) -> None:
        seen.append(event)
        await say(text="On it", thread_ts=event["ts"])

    await socket_mode(bolt_app)
    ts = await slack.user(DEMO.agent1).post(DEMO.support, "help")
    await slack.wait_for(lambda: slack.thread(DEMO.support, ts), timeout=5)
    echo = await slack.wait_for(
        lambda: [b for b in slack.dispatcher.sent_events if b["event"].get("bot_id")], timeout=5
    )
    assert echo[0]["event"]["user"] == slack.bot_user_id
    assert "subtype" not in echo[0]["event"]
    echo_id = echo[0]["event_id"]
    await slack.wait_for(
        lambda: any(d.id == echo_id and d.outcome == "acked" for d in slack.deliveries), timeout=5
    )
    assert [e["text"] for e in seen] == ["help"]
    assert len(slack.calls_to("auth.test")) >= 1


async def test_unacked_event_is_redelivered_with_retry_attempt(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    # No listener matches: Bolt answers 404 and sends no ack at all.
    slack.timing.ack_timeout = 0.2
    await socket_mode(bolt_app)
    await slack.user(DEMO.agent1).post(DEMO.support, "nobody listens")
    attempts = await slack.wait_for(
        lambda: [d for d in slack.deliveries if d.kind == "events_api"][3:], timeout=5
    )
    tries = [d for d in slack.deliveries if d.kind == "events_api"]
    assert [d.attempt for d in tries] == [0, 1, 2, 3]
    assert [d.retry_reason for d in tries] == ["", "timeout", "timeout", "timeout"]
    assert all(d.outcome == "no_ack" for d in tries)
    assert attempts


async def test_bolt_sees_retry_num_on_redelivery(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    # Bolt (>= 1.29) turns retry_attempt/retry_reason into x-slack-retry-* headers; the first
    # delivery carries retry_attempt 0, so Bolt shows "0" (HTTP mode sends no header then).
    retries: list[tuple[str, str]] = []

    @bolt_app.middleware
    async def refuse_first(req: AsyncBoltRequest, resp: BoltResponse, next: Any) -> Any:
        retry = req.headers.get("x-slack-retry-num", ["?"])[0]
        retries.append((retry, req.headers.get("x-slack-retry-reason", ["?"])[0]))
        if retry == "0":
            return None  # no next(): Bolt answers 404, so no ack
        return await next()

    @bolt_app.event("message")
    async def on_message() -> None:
        return None

    slack.timing.ack_timeout = 0.2
    await socket_mode(bolt_app)
    await slack.user(DEMO.agent1).post(DEMO.support, "retry me")
    await slack.wait_for(lambda: any(d.outcome == "acked" for d in slack.deliveries), timeout=5)
    assert retries == [("0", ""), ("1", "timeout")]


async def test_disconnect_makes_bolt_reconnect_through_a_new_url(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    seen: list[str] = []

    @bolt_app.event("message")
    async def on_message(event: Json) -> None:
        seen.append(event["text"])

    await socket_mode(bolt_app)
    assert len(slack.calls_to("apps.connections.open")) == 1
    assert await slack.disconnect() == 1
    await slack.wait_for(lambda: slack.hub.opened == 2 and slack.connections == 1, timeout=5)
    assert len(slack.calls_to("apps.connections.open")) == 2
    await slack.user(DEMO.agent1).post(DEMO.support, "after reconnect")
    await slack.wait_for(lambda: seen == ["after reconnect"], timeout=5)


async def test_dropped_socket_reconnects_and_queued_events_arrive(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    seen: list[str] = []

    @bolt_app.event("message")
    async def on_message(event: Json) -> None:
        seen.append(event["text"])

    await socket_mode(bolt_app)
    assert await slack.faults.drop_sockets() == 1
    await slack.user(DEMO.agent1).post(DEMO.support, "while away")
    await slack.wait_for(lambda: seen == ["while away"], timeout=5)
    assert slack.hub.opened == 2


async def test_each_envelope_goes_to_one_of_several_connections(
    slack: SlackEmulator, socket_mode: Connect
) -> None:
    seen: dict[str, list[str]] = {"a": [], "b": []}

    def recorder(bucket: list[str]) -> Callable[[Json], Awaitable[None]]:
        async def on_message(event: Json) -> None:
            bucket.append(event["text"])

        return on_message

    for bucket in seen.values():
        app = AsyncApp(client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url))
        app.event("message")(recorder(bucket))
        await socket_mode(app)
    agent = slack.user(DEMO.agent1)
    for i in range(10):
        await agent.post(DEMO.support, f"m{i}")
    await slack.wait_for(lambda: len(seen["a"]) + len(seen["b"]) >= 10, timeout=5)
    assert sorted(seen["a"] + seen["b"]) == sorted(f"m{i}" for i in range(10))
    assert seen["a"]
    assert seen["b"]


async def test_button_click_and_respond_replace_original(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    @bolt_app.action("claim")
    async def on_claim(ack: AsyncAck, body: Json, respond: AsyncRespond) -> None:
        await ack()
        await respond(replace_original=True, text=f"Claimed by <@{body['user']['id']}>")

    await socket_mode(bolt_app)
    posted = await bolt_app.client.chat_postMessage(
        channel=DEMO.support, text="Ticket #7", blocks=CLAIM_BLOCKS
    )
    ack = await slack.user(DEMO.agent2).click(DEMO.support, posted["ts"], "Claim")
    assert ack.acked
    message = await slack.wait_for(
        lambda: (m := slack.message(DEMO.support, posted["ts"])).text.startswith("Claimed") and m,
        timeout=5,
    )
    assert message.text == f"Claimed by <@{DEMO.agent2}>"
    assert message.blocks == []
    assert slack.responses.log[0].ok


async def test_slash_command_ack_text_is_shown_to_the_user(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    commands: list[Json] = []

    @bolt_app.command("/ticket")
    async def on_ticket(ack: AsyncAck, command: Json, respond: AsyncRespond) -> None:
        commands.append(command)
        await ack("Opening a ticket…")
        await respond(response_type="in_channel", text="Ticket #8 opened")

    await socket_mode(bolt_app)
    ack = await slack.user(DEMO.agent1).command("/ticket new printer", channel=DEMO.support)
    assert ack.payload == {"text": "Opening a ticket…"}
    assert [e.text for e in slack.ephemerals(DEMO.agent1)] == ["Opening a ticket…"]
    await slack.wait_for(lambda: slack.messages(DEMO.support), timeout=5)
    assert slack.messages(DEMO.support)[0].text == "Ticket #8 opened"
    assert commands[0]["text"] == "new printer"
    assert commands[0]["channel_id"] == DEMO.support


async def test_command_acked_too_late_counts_as_not_acked(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    gate = asyncio.Event()
    done = asyncio.Event()

    @bolt_app.command("/ticket")
    async def slow(ack: AsyncAck) -> None:
        await gate.wait()
        await ack()
        done.set()

    slack.timing.ack_timeout = 0.2
    await socket_mode(bolt_app)
    ack = await slack.user(DEMO.agent1).command("/ticket")
    assert not ack.acked
    gate.set()
    await asyncio.wait_for(done.wait(), 5)
    await slack.wait_for(lambda: slack.hub.acks, timeout=5)
    assert [d.outcome for d in slack.deliveries if d.kind == "slash_commands"] == ["no_ack"]
