"""What the fuzz tests of the inbound doors share: the real bot against the sandbox (Slack in
HTTP mode, Discord on the gateway), waiting for the work one input started, the database's
invariants, and what the logs may say about plain bad input."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import traceback
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Bot
from bot.config import load_settings
from bot.core.domain import Status, TicketNumber
from integrations.sandbox.discord import DEMO as DISCORD_DEMO
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.launch import sandbox as run_sandbox
from integrations.sandbox.slack import DEMO as SLACK_DEMO
from integrations.slack.refs import split_ref
from storage.db import create_engine
from tests.support import eventually

PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
# Tasks that carry the work one inbound input started: Bolt runs each listener in a task of
# its own after the ack; discord.py runs each event handler, view and command in one.
HANDLER_TASKS = (
    "discord.py: ",
    "discord-ui-view-dispatch-",
    "discord-ui-dynamic-item-",
    "discord-ui-modal-dispatch-",
    "CommandTree-invoker",
)
BOLT_LISTENER = "run_ack_function_asynchronously"
SETTLE_SECONDS = 10.0
# Limits high enough that no customer is refused for pace, and no pacing of Slack posts (the
# sandbox has Slack's rate limits off): each input's effects are out in moments.
POLICY = """
[customers]
new_tickets_per_hour = 100000
messages_per_minute = 100000

[slack]
posts_per_second = 0
"""

# What must hold in the database whatever came in: nothing half-written, no note on its way
# to a customer. Each query lists what breaks the rule (nothing when it holds).
INVARIANTS = {
    "a ticket without its customer": """
        SELECT t.number FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id
        WHERE c.id IS NULL""",
    "a ticket without a message": """
        SELECT t.number FROM tickets t
        WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id)""",
    "a message without its ticket": """
        SELECT m.id FROM messages m LEFT JOIN tickets t ON t.id = m.ticket_id
        WHERE t.id IS NULL""",
    "a customer's message in another customer's ticket": """
        SELECT m.id FROM messages m JOIN tickets t ON t.id = m.ticket_id
        JOIN customers c ON c.id = t.customer_id
        WHERE m.direction = 'from_customer'
        AND m.author_id <> c.platform || ':' || c.external_id""",
    "a message's copy without its message": """
        SELECT r.id FROM message_refs r LEFT JOIN messages m ON m.id = r.message_id
        WHERE m.id IS NULL""",
    "a delivery without its ticket": """
        SELECT d.id FROM deliveries d LEFT JOIN tickets t ON t.id = d.ticket_id
        WHERE t.id IS NULL""",
    "a delivery about a message that is not there": """
        SELECT d.id FROM deliveries d LEFT JOIN messages m ON m.id = d.message_id
        WHERE d.message_id IS NOT NULL AND m.id IS NULL""",
    "a note queued to the customer's lane": """
        SELECT d.id FROM deliveries d JOIN messages m ON m.id = d.message_id
        WHERE d.lane = 'customer' AND m.direction = 'note'""",
    "two open tickets for one customer": """
        SELECT customer_id FROM tickets WHERE status <> 'closed'
        GROUP BY customer_id HAVING COUNT(*) > 1""",
    "a ticket event without its ticket": """
        SELECT e.id FROM ticket_events e LEFT JOIN tickets t ON t.id = e.ticket_id
        WHERE t.id IS NULL""",
    "an SLA clock without its ticket": """
        SELECT s.ticket_id FROM sla_clocks s LEFT JOIN tickets t ON t.id = s.ticket_id
        WHERE t.id IS NULL""",
    "an inbound event that failed (an exception while handling it)": """
        SELECT platform, event_id, last_error FROM inbound_events
        WHERE attempts > 0 OR dead_at IS NOT NULL""",
}


@dataclass(repr=False)
class Doors:
    """The running bot and the sandbox it talks to, with a reader of its database."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("Doors()")  # what hypothesis prints of a failing example

    bot: Bot
    box: Sandbox
    database: AsyncEngine
    slack_url: str
    log: Kept

    async def settle(self) -> None:
        """Wait until the work every input so far started is done (its handler tasks ended)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_SECONDS
        while True:
            busy = [t for t in asyncio.all_tasks() if _handles_input(t) and not t.done()]
            if not busy:
                return
            if loop.time() > deadline:
                raise AssertionError(f"inputs still being handled: {busy[:3]}")
            await asyncio.sleep(0.005)

    async def broken_rules(self) -> dict[str, list[tuple[object, ...]]]:
        """Each invariant that does not hold, with the rows that break it."""
        broken: dict[str, list[tuple[object, ...]]] = {}
        async with self.database.connect() as conn:
            for rule, query in INVARIANTS.items():
                rows = [tuple(r) for r in (await conn.execute(text(query))).all()]
                if rows:
                    broken[rule] = rows[:5]
        return broken

    async def footprint(self) -> tuple[int, ...]:
        """How many stored events, messages and ticket moves there are: a refused request
        adds to none of them."""
        async with self.database.connect() as conn:
            counts = []
            for table in ("inbound_events", "messages", "ticket_events", "customers"):
                query = text(f"SELECT COUNT(*) FROM {table}")
                counts.append((await conn.execute(query)).scalar_one())
        return tuple(counts)

    async def customer_lane_texts(self) -> list[str]:
        """Everything queued for a customer, as stored (each delivery's event)."""
        async with self.database.connect() as conn:
            query = text("SELECT payload FROM deliveries WHERE lane = 'customer'")
            return [str(row[0]) for row in (await conn.execute(query)).all()]

    async def assert_invariants(self) -> None:
        broken = await self.broken_rules()
        assert broken == {}, broken

    async def queue_sent(self) -> None:
        """Wait until the delivery queue has nothing pending (what was queued is sent)."""

        async def empty() -> bool:
            async with self.database.connect() as conn:
                query = text("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")
                return (await conn.execute(query)).scalar_one() == 0

        try:
            await eventually(empty, what="the delivery queue to be sent", within=20)
        except AssertionError:
            async with self.database.connect() as conn:
                query = text(
                    "SELECT id, ticket_id, kind, lane, attempts, last_error, leased_until"
                    " FROM deliveries WHERE status = 'pending' ORDER BY id LIMIT 3"
                )
                waiting = (await conn.execute(query)).all()
            raise AssertionError(f"the delivery queue is not sent: {waiting}") from None

    async def customer_writes(self, customer_id: int, body: str) -> tuple[TicketNumber, str, str]:
        """The customer writes to the bot in DMs; once their message is on an open ticket
        whose card is in Slack: the ticket's number and its card's channel and thread."""
        service = self.bot.service
        assert service is not None
        await self.box.discord.user(customer_id).send_dm(body)

        async def on_a_ticket() -> tuple[TicketNumber, str] | None:
            for ticket in await service.list_tickets():
                if ticket.status is Status.CLOSED or not ticket.workspace_ref:
                    continue
                if (await service.customer_of(ticket)).external_id != str(customer_id):
                    continue
                detail = await service.ticket_detail(ticket.number)
                if any(m.body == body for m in detail.messages):
                    return ticket.number, ticket.workspace_ref
            return None

        number, card = await eventually(on_a_ticket, what=f"{body!r} on a ticket", within=15)
        channel, root = split_ref(card)
        return number, channel, root

    async def customer_gets_an_answer(self, customer_id: int, marker: str) -> None:
        """The bot still works end to end: the customer writes on Discord, the ticket's card
        is in Slack, an agent answers in its thread, and the customer reads the answer."""
        number, channel, root = await self.customer_writes(customer_id, f"Still there? {marker}")
        answer = f"Answer to {marker} on #{number}"
        await self.box.slack.user(SLACK_DEMO.agent1).post(channel, answer, thread_ts=root)
        person = self.box.discord.user(customer_id)

        async def answered() -> bool:
            return any(answer in m.content for m in person.dm_messages())

        try:
            await eventually(answered, what=f"the customer to read {answer!r}", within=15)
        except AssertionError:
            told = [e.text for e in self.box.slack.ephemerals(SLACK_DEMO.agent1)][-3:]
            service = self.bot.service
            assert service is not None
            ticket = await service.get_ticket(number)
            async with self.database.connect() as conn:
                query = text(
                    "SELECT d.kind, d.lane, d.status, d.attempts, d.last_error FROM deliveries d"
                    " JOIN tickets t ON t.id = d.ticket_id WHERE t.number = :number"
                )
                queued = (await conn.execute(query, {"number": number})).all()
            seen = [m.content[:80] for m in person.dm_messages()][-4:]
            async with self.database.connect() as conn:
                query = text(
                    "SELECT d.external_id FROM deliveries d JOIN tickets t ON t.id = d.ticket_id"
                    " WHERE t.number = :number AND d.kind = 'agent_replied'"
                )
                sent = [r[0] for r in (await conn.execute(query, {"number": number})).all()]
            where = []
            for ref in sent:
                for part in str(ref).split(","):
                    if part.isdigit() and int(part) in self.box.discord.world.messages:
                        found = self.box.discord.message(int(part))
                        held = self.box.discord.world.channels[found.channel_id]
                        where.append((found.channel_id, held.type, held.recipient_id, held.name))
            seen.append(
                f"replies {sent} at {where}; DM {self.box.discord.dm_channel_id(customer_id)}"
            )
            raise AssertionError(
                f"#{number} is {ticket.status}; the agent was told {told}; queued: {queued}; "
                f"the customer's DMs end {seen}"
            ) from None


class Kept(logging.Handler):
    """Every record of the module's run (the delivery queue works in the background: what it
    logs is checked over the whole run, not by the input it happens to follow)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _handles_input(task: asyncio.Task[object]) -> bool:
    if task.get_name().startswith(HANDLER_TASKS):
        return True
    return BOLT_LISTENER in getattr(task.get_coro(), "__qualname__", "")


@contextlib.asynccontextmanager
async def doors(workdir: Path) -> AsyncIterator[Doors]:
    """The real bot on SQLite: Slack in HTTP mode (signed requests at /slack/events) and
    Discord on the gateway, both against the sandbox, with no AI features."""
    async with run_sandbox(fast=True) as box:
        with pytest.MonkeyPatch.context() as env:
            env.chdir(workdir)
            for name in list(os.environ):
                prefixes = ("SLACK_", "DISCORD_", "OPENAI_", "THREADLINE_", "DATABASE_URL")
                if name.startswith(prefixes) or name in PROXIES:
                    env.delenv(name)
            for name, value in box.settings(socket_mode=False).items():
                if not name.startswith("OPENAI_"):
                    env.setenv(name, value)
            url = f"sqlite+aiosqlite:///{workdir}/fuzz.db"
            env.setenv("DATABASE_URL", url)
            env.setenv("HTTP_PORT", "0")
            # Customers whose DMs are closed are reached in a private thread of #support.
            env.setenv("DISCORD_SUPPORT_CHANNEL", str(DISCORD_DEMO.support_channel_id))
            (workdir / "threadline.toml").write_text(POLICY)
            env.setenv("THREADLINE_CONFIG", str(workdir / "threadline.toml"))
            kept = Kept()
            root = logging.getLogger()
            level = root.level
            root.addHandler(kept)
            root.setLevel(logging.INFO)
            bot = Bot(load_settings())
            await bot.start()
            database = create_engine(url)
            try:
                assert bot.server is not None
                slack_url = f"http://127.0.0.1:{bot.server.port}/slack/events"
                box.slack.request_url = slack_url
                yield Doors(bot, box, database, slack_url, kept)
            finally:
                await database.dispose()
                await bot.stop()
                root.removeHandler(kept)
                root.setLevel(level)


# The delivery queue's sender: it works in the background, after whichever input queued.
BACKGROUND = "bot.core.dispatcher"


def crashes(records: Iterable[logging.LogRecord], *, background: bool = False) -> list[str]:
    """Records that read as a crash: ERROR or worse, or any traceback (the background
    sender's only when `background`)."""
    return [
        f"{r.levelname} {r.name}: {r.getMessage()[:300]}{_raised(r)}"
        for r in records
        if (r.levelno >= logging.ERROR or r.exc_info) and (background or r.name != BACKGROUND)
    ]


def _raised(record: logging.LogRecord) -> str:
    """Where the exception a record carries was raised, and what it said."""
    if not record.exc_info or record.exc_info[1] is None:
        return ""
    error = record.exc_info[1]
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f" [{type(error).__name__}: {str(error)[:200]}{where}]"
