"""Modals and App Home with a real Bolt app: triggers, submissions, response actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from integrations.sandbox.slack import DEMO, SlackEmulator

Connect = Callable[[AsyncApp], Awaitable[None]]
Json = dict[str, Any]


def ticket_modal(title: str = "New ticket") -> Json:
    return {
        "type": "modal",
        "callback_id": "ticket_form",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Open"},
        "notify_on_close": True,
        "blocks": [
            {
                "type": "input",
                "block_id": "desc",
                "label": {"type": "plain_text", "text": "Describe"},
                "element": {"type": "plain_text_input", "action_id": "v"},
            },
            {
                "type": "input",
                "block_id": "prio",
                "label": {"type": "plain_text", "text": "Priority"},
                "element": {
                    "type": "static_select",
                    "action_id": "p",
                    "options": [
                        {"text": {"type": "plain_text", "text": "Low"}, "value": "low"},
                        {"text": {"type": "plain_text", "text": "High"}, "value": "high"},
                    ],
                },
            },
        ],
    }


@pytest.fixture
async def modal_app(bolt_app: AsyncApp, socket_mode: Connect) -> list[Json]:
    """An app whose /ticket opens the form and whose submission validates the description."""
    submitted: list[Json] = []

    @bolt_app.command("/ticket")
    async def open_form(ack: AsyncAck, body: Json, client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=ticket_modal())

    @bolt_app.view("ticket_form")
    async def on_submit(ack: AsyncAck, view: Json) -> None:
        values = view["state"]["values"]
        if len(values["desc"]["v"]["value"]) < 5:
            await ack(response_action="errors", errors={"desc": "Too short"})
            return
        submitted.append(values)
        await ack()

    @bolt_app.view_closed("ticket_form")
    async def on_close(ack: AsyncAck, body: Json) -> None:
        submitted.append({"closed": body["view"]["id"]})
        await ack()

    await socket_mode(bolt_app)
    return submitted


async def test_command_opens_modal_and_submission_round_trip(
    slack: SlackEmulator, modal_app: list[Json]
) -> None:
    agent = slack.user(DEMO.agent1)
    await agent.command("/ticket")
    modal = await slack.wait_for(lambda: agent.modal, timeout=5)
    assert modal.title == "New ticket"

    rejected = await agent.submit({"desc": "no", "prio": "High"})
    assert rejected.response_action == "errors"
    assert agent.modal is not None
    assert agent.modal.errors == {"desc": "Too short"}

    accepted = await agent.submit({"desc": "printer on fire", "prio": "High"})
    assert accepted.acked
    assert agent.modal is None
    assert modal_app[0]["desc"]["v"] == {"type": "plain_text_input", "value": "printer on fire"}
    assert modal_app[0]["prio"]["p"]["selected_option"]["value"] == "high"


async def test_required_input_left_empty_cannot_be_submitted(
    slack: SlackEmulator, modal_app: list[Json]
) -> None:
    agent = slack.user(DEMO.agent1)
    await agent.command("/ticket")
    await slack.wait_for(lambda: agent.modal, timeout=5)
    with pytest.raises(ValueError, match="prio"):
        await agent.submit({"desc": "printer on fire"})


async def test_closing_a_modal_sends_view_closed(
    slack: SlackEmulator, modal_app: list[Json]
) -> None:
    agent = slack.user(DEMO.agent1)
    await agent.command("/ticket")
    modal = await slack.wait_for(lambda: agent.modal, timeout=5)
    ack = await agent.close_modal()
    assert ack is not None
    assert ack.acked
    assert modal_app == [{"closed": modal.id}]


async def test_response_action_update_push_and_clear(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    @bolt_app.shortcut("new_ticket")
    async def open_form(ack: AsyncAck, body: Json, client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=ticket_modal())

    steps = iter(["update", "push", "clear"])

    @bolt_app.view("ticket_form")
    async def on_submit(ack: AsyncAck) -> None:
        action = next(steps)
        if action == "clear":
            await ack(response_action="clear")
        else:
            await ack(response_action=action, view=ticket_modal(title=action))

    await socket_mode(bolt_app)
    agent = slack.user(DEMO.agent2)
    await agent.global_shortcut("new_ticket")
    root = await slack.wait_for(lambda: agent.modal, timeout=5)
    values = {"desc": "printer on fire", "prio": "low"}
    await agent.submit(values)
    assert agent.modal is not None
    assert (agent.modal.id, agent.modal.title) == (root.id, "update")
    await agent.submit(values)
    assert [v.title for v in slack.modals(DEMO.agent2)] == ["update", "push"]
    await agent.submit(values)
    assert slack.modals(DEMO.agent2) == []


async def test_views_open_needs_a_fresh_unused_trigger(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    errors: list[str] = []

    @bolt_app.command("/ticket")
    async def open_twice(ack: AsyncAck, body: Json, client: AsyncWebClient) -> None:
        await ack()
        for trigger in (body["trigger_id"], body["trigger_id"], "123.456.nope"):
            try:
                await client.views_open(trigger_id=trigger, view=ticket_modal())
            except SlackApiError as exc:
                errors.append(exc.response["error"])

    await socket_mode(bolt_app)
    await slack.user(DEMO.agent1).command("/ticket")
    await slack.wait_for(lambda: len(errors) == 2, timeout=5)
    assert errors == ["exchanged_trigger_id", "invalid_trigger_id"]


async def test_expired_trigger_id(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    errors: list[str] = []

    @bolt_app.command("/ticket")
    async def open_late(ack: AsyncAck, body: Json, client: AsyncWebClient) -> None:
        await ack()
        try:
            await client.views_open(trigger_id=body["trigger_id"], view=ticket_modal())
        except SlackApiError as exc:
            errors.append(exc.response["error"])

    # Triggers live 3 s; a negative lifetime makes every trigger already expired.
    slack.timing.trigger_ttl = -1.0
    await socket_mode(bolt_app)
    await slack.user(DEMO.agent1).command("/ticket")
    await slack.wait_for(lambda: errors, timeout=5)
    assert errors == ["expired_trigger_id"]
    assert slack.modals(DEMO.agent1) == []


async def test_invalid_views_are_rejected(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    long_title = ticket_modal(title="x" * 25)
    with pytest.raises(SlackApiError) as caught:
        await web_client.views_publish(user_id=DEMO.agent1, view=ticket_modal())
    assert caught.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as caught:
        await web_client.views_open(trigger_id="1.2.3", view=long_title)
    assert "title" in str(caught.value.response["response_metadata"]["messages"])
    too_many = {"type": "home", "blocks": [{"type": "divider"}] * 101}
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await web_client.views_publish(user_id=DEMO.agent1, view=too_many)
    with pytest.raises(SlackApiError, match="not_found"):
        await web_client.views_update(view_id="VNOPE", view=ticket_modal())


async def test_app_home_opened_and_published_home(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    home = {
        "type": "home",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "Your tickets: 0"}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "refresh",
                        "text": {"type": "plain_text", "text": "Refresh"},
                    }
                ],
            },
        ],
    }
    clicks: list[str] = []

    @bolt_app.event("app_home_opened")
    async def on_home(event: Json, client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view=home)

    @bolt_app.action("refresh")
    async def on_refresh(ack: AsyncAck, body: Json, client: AsyncWebClient) -> None:
        await ack()
        clicks.append(body["container"]["type"])
        view = body["view"]
        updated = {"type": "home", "blocks": [home["blocks"][0]]}
        await client.views_update(view_id=view["id"], hash=view["hash"], view=updated)

    await socket_mode(bolt_app)
    lead = slack.user(DEMO.lead)
    await lead.open_home()
    view = await slack.wait_for(lambda: slack.home(DEMO.lead), timeout=5)
    assert view.blocks[0]["text"]["text"] == "Your tickets: 0"
    await lead.click_in_view("Refresh", home=True)
    await slack.wait_for(lambda: len(view.blocks) == 1, timeout=5)
    assert clicks == ["view"]
    with pytest.raises(SlackApiError, match="hash_conflict"):
        await bolt_app.client.views_update(view_id=view.id, hash="stale.hash", view=home)
