"""The customer's channel on Discord, against the emulator: what each piece of news reads like
and which buttons it carries, and where things go when the customer's DM channel went stale or
their DMs are closed."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.core.delivery import Delivery, DeliveryId, DeliveryJob, DeliveryStatus, Lane
from bot.core.domain import (
    Actor,
    ActorKind,
    Customer,
    Direction,
    Message,
    MessageId,
    MessageRef,
    Ticket,
    TicketId,
)
from bot.core.errors import PlatformError
from bot.core.events import CustomerMessage
from bot.core.outbound import (
    AgentReplied,
    AwaitingCustomer,
    CopyDeleted,
    OutboundEvent,
    SurveyRequested,
    TicketClaimed,
    TicketClosed,
    TicketOpened,
    TicketReopened,
    TicketResolved,
)
from bot.core.service import TicketService
from integrations.discord import texts
from integrations.discord.contact import Contacts
from integrations.discord.customer_channel import DiscordCustomerChannel
from integrations.discord.survey import survey_text
from integrations.platforms import DISCORD
from integrations.sandbox.discord import DEMO, DiscordEmulator, demo_world
from integrations.sandbox.discord.testing import running_client
from storage.repository import SqlStorage
from tests.support import FakeClock

SENT = datetime(2026, 3, 2, 9, tzinfo=UTC)
DUE = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)


# Each job a delivery of its own, as in the queue (a delivery's id makes its sends' nonces).
DELIVERY_IDS = itertools.count(1)


@dataclass
class Alice:
    """A Discord customer with a ticket, and the channel that answers her."""

    channel: DiscordCustomerChannel
    contacts: Contacts
    client: discord.Client
    ticket: Ticket
    customer: Customer
    emu: DiscordEmulator

    def job(self, event: OutboundEvent, message: Message | None = None) -> DeliveryJob:
        delivery = Delivery(
            DeliveryId(next(DELIVERY_IDS)),
            self.ticket.id,
            Lane.CUSTOMER,
            event,
            DeliveryStatus.PENDING,
            SENT,
            SENT,
        )
        return DeliveryJob(delivery, self.ticket, self.customer, message)

    def dms(self) -> list[str]:
        return [m.content for m in self.emu.user(DEMO.customer_id).dm_messages()]


@pytest.fixture
async def alice(storage: SqlStorage, clock: FakeClock) -> AsyncIterator[Alice]:
    service = TicketService(storage, clock)
    intake = await service.receive_customer_message(
        CustomerMessage(DISCORD, "m1", str(DEMO.customer_id), "Alice", "Help", SENT)
    )
    async with (
        DiscordEmulator(demo_world(), host="127.0.0.1") as emu,
        running_client(emu) as client,
    ):
        contacts = Contacts(client, service, DEMO.support_channel_id)
        channel = DiscordCustomerChannel(contacts, fetch=None)
        yield Alice(channel, contacts, client, intake.ticket, intake.customer, emu)


def _reply(body: str) -> Message:
    agent = Actor(ActorKind.AGENT, "U1", "Alex")
    return Message(MessageId(1), TicketId(1), Direction.TO_CUSTOMER, agent, body, SENT)


def _buttons(alice: Alice, sent: str | None) -> list[str]:
    assert sent is not None
    rows = alice.emu.message(int(sent)).components
    return [str(button["custom_id"]) for row in rows for button in row["components"]]


async def test_each_piece_of_news_reads_as_before_and_carries_its_buttons(alice: Alice) -> None:
    number = alice.ticket.number
    channel = alice.channel
    opened = await channel.ticket_opened(alice.job(TicketOpened(DUE)), TicketOpened(DUE))
    assert _buttons(alice, opened) == [f"threadline:close:{number}"]
    claimed = TicketClaimed("Ann")
    await channel.ticket_claimed(alice.job(claimed), claimed)
    resolved, reopened = TicketResolved("Ann", None), TicketReopened("Alice", None)
    await channel.ticket_resolved(alice.job(resolved), resolved)
    await channel.ticket_reopened(alice.job(reopened), reopened)
    await channel.awaiting_customer(alice.job(AwaitingCustomer()))
    await channel.ticket_closed(alice.job(TicketClosed()))
    survey = await channel.ask_for_rating(alice.job(SurveyRequested()))
    assert _buttons(alice, survey) == [f"threadline:csat:{number}:{r}" for r in range(1, 6)]
    assert alice.dms() == [
        texts.ticket_opened(number, DUE),
        texts.ticket_claimed(number, "Ann"),
        texts.ticket_resolved(number),
        texts.ticket_reopened(number),
        texts.awaiting_customer(number),
        texts.ticket_closed(number),
        survey_text(number),
    ]
    assert "<t:1772472600:f>" in alice.dms()[0]


async def test_anonymous_replies_name_the_team_in_the_news_too(alice: Alice) -> None:
    anonymous = DiscordCustomerChannel(alice.contacts, "Acme Support")
    claimed = TicketClaimed("Ann")
    await anonymous.ticket_claimed(alice.job(claimed), claimed)
    assert alice.dms() == [f"Acme Support is looking into your ticket #{alice.ticket.number}."]


async def test_a_stale_dm_channel_is_replaced_and_the_news_sent_there(alice: Alice) -> None:
    await alice.emu.user(DEMO.customer_id).send_dm("Help")
    # The channel of her message, as the intake remembers it; then Discord forgets it.
    first = alice.emu.dm_channel_id(DEMO.customer_id)
    assert first is not None
    known = await alice.client.fetch_channel(first)
    assert isinstance(known, discord.DMChannel)
    alice.contacts.dms[DEMO.customer_id] = known
    alice.emu.drop_dm(DEMO.customer_id)
    await alice.channel.awaiting_customer(alice.job(AwaitingCustomer()))
    assert alice.emu.dm_channel_id(DEMO.customer_id) not in (None, first)
    assert alice.dms() == [texts.awaiting_customer(alice.ticket.number)]


async def test_closed_dms_move_what_is_sent_to_a_private_thread(alice: Alice) -> None:
    person = alice.emu.user(DEMO.customer_id)
    person.close_dms()
    sent = await alice.channel.send_reply(alice.job(AgentReplied(), _reply("On it")))
    [thread] = person.threads()
    assert sent is not None
    texts_there = [m.content for m in alice.emu.channel_messages(thread.id)]
    assert texts_there[-1] == "**Alex:** On it"
    assert alice.emu.message(int(sent)).channel_id == thread.id


async def test_a_delete_refused_in_closed_dms_fails_and_opens_no_thread(
    alice: Alice, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = await alice.channel.send_reply(alice.job(AgentReplied(), _reply("On it")))
    assert sent is not None

    async def refused(self: discord.PartialMessage, **_: Any) -> None:
        response: Any = SimpleNamespace(status=403, reason="Forbidden")
        raise discord.Forbidden(response, {"code": 50007, "message": "Cannot send"})

    monkeypatch.setattr(discord.PartialMessage, "delete", refused)
    copy = replace(_reply("On it"), refs=(MessageRef(DISCORD, sent),))
    with pytest.raises(PlatformError) as failed:
        await alice.channel.copy_deleted(alice.job(CopyDeleted(), copy))
    assert not failed.value.retryable
    assert alice.emu.user(DEMO.customer_id).threads() == []


async def test_a_send_repeated_after_a_crash_is_one_message(alice: Alice) -> None:
    """The same delivery sent again (the process died before it was recorded as sent): its
    nonce makes Discord answer with the message it made the first time."""
    job = alice.job(TicketClaimed("Ann"))
    first = await alice.channel.ticket_claimed(job, TicketClaimed("Ann"))
    again = await alice.channel.ticket_claimed(job, TicketClaimed("Ann"))
    assert again == first
    assert alice.dms() == [texts.ticket_claimed(alice.ticket.number, "Ann")]
