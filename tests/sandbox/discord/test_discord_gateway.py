"""Gateway fidelity: compression, heartbeats, IDENTIFY/READY, RESUME with replay, control ops."""

from __future__ import annotations

import asyncio
import json
import zlib
from dataclasses import replace
from typing import Any

import aiohttp
import discord
import pytest

from integrations.sandbox.discord import (
    DEMO,
    DiscordEmulator,
    EmulatorConfig,
    Intent,
    demo_world,
    pointed_at,
)
from integrations.sandbox.discord.gateway import HEARTBEAT_ACK_DELAY
from integrations.sandbox.discord.testing import sandbox_client

ZLIB_SUFFIX = b"\x00\x00\xff\xff"


@pytest.fixture
def config() -> EmulatorConfig:
    return EmulatorConfig(heartbeat_interval_ms=45000)


class RawGateway:
    """A hand-driven gateway client, for frames discord.py would not send."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.inflate = zlib.decompressobj()
        self.kinds: list[aiohttp.WSMsgType] = []

    async def receive(self) -> dict[str, Any]:
        msg = await asyncio.wait_for(self.ws.receive(), 5)
        self.kinds.append(msg.type)
        if msg.type is aiohttp.WSMsgType.BINARY:
            assert msg.data.endswith(ZLIB_SUFFIX)
            return json.loads(self.inflate.decompress(msg.data))
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        return json.loads(msg.data)

    async def send(self, payload: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(payload))

    async def identify(self, token: str, intents: int = 53608189) -> None:
        await self.send({"op": 2, "d": {"token": token, "intents": intents, "properties": {}}})

    async def close_code(self) -> int | None:
        msg = await asyncio.wait_for(self.ws.receive(), 5)
        assert msg.type is aiohttp.WSMsgType.CLOSE, msg
        return self.ws.close_code


@pytest.fixture
async def raw(emu: DiscordEmulator) -> Any:
    sessions: list[aiohttp.ClientSession] = []

    async def connect(query: str = "?v=10&encoding=json&compress=zlib-stream") -> RawGateway:
        session = aiohttp.ClientSession()
        sessions.append(session)
        return RawGateway(await session.ws_connect(emu.gateway_url + query))

    yield connect
    for session in sessions:
        await session.close()


async def test_a_heartbeat_is_acknowledged_after_a_round_trip(
    emu: DiscordEmulator, raw: Any
) -> None:
    # Not at once: discord.py would take an ACK handled before its send returned for a whole
    # interval of lag, and warn "Can't keep up".
    gw = await raw()
    await gw.receive()  # HELLO
    sent = asyncio.get_running_loop().time()
    await gw.send({"op": 1, "d": None})
    assert (await gw.receive())["op"] == 11
    assert asyncio.get_running_loop().time() - sent >= HEARTBEAT_ACK_DELAY


async def test_zlib_stream_is_one_context_with_sync_flush(emu: DiscordEmulator, raw: Any) -> None:
    gw = await raw()
    hello = await gw.receive()
    assert hello == {"op": 10, "d": {"heartbeat_interval": 45000}, "s": None, "t": None}
    await gw.send({"op": 1, "d": None})
    assert (await gw.receive())["op"] == 11
    await gw.identify(emu.token)
    ready = await gw.receive()
    guild = await gw.receive()
    # Later frames only inflate with the same decompressor: one zlib stream per connection.
    assert ready["t"] == "READY"
    assert ready["s"] == 1
    assert ready["d"]["resume_gateway_url"] == f"ws://127.0.0.1:{emu.port}/resume"
    assert ready["d"]["application"]["id"] == str(DEMO.application_id)
    assert guild["t"] == "GUILD_CREATE"
    assert guild["d"]["member_count"] == len(guild["d"]["members"])
    assert set(gw.kinds) == {aiohttp.WSMsgType.BINARY}


async def test_plain_text_frames_without_compression(emu: DiscordEmulator, raw: Any) -> None:
    gw = await raw("?v=10&encoding=json")
    assert (await gw.receive())["op"] == 10
    await gw.identify(emu.token)
    assert (await gw.receive())["t"] == "READY"
    assert set(gw.kinds) == {aiohttp.WSMsgType.TEXT}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"op": 2, "d": {"token": "wrong", "intents": 0}}, 4004),
        ({"op": 99, "d": None}, 4001),
        ({"op": 8, "d": {"guild_id": str(DEMO.guild_id)}}, 4003),
        ("not json", 4002),
    ],
)
async def test_protocol_errors_close_with_discord_codes(raw: Any, frame: Any, code: int) -> None:
    gw = await raw()
    await gw.receive()
    if isinstance(frame, str):
        await gw.ws.send_str(frame)
    else:
        await gw.send(frame)
    assert await gw.close_code() == code


async def test_second_identify_is_4005(emu: DiscordEmulator, raw: Any) -> None:
    gw = await raw()
    await gw.receive()
    await gw.identify(emu.token)
    await gw.receive()
    await gw.receive()
    await gw.identify(emu.token)
    assert await gw.close_code() == 4005


async def test_resume_of_unknown_session_is_invalid_session(emu: DiscordEmulator, raw: Any) -> None:
    gw = await raw()
    await gw.receive()
    await gw.send({"op": 6, "d": {"token": emu.token, "session_id": "nope", "seq": 3}})
    assert await gw.receive() == {"op": 9, "d": False, "s": None, "t": None}


async def test_discord_py_requests_zlib_stream_and_heartbeats(
    emu: DiscordEmulator, start_bot
) -> None:
    await start_bot()
    connect = next(r for r in emu.gateway.log if r.kind == "connect")
    assert "compress=zlib-stream" in connect.detail
    assert "encoding=json" in connect.detail
    first_beat = next(r for r in emu.gateway.log if r.kind == "heartbeat")
    assert first_beat.detail is None  # sent right after HELLO, before any sequence


async def test_bad_token_login_raises_login_failure(emu: DiscordEmulator) -> None:
    client = sandbox_client()
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()


async def test_bad_token_on_gateway_is_fatal_4004(emu: DiscordEmulator) -> None:
    client = sandbox_client()
    await client.login(emu.token)
    client.http.token = "revoked"  # the token changed between REST login and IDENTIFY
    with pytest.raises(discord.ConnectionClosed) as caught:
        await asyncio.wait_for(client.connect(), 5)
    assert caught.value.code == 4004
    await client.close()


async def test_disallowed_privileged_intent_is_4014() -> None:
    seed = replace(demo_world(), enabled_intents=Intent.GUILD_MEMBERS)
    async with DiscordEmulator(seed) as other:
        with pointed_at(other.api_url, other.gateway_url):
            client = sandbox_client()  # asks for MESSAGE_CONTENT
            await client.login(other.token)
            with pytest.raises(discord.PrivilegedIntentsRequired):
                await asyncio.wait_for(client.connect(), 5)
            await client.close()
    assert any(r.kind == "server_close" and r.detail == 4014 for r in other.gateway.log)


async def received_dm(emu: DiscordEmulator, client: discord.Client, text: str) -> discord.Message:
    waiter = client.wait_for("message", check=lambda m: m.content == text)
    await emu.user(DEMO.customer_id).send_dm(text)
    return await asyncio.wait_for(waiter, 5)


async def test_resume_after_abrupt_drop_replays_missed_events(
    emu: DiscordEmulator, start_bot
) -> None:
    client = await start_bot()
    session_id = client.ws.session_id
    waiter = client.wait_for("message", check=lambda m: m.content == "while you were away")
    emu.gateway.hold_connections()
    assert emu.faults.drop_gateway() == 1  # abrupt: no close frame
    await emu.wait_for(lambda: emu.gateway.count("held"))
    await emu.user(DEMO.customer_id).send_dm("while you were away")  # buffered
    emu.gateway.release_connections()
    message = await asyncio.wait_for(waiter, 5)
    assert message.content == "while you were away"
    assert emu.gateway.count("resume") == 1
    assert emu.gateway.count("identify") == 1
    assert client.ws.session_id == session_id
    resumed_on = [r.detail for r in emu.gateway.log if r.kind == "connect"][-1]
    assert resumed_on.startswith("/resume?")


@pytest.mark.parametrize("code", [4000, 1000])
async def test_server_close_codes_lead_to_resume(
    emu: DiscordEmulator, start_bot, code: int
) -> None:
    client = await start_bot()
    emu.faults.drop_gateway(code)
    await emu.wait_for(lambda: emu.gateway.count("resume"))
    assert (await received_dm(emu, client, f"after {code}")).content == f"after {code}"
    assert emu.gateway.count("identify") == 1


async def test_reconnect_opcode_makes_client_resume(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    assert emu.gateway.request_reconnect() == 1
    await emu.wait_for(lambda: emu.gateway.count("resume"))
    assert (await received_dm(emu, client, "after reconnect")).author.id == DEMO.customer_id


async def test_invalid_session_true_resumes(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    emu.gateway.invalidate_sessions(resumable=True)
    await emu.wait_for(lambda: emu.gateway.count("resume"))
    assert emu.gateway.count("identify") == 1
    assert (await received_dm(emu, client, "still here")).content == "still here"


async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
    """discord.py's Client.before_identify_hook sleeps 5 s before every non-initial IDENTIFY."""


async def test_invalid_session_false_reidentifies(emu: DiscordEmulator, start_bot) -> None:
    client = sandbox_client()
    client.before_identify_hook = no_identify_delay  # type: ignore[method-assign]
    await start_bot(client)
    first_session = client.ws.session_id
    emu.gateway.invalidate_sessions(resumable=False)
    await emu.wait_for(lambda: emu.gateway.count("identify") == 2)
    assert (await received_dm(emu, client, "new session")).content == "new session"
    assert client.ws.session_id != first_session
    assert emu.gateway.count("resume") == 0


async def test_members_intent_needs_no_chunking(emu: DiscordEmulator, start_bot) -> None:
    intents = discord.Intents.default()
    intents.members = True
    client = await start_bot(sandbox_client(intents=intents))
    guild = client.get_guild(DEMO.guild_id)
    assert guild is not None
    assert guild.chunked
    assert {m.id for m in guild.members} == {
        DEMO.bot_id,
        DEMO.owner_id,
        DEMO.customer_id,
        DEMO.second_customer_id,
    }


async def test_heartbeat_acks_can_be_withheld(emu: DiscordEmulator, raw: Any) -> None:
    emu.gateway.ack_heartbeats = False  # a zombied connection, as the client sees it
    gw = await raw()
    await gw.receive()
    await gw.send({"op": 1, "d": None})
    await gw.identify(emu.token)
    assert (await gw.receive())["t"] == "READY"  # no op 11 came first
    assert emu.gateway.count("heartbeat") == 1
