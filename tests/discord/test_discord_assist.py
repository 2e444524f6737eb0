"""What the AI features send a Discord customer, against the emulator with the real discord.py:
translated replies (signed and split as the agent's own), automated answers marked as such with
a "Talk to a person" button that keeps working after a restart and only for the ticket's own
customer, and the news that a person will answer."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import discord
import pytest

from bot.core.delivery import Delivery, DeliveryId, DeliveryJob, DeliveryStatus, Lane
from bot.core.domain import (
    Actor,
    ActorKind,
    Attachment,
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
    AutoAnswered,
    HandedOff,
    OutboundEvent,
    TranslatedEdit,
    TranslatedReply,
)
from bot.core.service import TicketService
from integrations.discord.customer_channel import DiscordCustomerChannel
from integrations.discord.handoff import PERSON_TEMPLATE
from integrations.discord.survey import RATING_TEMPLATE
from integrations.discord.views import CLOSE_TEMPLATE, UNKNOWN_TEMPLATE, ThreadlineClient
from integrations.platforms import DISCORD
from integrations.sandbox.discord import DEMO, DiscordEmulator, demo_world
from integrations.sandbox.discord.model import Message as Shown
from integrations.sandbox.discord.testing import running_client, sandbox_intents
from storage.repository import SqlStorage
from tests.support import FakeClock

SENT = datetime(2026, 3, 2, 9, tzinfo=UTC)
SENTENCE = "Ceci est une phrase d'une très longue réponse. "
SEND = "POST /channels/{channel_id}/messages"


# Each job a delivery of its own, as in the queue (a delivery's id makes its sends' nonces).
DELIVERY_IDS = itertools.count(1)


@dataclass
class Alice:
    """A Discord customer with a ticket, the bot's client and the channel that answers her."""

    service: TicketService
    emu: DiscordEmulator
    client: ThreadlineClient
    channel: DiscordCustomerChannel
    ticket: Ticket
    customer: Customer

    def job(
        self,
        event: OutboundEvent,
        message: Message | None = None,
        steps: tuple[str, ...] = (),
        progress: Any = None,
    ) -> DeliveryJob:
        delivery = Delivery(
            DeliveryId(next(DELIVERY_IDS)),
            self.ticket.id,
            Lane.CUSTOMER,
            event,
            DeliveryStatus.PENDING,
            SENT,
            SENT,
            steps=steps,
        )
        return DeliveryJob(delivery, self.ticket, self.customer, message, progress)

    def dms(self) -> list[Shown]:
        return self.emu.user(DEMO.customer_id).dm_messages()

    def button(self) -> str:
        return f"threadline:person:{self.ticket.number}"


@asynccontextmanager
async def bot_client(
    emu: DiscordEmulator, service: TicketService
) -> AsyncIterator[ThreadlineClient]:
    """The bot's own client (its persistent buttons registered as at every start)."""
    client = ThreadlineClient(
        service,
        support_channel_id=str(DEMO.support_channel_id),
        intents=sandbox_intents(),
        guild_ready_timeout=0.01,
    )
    async with running_client(emu, client):
        yield client


@pytest.fixture
async def emu() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator(demo_world(), host="127.0.0.1") as emulator:
        yield emulator


@pytest.fixture
async def alice(
    storage: SqlStorage, clock: FakeClock, emu: DiscordEmulator
) -> AsyncIterator[Alice]:
    service = TicketService(storage, clock)
    intake = await service.receive_customer_message(
        CustomerMessage(DISCORD, "m1", str(DEMO.customer_id), "Alice", "Bonjour", SENT)
    )
    async with bot_client(emu, service) as client:
        channel = DiscordCustomerChannel(client.contacts)
        yield Alice(service, emu, client, channel, intake.ticket, intake.customer)


def _reply(body: str, attachments: tuple[Attachment, ...] = ()) -> Message:
    agent = Actor(ActorKind.AGENT, "U1", "Alex")
    return Message(MessageId(1), TicketId(1), Direction.TO_CUSTOMER, agent, body, SENT, attachments)


def _answer(body: str) -> Message:
    assistant = Actor(ActorKind.SYSTEM, "assistant", "Assistant")
    return Message(MessageId(2), TicketId(1), Direction.TO_CUSTOMER, assistant, body, SENT)


def _buttons(message: Shown) -> list[dict[str, Any]]:
    return [button for row in message.components for button in row["components"]]


def _ids(sent: str | None) -> list[int]:
    assert sent is not None
    return [int(part) for part in sent.split()]


async def _auto_answer(alice: Alice, body: str = "Réinitialisez votre mot de passe.") -> Shown:
    """Send an automated answer; the piece that carries the button."""
    event = AutoAnswered("[]")
    sent = await alice.channel.send_auto_answer(alice.job(event, _answer(body)), event)
    return alice.emu.message(_ids(sent)[-1])


def _disabled(message: Shown) -> bool:
    return bool(_buttons(message)[0].get("disabled"))


# --- translated replies ----------------------------------------------------------------------


async def test_a_translated_reply_is_signed_like_the_agent_s_own(alice: Alice) -> None:
    event = TranslatedReply("Nous nous en occupons.", "fr")
    linked = Attachment("facture.pdf", "https://files.example/facture.pdf", 1200)
    sent = await alice.channel.send_translated_reply(
        alice.job(event, _reply("We're on it.", (linked,))), event
    )
    assert [m.content for m in alice.dms()] == [
        "**Alex:** Nous nous en occupons.\n📎 facture.pdf: https://files.example/facture.pdf"
    ]
    assert _ids(sent) == [m.id for m in alice.dms()]

    anonymous = DiscordCustomerChannel(alice.client.contacts, "Acme Support")
    await anonymous.send_translated_reply(alice.job(event, _reply("We're on it.")), event)
    assert alice.dms()[-1].content == "**Acme Support:** Nous nous en occupons."


async def test_an_edited_translated_reply_is_edited_in_place_in_the_customer_s_language(
    alice: Alice,
) -> None:
    event = TranslatedReply("Nous nous en occupons.", "fr")
    sent = await alice.channel.send_translated_reply(
        alice.job(event, _reply("We're on it.")), event
    )
    refs = tuple(MessageRef(DISCORD, str(i)) for i in _ids(sent))
    edited = replace(_reply("It's done."), refs=refs)
    edit = TranslatedEdit("C'est fait.", "fr")
    shown = await alice.channel.edit_translated(alice.job(edit, edited), edit)
    assert _ids(shown) == _ids(sent)  # the same message, edited, not a new one
    assert [m.content for m in alice.dms()] == ["**Alex:** C'est fait."]


async def test_a_long_translated_reply_is_split_and_a_retry_sends_only_what_is_missing(
    alice: Alice,
) -> None:
    translation = (SENTENCE * 100).strip()  # about 4,800 characters: three pieces
    event = TranslatedReply(translation, "fr")
    recorded: list[list[str]] = []

    async def progress(steps: list[str]) -> None:
        recorded.append(list(steps))
        # Discord refuses what comes after the first piece: the delivery fails for now.
        alice.emu.faults.fail_next(status=400, route=SEND)

    with pytest.raises(PlatformError):
        await alice.channel.send_translated_reply(
            alice.job(event, _reply("On it"), progress=progress), event
        )
    assert recorded == [[str(alice.dms()[0].id)]]
    # The retry, as the dispatcher makes it: with the pieces already sent.
    sent = await alice.channel.send_translated_reply(
        alice.job(event, _reply("On it"), steps=tuple(recorded[-1])), event
    )
    pieces = [m.content for m in alice.dms()]
    assert len(pieces) == 3
    assert all(len(piece) <= 2000 for piece in pieces)
    assert pieces[0].startswith("**Alex:** Ceci est")
    assert " ".join(pieces) == f"**Alex:** {translation}"
    assert _ids(sent) == [m.id for m in alice.dms()]


# --- automated answers -----------------------------------------------------------------------


async def test_an_automated_answer_is_marked_and_offers_a_person(alice: Alice) -> None:
    shown = await _auto_answer(alice)
    assert shown.content == "🤖 Automated answer\nRéinitialisez votre mot de passe."
    [button] = _buttons(shown)
    assert (button["custom_id"], button["label"]) == (alice.button(), "Talk to a person")
    assert not button.get("disabled")


async def test_a_long_automated_answer_is_split_with_the_button_on_its_last_piece(
    alice: Alice,
) -> None:
    body = (SENTENCE * 60).strip()  # about 2,900 characters
    event = AutoAnswered("[]")
    sent = await alice.channel.send_auto_answer(alice.job(event, _answer(body)), event)
    shown = alice.dms()
    assert _ids(sent) == [m.id for m in shown]
    assert len(shown) == 2
    assert all(len(m.content) <= 2000 for m in shown)
    assert shown[0].content.startswith("🤖 Automated answer\nCeci est")
    assert _buttons(shown[0]) == []
    assert [b["custom_id"] for b in _buttons(shown[1])] == [alice.button()]


async def test_talk_to_a_person_hands_off_once_and_greys_the_button_out(alice: Alice) -> None:
    first, second = await _auto_answer(alice), await _auto_answer(alice, "Autre réponse.")
    person = alice.emu.user(DEMO.customer_id)
    await person.click(first, custom_id=alice.button())
    told = await alice.emu.wait_for(person.ephemeral_messages)
    assert [m.content for m in told] == ["A person will answer you here."]
    await alice.emu.wait_for(lambda: _disabled(first))
    assert first.content.startswith("🤖 Automated answer")  # only the button changed
    assert (await alice.service.get_ticket(alice.ticket.number)).auto_answer_stopped
    # The button of an earlier answer still shows; the team was asked already.
    await person.click(second, custom_id=alice.button())
    await alice.emu.wait_for(lambda: len(person.ephemeral_messages()) == 2)
    assert person.ephemeral_messages()[-1].content == "A person has already been asked."
    await alice.emu.wait_for(lambda: _disabled(second))
    # Nothing was posted for everyone to read: the answers were for Alice only.
    assert len(alice.dms()) == 2


async def test_someone_else_pressing_the_button_is_refused(alice: Alice) -> None:
    # Alice's DMs are closed: she is answered in a private thread, which a moderator joins.
    person = alice.emu.user(DEMO.customer_id)
    person.close_dms()
    shown = await _auto_answer(alice)
    thread = await alice.client.fetch_channel(shown.channel_id)
    assert isinstance(thread, discord.Thread)
    await thread.add_user(discord.Object(DEMO.second_customer_id))
    moderator = alice.emu.user(DEMO.second_customer_id)
    await moderator.click(shown, custom_id=alice.button())
    refused = await alice.emu.wait_for(moderator.ephemeral_messages)
    assert [m.content for m in refused] == ["This button belongs to someone else's ticket."]
    assert person.ephemeral_messages() == []
    assert not _disabled(shown)
    assert not (await alice.service.get_ticket(alice.ticket.number)).auto_answer_stopped


async def test_the_button_still_works_after_a_restart(
    storage: SqlStorage, clock: FakeClock, emu: DiscordEmulator
) -> None:
    service = TicketService(storage, clock)
    intake = await service.receive_customer_message(
        CustomerMessage(DISCORD, "m1", str(DEMO.customer_id), "Alice", "Bonjour", SENT)
    )
    async with bot_client(emu, service) as before:
        alice = Alice(
            service,
            emu,
            before,
            DiscordCustomerChannel(before.contacts),
            intake.ticket,
            intake.customer,
        )
        shown = await _auto_answer(alice)
    async with bot_client(emu, service):  # a new process: nothing of the old client is left
        person = emu.user(DEMO.customer_id)
        await person.click(shown, custom_id=alice.button())
        told = await emu.wait_for(person.ephemeral_messages)
        assert [m.content for m in told] == ["A person will answer you here."]
        await emu.wait_for(lambda: _disabled(shown))


def test_every_button_id_is_answered_by_exactly_one_handler() -> None:
    templates = [re.compile(t) for t in (CLOSE_TEMPLATE, RATING_TEMPLATE, PERSON_TEMPLATE)]
    unknown = re.compile(UNKNOWN_TEMPLATE)
    for custom_id, known in [
        ("threadline:person:1042", True),
        ("threadline:close:1042", True),
        ("threadline:csat:1042:5", True),
        ("threadline:person:", False),
        ("threadline:person:1042x", False),
        ("threadline:person:1234567890123", False),
        ("something-else", False),
    ]:
        matched = [t for t in templates if t.fullmatch(custom_id)]
        assert len(matched) == (1 if known else 0), custom_id
        assert bool(unknown.fullmatch(custom_id)) is not known, custom_id


# --- handed off ------------------------------------------------------------------------------


async def test_a_hand_off_by_the_assistant_is_told_once(alice: Alice) -> None:
    by_assistant = HandedOff(by_customer=False)
    sent = await alice.channel.handed_off(alice.job(by_assistant), by_assistant)
    assert [m.content for m in alice.dms()] == ["A person from the team will answer here."]
    assert _ids(sent) == [alice.dms()[0].id]
    # A customer who pressed the button was told there and then: nothing more is sent.
    by_customer = HandedOff(by_customer=True)
    assert await alice.channel.handed_off(alice.job(by_customer), by_customer) is None
    assert len(alice.dms()) == 1
