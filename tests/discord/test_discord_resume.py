"""Resuming a stored gateway session against the emulator: what Discord replays, and refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.core.inbound import GatewayCheckpoint
from integrations.discord.resume import ResumeRefused, SessionResumer
from integrations.sandbox.discord import DEMO, DiscordEmulator, demo_world
from integrations.sandbox.discord.testing import running_client, sandbox_client


@pytest.fixture
async def emu() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator(demo_world(), host="127.0.0.1") as emulator:
        yield emulator


async def crashed_session(emu: DiscordEmulator) -> GatewayCheckpoint:
    """A session discord.py opened, then lost without a close frame (a crash)."""
    async with running_client(emu, sandbox_client()):
        [session] = emu.gateway.live_sessions()
        seq = session.seq
        emu.gateway.hold_connections()
        emu.gateway.drop(None)
    emu.gateway.release_connections()
    return GatewayCheckpoint(session.id, emu.gateway.resume_url, seq)


async def test_a_stored_session_replays_what_was_sent_meanwhile_and_goes_on_live(
    emu: DiscordEmulator,
) -> None:
    checkpoint = await crashed_session(emu)
    alice = emu.user(DEMO.customer_id)
    await alice.send_dm("while away")
    got: list[tuple[str, Any]] = []

    async def handed(kind: str, data: dict[str, Any]) -> None:
        got.append((kind, data.get("content")))

    first = SessionResumer(checkpoint, emu.token, handed)
    assert await first.start() == 1
    assert got == [("MESSAGE_CREATE", "while away")]
    await alice.send_dm("live")
    await emu.wait_for(lambda: len(got) == 2)
    emu.gateway.drop(None)  # that process crashed too, before ending the old session
    await alice.send_dm("after the second crash")
    got.clear()
    second = SessionResumer(checkpoint, emu.token, handed)
    # Everything since the stored point, once each: RESUMED of the first resume is no replay.
    assert await second.start() == 3
    assert [content for _, content in got] == ["while away", "live", "after the second crash"]
    await first.close()
    await second.close()
    # Closed with 1000: the old session is over.
    await emu.wait_for(lambda: not emu.gateway.sessions[checkpoint.session_id].alive)


async def test_a_session_discord_no_longer_has_is_refused(emu: DiscordEmulator) -> None:
    async def handed(kind: str, data: dict[str, Any]) -> None:
        raise AssertionError("nothing may be replayed")

    gone = GatewayCheckpoint("no-such-session", emu.gateway.resume_url, 3)
    with pytest.raises(ResumeRefused, match="INVALID_SESSION"):
        await SessionResumer(gone, emu.token, handed).start()


async def test_a_gateway_that_is_not_there_is_a_refusal_not_a_crash(emu: DiscordEmulator) -> None:
    async def handed(kind: str, data: dict[str, Any]) -> None:
        raise AssertionError("nothing may be replayed")

    nowhere = GatewayCheckpoint("s", "ws://127.0.0.1:9/resume", 3)
    with pytest.raises(ResumeRefused):
        await SessionResumer(nowhere, emu.token, handed).start()
