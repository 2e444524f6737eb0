"""The Web API through the real AsyncWebClient: shapes, errors, limits of text and blocks."""

from __future__ import annotations

from dataclasses import replace

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from integrations.sandbox.slack import DEMO, SlackEmulator, demo_workspace


def section(text: str, block_id: str | None = None) -> dict[str, object]:
    block: dict[str, object] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


async def test_auth_test_gives_bolt_what_it_caches(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    response = await web_client.auth_test()
    assert response["user_id"] == DEMO_BOT_USER
    assert response["bot_id"] == "BBOT"
    assert response["team_id"] == DEMO.team
    assert "chat:write" in response.headers["x-oauth-scopes"]


DEMO_BOT_USER = "UBOT"


async def test_post_message_shape_and_unique_ts(web_client: AsyncWebClient) -> None:
    first = await web_client.chat_postMessage(channel=DEMO.support, text="one")
    second = await web_client.chat_postMessage(channel=DEMO.support, text="two")
    assert first["channel"] == DEMO.support
    assert first["message"]["bot_id"] == "BBOT"
    assert first["message"]["user"] == DEMO_BOT_USER
    assert float(second["ts"]) > float(first["ts"])


async def test_a_post_under_another_name_shows_that_name_and_icon(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    # With chat:write.customize (the demo app has it) Slack shows the given name and picture.
    url = "https://cdn.example/alice.png"
    await web_client.chat_postMessage(
        channel=DEMO.support, text="hello", username="Alice (Discord)", icon_url=url
    )
    history = await web_client.conversations_history(channel=DEMO.support)
    shown = history["messages"][0]
    assert shown["username"] == "Alice (Discord)"
    assert shown["icons"] == {"image_48": url}
    assert shown["bot_id"] == "BBOT"


async def test_without_the_customize_scope_the_name_is_the_apps() -> None:
    seed = replace(
        demo_workspace(),
        bot_scopes=tuple(s for s in demo_workspace().bot_scopes if s != "chat:write.customize"),
    )
    async with SlackEmulator(seed) as plain:
        client = AsyncWebClient(token=plain.bot_token, base_url=plain.api_url)
        await client.chat_postMessage(channel=DEMO.support, text="hello", username="Someone")
        assert "username" not in plain.messages(DEMO.support)[0].to_api()


async def test_extra_team_id_parameter_is_ignored(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    # Bolt's per-request clients add team_id to every call.
    await web_client.chat_postMessage(channel=DEMO.support, text="hi", team_id=DEMO.team)
    await web_client.conversations_info(channel=DEMO.support, team_id=DEMO.team)
    assert [m.text for m in slack.messages(DEMO.support)] == ["hi"]


async def test_post_by_channel_name_and_to_a_user_id_opens_the_dm(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    await web_client.chat_postMessage(channel="#escalations", text="named")
    await web_client.chat_postMessage(channel=DEMO.agent1, text="direct")
    assert slack.messages(DEMO.escalations)[0].text == "named"
    assert [m.text for m in slack.dm(DEMO.agent1)] == ["direct"]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ({"channel": "CNOPE", "text": "x"}, "channel_not_found"),
        ({"channel": DEMO.support, "text": "x", "thread_ts": "1.000001"}, "thread_not_found"),
    ],
)
async def test_post_message_errors(
    web_client: AsyncWebClient, call: dict[str, str], error: str
) -> None:
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(**call)
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == error


async def test_post_without_text_or_blocks_is_no_text(web_client: AsyncWebClient) -> None:
    with (
        pytest.warns(UserWarning, match="text"),
        pytest.raises(SlackApiError, match="no_text"),
    ):
        await web_client.chat_postMessage(channel=DEMO.support)


async def test_bot_cannot_post_where_it_is_not_a_member(slack: SlackEmulator) -> None:
    seed = slack.seed
    slack.workspace.channels[DEMO.leads].members.discard(seed.bot.user_id)
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    with pytest.raises(SlackApiError, match="not_in_channel"):
        await client.chat_postMessage(channel=DEMO.leads, text="x")


@pytest.mark.parametrize(
    ("token", "error"),
    [("xoxb-wrong", "invalid_auth"), ("xapp-1-A0001-demo-app-token", "not_allowed_token_type")],
)
async def test_bad_tokens(slack: SlackEmulator, token: str, error: str) -> None:
    client = AsyncWebClient(token=token, base_url=slack.api_url)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=DEMO.support, text="x")
    assert caught.value.response["error"] == error
    assert slack.calls[-1].error == error


async def test_missing_token_is_not_authed(slack: SlackEmulator) -> None:
    client = AsyncWebClient(base_url=slack.api_url)
    with pytest.raises(SlackApiError, match="not_authed"):
        await client.auth_test()


async def test_text_over_40000_chars_is_truncated_with_a_warning(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    response = await web_client.chat_postMessage(channel=DEMO.support, text="x" * 40_050)
    assert response["response_metadata"]["warnings"] == ["message_truncated"]
    assert len(slack.message(DEMO.support, response["ts"]).text) == 40_000


async def test_update_over_40000_chars_is_msg_too_long(web_client: AsyncWebClient) -> None:
    posted = await web_client.chat_postMessage(channel=DEMO.support, text="short")
    with pytest.raises(SlackApiError, match="msg_too_long"):
        await web_client.chat_update(channel=DEMO.support, ts=posted["ts"], text="y" * 40_001)


async def test_fifty_blocks_pass_fifty_one_fail(web_client: AsyncWebClient) -> None:
    blocks = [section(f"line {i}") for i in range(50)]
    await web_client.chat_postMessage(channel=DEMO.support, text="ok", blocks=blocks)
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(
            channel=DEMO.support, text="x", blocks=[*blocks, section("one too many")]
        )
    assert caught.value.response["error"] == "invalid_blocks"
    assert "[json-pointer:/blocks]" in caught.value.response["errors"][0]


async def test_section_text_over_3000_chars_is_invalid_blocks(web_client: AsyncWebClient) -> None:
    await web_client.chat_postMessage(channel=DEMO.support, text="ok", blocks=[section("a" * 3000)])
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(
            channel=DEMO.support, text="x", blocks=[section("a" * 3001)]
        )
    assert caught.value.response["errors"] == [
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]


async def test_update_and_delete_only_own_messages(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    posted = await web_client.chat_postMessage(channel=DEMO.support, text="draft")
    updated = await web_client.chat_update(channel=DEMO.support, ts=posted["ts"], text="final")
    assert updated["message"]["edited"]["user"] == DEMO_BOT_USER
    assert slack.message(DEMO.support, posted["ts"]).text == "final"
    human_ts = await slack.user(DEMO.agent1).post(DEMO.support, "mine")
    with pytest.raises(SlackApiError, match="cant_update_message"):
        await web_client.chat_update(channel=DEMO.support, ts=human_ts, text="hijack")
    with pytest.raises(SlackApiError, match="cant_delete_message"):
        await web_client.chat_delete(channel=DEMO.support, ts=human_ts)
    await web_client.chat_delete(channel=DEMO.support, ts=posted["ts"])
    assert [m.text for m in slack.messages(DEMO.support)] == ["mine"]
    with pytest.raises(SlackApiError, match="message_not_found"):
        await web_client.chat_update(channel=DEMO.support, ts=posted["ts"], text="gone")


async def test_ephemeral_is_seen_by_one_person_only(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    response = await web_client.chat_postEphemeral(
        channel=DEMO.support, user=DEMO.agent2, text="psst"
    )
    assert response["message_ts"]
    assert [e.text for e in slack.ephemerals(DEMO.agent2)] == ["psst"]
    assert slack.ephemerals(DEMO.agent1) == []
    assert slack.messages(DEMO.support) == []
    with pytest.raises(SlackApiError, match="user_not_in_channel"):
        await web_client.chat_postEphemeral(channel=DEMO.leads, user=DEMO.agent1, text="no")
    with pytest.raises(SlackApiError, match="user_not_found"):
        await web_client.chat_postEphemeral(channel=DEMO.support, user="UNOBODY", text="no")


async def test_threads_history_replies_and_permalink(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    parent = await web_client.chat_postMessage(channel=DEMO.support, text="ticket #1")
    await slack.user(DEMO.agent1).post(DEMO.support, "claimed", thread_ts=parent["ts"])
    await web_client.chat_postMessage(channel=DEMO.support, text="noted", thread_ts=parent["ts"])
    await web_client.chat_postMessage(channel=DEMO.support, text="ticket #2")

    history = await web_client.conversations_history(channel=DEMO.support)
    assert [m["text"] for m in history["messages"]] == ["ticket #2", "ticket #1"]
    assert history["messages"][1]["reply_count"] == 2
    assert history["messages"][1]["reply_users"] == [DEMO.agent1, DEMO_BOT_USER]

    replies = await web_client.conversations_replies(channel=DEMO.support, ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["ticket #1", "claimed", "noted"]
    link = await web_client.chat_getPermalink(channel=DEMO.support, message_ts=parent["ts"])
    assert link["permalink"].startswith(slack.base_url)
    with pytest.raises(SlackApiError, match="thread_not_found"):
        await web_client.conversations_replies(channel=DEMO.support, ts="1.000000")


async def test_history_paginates_with_cursor(web_client: AsyncWebClient) -> None:
    for i in range(5):
        await web_client.chat_postMessage(channel=DEMO.support, text=f"m{i}")
    first = await web_client.conversations_history(channel=DEMO.support, limit=2)
    assert first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    second = await web_client.conversations_history(channel=DEMO.support, limit=2, cursor=cursor)
    texts = [m["text"] for m in first["messages"] + second["messages"]]
    assert texts == ["m4", "m3", "m2", "m1"]


async def test_conversations_open_and_info(web_client: AsyncWebClient) -> None:
    opened = await web_client.conversations_open(users=DEMO.agent1)
    again = await web_client.conversations_open(users=DEMO.agent1)
    assert opened["channel"]["id"] == again["channel"]["id"]
    assert again["already_open"] is True
    info = await web_client.conversations_info(channel=opened["channel"]["id"])
    assert info["channel"]["is_im"] is True
    assert info["channel"]["user"] == DEMO.agent1
    support = await web_client.conversations_info(channel=DEMO.support)
    assert support["channel"]["name"] == "support"
    assert support["channel"]["is_member"] is True
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await web_client.conversations_info(channel="CNOPE")
    with pytest.raises(SlackApiError, match="user_not_found"):
        await web_client.conversations_open(users="UNOBODY")


async def test_users_and_usergroups(web_client: AsyncWebClient) -> None:
    user = await web_client.users_info(user=DEMO.lead)
    assert user["user"]["profile"]["email"] == "carol@demo.test"
    assert user["user"]["is_bot"] is False
    group = await web_client.usergroups_users_list(usergroup=DEMO.leads_group)
    assert group["users"] == [DEMO.lead]
    with pytest.raises(SlackApiError, match="user_not_found"):
        await web_client.users_info(user="UNOBODY")
    with pytest.raises(SlackApiError, match="no_such_subteam"):
        await web_client.usergroups_users_list(usergroup="SNOPE")


async def test_reactions(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    ts = await slack.user(DEMO.agent1).post(DEMO.support, "thanks")
    await web_client.reactions_add(channel=DEMO.support, timestamp=ts, name="eyes")
    assert slack.message(DEMO.support, ts).reactions == {"eyes": [DEMO_BOT_USER]}
    with pytest.raises(SlackApiError, match="already_reacted"):
        await web_client.reactions_add(channel=DEMO.support, timestamp=ts, name="eyes")
    await web_client.reactions_remove(channel=DEMO.support, timestamp=ts, name="eyes")
    with pytest.raises(SlackApiError, match="no_reaction"):
        await web_client.reactions_remove(channel=DEMO.support, timestamp=ts, name="eyes")
    with pytest.raises(SlackApiError, match="message_not_found"):
        await web_client.reactions_add(channel=DEMO.support, timestamp="1.000000", name="eyes")


async def test_files_upload_v2_three_step_flow(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    parent = await web_client.chat_postMessage(channel=DEMO.support, text="ticket")
    response = await web_client.files_upload_v2(
        channel=DEMO.support,
        content=b"log line 1\nlog line 2\n",
        filename="log.txt",
        title="Customer log",
        initial_comment="attached",
        thread_ts=parent["ts"],
    )
    assert response["file"]["title"] == "Customer log"
    stored = slack.workspace.files[response["file"]["id"]]
    assert stored.content == b"log line 1\nlog line 2\n"
    [reply] = slack.thread(DEMO.support, parent["ts"])
    assert reply.text == "attached"
    assert reply.files[0]["name"] == "log.txt"
    methods = [c.method for c in slack.calls]
    assert methods[-2:] == ["files.getUploadURLExternal", "files.completeUploadExternal"]


async def test_complete_upload_without_bytes_is_file_not_found(web_client: AsyncWebClient) -> None:
    reserved = await web_client.files_getUploadURLExternal(filename="a.txt", length=3)
    with pytest.raises(SlackApiError, match="file_not_found"):
        await web_client.files_completeUploadExternal(
            files=[{"id": reserved["file_id"], "title": "a"}], channel_id=DEMO.support
        )


async def test_args_merge_from_query_form_and_json(slack: SlackEmulator) -> None:
    headers = {"Authorization": f"Bearer {slack.bot_token}"}
    url = f"{slack.api_url}chat.postMessage"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{url}?channel={DEMO.support}", data={"text": "form"}, headers=headers
        ) as response:
            assert (await response.json())["ok"] is True
        async with session.post(
            f"{url}?channel={DEMO.support}", json={"text": "json"}, headers=headers
        ) as response:
            assert (await response.json())["ok"] is True
        async with session.post(
            url, data={"channel": DEMO.support, "text": "token", "token": slack.bot_token}
        ) as response:
            assert response.content_type == "application/json"
            assert (await response.json())["ok"] is True
    assert [m.text for m in slack.messages(DEMO.support)] == ["form", "json", "token"]


async def test_malformed_json_body_is_invalid_json(slack: SlackEmulator) -> None:
    headers = {
        "Authorization": f"Bearer {slack.bot_token}",
        "Content-Type": "application/json; charset=utf-8",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{slack.api_url}chat.postMessage", data=b'{"channel": "C', headers=headers
        ) as response,
    ):
        assert response.status == 200
        assert await response.json() == {"ok": False, "error": "invalid_json"}


async def test_unknown_method_and_call_log(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    with pytest.raises(SlackApiError, match="unknown_method"):
        await web_client.api_call("chat.frobnicate")
    await web_client.chat_postMessage(channel=DEMO.support, text="logged")
    [call] = slack.calls_to("chat.postMessage")
    assert call.ok
    assert call.args["channel"] == DEMO.support
    assert slack.calls_to("chat.frobnicate")[0].error == "unknown_method"
