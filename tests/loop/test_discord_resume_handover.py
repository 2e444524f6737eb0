"""The hand-over from a resumed gateway session to discord.py's own, end to end: a message sent
after the old session's RESUMED but before discord.py's IDENTIFY reaches the old session only,
and the next one, sent just after, reaches both. The chaos suite's kill scenario found the
second posted ahead of the first in the ticket's Slack thread (the resumed session hands its
messages on one at a time, each fetched over REST first, while discord.py's live one was stored
at once); had discord.py become ready first, the first was cut off and lost."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import Bot
from bot.config import load_settings
from bot.core.inbound import GatewayCheckpoint
from integrations.discord.checkpoint import NAME
from integrations.sandbox.discord import DiscordEmulator
from integrations.sandbox.discord.testing import running_client, sandbox_client
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import Message as SlackMessage
from tests.loop.loop_support import ALICE, card, running, thread_texts
from tests.loop.test_discord_recovery import store_checkpoint
from tests.support import eventually

pytestmark = pytest.mark.e2e

FETCH = "GET /channels/{channel_id}/messages/{message_id}"


async def test_a_message_only_the_resumed_session_got_is_stored_before_a_later_live_one(
    sandbox: Sandbox, settings_env: None
) -> None:
    emu = sandbox.discord
    gateway = emu.gateway
    alice = emu.user(ALICE)
    async with running():
        await alice.send_dm("before")
        root = await card(sandbox)
        await eventually(lambda: _said(sandbox, root, "before"), what="the first message")
    checkpoint = await _crashed_session(emu)
    await store_checkpoint(NAME, checkpoint)
    resumes, identifies = gateway.count("resume"), gateway.count("identify")
    bot = Bot(load_settings())
    starting = asyncio.create_task(bot.start())
    try:
        # The old session resumed: discord.py's own connection waits (it connects only after).
        await emu.wait_for(lambda: gateway.count("resume") > resumes)  # rechecked per frame
        gateway.hold_connections()
        # (the emulator answers RESUME with its replay and RESUMED at once: what is sent from
        # here on is live on the old session)
        emu.faults.slow(2.0, route=FETCH, count=1)  # the old session's hand-on is slow
        await alice.send_dm("one, to the old session only")  # broadcast to live sessions
        gateway.release_connections()
        await eventually(
            lambda: _true(gateway.count("identify") > identifies), what="discord.py's IDENTIFY"
        )
        await alice.send_dm("two, to both")
        await starting
        await eventually(lambda: _said(sandbox, root, "two"), what="the live message")
        await eventually(lambda: _said(sandbox, root, "one"), what="the old session's message")
        expected = ["before", "one, to the old session only", "two, to both"]
        assert thread_texts(sandbox, root) == expected
    finally:
        gateway.release_connections()
        if not starting.done():
            starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await bot.stop()


async def _crashed_session(emu: DiscordEmulator) -> GatewayCheckpoint:
    """A session a process opened, then lost without a close frame (a kill -9)."""
    async with running_client(emu, sandbox_client()):
        [session] = [s for s in emu.gateway.live_sessions() if s.connection is not None]
        seq = session.seq
        emu.gateway.hold_connections()
        emu.gateway.drop(None)
    emu.gateway.release_connections()
    return GatewayCheckpoint(session.id, emu.gateway.resume_url, seq)


async def _said(sandbox: Sandbox, root: SlackMessage, text: str) -> bool:
    return any(text in t for t in thread_texts(sandbox, root))


async def _true(value: bool) -> bool:
    return value
