"""Ending a resumed session when discord.py's own is ready: what the old session received by then
is handed on first, in order, however slow the handling (it reached the old session only)."""

from __future__ import annotations

import asyncio
from typing import Any

from integrations.discord.resume import SessionResumer
from integrations.sandbox.discord import DEMO, DiscordEmulator
from tests.discord.test_discord_resume import crashed_session, emu

__all__ = ["emu"]  # the fixture, shared with test_discord_resume


async def test_close_hands_on_what_was_read_before_it_ends_the_session(
    emu: DiscordEmulator,
) -> None:
    checkpoint = await crashed_session(emu)
    alice = emu.user(DEMO.customer_id)
    await alice.send_dm("while away")
    handed: list[str] = []

    async def slowly(kind: str, data: dict[str, Any]) -> None:
        await asyncio.sleep(0.2)  # a REST fetch and a database write, under load
        handed.append(str(data.get("content")))

    resumer = SessionResumer(checkpoint, emu.token, slowly)
    assert await resumer.start() == 1
    assert handed == ["while away"]  # the replay is handed on before start() returns
    for n in range(3):
        await alice.send_dm(f"live {n}")
    await asyncio.sleep(0.05)  # on the socket, read or not, but not handed on yet
    assert handed == ["while away"]
    assert await resumer.close()
    assert handed == ["while away", "live 0", "live 1", "live 2"]
    await emu.wait_for(lambda: not emu.gateway.sessions[checkpoint.session_id].alive)


async def test_close_says_so_when_the_handing_on_stopped_on_an_error(
    emu: DiscordEmulator,
) -> None:
    checkpoint = await crashed_session(emu)
    alice = emu.user(DEMO.customer_id)

    async def failing(kind: str, data: dict[str, Any]) -> None:
        raise RuntimeError("a bug")

    resumer = SessionResumer(checkpoint, emu.token, failing)
    assert await resumer.start() == 0
    await alice.send_dm("live")
    await asyncio.sleep(0.05)
    assert not await resumer.close()  # the caller reads history instead
