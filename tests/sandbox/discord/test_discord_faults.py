"""Rate limits and injected faults as the real discord.py HTTP client experiences them."""

from __future__ import annotations

import asyncio

import aiohttp
import discord
import pytest

from integrations.sandbox.discord import DEMO, DiscordEmulator

SEND = "POST /channels/{channel_id}/messages"


async def support_channel(start_bot) -> discord.TextChannel:
    client = await start_bot()
    channel = client.get_channel(DEMO.support_channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


def statuses(emu: DiscordEmulator, route: str = SEND) -> list[int]:
    return [c.status for c in emu.calls_to(route)]


@pytest.mark.parametrize("is_global", [False, True])
async def test_429_with_via_is_slept_on_and_retried(
    emu: DiscordEmulator, start_bot, is_global: bool
) -> None:
    channel = await support_channel(start_bot)
    emu.faults.rate_limit_next(route=SEND, retry_after=0.01, is_global=is_global)
    await channel.send("eventually")
    assert statuses(emu) == [429, 200]
    assert [m.content for m in emu.channel_messages(DEMO.support_channel_id)] == ["eventually"]


async def test_429_without_via_is_a_cloudflare_ban(emu: DiscordEmulator, start_bot) -> None:
    channel = await support_channel(start_bot)
    emu.faults.cloudflare_ban(route=SEND)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("banned")
    assert caught.value.status == 429
    assert statuses(emu) == [429]


async def test_client_paces_itself_from_bucket_headers(emu: DiscordEmulator, start_bot) -> None:
    channel = await support_channel(start_bot)
    emu.limits.enabled = True
    emu.limits.set_route(SEND, 2, 0.05)
    for n in range(5):
        await channel.send(f"m{n}")
    # discord.py waited on Remaining: 0 instead of running into 429s.
    assert statuses(emu) == [200] * 5
    assert len(emu.channel_messages(DEMO.support_channel_id)) == 5


async def test_5xx_is_retried_by_discord_py(emu: DiscordEmulator, start_bot) -> None:
    channel = await support_channel(start_bot)
    emu.faults.fail_next(1, status=502, route=SEND)  # discord.py sleeps 1 s, then retries
    await channel.send("after a blip")
    assert statuses(emu) == [502, 200]


async def test_503_is_not_retried(emu: DiscordEmulator, start_bot) -> None:
    channel = await support_channel(start_bot)
    emu.faults.fail_next(1, status=503, route=SEND)
    with pytest.raises(discord.DiscordServerError):
        await channel.send("no luck")
    assert statuses(emu) == [503]


async def test_slow_replies(emu: DiscordEmulator, start_bot) -> None:
    channel = await support_channel(start_bot)
    emu.faults.slow(0.1, route=SEND, count=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await channel.send("slowly")
    assert loop.time() - started >= 0.1
    assert statuses(emu) == [200]


async def test_hanging_request_times_out_client(
    emu: DiscordEmulator, http: aiohttp.ClientSession
) -> None:
    emu.faults.hang(route="GET /users/@me")
    with pytest.raises(asyncio.TimeoutError):
        await http.get("/api/v10/users/@me", timeout=aiohttp.ClientTimeout(total=0.1))
    emu.faults.clear()  # releases the parked handler
    assert (await http.get("/api/v10/users/@me")).status == 200


async def test_platform_down_then_up(emu: DiscordEmulator, http: aiohttp.ClientSession) -> None:
    emu.faults.down_for(60)
    response = await http.get("/api/v10/users/@me")
    assert response.status == 502
    assert response.headers["Content-Type"].startswith("text/html")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(emu.gateway_url)
    emu.faults.up()
    assert (await http.get("/api/v10/users/@me")).status == 200


async def test_short_outage_is_ridden_out_by_retries(emu: DiscordEmulator, start_bot) -> None:
    channel = await support_channel(start_bot)
    emu.faults.down_for(0.3)  # shorter than discord.py's first 1 s retry sleep
    await channel.send("after the outage")
    assert statuses(emu) == [502, 200]
    # The outage also dropped the gateway; the client comes back with RESUME.
    await emu.wait_for(lambda: emu.gateway.count("resume"))
