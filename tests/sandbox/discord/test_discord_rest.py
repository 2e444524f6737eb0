"""REST fidelity through raw HTTP: exact content type, error bodies, history paging, uploads."""

from __future__ import annotations

import json

import aiohttp
import pytest

from integrations.sandbox.discord import DEMO, DiscordEmulator

API = "/api/v10"
SUPPORT = f"{API}/channels/{DEMO.support_channel_id}/messages"


async def post_message(http: aiohttp.ClientSession, body: object) -> aiohttp.ClientResponse:
    return await http.post(SUPPORT, json=body)


async def test_replies_have_exactly_application_json(http: aiohttp.ClientSession) -> None:
    # discord.py compares the header by string equality; a charset suffix breaks it.
    ok = await http.get(f"{API}/users/@me")
    missing = await http.get(f"{API}/channels/1")
    assert ok.headers["Content-Type"] == "application/json"
    assert missing.headers["Content-Type"] == "application/json"
    me = await ok.json()
    assert me["id"] == str(DEMO.bot_id)
    assert me["bot"] is True


async def test_wrong_token_is_401_with_discord_body(emu: DiscordEmulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.base_url) as anonymous:
        bare = await anonymous.get(f"{API}/users/@me")
        wrong = await anonymous.get(f"{API}/users/@me", headers={"Authorization": "Bot nope"})
        assert bare.status == wrong.status == 401
        assert await wrong.json() == {"message": "401: Unauthorized", "code": 0}


@pytest.mark.parametrize(
    ("path", "status", "code", "message"),
    [
        ("/channels/999", 404, 10003, "Unknown Channel"),
        (f"/channels/{DEMO.support_channel_id}/messages/999", 404, 10008, "Unknown Message"),
        ("/users/999", 404, 10013, "Unknown User"),
    ],
)
async def test_unknown_things_answer_discord_errors(
    http: aiohttp.ClientSession, path: str, status: int, code: int, message: str
) -> None:
    response = await http.get(API + path)
    assert response.status == status
    assert await response.json() == {"message": message, "code": code}


async def test_unknown_interaction_is_10062(http: aiohttp.ClientSession) -> None:
    response = await http.post(f"{API}/interactions/123/nope/callback", json={"type": 4})
    assert response.status == 404
    assert (await response.json())["code"] == 10062


async def test_malformed_json_is_50109(http: aiohttp.ClientSession) -> None:
    response = await http.post(
        SUPPORT, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert await response.json() == {
        "message": "The request body contains invalid JSON.",
        "code": 50109,
    }


def button(custom_id: str, label: str = "Go") -> dict[str, object]:
    return {"type": 2, "style": 1, "label": label, "custom_id": custom_id}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"content": "x" * 2001}, ["content"]),
        ({"embeds": [{"title": str(i)} for i in range(11)]}, ["embeds"]),
        ({"embeds": [{"description": "x" * 3001}, {"description": "y" * 3000}]}, ["embeds"]),
        (
            {"components": [{"type": 1, "components": [button(f"b{r}")]} for r in range(6)]},
            ["components"],
        ),
        (
            {"components": [{"type": 1, "components": [button(f"b{i}") for i in range(6)]}]},
            ["components", "0", "components"],
        ),
        (
            {"components": [{"type": 1, "components": [button("x" * 101)]}]},
            ["components", "0", "components", "0", "custom_id"],
        ),
        (
            {"components": [{"type": 1, "components": [button("same"), button("same")]}]},
            ["components", "0", "components", "1", "custom_id"],
        ),
    ],
)
async def test_limits_answer_invalid_form_body(
    http: aiohttp.ClientSession, body: dict[str, object], path: list[str]
) -> None:
    response = await post_message(http, body)
    assert response.status == 400
    error = await response.json()
    assert error["code"] == 50035
    assert error["message"] == "Invalid Form Body"
    node = error["errors"]
    for key in path:
        node = node[key]
    assert node["_errors"][0]["code"]


async def test_content_of_exactly_2000_is_accepted(http: aiohttp.ClientSession) -> None:
    response = await post_message(http, {"content": "x" * 2000})
    assert response.status == 200


async def test_empty_message_is_50006(http: aiohttp.ClientSession) -> None:
    response = await post_message(http, {"content": ""})
    assert (await response.json())["code"] == 50006


async def test_history_pages_newest_first(
    emu: DiscordEmulator, http: aiohttp.ClientSession
) -> None:
    ids = []
    for n in range(7):
        response = await post_message(http, {"content": f"m{n}"})
        ids.append(int((await response.json())["id"]))

    async def page(**query: int) -> list[int]:
        response = await http.get(SUPPORT, params={k: str(v) for k, v in query.items()})
        return [int(m["id"]) for m in await response.json()]

    assert await page(limit=3) == ids[6:3:-1]
    assert await page(limit=2, before=ids[3]) == [ids[2], ids[1]]
    assert await page(limit=2, after=ids[3]) == [ids[5], ids[4]]
    assert await page(limit=3, around=ids[3]) == [ids[4], ids[3], ids[2]]
    assert await page() == ids[::-1]
    too_many = await http.get(SUPPORT, params={"limit": "101"})
    assert (await too_many.json())["code"] == 50035


async def test_multipart_upload_is_stored_and_served(http: aiohttp.ClientSession) -> None:
    form = aiohttp.FormData(quote_fields=False)
    payload = {"content": "log attached", "attachments": [{"id": 0, "filename": "log.txt"}]}
    form.add_field("payload_json", json.dumps(payload), content_type="application/json")
    form.add_field(
        "files[0]", b"line 1\nline 2\n", filename="log.txt", content_type="application/octet-stream"
    )
    response = await http.post(SUPPORT, data=form)
    message = await response.json()
    attachment = message["attachments"][0]
    assert attachment["filename"] == "log.txt"
    assert attachment["size"] == 14
    assert attachment["url"].startswith("http://127.0.0.1:")
    for key in ("url", "proxy_url"):
        async with aiohttp.ClientSession() as cdn, cdn.get(attachment[key]) as served:
            assert await served.read() == b"line 1\nline 2\n"


async def test_every_reply_carries_rate_limit_headers(
    emu: DiscordEmulator, http: aiohttp.ClientSession
) -> None:
    emu.limits.enabled = True
    emu.limits.set_route("POST /channels/{channel_id}/messages", 2, 30.0)
    first = await post_message(http, {"content": "a"})
    second = await post_message(http, {"content": "b"})
    third = await post_message(http, {"content": "c"})
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert second.headers["X-RateLimit-Remaining"] == "0"
    for name in ("X-RateLimit-Reset", "X-RateLimit-Reset-After", "X-RateLimit-Bucket"):
        assert name in first.headers
    assert third.status == 429
    assert third.headers["Via"] == "1.1 google"
    assert third.headers["X-RateLimit-Scope"] == "user"
    body = await third.json()
    assert body["message"] == "You are being rate limited."
    assert body["global"] is False
    assert 0 < body["retry_after"] <= 30.0
    assert int(third.headers["Retry-After"]) >= 1


async def test_buckets_are_split_by_channel(
    emu: DiscordEmulator, http: aiohttp.ClientSession
) -> None:
    emu.limits.enabled = True
    emu.limits.set_route("POST /channels/{channel_id}/messages", 1, 30.0)
    dm = await http.post(f"{API}/users/@me/channels", json={"recipient_id": str(DEMO.customer_id)})
    dm_id = (await dm.json())["id"]
    assert (await post_message(http, {"content": "a"})).status == 200
    other = await http.post(f"{API}/channels/{dm_id}/messages", json={"content": "b"})
    assert other.status == 200
    assert (await post_message(http, {"content": "c"})).status == 429


async def test_global_limit_spares_interaction_callbacks(
    emu: DiscordEmulator, http: aiohttp.ClientSession
) -> None:
    emu.limits.enabled = True
    emu.limits.global_limit = 3
    emu.limits.global_window = 30.0
    for _ in range(3):
        assert (await http.get(f"{API}/users/@me")).status == 200
    refused = await http.get(f"{API}/users/@me")
    assert refused.status == 429
    assert refused.headers["X-RateLimit-Global"] == "true"
    assert (await refused.json())["global"] is True
    # Interaction endpoints are not bound by the global limit: this reaches the handler (404).
    callback = await http.post(f"{API}/interactions/1/x/callback", json={"type": 4})
    assert callback.status == 404


async def test_calls_are_logged_with_route_and_status(
    emu: DiscordEmulator, http: aiohttp.ClientSession
) -> None:
    await http.get(f"{API}/channels/{DEMO.support_channel_id}")
    await http.get(f"{API}/channels/42")
    routes = [(c.method, c.route, c.status) for c in emu.calls]
    assert routes == [
        ("GET", "/channels/{channel_id}", 200),
        ("GET", "/channels/{channel_id}", 404),
    ]
    assert emu.calls[1].path == "/channels/42"


async def test_unknown_route_is_a_json_404(http: aiohttp.ClientSession) -> None:
    response = await http.get(f"{API}/no/such/route")
    assert response.status == 404
    assert response.headers["Content-Type"] == "application/json"
    assert await response.json() == {"message": "404: Not Found", "code": 0}


async def test_login_endpoints_have_the_keys_discord_py_needs(
    http: aiohttp.ClientSession,
) -> None:
    app = await (await http.get(f"{API}/oauth2/applications/@me")).json()
    for key in ("id", "name", "description", "icon", "bot_public", "owner", "verify_key", "flags"):
        assert key in app
    assert app["id"] == str(DEMO.application_id)
    gateway = await (await http.get(f"{API}/gateway/bot")).json()
    assert gateway["url"].startswith("ws://127.0.0.1:")
    assert gateway["shards"] == 1
    assert gateway["session_start_limit"]["max_concurrency"] == 1
