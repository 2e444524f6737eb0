"""The Slack desk end to end: the real Bolt app, in Socket Mode and in HTTP mode, against the
Slack emulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.config import Policy, Settings, SlackPolicy, load_settings
from bot.core.delivery import DeliveryJob
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Message as TicketMessage
from bot.core.domain import Ticket, TicketNumber
from bot.core.events import CustomerMessage
from bot.core.outbound import (
    AutoAnswered,
    HandedOff,
    TicketClaimed,
    TicketOpened,
    TicketReopened,
    TicketResolved,
    TranslatedEdit,
    TranslatedReply,
)
from bot.core.routes import Routes
from bot.core.service import TicketDetail, TicketService
from integrations.platforms import DISCORD
from integrations.sandbox.slack import (
    DEMO,
    Message,
    SlackEmulator,
    Timing,
    demo_workspace,
    payloads,
)
from integrations.slack.client import web_client
from integrations.slack.desk import SlackDesk
from integrations.slack.refs import split_ref
from integrations.slack.runtime import install
from integrations.slack.workspace import SlackWorkspace
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repository import SqlStorage
from tests.support import FakeClock, eventually


@dataclass(frozen=True)
class Sent:
    """One thing the customer's side was asked to do: `what` names it ("reply", "edited",
    "deleted", or the news: "opened", "claimed", "resolved", "reopened", "closed", "nudge",
    "survey")."""

    what: str
    job: DeliveryJob

    @property
    def message(self) -> TicketMessage | None:
        return self.job.message


# What changes the customer's conversation itself, as against news about their ticket.
CHANGES = frozenset({"reply", "edited", "deleted"})


def point_at(slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The bot's Slack settings for this emulator (agent2 stays a plain channel member)."""
    for name, value in {
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_SUPPORT_CHANNEL": DEMO.support,
        "SLACK_AGENTS": DEMO.agent1,
        "SLACK_LEADS": DEMO.lead,
        "SLACK_ESCALATION_CHANNEL": DEMO.escalations,
    }.items():
        monkeypatch.setenv(name, value)
    return load_settings()


class CustomerInbox:
    """The customer's side (a CustomerChannel): records what reached the customer."""

    surveys = True

    def __init__(self) -> None:
        self.received: list[Sent] = []

    def _got(self, what: str, job: DeliveryJob) -> str:
        self.received.append(Sent(what, job))
        return f"dm-{len(self.received)}"

    async def send_reply(self, job: DeliveryJob) -> str | None:
        return self._got("reply", job)

    async def ticket_opened(self, job: DeliveryJob, event: TicketOpened) -> str | None:
        return self._got("opened", job)

    async def ticket_claimed(self, job: DeliveryJob, event: TicketClaimed) -> str | None:
        return self._got("claimed", job)

    async def ticket_resolved(self, job: DeliveryJob, event: TicketResolved) -> str | None:
        return self._got("resolved", job)

    async def ticket_reopened(self, job: DeliveryJob, event: TicketReopened) -> str | None:
        return self._got("reopened", job)

    async def ticket_closed(self, job: DeliveryJob) -> str | None:
        return self._got("closed", job)

    async def awaiting_customer(self, job: DeliveryJob) -> str | None:
        return self._got("nudge", job)

    async def ask_for_rating(self, job: DeliveryJob) -> str | None:
        return self._got("survey", job)

    async def copy_edited(self, job: DeliveryJob) -> str | None:
        return self._got("edited", job)

    async def copy_deleted(self, job: DeliveryJob) -> str | None:
        return self._got("deleted", job)

    async def send_translated_reply(self, job: DeliveryJob, event: TranslatedReply) -> str | None:
        return self._got("translated", job)

    async def edit_translated(self, job: DeliveryJob, event: TranslatedEdit) -> str | None:
        return self._got("translated edit", job)

    async def send_auto_answer(self, job: DeliveryJob, event: AutoAnswered) -> str | None:
        return self._got("auto answer", job)

    async def handed_off(self, job: DeliveryJob, event: HandedOff) -> str | None:
        return self._got("handed off", job)

    @property
    def changes(self) -> list[Sent]:
        """What reached the customer's conversation, less Threadline's status notices."""
        return [s for s in self.received if s.what in CHANGES]

    def bodies(self) -> list[str]:
        return [s.message.body for s in self.changes if s.message is not None]

    def notices(self) -> list[str]:
        return [s.what for s in self.received if s.what not in CHANGES]


@dataclass
class Desk:
    slack: SlackEmulator
    service: TicketService
    dispatcher: Dispatcher
    inbox: CustomerInbox
    clock: FakeClock
    slack_desk: SlackDesk

    async def customer_writes(self, message_id: str, body: str, customer: str = "42") -> Ticket:
        intake = await self.service.receive_customer_message(
            CustomerMessage(
                DISCORD,
                message_id,
                customer,
                "Dana",
                body,
                datetime(2026, 3, 2, 9, tzinfo=UTC),
            )
        )
        return await self.card_posted(intake.ticket.number)

    async def card_posted(self, number: TicketNumber) -> Ticket:
        async def posted() -> Ticket | None:
            ticket = await self.service.get_ticket(number)
            return ticket if ticket.workspace_ref else None

        return await eventually(posted, what=f"the card of #{number}")

    def thread_of(self, ticket: Ticket) -> tuple[str, str]:
        assert ticket.workspace_ref is not None
        return split_ref(ticket.workspace_ref)

    async def click_on(
        self, user: str, card: Message, label: str, *, value: str | None = None
    ) -> None:
        """Click a button on a card as it was when `card` was taken (a stale view), with the
        button's value replaced when `value` is given (a forged request)."""
        actor = self.slack.user(user)
        block_id, element = _button(card.blocks or [], label)
        action = payloads.action_payload(element, block_id)
        if value is not None:
            action["value"] = value
        await actor._message_action(
            channel=card.channel,
            ts=card.ts,
            message=card.to_api(),
            ephemeral=False,
            thread_ts=None,
            action=action,
        )

    async def detail(self, number: TicketNumber) -> TicketDetail:
        return await self.service.ticket_detail(number)


def _button(blocks: list[dict[str, Any]], label: str) -> tuple[str, dict[str, Any]]:
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("type") == "button" and element["text"]["text"] == label:
                return str(block["block_id"]), dict(element)
    raise AssertionError(f"no {label!r} button")


@pytest.fixture
def slack_pacing() -> SlackPolicy:
    """How the bot paces its posts; off unless a test turns Slack's limits on."""
    return SlackPolicy(posts_per_second=0)


@pytest.fixture
def policy() -> Policy:
    return Policy()


@pytest.fixture
async def desk_storage(tmp_path: Path) -> AsyncIterator[SqlStorage]:
    """Slack's side is what these tests are about: SQLite is enough (storage has its own
    suite on both databases)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/desk.db")
    await upgrade(engine)
    yield SqlStorage(engine)
    await engine.dispose()


@asynccontextmanager
async def connected(app: AsyncApp, slack: SlackEmulator, mode: str) -> AsyncIterator[None]:
    """The Bolt app connected the way a deployment would: Socket Mode, or HTTP mode."""
    if mode == "socket":
        handler = AsyncSocketModeHandler(app, app_token=slack.app_token, ping_interval=0.5)
        await handler.connect_async()
        await slack.wait_for(lambda: slack.connections >= 1, timeout=5)
        try:
            yield
        finally:
            await handler.close_async()
        return
    runner = web.AppRunner(app.web_app(path="/slack/events"), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    slack.request_url = f"http://{host}:{port}/slack/events"
    try:
        yield
    finally:
        await runner.cleanup()


@pytest.fixture(params=["socket", "http"], ids=["socket-mode", "http-mode"])
async def desk(
    request: pytest.FixtureRequest,
    desk_storage: SqlStorage,
    clock: FakeClock,
    workdir: object,
    monkeypatch: pytest.MonkeyPatch,
    slack_pacing: SlackPolicy,
    policy: Policy,
) -> AsyncIterator[Desk]:
    async with SlackEmulator(demo_workspace(), timing=Timing.fast()) as slack:
        settings = point_at(slack, monkeypatch)
        client = web_client(settings)
        inbox = CustomerInbox()
        storage = desk_storage
        workspace = SlackWorkspace(client, DEMO.support, DEMO.escalations, slack_pacing)
        dispatcher = Dispatcher(
            storage,
            clock,
            Routes(workspace, {DISCORD: inbox}),
            idle_poll_seconds=0.05,
        )
        service = TicketService(storage, clock, on_enqueued=dispatcher.wake)
        app = AsyncApp(client=client, signing_secret=slack.signing_secret)
        slack_desk, work = install(app, service, settings, policy, client)
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        try:
            async with connected(app, slack, request.param):
                yield Desk(slack, service, dispatcher, inbox, clock, slack_desk)
                stop.set()
                dispatcher.wake()
            await work.drain()
        finally:
            stop.set()
            dispatcher.wake()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(running, 5)
