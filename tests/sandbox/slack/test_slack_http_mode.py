"""HTTP mode: signed deliveries to a real Bolt web app, and Slack's retry rules."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.say.async_say import AsyncSay
from slack_sdk.web.async_client import AsyncWebClient

from integrations.sandbox.slack import DEMO, SlackEmulator, sign

Serve = Callable[[AsyncApp], Awaitable[str]]
Json = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

BUTTON = [
    {
        "type": "actions",
        "block_id": "acts",
        "elements": [
            {
                "type": "button",
                "action_id": "close",
                "text": {"type": "plain_text", "text": "Close"},
                "value": "9",
            }
        ],
    }
]


async def test_signed_event_reaches_bolt_listener(
    slack: SlackEmulator, bolt_app: AsyncApp, http_mode: Serve
) -> None:
    @bolt_app.message("help")
    async def on_help(message: Json, say: AsyncSay) -> None:
        await say(text="On it", thread_ts=message["ts"])

    await http_mode(bolt_app)
    ts = await slack.user(DEMO.agent1).post(DEMO.support, "help please")
    [reply] = await slack.wait_for(lambda: slack.thread(DEMO.support, ts), timeout=5)
    assert reply.text == "On it"
    first = next(d for d in slack.deliveries if d.transport == "http")
    assert (first.status, first.outcome) == (200, "acked")


async def test_wrong_signing_secret_is_refused_by_bolt(
    slack: SlackEmulator, http_mode: Serve
) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    app = AsyncApp(client=client, signing_secret="not-the-secret")
    handled: list[Json] = []

    @app.event("message")
    async def on_message(event: Json) -> None:
        handled.append(event)

    await http_mode(app)
    await slack.user(DEMO.agent1).post(DEMO.support, "hello")
    tries = await slack.wait_for(lambda: slack.deliveries[3:] and slack.deliveries, timeout=5)
    assert [(d.status, d.outcome) for d in tries] == [(401, "http_error")] * 4
    assert [d.retry_reason for d in tries] == ["", "http_error", "http_error", "http_error"]
    assert handled == []


async def test_button_and_command_over_http(
    slack: SlackEmulator, bolt_app: AsyncApp, http_mode: Serve
) -> None:
    closed: list[str] = []

    @bolt_app.action("close")
    async def on_close(ack: AsyncAck, action: Json) -> None:
        await ack()
        closed.append(action["value"])

    @bolt_app.command("/ticket")
    async def on_ticket(ack: AsyncAck, command: Json) -> None:
        await ack(f"You said {command['text']}")

    await http_mode(bolt_app)
    posted = await bolt_app.client.chat_postMessage(channel=DEMO.support, text="t", blocks=BUTTON)
    click = await slack.user(DEMO.agent1).click(DEMO.support, posted["ts"], "Close")
    assert click.acked
    assert closed == ["9"]
    command = await slack.user(DEMO.agent1).command("/ticket status 9")
    assert command.payload == {"text": "You said status 9"}


@pytest.fixture
async def recorder(slack: SlackEmulator) -> AsyncIterator[Callable[[Handler], Awaitable[None]]]:
    """Serve a bare aiohttp handler as the app's request URL (to script its answers)."""
    runners: list[web.AppRunner] = []

    async def serve(handler: Handler) -> None:
        app = web.Application()
        app.router.add_post("/events", handler)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        slack.request_url = f"http://{host}:{port}/events"

    yield serve
    for runner in runners:
        await runner.cleanup()


async def test_retries_carry_retry_headers_and_signature(
    slack: SlackEmulator, recorder: Callable[[Handler], Awaitable[None]]
) -> None:
    seen: list[tuple[dict[str, str], bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        return web.Response(status=500 if len(seen) == 1 else 200)

    await recorder(handler)
    await slack.user(DEMO.agent1).post(DEMO.support, "hi")
    await slack.wait_for(lambda: len(seen) == 2, timeout=5)
    first, retry = seen[0][0], seen[1][0]
    assert "X-Slack-Retry-Num" not in first
    assert (retry["X-Slack-Retry-Num"], retry["X-Slack-Retry-Reason"]) == ("1", "http_error")
    timestamp = retry["X-Slack-Request-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    assert retry["X-Slack-Signature"] == sign(slack.signing_secret, timestamp, seen[1][1])
    assert json.loads(seen[1][1])["event_id"] == json.loads(seen[0][1])["event_id"]


async def test_no_retry_header_stops_retries(
    slack: SlackEmulator, recorder: Callable[[Handler], Awaitable[None]]
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=503, headers={"X-Slack-No-Retry": "1"})

    await recorder(handler)
    await slack.user(DEMO.agent1).post(DEMO.support, "hi")
    await slack.user(DEMO.agent1).post(DEMO.support, "again")
    await slack.wait_for(lambda: len(slack.deliveries) == 2, timeout=5)
    assert [d.attempt for d in slack.deliveries] == [0, 0]


async def test_timeout_retry_is_sent_while_first_request_still_runs(
    slack: SlackEmulator, recorder: Callable[[Handler], Awaitable[None]]
) -> None:
    gate = asyncio.Event()
    arrivals: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        arrivals.append(request.headers.get("X-Slack-Retry-Reason"))
        if len(arrivals) == 1:
            await gate.wait()
        return web.Response()

    slack.timing.http_timeout = 0.2
    await recorder(handler)
    await slack.user(DEMO.agent1).post(DEMO.support, "slow app")
    await slack.wait_for(lambda: len(arrivals) == 2, timeout=5)
    assert arrivals == [None, "http_timeout"]
    assert not gate.is_set()
    gate.set()
    outcomes = [d.outcome for d in slack.deliveries]
    assert outcomes[:1] == ["http_timeout"]


async def test_interactions_are_not_retried(
    slack: SlackEmulator, recorder: Callable[[Handler], Awaitable[None]]
) -> None:
    bodies: list[Json] = []

    async def handler(request: web.Request) -> web.Response:
        form = parse_qs((await request.read()).decode())
        if "payload" in form:
            bodies.append(json.loads(form["payload"][0]))
            return web.Response(status=500)
        return web.Response()

    await recorder(handler)
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    posted = await client.chat_postMessage(channel=DEMO.support, text="t", blocks=BUTTON)
    ack = await slack.user(DEMO.agent1).click(DEMO.support, posted["ts"], "Close")
    assert not ack.acked
    assert len(bodies) == 1
    assert bodies[0]["type"] == "block_actions"
    assert bodies[0]["actions"][0]["value"] == "9"
    assert bodies[0]["response_url"].startswith(slack.base_url)


async def test_unreachable_app_is_connection_failed(slack: SlackEmulator) -> None:
    runner = web.AppRunner(web.Application(), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    await runner.cleanup()  # the port is now closed
    slack.request_url = f"http://{host}:{port}/events"
    await slack.user(DEMO.agent1).post(DEMO.support, "anyone?")
    tries = await slack.wait_for(lambda: slack.deliveries[3:] and slack.deliveries, timeout=5)
    assert [d.outcome for d in tries] == ["connection_failed"] * 4
    assert tries[-1].retry_reason == "connection_failed"


async def test_view_submission_errors_over_http(
    slack: SlackEmulator, bolt_app: AsyncApp, http_mode: Serve
) -> None:
    form = {
        "type": "modal",
        "callback_id": "note",
        "title": {"type": "plain_text", "text": "Note"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "body",
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "v"},
            }
        ],
    }

    @bolt_app.command("/note")
    async def open_note(ack: AsyncAck, body: Json, client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=form)

    @bolt_app.view("note")
    async def on_note(ack: AsyncAck) -> None:
        await ack(response_action="errors", errors={"body": "Say more"})

    await http_mode(bolt_app)
    agent = slack.user(DEMO.agent1)
    await agent.command("/note")
    await slack.wait_for(lambda: agent.modal, timeout=5)
    ack = await agent.submit({"body": "x"})
    assert ack.payload == {"response_action": "errors", "errors": {"body": "Say more"}}
    assert agent.modal is not None
    assert agent.modal.errors == {"body": "Say more"}


async def test_url_verification_challenge(
    slack: SlackEmulator, bolt_app: AsyncApp, http_mode: Serve
) -> None:
    await http_mode(bolt_app)
    assert await slack.verify_request_url() is True


async def test_switching_to_http_mode_delivers_waiting_events(
    slack: SlackEmulator, bolt_app: AsyncApp, http_mode: Serve
) -> None:
    seen: list[str] = []

    @bolt_app.event("message")
    async def on_message(event: Json) -> None:
        seen.append(event["text"])

    # Posted while no app is reachable at all: the event waits in the backlog.
    await slack.user(DEMO.agent1).post(DEMO.support, "early")
    await http_mode(bolt_app)
    await slack.wait_for(lambda: seen == ["early"], timeout=5)
