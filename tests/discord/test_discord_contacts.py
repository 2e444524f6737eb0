"""What the Discord side keeps in the database, on SQLite and PostgreSQL: where each customer is
reached, every piece of a split reply, and deletions that are not the customer's."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.delivery import DeliveryJob
from bot.core.dispatcher import Dispatcher, joined, pieces_of
from bot.core.domain import Agent, AgentId, MessageRef, Ticket
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.outbound import (
    AgentReplied,
)
from bot.core.routes import Routes
from bot.core.service import TicketService
from integrations.platforms import DISCORD, SLACK
from storage.repository import SqlStorage
from tests.fakes import QuietChannel
from tests.support import FakeClock

SENT = datetime(2026, 3, 2, 9, tzinfo=UTC)
ANN = Agent(AgentId("U0ANN"), "Ann")


class Pieces(QuietChannel):
    """A customer's channel that sends every reply as three platform messages."""

    surveys = True

    def __init__(self) -> None:
        self.count = 0

    async def send_reply(self, job: DeliveryJob) -> str | None:
        ids = [str(9000 + self.count + i) for i in range(3)]
        self.count += 3
        return joined(ids)


async def alice_writes(service: TicketService) -> Ticket:
    intake = await service.receive_customer_message(
        CustomerMessage(DISCORD, "100", "111", "Alice", "Help", SENT)
    )
    return intake.ticket


async def test_the_first_contact_channel_claimed_is_kept(
    storage: SqlStorage, clock: FakeClock
) -> None:
    service = TicketService(storage, clock)
    await alice_writes(service)
    alice = await service.find_customer(DISCORD, "111")
    assert alice is not None
    assert alice.contact_channel is None
    first = await service.claim_contact_channel(alice, "5001")
    second = await service.claim_contact_channel(alice, "5002")  # another replica, too late
    assert (first.contact_channel, second.contact_channel) == ("5001", "5001")
    again = await service.find_customer(DISCORD, "111")
    assert again is not None
    assert again.contact_channel == "5001"
    assert await service.find_customer(DISCORD, "222") is None


async def test_every_piece_of_a_split_reply_is_recorded(
    storage: SqlStorage, clock: FakeClock
) -> None:
    service = TicketService(storage, clock)
    ticket = await alice_writes(service)
    await service.add_agent_message(
        ticket.number,
        AgentMessage(ANN, "A long answer", False, SENT, MessageRef(SLACK, "C1:1.1")),
    )
    # Only the customer's lane runs: the agents' side plays no part in what is recorded here.
    dispatcher = Dispatcher(storage, clock, Routes(None, {DISCORD: Pieces()}))
    while await dispatcher.run_once():
        pass
    reply = (await service.ticket_detail(ticket.number)).messages[-1]
    discord_refs = [r.external_id for r in reply.refs if r.platform == DISCORD]
    assert discord_refs == ["9000", "9001", "9002"]
    async with storage.reading() as tx:
        sent = [d for d in await tx.list_deliveries(ticket.id) if isinstance(d.event, AgentReplied)]
    assert [d.external_id for d in sent] == ["9000"]  # the row keeps the first


def test_pieces_are_joined_and_split_back() -> None:
    assert pieces_of(joined(["1", "2", "3"])) == ["1", "2", "3"]
    assert joined([]) is None
    assert pieces_of(None) == []
    assert pieces_of("C0001:1700000000.000100") == ["C0001:1700000000.000100"]


async def test_a_deletion_of_what_is_not_the_customer_s_changes_nothing(
    storage: SqlStorage, clock: FakeClock
) -> None:
    service = TicketService(storage, clock)
    ticket = await alice_writes(service)
    reply = await service.add_agent_message(
        ticket.number,
        AgentMessage(ANN, "An answer", False, SENT, MessageRef(SLACK, "C1:1.1")),
    )
    assert reply is not None
    async with storage.transaction() as tx:
        await tx.add_message_ref(reply.id, MessageRef(DISCORD, "9000"))
    # Discord reports the bot's own deletion of a piece like any other.
    assert await service.delete_customer_message(MessageRef(DISCORD, "9000")) is None
    assert await service.delete_customer_message(MessageRef(DISCORD, "777")) is None
    deleted = await service.delete_customer_message(MessageRef(DISCORD, "100"))
    assert deleted is not None
    assert deleted.deleted_at is not None
    messages = (await service.ticket_detail(ticket.number)).messages
    assert [m.deleted_at is None for m in messages] == [False, True]
