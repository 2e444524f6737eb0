"""Agents acting at once: one wins, the others are told who won. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

from bot.core.domain import Action, Agent, AgentId, Status, Ticket, TicketNumber
from bot.core.errors import AlreadyClaimed
from bot.core.events import CustomerMessage
from bot.core.service import TicketService
from integrations.platforms import DISCORD
from storage.repository import SqlStorage, SqlTransaction
from tests.support import FakeClock

AGENTS = [Agent(AgentId(f"U0AGENT{i}"), f"Agent {i}") for i in range(8)]


async def open_ticket(service: TicketService, customer: str = "alice") -> TicketNumber:
    intake = await service.receive_customer_message(
        CustomerMessage(
            DISCORD,
            f"m-{customer}",
            customer,
            "Alice",
            "help",
            datetime(2026, 3, 2, 9, tzinfo=UTC),
        )
    )
    return intake.ticket.number


async def test_concurrent_claims_have_exactly_one_winner(
    storage: SqlStorage, clock: FakeClock
) -> None:
    service = TicketService(storage, clock)
    number = await open_ticket(service)

    results = await asyncio.gather(
        *(service.claim(number, agent) for agent in AGENTS), return_exceptions=True
    )

    won = [r for r in results if isinstance(r, Ticket)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1, results
    winner = won[0].assignee
    assert winner is not None
    assert len(lost) == len(AGENTS) - 1
    for error in lost:
        assert isinstance(error, AlreadyClaimed)
        assert (error.holder_id, error.holder_name) == (winner.id, winner.name)
    detail = await service.ticket_detail(number)
    assert detail.ticket.assignee == winner
    assert detail.ticket.version == 2
    assert [e.action for e in detail.events] == [Action.OPEN, Action.CLAIM]


class StaleOnce:
    """Storage whose next ticket read returns the ticket as it was before: a lost race."""

    def __init__(self, inner: SqlStorage, stale: Ticket) -> None:
        self._inner = inner
        self._stale: Ticket | None = stale

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        async with self._inner.transaction() as tx:
            outer = self

            class Stale(SqlTransaction):
                async def get_ticket(self, number: TicketNumber) -> Ticket | None:
                    if outer._stale is not None:
                        stale, outer._stale = outer._stale, None
                        return stale
                    return await super().get_ticket(number)

            yield Stale(tx._conn)

    async def close(self) -> None:
        await self._inner.close()


async def test_the_loser_of_a_race_retries_and_learns_who_won(
    storage: SqlStorage, clock: FakeClock
) -> None:
    service = TicketService(storage, clock)
    number = await open_ticket(service)
    before = await service.get_ticket(number)
    await service.claim(number, AGENTS[0])

    racing = TicketService(StaleOnce(storage, before), clock)  # type: ignore[arg-type]
    with pytest.raises(AlreadyClaimed) as lost:
        await racing.claim(number, AGENTS[1])

    assert lost.value.holder_name == "Agent 0"
    after = await service.ticket_detail(number)
    assert after.ticket.assignee == AGENTS[0]
    assert [e.action for e in after.events] == [Action.OPEN, Action.CLAIM]


async def test_concurrent_first_messages_open_one_ticket(
    storage: SqlStorage, clock: FakeClock
) -> None:
    service = TicketService(storage, clock)
    sent = datetime(2026, 3, 2, 9, tzinfo=UTC)
    intakes = await asyncio.gather(
        *(
            service.receive_customer_message(
                CustomerMessage(DISCORD, f"m{i}", "bob", "Bob", f"part {i}", sent)
            )
            for i in range(6)
        )
    )
    assert len({i.ticket.number for i in intakes}) == 1
    assert sum(i.opened for i in intakes) == 1
    detail = await service.ticket_detail(intakes[0].ticket.number)
    assert sorted(m.body for m in detail.messages) == [f"part {i}" for i in range(6)]
    assert detail.ticket.status is Status.NEW


async def test_a_message_delivered_twice_at_once_is_stored_once(
    storage: SqlStorage, clock: FakeClock
) -> None:
    service = TicketService(storage, clock)
    msg = CustomerMessage(
        DISCORD, "same", "carol", "Carol", "hello", datetime(2026, 3, 2, 9, tzinfo=UTC)
    )
    intakes = await asyncio.gather(*(service.receive_customer_message(msg) for _ in range(4)))
    assert sum(not i.duplicate for i in intakes) == 1
    detail = await service.ticket_detail(intakes[0].ticket.number)
    assert [m.body for m in detail.messages] == ["hello"]
