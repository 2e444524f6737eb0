"""The repository contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.core.delivery import MAIN_WORKSPACE, Lane, NewDelivery
from bot.core.domain import (
    Action,
    Actor,
    Agent,
    AgentId,
    Attachment,
    Direction,
    MessageRef,
    NewMessage,
    NewTicket,
    Priority,
    Status,
    TicketEvent,
    TicketNumber,
    TicketOrder,
    TicketQuery,
)
from bot.core.errors import ConcurrentUpdate, OpenTicketExists
from bot.core.outbound import CustomerWrote
from bot.core.repositories import CustomerWriting
from integrations.platforms import DISCORD, SLACK
from storage.db import create_engine
from storage.repository import SqlStorage, SqlTransaction

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALICE = Actor.system("Alice")


async def new_ticket(tx: SqlTransaction, external_id: str = "alice") -> tuple[int, NewTicket]:
    customer = await tx.upsert_customer(DISCORD, external_id, "Alice", T0)
    new = NewTicket(customer.id, "Printer on fire", Priority.NORMAL, 1, T0)
    return customer.id, new


async def test_customers_are_one_per_platform_identity(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        first = await tx.upsert_customer(DISCORD, "42", "Alice", T0)
        again = await tx.upsert_customer(DISCORD, "42", "Alice B.", T0)
        other = await tx.upsert_customer(SLACK, "42", "Alice", T0)
    assert first.id == again.id
    assert again.display_name == "Alice B."
    assert other.id != first.id


async def test_tickets_get_public_numbers_from_1001(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        _, new = await new_ticket(tx, "a")
        first = await tx.create_ticket(new)
        _, new = await new_ticket(tx, "b")
        second = await tx.create_ticket(new)
    assert (first.number, second.number) == (1001, 1002)
    assert first.id != first.number
    async with storage.transaction() as tx:
        found = await tx.get_ticket(TicketNumber(1002))
        assert found == second
        assert await tx.get_ticket_by_id(second.id) == second
        assert await tx.get_ticket(TicketNumber(999)) is None


async def test_datetimes_come_back_as_aware_utc(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        _, new = await new_ticket(tx)
        local = datetime(2026, 3, 2, 10, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
        created = await tx.create_ticket(replace(new, created_at=local))
    assert created.created_at == local
    assert created.created_at.utcoffset() == timedelta(0)


async def test_one_open_ticket_per_customer(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        customer_id, new = await new_ticket(tx)
        ticket = await tx.create_ticket(new)
        with pytest.raises(OpenTicketExists):
            await tx.create_ticket(new)
        # The failed insert did not spoil the transaction.
        assert await tx.find_open_ticket(customer_id) == ticket
        closed = await tx.save_ticket(replace(ticket, status=Status.CLOSED, closed_at=T0))
        assert await tx.find_open_ticket(customer_id) is None
        follow_up = await tx.create_ticket(new)
    assert closed.status is Status.CLOSED
    assert follow_up.number == ticket.number + 1


async def test_save_checks_and_bumps_the_version(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        _, new = await new_ticket(tx)
        ticket = await tx.create_ticket(new)
    agent = Agent(AgentId("U0ANN"), "Ann")
    async with storage.transaction() as tx:
        saved = await tx.save_ticket(replace(ticket, status=Status.CLAIMED, assignee=agent))
    assert saved.version == ticket.version + 1
    assert saved.assignee == agent
    async with storage.transaction() as tx:
        with pytest.raises(ConcurrentUpdate):
            await tx.save_ticket(replace(ticket, status=Status.RESOLVED))
        assert await tx.get_ticket(ticket.number) == saved


async def test_list_tickets_newest_first_and_by_status(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        numbers = []
        for name in ("a", "b", "c"):
            _, new = await new_ticket(tx, name)
            numbers.append((await tx.create_ticket(new)).number)
        second = await tx.get_ticket(numbers[1])
        assert second is not None
        await tx.save_ticket(replace(second, status=Status.RESOLVED, resolved_at=T0))
    async with storage.transaction() as tx:
        assert [t.number for t in await tx.list_tickets()] == numbers[::-1]
        resolved = await tx.list_tickets(statuses=[Status.RESOLVED])
        assert [t.number for t in resolved] == [numbers[1]]
        assert len(await tx.list_tickets(limit=2)) == 2


async def test_events_are_kept_in_order(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        _, new = await new_ticket(tx)
        ticket = await tx.create_ticket(new)
        for i, action in enumerate([Action.CLAIM, Action.RESOLVE]):
            await tx.add_event(
                TicketEvent(
                    ticket.id,
                    ALICE,
                    action,
                    Status.NEW,
                    Status.CLAIMED,
                    T0 + timedelta(minutes=i),
                    reason=f"r{i}",
                    detail="d",
                )
            )
        events = await tx.list_events(ticket.id)
    assert [e.action for e in events] == [Action.CLAIM, Action.RESOLVE]
    assert events[0].actor == ALICE
    assert events[1].reason == "r1"


async def test_messages_keep_their_refs_and_refuse_redeliveries(storage: SqlStorage) -> None:
    ref = MessageRef(DISCORD, "2000000000000000001")
    file = Attachment("log.txt", "https://cdn.example/log.txt", 12, "text/plain")
    async with storage.transaction() as tx:
        _, new = await new_ticket(tx)
        ticket = await tx.create_ticket(new)
        message = NewMessage(ticket.id, Direction.FROM_CUSTOMER, ALICE, "help", T0, (file,), (ref,))
        stored = await tx.add_message(message)
        assert stored is not None
        assert await tx.add_message(message) is None
        copy = MessageRef(SLACK, "C0SUPPORT:1700000000.000100")
        assert await tx.add_message_ref(stored.id, copy)
        assert not await tx.add_message_ref(stored.id, copy)
        found = await tx.find_message(copy)
        listed = await tx.list_messages(ticket.id)
    assert found is not None
    assert found.refs == (ref, copy)
    assert found.attachments == (file,)
    assert listed == [found]


async def test_a_refused_message_leaves_nothing_behind(storage: SqlStorage) -> None:
    known, fresh = MessageRef(DISCORD, "2000000000000000001"), MessageRef(SLACK, "C1:1.000000")
    async with storage.transaction() as tx:
        _, new = await new_ticket(tx)
        ticket = await tx.create_ticket(new)
        first = NewMessage(ticket.id, Direction.FROM_CUSTOMER, ALICE, "help", T0, (), (known,))
        stored = await tx.add_message(first)
        assert stored is not None
        # A new ref first, then one stored before: the whole message is refused, both refs too.
        again = NewMessage(
            ticket.id, Direction.FROM_CUSTOMER, ALICE, "again", T0, (), (fresh, known)
        )
        assert await tx.add_message(again) is None
        assert await tx.find_message(fresh) is None
        listed = await tx.list_messages(ticket.id)
    assert [message.body for message in listed] == ["help"]
    assert listed[0].refs == (known,)


async def test_what_a_customer_s_message_needs_is_read_at_once(storage: SqlStorage) -> None:
    ref = MessageRef(DISCORD, "2000000000000000009")
    since = T0 + timedelta(minutes=1)

    async def writing(tx: SqlTransaction, external_id: str = "alice") -> CustomerWriting | None:
        return await tx.customer_writing(DISCORD, external_id, ref, since)

    async with storage.transaction() as tx:
        assert await writing(tx) is None  # not stored yet
        customer_id, new = await new_ticket(tx)
        first = await writing(tx)
        assert first is not None
        assert (first.customer.id, first.customer.display_name) == (customer_id, "Alice")
        assert (first.seen_on, first.open_ticket, first.recent) == (None, None, 0)

        closed = await tx.create_ticket(new)
        await tx.save_ticket(replace(closed, status=Status.CLOSED))
        ticket = await tx.create_ticket(new)

        def said(
            at: datetime, direction: Direction, refs: tuple[MessageRef, ...] = ()
        ) -> NewMessage:
            return NewMessage(ticket.id, direction, ALICE, "hi", at, (), refs)

        await tx.add_message(said(T0, Direction.FROM_CUSTOMER))  # before `since`
        await tx.add_message(said(since, Direction.FROM_CUSTOMER))
        await tx.add_message(said(since + timedelta(seconds=5), Direction.FROM_CUSTOMER))
        await tx.add_message(said(since, Direction.TO_CUSTOMER))  # an agent's
        now = await writing(tx)
        assert now is not None
        assert now.open_ticket is not None
        assert now.open_ticket.id == ticket.id
        assert (now.seen_on, now.recent) == (None, 2)

        await tx.add_message(said(since, Direction.FROM_CUSTOMER, (ref,)))
        seen = await writing(tx)
        assert seen is not None
        assert seen.seen_on == ticket.id
        # The message's ref is the platform's: another customer's read finds it too (a
        # redelivery is recognised before anything is written), with no open ticket of theirs.
        await tx.upsert_customer(DISCORD, "bob", "Bob", T0)
        bob = await writing(tx, "bob")
        assert bob is not None
        assert bob.seen_on == ticket.id
        assert bob.open_ticket is None


async def test_a_message_added_in_a_transaction_is_not_read_back_to_be_sent(
    storage: SqlStorage,
) -> None:
    """A delivery of a message this transaction added carries the message as it was added; once
    the transaction changes the message, it is read back like any other."""
    ref = MessageRef(DISCORD, "2000000000000000010")
    copy = MessageRef(SLACK, "C0SUPPORT:1700000000.000200")
    async with storage.transaction() as tx:
        _, new = await new_ticket(tx)
        ticket = await tx.create_ticket(new)
        added = await tx.add_message(
            NewMessage(ticket.id, Direction.FROM_CUSTOMER, ALICE, "help", T0, (), (ref,))
        )
        assert added is not None
        delivery = await tx.add_delivery(
            NewDelivery(ticket.id, Lane.AGENTS, CustomerWrote(), T0, added.id, MAIN_WORKSPACE)
        )
        [job] = await tx.jobs_for([delivery])
        assert job is not None
        assert job.message is added
        assert await tx.add_message_ref(added.id, copy)
        [changed] = await tx.jobs_for([delivery])
        assert changed is not None
        assert changed.message is not None
        assert changed.message.refs == (ref, copy)
        await tx.mark_message_edited(added.id, "help!", T0)
        [edited] = await tx.jobs_for([delivery])
        assert edited is not None
        assert edited.message is not None
        assert edited.message.body == "help!"
    async with storage.transaction() as tx:
        [later] = await tx.jobs_for([delivery])
    assert later is not None
    assert later.message == edited.message


async def test_message_edits_and_deletes_are_marked(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        _, new = await new_ticket(tx)
        ticket = await tx.create_ticket(new)
        stored = await tx.add_message(NewMessage(ticket.id, Direction.NOTE, ALICE, "first", T0))
        assert stored is not None
        await tx.mark_message_edited(stored.id, "second", T0 + timedelta(minutes=1))
        await tx.mark_message_deleted(stored.id, T0 + timedelta(minutes=2))
        (after,) = await tx.list_messages(ticket.id)
    assert after.body == "second"
    assert after.edited_at == T0 + timedelta(minutes=1)
    assert after.deleted_at == T0 + timedelta(minutes=2)


async def test_inbound_events_are_recorded_once(storage: SqlStorage) -> None:
    payload = {"event_id": "Ev1", "event": {"type": "message", "text": "hi"}}
    async with storage.transaction() as tx:
        assert await tx.record_inbound_event(SLACK, "Ev1", payload, T0)
        # Seen but never processed: still to do.
        assert await tx.record_inbound_event(SLACK, "Ev1", payload, T0)
        await tx.mark_inbound_processed(SLACK, "Ev1", T0)
        assert not await tx.record_inbound_event(SLACK, "Ev1", payload, T0)
        assert await tx.record_inbound_event(DISCORD, "Ev1", payload, T0)
        assert await tx.count("inbound_events") == 2


async def test_a_failed_transaction_writes_nothing(storage: SqlStorage) -> None:
    with pytest.raises(RuntimeError):
        async with storage.transaction() as tx:
            _, new = await new_ticket(tx)
            await tx.create_ticket(new)
            raise RuntimeError("crash mid-way")
    async with storage.transaction() as tx:
        assert await tx.list_tickets() == []
        assert await tx.count("customers") == 0


async def test_the_schema_refuses_bad_rows(storage: SqlStorage) -> None:
    for statement in (
        "UPDATE tickets SET status = 'lost'",
        "UPDATE tickets SET tier = 4",
        "UPDATE tickets SET customer_id = 999",
    ):
        with pytest.raises(IntegrityError):
            async with storage.transaction() as tx:
                _, new = await new_ticket(tx)
                await tx.create_ticket(new)
                await tx._conn.execute(text(statement))


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/wal.db")
    try:
        async with engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
            keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
    finally:
        await engine.dispose()
    assert (mode, keys) == ("wal", 1)


async def test_query_tickets_by_holder_queue_text_and_urgency(storage: SqlStorage) -> None:
    ann = Agent(AgentId("U0ANN"), "Ann")
    async with storage.transaction() as tx:
        made = []
        for name in ("a", "b", "c", "d"):
            _, new = await new_ticket(tx, name)
            made.append(await tx.create_ticket(replace(new, subject=f"subject {name}")))
        a, b, c, d = made
        await tx.save_ticket(replace(a, status=Status.CLAIMED, assignee=ann))
        await tx.save_ticket(replace(b, due_at=T0 + timedelta(hours=2), priority=Priority.LOW))
        await tx.save_ticket(replace(c, due_at=T0 + timedelta(hours=1)))
        await tx.save_ticket(replace(d, subject="100% off_sale", priority=Priority.URGENT))
        body = NewMessage(a.id, Direction.FROM_CUSTOMER, ALICE, "The PRINTER is on fire", T0)
        await tx.add_message(body)

        mine = await tx.query_tickets(TicketQuery(assignee_id=AgentId("U0ANN")))
        queue = await tx.query_tickets(
            TicketQuery((Status.NEW,), unassigned=True, order=TicketOrder.MOST_URGENT)
        )
        soon = await tx.query_tickets(TicketQuery(due_before=T0 + timedelta(hours=1)))
        printer = await tx.query_tickets(TicketQuery(text="printer"))
        percent = await tx.query_tickets(TicketQuery(text="0% off_s"))
        underscore = await tx.query_tickets(TicketQuery(text="t_b"))
    assert [t.number for t in mine] == [a.number]
    # Deadlines first (earliest first), then the rest by priority.
    assert [t.number for t in queue] == [c.number, b.number, d.number]
    assert [t.number for t in soon] == [c.number]
    assert [t.number for t in printer] == [a.number]
    assert [t.number for t in percent] == [d.number]
    assert underscore == []  # "_" is a literal, not a wildcard
