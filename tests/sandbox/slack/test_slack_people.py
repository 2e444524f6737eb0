"""Acting as people: the events each action sends the app, and what people then see."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from integrations.sandbox.slack import (
    DEMO,
    THREADLINE_BOT_EVENTS,
    SlackEmulator,
    SlackError,
    demo_workspace,
    mention,
)

Connect = Callable[[AsyncApp], Awaitable[None]]
Json = dict[str, Any]

MENU = [
    {
        "type": "section",
        "block_id": "prio",
        "text": {"type": "mrkdwn", "text": "Priority?"},
        "accessory": {
            "type": "static_select",
            "action_id": "set_priority",
            "options": [
                {"text": {"type": "plain_text", "text": "Low"}, "value": "low"},
                {"text": {"type": "plain_text", "text": "Urgent"}, "value": "urgent"},
            ],
        },
    },
    {
        "type": "actions",
        "elements": [
            {"type": "button", "action_id": "a_del", "text": {"type": "plain_text", "text": "Del"}},
            {"type": "button", "action_id": "a_eph", "text": {"type": "plain_text", "text": "Eph"}},
        ],
    },
]


@pytest.fixture
async def events(bolt_app: AsyncApp, socket_mode: Connect) -> list[Json]:
    """Every event the Bolt app's listeners receive, in order."""
    received: list[Json] = []

    async def record(event: Json) -> None:
        received.append(event)

    for kind in ("message", "app_mention", "reaction_added", "reaction_removed"):
        bolt_app.event(kind)(record)
    await socket_mode(bolt_app)
    return received


async def test_message_events_carry_channel_type_and_threads(
    slack: SlackEmulator, events: list[Json]
) -> None:
    agent = slack.user(DEMO.agent1)
    parent = await agent.post(DEMO.support, "top level")
    await slack.user(DEMO.agent2).post(DEMO.support, "reply", thread_ts=parent)
    await slack.user(DEMO.lead).post(DEMO.leads, "leads only")
    await agent.dm("hello bot")
    await slack.wait_for(lambda: len(events) == 4, timeout=5)
    top, reply, private, direct = events
    assert (top["channel_type"], top["user"], "thread_ts" in top) == ("channel", DEMO.agent1, False)
    assert top["blocks"][0]["type"] == "rich_text"
    assert (reply["thread_ts"], reply["parent_user_id"]) == (parent, DEMO.agent1)
    assert private["channel_type"] == "group"
    assert direct["channel_type"] == "im"
    assert direct["channel"].startswith("D")
    assert slack.message(DEMO.support, parent).reply_count == 1


async def test_mention_sends_message_and_app_mention(
    slack: SlackEmulator, events: list[Json]
) -> None:
    await slack.user(DEMO.agent1).post(DEMO.support, f"{mention(slack.bot_user_id)} status?")
    await slack.wait_for(lambda: len(events) == 2, timeout=5)
    assert sorted(e["type"] for e in events) == ["app_mention", "message"]


async def test_no_events_from_channels_without_the_bot(
    slack: SlackEmulator, events: list[Json]
) -> None:
    slack.workspace.channels[DEMO.escalations].members.discard(slack.bot_user_id)
    await slack.user(DEMO.agent1).post(DEMO.escalations, "private chatter")
    await slack.user(DEMO.agent1).post(DEMO.support, "visible")
    await slack.wait_for(lambda: events, timeout=5)
    assert [e["text"] for e in events] == ["visible"]


async def test_edit_delete_and_reactions(slack: SlackEmulator, events: list[Json]) -> None:
    agent = slack.user(DEMO.agent1)
    ts = await agent.post(DEMO.support, "original")
    await agent.edit(DEMO.support, ts, "updated")
    with pytest.raises(SlackError, match="cant_update_message"):
        await slack.user(DEMO.agent2).edit(DEMO.support, ts, "not mine")
    await agent.react(DEMO.support, ts, ":thumbsup:")
    await agent.unreact(DEMO.support, ts, "thumbsup")
    await agent.delete(DEMO.support, ts)
    await slack.wait_for(lambda: len(events) == 5, timeout=5)
    _, changed, added, removed, deleted = events
    assert changed["subtype"] == "message_changed"
    assert changed["message"]["text"] == "updated"
    assert changed["previous_message"]["text"] == "original"
    assert changed["message"]["edited"]["user"] == DEMO.agent1
    assert (added["type"], added["reaction"]) == ("reaction_added", "thumbsup")
    assert added["item"] == {"type": "message", "channel": DEMO.support, "ts": ts}
    assert removed["type"] == "reaction_removed"
    assert (deleted["subtype"], deleted["deleted_ts"]) == ("message_deleted", ts)
    assert slack.messages(DEMO.support) == []


async def test_select_shortcut_and_response_url_actions(
    slack: SlackEmulator, bolt_app: AsyncApp, socket_mode: Connect
) -> None:
    picked: list[str] = []
    shortcuts: list[Json] = []

    @bolt_app.action("set_priority")
    async def on_pick(ack: AsyncAck, action: Json, respond: AsyncRespond) -> None:
        await ack()
        picked.append(action["selected_option"]["value"])
        await respond(text="Priority saved")  # ephemeral by default

    @bolt_app.action("a_del")
    async def on_delete(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(delete_original=True)

    @bolt_app.shortcut("escalate")
    async def on_shortcut(ack: AsyncAck, shortcut: Json) -> None:
        await ack()
        shortcuts.append(shortcut)

    await socket_mode(bolt_app)
    posted = await bolt_app.client.chat_postMessage(channel=DEMO.support, text="t", blocks=MENU)
    agent = slack.user(DEMO.agent1)
    await agent.select(DEMO.support, posted["ts"], "Urgent")
    await slack.wait_for(lambda: agent.ephemerals(DEMO.support), timeout=5)
    assert picked == ["urgent"]
    assert agent.ephemerals()[0].text == "Priority saved"

    customer_ts = await agent.post(DEMO.support, "my printer is on fire")
    await agent.shortcut(DEMO.support, customer_ts, "escalate")
    assert shortcuts[0]["message"]["text"] == "my printer is on fire"
    assert shortcuts[0]["type"] == "message_action"

    await agent.click(DEMO.support, posted["ts"], "Del")
    await slack.wait_for(lambda: len(slack.messages(DEMO.support)) == 1, timeout=5)


async def test_response_url_limits(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    url = slack.responses.new(DEMO.agent1, DEMO.support, None, False)
    async with aiohttp.ClientSession() as session:
        for i in range(5):
            async with session.post(url, json={"text": f"r{i}"}) as response:
                assert response.status == 200
        async with session.post(url, json={"text": "sixth"}) as response:
            assert response.status == 404
            assert (await response.json())["error"] == "used_url"
        async with session.post(f"{slack.base_url}/actions/T/nope", json={}) as response:
            assert response.status == 404
    assert len(slack.ephemerals(DEMO.agent1)) == 5


async def test_wait_for_times_out(slack: SlackEmulator) -> None:
    with pytest.raises(TimeoutError):
        await slack.wait_for(lambda: slack.messages(DEMO.support), timeout=0.05)


async def test_clicking_a_missing_button_names_the_ones_there(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    posted = await web_client.chat_postMessage(channel=DEMO.support, text="t", blocks=MENU)
    with pytest.raises(LookupError, match="'Del', 'Eph'"):
        await slack.user(DEMO.agent1).click(DEMO.support, posted["ts"], "Close")


def test_demo_workspace_ids() -> None:
    seed = demo_workspace()
    assert seed.bot_token.startswith("xoxb-")
    assert seed.app_token.startswith("xapp-")
    assert seed.channel_named("#support").id == DEMO.support
    assert {u.id for u in seed.users} == {DEMO.agent1, DEMO.agent2, DEMO.lead, DEMO.member}
    assert seed.channel_named("escalations").id == DEMO.escalations


async def test_shared_files_download_only_with_the_token(slack: SlackEmulator) -> None:
    ts = await slack.user(DEMO.agent1).post(DEMO.support, "see file", files=[("a.txt", b"hi")])
    (shared,) = slack.message(DEMO.support, ts).files
    url = shared["url_private_download"]
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as anonymous:
            assert anonymous.status == 403
        headers = {"Authorization": f"Bearer {slack.bot_token}"}
        async with http.get(url, headers=headers) as allowed:
            assert allowed.status == 200
            assert await allowed.read() == b"hi"
    assert slack.message(DEMO.support, ts).subtype == "file_share"


async def test_an_app_gets_only_the_events_it_subscribed_to(
    slack: SlackEmulator, events: list[Json]
) -> None:
    slack.workspace.seed = replace(slack.workspace.seed, bot_events=THREADLINE_BOT_EVENTS)
    agent = slack.user(DEMO.agent1)
    ts = await agent.post(DEMO.support, f"{mention(slack.bot_user_id)} first")  # no app_mention
    await agent.react(DEMO.support, ts, "thumbsup")  # no reaction_added
    await agent.dm("hello bot")  # no message.im
    await slack.user(DEMO.lead).post(DEMO.leads, "leads only")  # message.groups
    await agent.post(DEMO.support, "last")  # message.channels: events come in order, so
    await slack.wait_for(lambda: any(e.get("text") == "last" for e in events), timeout=5)
    assert [(e["type"], e.get("channel_type")) for e in events] == [
        ("message", "channel"),
        ("message", "group"),
        ("message", "channel"),
    ]
