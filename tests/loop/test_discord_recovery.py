"""What Discord customers send while Threadline is away or starting, end to end: a stored gateway
session Discord refuses falling back to history, live messages that race the catch-up,
and /healthz noticing a lost gateway at once. A crash, and the session resumed after it with
new customers' first messages replayed, is tests/loop/test_kill_nine.py."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.app import Bot
from bot.config import load_settings
from bot.core.errors import StorageError
from bot.core.events import CustomerMessage, Intake
from bot.core.inbound import GatewayCheckpoint, InboundEvent
from bot.core.service import TicketService
from integrations.discord.checkpoint import HISTORY_OWED, NAME
from integrations.platforms import DISCORD
from integrations.sandbox.launch import Sandbox
from storage.db import create_engine
from storage.repository import SqlStorage
from tests.loop.loop_support import ALICE, card, running, thread_texts
from tests.support import FakeClock, eventually

pytestmark = pytest.mark.e2e


async def _thread_of(sandbox: Sandbox, words: list[str]) -> list[str]:
    root = await card(sandbox)

    async def all_there() -> list[str] | None:
        texts = thread_texts(sandbox, root)
        return texts if all(any(w in t for t in texts) for w in words) else None

    return await eventually(all_there, what=f"{words} in the Slack thread")


async def test_a_session_discord_refuses_falls_back_to_history_and_says_so(
    sandbox: Sandbox, settings_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    alice = sandbox.discord.user(ALICE)
    async with running():
        await alice.send_dm("first")
        await _thread_of(sandbox, ["first"])
    # A session Discord no longer knows (it timed out while the bot was away).
    await store_checkpoint(
        NAME, GatewayCheckpoint("expired", sandbox.discord.gateway.resume_url, 7)
    )
    await alice.send_dm("second, while away")
    caplog.set_level(logging.INFO, logger="integrations.discord")
    async with running():
        texts = await _thread_of(sandbox, ["first", "second, while away"])
    assert texts == ["first", "second, while away"]
    said = caplog.text
    assert "Discord did not resume the last session (INVALID_SESSION)" in said
    assert "cannot be found this way" in said


async def test_live_messages_wait_for_the_catch_up_and_cannot_move_its_mark(
    sandbox: Sandbox, settings_env: None
) -> None:
    """The old catch-up took its mark when discord.py said ready, seconds after connecting: a
    live message stored first moved the mark past everything sent while the bot was away."""
    alice = sandbox.discord.user(ALICE)
    async with running():
        await alice.send_dm("before")
        await _thread_of(sandbox, ["before"])
    await alice.send_dm("away one")
    await alice.send_dm("away two")
    gateway = sandbox.discord.gateway
    identified = gateway.count("identify")

    async def write_as_soon_as_connected() -> None:
        await eventually(
            lambda: _true(gateway.count("identify") > identified), what="the bot to connect"
        )
        await alice.send_dm("live at once")

    writer = asyncio.create_task(write_as_soon_as_connected())
    async with running():
        await writer
        texts = await _thread_of(sandbox, ["live at once", "away two"])
    assert texts == ["before", "away one", "away two", "live at once"]


async def test_health_says_discord_is_disconnected_as_soon_as_the_gateway_drops(
    sandbox: Sandbox, bot: Bot
) -> None:
    assert bot.discord is not None
    discord_side = bot.discord
    assert await discord_side.health() == "connected"
    sandbox.discord.gateway.hold_connections()  # no reconnection while we look
    sandbox.discord.gateway.drop(None)

    async def down() -> bool:
        return await discord_side.health() == "disconnected"

    await eventually(down, what="/healthz to say Discord is disconnected", within=2)
    sandbox.discord.gateway.release_connections()

    async def up() -> bool:
        return await discord_side.health() == "connected"

    await eventually(up, what="Discord to be connected again", within=10)


async def test_a_clean_stop_clears_the_checkpoint_and_an_owed_catch_up_is_finished(
    sandbox: Sandbox, settings_env: None
) -> None:
    alice = sandbox.discord.user(ALICE)
    async with running() as first:
        await alice.send_dm("hello")
        await _thread_of(sandbox, ["hello"])
        assert first.service is not None
        service = first.service
        await eventually(lambda: service.gateway_checkpoint(NAME), what="a stored checkpoint")
    # A clean stop ends the session (close code 1000): nothing to resume.
    assert await _load(NAME) is None
    # A catch-up a crash cut short is owed: the next start reads history and then clears it.
    await store_checkpoint(HISTORY_OWED, GatewayCheckpoint("", "", 0))
    await alice.send_dm("while away")
    async with running() as second:
        await _thread_of(sandbox, ["while away"])
        assert second.service is not None
        again = second.service

        async def cleared() -> bool:
            return await again.gateway_checkpoint(HISTORY_OWED) is None

        await eventually(cleared, what="the owed catch-up to be done")


async def store_checkpoint(name: str, checkpoint: GatewayCheckpoint) -> None:
    """Write a checkpoint while the bot is stopped, as a past process left it."""
    storage = SqlStorage(create_engine(load_settings().database_url))
    try:
        async with storage.transaction() as tx:
            await tx.save_gateway_checkpoint(name, checkpoint, datetime.now(UTC))
    finally:
        await storage.close()


async def _load(name: str) -> GatewayCheckpoint | None:
    storage = SqlStorage(create_engine(load_settings().database_url))
    try:
        async with storage.reading() as tx:
            return await tx.load_gateway_checkpoint(name)
    finally:
        await storage.close()


async def _true(value: bool) -> bool:
    return value


class DatabaseAway:
    """The database away while `away` (planted in the two calls that would store a customer's
    message)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.away = False
        receive, record = TicketService.receive_customer_message, TicketService.record_inbound

        async def receiving(service: TicketService, message: CustomerMessage) -> Intake:
            self._check()
            return await receive(service, message)

        async def recording(service: TicketService, *args: Any) -> bool:
            self._check()
            return await record(service, *args)

        monkeypatch.setattr(TicketService, "receive_customer_message", receiving)
        monkeypatch.setattr(TicketService, "record_inbound", recording)

    def _check(self) -> None:
        if self.away:
            raise StorageError("Cannot reach the database (planted)")


async def test_a_message_that_fails_unexpectedly_is_kept_retried_then_set_aside(
    sandbox: Sandbox, settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (here, one planted in the ticket service) neither loses the message nor stops
    the bot: it is kept, retried, set aside for a person, and taken in once it can be."""
    broken = True
    receive = TicketService.receive_customer_message

    async def flaky(self: TicketService, message: CustomerMessage) -> Intake:
        if broken and "poison" in message.body:
            raise RuntimeError("planted bug")
        return await receive(self, message)

    monkeypatch.setattr(TicketService, "receive_customer_message", flaky)
    clock = FakeClock(datetime.now(UTC))
    alice = sandbox.discord.user(ALICE)
    async with running(clock) as bot:
        assert bot.service is not None
        assert bot.discord is not None
        service, set_aside = bot.service, bot.discord.set_aside
        await alice.send_dm("hello")
        await _thread_of(sandbox, ["hello"])
        await alice.send_dm("poison pill")
        await alice.send_dm("after it")  # waits in line: it must not overtake the first

        async def dead() -> list[InboundEvent]:
            clock.advance(minutes=10)
            await set_aside.retry_pass()
            return await service.inbound_events(dead=True, platform=DISCORD)

        [letter] = await eventually(dead, what="the message to be set aside")
        assert (letter.attempts, letter.payload["message"]["body"]) == (5, "poison pill")
        assert "planted bug" in (letter.last_error or "")
        await set_aside.retry_pass()
        await _thread_of(sandbox, ["after it"])  # the rest goes on once it is set aside
        broken = False
        await service.retry_dead_letter(letter.id)
        await set_aside.retry_pass()
        texts = await _thread_of(sandbox, ["poison pill"])
    assert texts == ["hello", "after it", "poison pill"]


async def test_a_message_the_database_cannot_take_holds_the_checkpoint_until_it_is_kept(
    sandbox: Sandbox, settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database away (planted here in the two calls that would store the message): the
    message is held in memory, the gateway checkpoint stays before it (a crash now would have
    Discord replay it), and once the database is back it is stored and taken in."""
    database = DatabaseAway(monkeypatch)
    clock = FakeClock(datetime.now(UTC))
    alice = sandbox.discord.user(ALICE)
    async with running(clock) as bot:
        assert bot.discord is not None
        checkpoints, set_aside = bot.discord.checkpoints, bot.discord.set_aside
        await alice.send_dm("hello")
        await _thread_of(sandbox, ["hello"])

        async def settled() -> int | None:
            current = checkpoints.current()
            return current.seq if current is not None and current.seq > 2 else None

        before = await eventually(settled, what="the checkpoint past the first message")
        database.away = True
        await alice.send_dm("while the database is away")

        async def held() -> bool:
            return bool(set_aside._unsaved)

        await eventually(held, what="the message held in memory", within=10)
        await alice.send_dm("typing…")  # held too; nothing moves the checkpoint past them
        await eventually(lambda: _true(len(set_aside._unsaved) == 2), what="both held", within=10)
        current = checkpoints.current()
        assert current is not None
        assert current.seq == before
        database.away = False
        await set_aside.retry_pass()  # stored as a failed event: the checkpoint may move on
        current = checkpoints.current()
        assert current is not None
        assert current.seq > before
        clock.advance(minutes=1)
        await set_aside.retry_pass()
        texts = await _thread_of(sandbox, ["while the database is away", "typing…"])
    assert texts == ["hello", "while the database is away", "typing…"]


async def test_a_message_written_after_one_the_database_could_not_take_waits_behind_it(
    sandbox: Sandbox, settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database is away for one message only: held in memory, it is stored and taken in
    later; the customer's next message, arriving with the database back, waits behind it
    instead of overtaking it."""
    database = DatabaseAway(monkeypatch)
    clock = FakeClock(datetime.now(UTC))
    alice = sandbox.discord.user(ALICE)
    async with running(clock) as bot:
        assert bot.discord is not None
        set_aside = bot.discord.set_aside
        await alice.send_dm("hello")
        await _thread_of(sandbox, ["hello"])
        database.away = True
        await alice.send_dm("first, while the database is away")
        await eventually(lambda: _true(bool(set_aside._unsaved)), what="it held", within=10)
        database.away = False
        await alice.send_dm("second, with the database back")
        await eventually(
            lambda: _true(len(set_aside._unsaved) == 2), what="the second behind it", within=10
        )
        await set_aside.retry_pass()  # both stored, in the order they were written
        clock.advance(minutes=1)
        await set_aside.retry_pass()
        texts = await _thread_of(
            sandbox, ["first, while the database is away", "second, with the database back"]
        )
    assert texts == ["hello", "first, while the database is away", "second, with the database back"]


async def test_a_dispatch_discord_py_cannot_read_does_not_leave_the_bot_deaf(
    sandbox: Sandbox, settings_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    """discord.py's parser raises on a dispatch missing a field it needs (here a message
    without its author), which ends its connection for good: the bot says so, reports Discord
    disconnected meanwhile, connects again and goes on taking messages."""
    alice = sandbox.discord.user(ALICE)
    async with running() as bot:
        assert bot.discord is not None
        await alice.send_dm("before")
        await _thread_of(sandbox, ["before"])
        channel = sandbox.discord.dm_channel_id(ALICE)
        broken = {"id": "1", "channel_id": str(channel), "content": "no author"}
        sandbox.discord.gateway.dispatch("MESSAGE_CREATE", broken)
        await eventually(
            lambda: _true(any("connecting again" in r.getMessage() for r in caplog.records)),
            what="the failure logged",
            within=10,
        )
        await alice.send_dm("after")
        texts = await _thread_of(sandbox, ["before", "after"])
        assert await bot.discord.health() == "connected"
    assert texts == ["before", "after"]
