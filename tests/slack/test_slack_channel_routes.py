"""Several support channels (SLACK_CHANNEL_ROUTES), end to end through the real Bolt app and
slack_sdk against the Slack emulator: an open ticket's thread is in the channel of the first
route its priority or category matches, and moves, with its history, when that changes; agents
work in every support channel alike; a message written in a thread left behind is not sent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from slack_bolt.async_app import AsyncApp

from bot.config import Policy, load_settings
from bot.core.delivery import DeliveryStatus
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Action, Actor, Agent, AgentId, Priority, Ticket, Triage
from bot.core.errors import ConfigError
from bot.core.events import CustomerMessage
from bot.core.routes import Routes
from bot.core.service import TicketService
from integrations.platforms import DISCORD
from integrations.sandbox.slack import DEMO, SlackEmulator, Timing, demo_workspace
from integrations.sandbox.slack.seed import ChannelSeed
from integrations.slack.client import web_client
from integrations.slack.desk import MOVED
from integrations.slack.refs import split_ref
from integrations.slack.routing import routes_of
from integrations.slack.runtime import install
from integrations.slack.workspace import SlackWorkspace
from storage.repository import SqlStorage
from tests.slack.conftest import CustomerInbox, connected, point_at
from tests.support import FakeClock, eventually

T = TypeVar("T")
URGENT, BILLING = "CURGENT", "CBILLING"
ROUTES = f"urgent={URGENT},billing={BILLING}"
ANN = Agent(AgentId(DEMO.agent1), "Ann")


@dataclass
class Desk:
    slack: SlackEmulator
    service: TicketService
    inbox: CustomerInbox
    storage: SqlStorage
    clock: FakeClock

    async def customer_writes(self, message_id: str, body: str) -> Ticket:
        intake = await self.service.receive_customer_message(
            CustomerMessage(DISCORD, message_id, "42", "Dana", body, datetime.now(UTC))
        )
        return intake.ticket

    async def card_in(self, ticket: Ticket, channel: str) -> tuple[str, str]:
        """Wait for the ticket's card to be in `channel`; its (channel, ts)."""

        async def there() -> tuple[str, str] | None:
            fresh = await self.service.get_ticket(ticket.number)
            ref = fresh.workspace_ref
            return split_ref(ref) if ref and ref.startswith(f"{channel}:") else None

        return await eventually(there, what=f"the card of #{ticket.number} in {channel}")

    async def settled(self, ticket: Ticket) -> None:
        """Wait until everything queued for the ticket is sent."""

        async def all_sent() -> bool:
            async with self.storage.transaction() as tx:
                deliveries = await tx.list_deliveries(ticket.id)
            return all(d.status is DeliveryStatus.DONE for d in deliveries)

        await eventually(all_sent, what=f"everything of #{ticket.number} sent")

    def thread(self, channel: str, ts: str) -> list[str]:
        return [m.text for m in self.slack.thread(channel, ts)]

    async def set_priority(self, ticket: Ticket, priority: Priority) -> None:
        await self.service.act(
            ticket.number, Action.SET_PRIORITY, Actor.of_agent(ANN), priority=priority
        )


def seed_with_routes() -> object:
    seed = demo_workspace()
    everyone = (DEMO.agent1, DEMO.agent2, DEMO.lead, DEMO.member)
    extra = (
        ChannelSeed(URGENT, "support-urgent", everyone),
        ChannelSeed(BILLING, "support-billing", everyone),
    )
    return replace(seed, channels=(*seed.channels, *extra))


@pytest.fixture
async def desk(desk_storage: SqlStorage, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    clock = FakeClock()
    async with SlackEmulator(seed_with_routes(), timing=Timing.fast()) as slack:  # type: ignore[arg-type]
        monkeypatch.setenv("SLACK_CHANNEL_ROUTES", ROUTES)
        settings = point_at(slack, monkeypatch)
        policy = Policy()
        client = web_client(settings)
        inbox = CustomerInbox()
        dispatchers: list[Dispatcher] = []  # the service wakes the dispatcher made below
        service = TicketService(desk_storage, clock, on_enqueued=lambda: _wake(dispatchers))
        workspace = SlackWorkspace(
            client,
            DEMO.support,
            DEMO.escalations,
            routes=routes_of(settings, policy.ai),
            threads=service,  # moves record the new card at once, as lost threads do
        )
        dispatcher = Dispatcher(
            desk_storage, clock, Routes(workspace, {DISCORD: inbox}), idle_poll_seconds=0.05
        )
        dispatchers.append(dispatcher)
        app = AsyncApp(client=client, signing_secret=slack.signing_secret)
        _, work = install(app, service, settings, policy, client)
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        try:
            async with connected(app, slack, "socket"):
                yield Desk(slack, service, inbox, desk_storage, clock)
            await work.drain()
        finally:
            stop.set()
            dispatcher.wake()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(running, 5)


# --- where a ticket's thread is -----------------------------------------------------------


async def test_a_ticket_no_route_matches_is_in_the_support_channel(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "My printer is on fire")
    channel, ts = await desk.card_in(ticket, DEMO.support)
    assert [m.ts for m in desk.slack.messages(channel)] == [ts]
    assert desk.slack.messages(URGENT) == []


async def test_a_priority_change_moves_the_thread_with_its_history(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "My printer is on fire")
    old_channel, old_ts = await desk.card_in(ticket, DEMO.support)
    await desk.customer_writes("m2", "Smoke everywhere now")
    await eventually(
        lambda: _async(len(desk.thread(old_channel, old_ts)) == 2), what="both messages shown"
    )

    await desk.set_priority(ticket, Priority.URGENT)
    channel, ts = await desk.card_in(ticket, URGENT)

    # The new thread starts with why it is there and what the old one showed.
    async def history_shown() -> list[str] | None:
        return desk.thread(channel, ts) or None

    [shown] = await eventually(history_shown, what="the moved thread's history")
    assert "moved here from <#CSUPPORT>: its priority is urgent" in shown
    assert "My printer is on fire" in shown
    assert "Smoke everywhere now" in shown
    # The old card says where the ticket went, and has no buttons left to press.
    await desk.settled(ticket)
    old_card = desk.slack.message(old_channel, old_ts)
    assert f"moved to <#{URGENT}>" in old_card.text
    assert not list(old_card.elements())

    # Both sides go on in the new thread.
    await desk.slack.user(DEMO.agent1).post(channel, "On my way", thread_ts=ts)
    await eventually(lambda: _async(desk.inbox.bodies() == ["On my way"]), what="the reply")
    await desk.customer_writes("m3", "Thanks!")
    await eventually(
        lambda: _async("Thanks!" in desk.thread(channel, ts)), what="the customer's next"
    )
    assert "Thanks!" not in desk.thread(old_channel, old_ts)


async def test_a_message_in_the_thread_left_behind_is_not_sent(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "My printer is on fire")
    old_channel, old_ts = await desk.card_in(ticket, DEMO.support)
    await desk.set_priority(ticket, Priority.URGENT)
    await desk.card_in(ticket, URGENT)

    await desk.slack.user(DEMO.agent1).post(old_channel, "Try turning it off", thread_ts=old_ts)
    told = await eventually(
        lambda: _async(desk.slack.ephemerals(DEMO.agent1, old_channel)),
        what="the agent told",
    )
    assert told[-1].text == MOVED.format(number=ticket.number, channel=URGENT)
    assert told[-1].thread_ts == old_ts
    assert desk.inbox.bodies() == []
    detail = await desk.service.ticket_detail(ticket.number)
    assert [m.body for m in detail.messages] == ["My printer is on fire"]


async def test_a_category_route_applies_once_the_ticket_has_that_category(
    desk: Desk, desk_storage: SqlStorage
) -> None:
    ticket = await desk.customer_writes("m1", "I was charged twice")
    await desk.card_in(ticket, DEMO.support)
    async with desk_storage.transaction() as tx:  # as triage would set it
        await tx.set_ticket_triage(ticket.id, _triage("Billing"))
    await desk.service.act(ticket.number, Action.CLAIM, Actor.of_agent(ANN))  # a card change
    channel, _ = await desk.card_in(ticket, BILLING)
    assert channel == BILLING
    # The first route that matches wins: urgent is listed before billing.
    await desk.set_priority(ticket, Priority.URGENT)
    await desk.card_in(ticket, URGENT)
    # And no route matching any more: back to the support channel.
    async with desk_storage.transaction() as tx:
        await tx.set_ticket_triage(ticket.id, _triage("bug"))
    await desk.set_priority(ticket, Priority.NORMAL)
    await desk.card_in(ticket, DEMO.support)


async def test_a_resolved_ticket_stays_where_it_is(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "My printer is on fire")
    _, old_ts = await desk.card_in(ticket, DEMO.support)
    await desk.service.act(ticket.number, Action.RESOLVE, Actor.of_agent(ANN))
    async with desk.storage.transaction() as tx:  # as triage would set it
        await tx.set_ticket_triage(ticket.id, _triage("Billing"))
    await desk.service.act(ticket.number, Action.CLOSE, Actor.of_agent(ANN))  # a card change

    await desk.settled(ticket)
    assert [m.ts for m in desk.slack.messages(DEMO.support)] == [old_ts]
    assert desk.slack.messages(BILLING) == []


async def test_a_move_whose_new_card_was_made_but_not_heard_of_makes_one_card(
    desk: Desk,
) -> None:
    """Slack makes the new card and its answer is lost (as in a crash right after): the retry
    finds the card it made instead of making another."""
    ticket = await desk.customer_writes("m1", "My printer is on fire")
    await desk.card_in(ticket, DEMO.support)
    await desk.settled(ticket)
    desk.slack.faults.lose_answer(method="chat.postMessage")
    await desk.set_priority(ticket, Priority.URGENT)
    await eventually(lambda: _async(desk.slack.messages(URGENT)), what="the new card made")

    async def moved() -> tuple[str, str] | None:
        desk.clock.advance(seconds=30)  # past the retry's backoff, whenever it was recorded
        ref = (await desk.service.get_ticket(ticket.number)).workspace_ref or ""
        return split_ref(ref) if ref.startswith(f"{URGENT}:") else None

    channel, ts = await eventually(moved, what="the move finished by its retry")
    assert [m.ts for m in desk.slack.messages(URGENT)] == [ts]
    [shown] = await eventually(lambda: _async(desk.thread(channel, ts)), what="the history")
    assert "moved here from" in shown


# --- settings -----------------------------------------------------------------------------


def test_routes_are_read_in_order_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SUPPORT_CHANNEL", DEMO.support)
    monkeypatch.setenv("SLACK_CHANNEL_ROUTES", " Billing = CBILLING , urgent=CURGENT ,")
    settings = load_settings()
    assert list(settings.slack_channel_routes.items()) == [
        ("billing", "CBILLING"),
        ("urgent", "CURGENT"),
    ]
    assert settings.slack_support_channels == (DEMO.support, "CBILLING", "CURGENT")
    assert routes_of(settings, None).routes == (("billing", "CBILLING"), ("urgent", "CURGENT"))


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("urgent=#support-urgent", "expected a Slack channel id"),
        ("urgent", "expected PRIORITY_OR_CATEGORY=CHANNEL_ID"),
        ("urgent=CURGENT,URGENT=CURGENT2", "urgent is given two channels"),
    ],
)
def test_a_malformed_route_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str, said: str
) -> None:
    monkeypatch.setenv("SLACK_CHANNEL_ROUTES", value)
    with pytest.raises(ConfigError, match=said):
        load_settings()


def test_a_route_that_could_never_match_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SUPPORT_CHANNEL", DEMO.support)
    monkeypatch.setenv("SLACK_CHANNEL_ROUTES", "urgnet=CURGENT")
    with pytest.raises(ConfigError, match="urgnet is neither a priority"):
        routes_of(load_settings(), None)


def _triage(category: str) -> Triage:
    return Triage(
        category=category,
        category_confidence=0.9,
        priority=Priority.NORMAL,
        priority_confidence=0.5,
        sentiment="neutral",
        sentiment_confidence=0.5,
        language="en",
        title="Charged twice",
        by_model=False,
    )


async def _async(value: T) -> T:
    return value


def _wake(dispatchers: list[Dispatcher]) -> None:
    dispatchers[0].wake()
