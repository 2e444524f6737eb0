"""Places that go away in the emulated Slack answer with Slack's own error codes: a deleted thread
root, an archived channel, a deleted channel, a wiped workspace."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from integrations.sandbox.slack import DEMO, SlackEmulator


async def error_of(call: object) -> str:
    with pytest.raises(SlackApiError) as raised:
        await call  # type: ignore[misc]
    return str(raised.value.response["error"])


async def test_a_deleted_thread_root_has_no_thread(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    root = await web_client.chat_postMessage(channel=DEMO.support, text="card")
    slack.remove_message(DEMO.support, root["ts"])
    post = web_client.chat_postMessage(channel=DEMO.support, thread_ts=root["ts"], text="hi")
    assert await error_of(post) == "thread_not_found"
    update = web_client.chat_update(channel=DEMO.support, ts=root["ts"], text="card")
    assert await error_of(update) == "message_not_found"


async def test_an_archived_channel_takes_nothing_new(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    root = await web_client.chat_postMessage(channel=DEMO.support, text="card")
    slack.archive_channel(DEMO.support)
    post = web_client.chat_postMessage(channel=DEMO.support, thread_ts=root["ts"], text="hi")
    assert await error_of(post) == "is_archived"
    update = web_client.chat_update(channel=DEMO.support, ts=root["ts"], text="card")
    assert await error_of(update) == "is_archived"
    react = web_client.reactions_add(channel=DEMO.support, timestamp=root["ts"], name="eyes")
    assert await error_of(react) == "is_archived"
    info = await web_client.conversations_info(channel=DEMO.support)
    assert info["channel"]["is_archived"] is True
    assert [m.text for m in slack.messages(DEMO.support)] == ["card"]  # its history stays


async def test_a_deleted_channel_and_a_wiped_workspace(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    root = await web_client.chat_postMessage(channel=DEMO.support, text="card")
    slack.reset()
    assert slack.messages(DEMO.support) == []
    post = web_client.chat_postMessage(channel=DEMO.support, thread_ts=root["ts"], text="hi")
    assert await error_of(post) == "thread_not_found"
    slack.delete_channel(DEMO.escalations)
    post = web_client.chat_postMessage(channel=DEMO.escalations, text="hi")
    assert await error_of(post) == "channel_not_found"
