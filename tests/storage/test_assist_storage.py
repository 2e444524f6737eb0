"""What the AI features keep, in storage, on both databases: a ticket's triage and switches
(never a move: the version stays), drafted replies decided once however many agents press Send,
the assistant's lane of the delivery queue, and migration 0012 that brought them."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.assist import Citation, DraftStatus
from bot.core.delivery import MAIN_WORKSPACE, Lane, NewDelivery
from bot.core.domain import (
    Actor,
    Agent,
    AgentId,
    Direction,
    MessageId,
    NewMessage,
    NewTicket,
    Priority,
    Status,
    Ticket,
    TicketId,
    Triage,
)
from bot.core.outbound import (
    AssistCustomerMessage,
    AssistDraft,
    CustomerWrote,
    OutboundEvent,
    TicketClaimed,
    encode,
)
from integrations.platforms import DISCORD
from storage import models as m
from storage.migrate import current_revision, head, upgrade
from storage.repository import SqlStorage, SqlTransaction
from tests.storage.old_schema import downgrade_to, old_ticket

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = 60.0
ANN, BOB = "Ann", "Bob"
SOURCES = (
    Citation("refunds", "Refunds and returns", 0.91),
    Citation("shipping", "Shipping times", 0.4),
)
TRIAGE = Triage(
    category="billing",
    category_confidence=0.82,
    priority=Priority.HIGH,
    priority_confidence=0.6,
    sentiment="negative",
    sentiment_confidence=0.9,
    language=None,
    title="Refund not received",
    by_model=True,
)


async def a_ticket(tx: SqlTransaction, customer: str = "alice") -> Ticket:
    found = await tx.upsert_customer(DISCORD, customer, customer.title(), T0)
    return await tx.create_ticket(NewTicket(found.id, "Refund", Priority.NORMAL, 1, T0))


async def a_message(
    tx: SqlTransaction, ticket: Ticket, body: str = "Where is my refund?"
) -> MessageId:
    message = await tx.add_message(
        NewMessage(ticket.id, Direction.FROM_CUSTOMER, Actor.system("Alice"), body, T0)
    )
    assert message is not None
    return message.id


async def fetch(storage: SqlStorage, ticket_id: TicketId) -> Ticket:
    async with storage.reading() as tx:
        ticket = await tx.get_ticket_by_id(ticket_id)
    assert ticket is not None
    return ticket


# --- a ticket's triage and switches ----------------------------------------------------------


async def test_a_new_ticket_has_no_triage_and_both_switches_off(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
    assert (ticket.triage, ticket.translate_replies, ticket.auto_answer_stopped) == (
        None,
        False,
        False,
    )
    assert await fetch(storage, ticket.id) == ticket


async def test_a_triage_comes_back_as_it_was_stored(storage: SqlStorage) -> None:
    edited = replace(
        TRIAGE,
        category="shipping",
        category_confidence=1.0,
        language="de",
        by_model=False,
        edited_by=ANN,
    )
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        await tx.set_ticket_triage(ticket.id, TRIAGE)
    assert (await fetch(storage, ticket.id)).triage == TRIAGE
    async with storage.transaction() as tx:
        await tx.set_ticket_triage(ticket.id, edited)
    found = (await fetch(storage, ticket.id)).triage
    assert found == edited
    assert found is not None
    assert found.priority is Priority.HIGH
    assert (found.language, found.edited_by) == ("de", ANN)


async def test_the_switches_turn_on_and_off(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        await tx.set_translate_replies(ticket.id, True)
    found = await fetch(storage, ticket.id)
    assert (found.translate_replies, found.auto_answer_stopped) == (True, False)
    async with storage.transaction() as tx:
        await tx.set_auto_answer_stopped(ticket.id, True)
        await tx.set_translate_replies(ticket.id, False)
    found = await fetch(storage, ticket.id)
    assert (found.translate_replies, found.auto_answer_stopped) == (False, True)


async def test_the_setters_are_not_moves_they_change_nothing_else(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        claimed = await tx.save_ticket(
            replace(
                ticket,
                status=Status.CLAIMED,
                assignee=Agent(AgentId("U0ANN"), ANN),
                updated_at=T0 + timedelta(minutes=1),
            )
        )
        await tx.set_ticket_rating(ticket.id, 4)
    before = await fetch(storage, ticket.id)

    async with storage.transaction() as tx:
        await tx.set_ticket_triage(ticket.id, TRIAGE)
        await tx.set_translate_replies(ticket.id, True)
        await tx.set_auto_answer_stopped(ticket.id, True)
    after = await fetch(storage, ticket.id)
    assert after == replace(before, triage=TRIAGE, translate_replies=True, auto_answer_stopped=True)
    assert after.version == claimed.version == 2

    # A move taken from the ticket as it was before stays valid, and keeps what was set.
    async with storage.transaction() as tx:
        saved = await tx.save_ticket(replace(claimed, priority=Priority.URGENT))
    assert (saved.version, saved.priority) == (3, Priority.URGENT)
    assert (saved.triage, saved.translate_replies, saved.auto_answer_stopped) == (
        TRIAGE,
        True,
        True,
    )


async def test_another_ticket_is_untouched_by_the_setters(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        mine, other = await a_ticket(tx), await a_ticket(tx, "bob")
        await tx.set_ticket_triage(mine.id, TRIAGE)
        await tx.set_translate_replies(mine.id, True)
        await tx.set_auto_answer_stopped(mine.id, True)
    assert await fetch(storage, other.id) == other


@pytest.mark.parametrize(
    "stored",
    [
        {"category": "billing"},  # fields missing
        {**TRIAGE.as_dict(), "priority": "whenever"},  # not a priority
        {**TRIAGE.as_dict(), "priority": "high", "category_confidence": "very"},
        {**TRIAGE.as_dict(), "priority": "high", "by_model": "yes"},
        ["billing", "high"],  # not an object
        "billing",
    ],
)
async def test_an_unreadable_triage_is_left_out_with_a_warning(
    storage: SqlStorage, caplog: pytest.LogCaptureFixture, stored: object
) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        await tx._conn.execute(
            sa.update(m.tickets).where(m.tickets.c.id == ticket.id).values(triage=stored)
        )
    with caplog.at_level(logging.WARNING, logger="storage.rows"):
        found = await fetch(storage, ticket.id)
    assert found.triage is None
    assert found.subject == "Refund"
    assert "triage is unreadable" in caplog.text


async def test_a_triage_from_a_later_build_with_more_fields_is_read(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        stored = {**TRIAGE.as_dict(), "priority": "high", "urgency_reason": "angry"}
        await tx._conn.execute(
            sa.update(m.tickets).where(m.tickets.c.id == ticket.id).values(triage=stored)
        )
    assert (await fetch(storage, ticket.id)).triage == TRIAGE


# --- drafts ------------------------------------------------------------------------------


async def test_a_draft_is_kept_as_offered(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        draft = await tx.add_draft(ticket.id, "Your refund left on Monday.", SOURCES, True, T0)
        bare = await tx.add_draft(ticket.id, "Hello!", (), False, T0)
    assert draft.ticket_id == ticket.id
    assert (draft.text, draft.citations, draft.by_model) == (
        "Your refund left on Monday.",
        SOURCES,
        True,
    )
    assert (draft.status, draft.created_at) == (DraftStatus.OFFERED, T0)
    assert (draft.decided_by, draft.decided_at, draft.message_id) == (None, None, None)
    assert bare.id != draft.id
    async with storage.reading() as tx:
        assert await tx.get_draft(draft.id) == draft
        assert await tx.get_draft(bare.id) == bare
        assert await tx.get_draft(999_999) is None


async def test_a_draft_is_sent_once(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        draft = await tx.add_draft(ticket.id, "Your refund left on Monday.", SOURCES, True, T0)
        reply = await a_message(tx, ticket, "Your refund left on Monday.")
    sent_at = T0 + timedelta(minutes=2)
    async with storage.transaction() as tx:
        assert await tx.decide_draft(draft.id, DraftStatus.SENT, ANN, sent_at, reply)
    async with storage.transaction() as tx:
        # Too late: sent already. Neither a second Send nor a Discard changes it.
        later = sent_at + timedelta(minutes=1)
        assert not await tx.decide_draft(draft.id, DraftStatus.SENT, BOB, later)
        assert not await tx.decide_draft(draft.id, DraftStatus.DISCARDED, BOB, later)
        found = await tx.get_draft(draft.id)
    assert found == replace(
        draft, status=DraftStatus.SENT, decided_by=ANN, decided_at=sent_at, message_id=reply
    )


async def test_a_discarded_draft_cannot_be_sent(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        draft = await tx.add_draft(ticket.id, "Hello!", (), False, T0)
        assert await tx.decide_draft(draft.id, DraftStatus.DISCARDED, BOB, T0)
        assert not await tx.decide_draft(draft.id, DraftStatus.SENT, ANN, T0)
        found = await tx.get_draft(draft.id)
        assert not await tx.decide_draft(999_999, DraftStatus.SENT, ANN, T0)
    assert found == replace(draft, status=DraftStatus.DISCARDED, decided_by=BOB, decided_at=T0)


async def test_a_draft_is_decided_as_sent_or_discarded_only(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        draft = await tx.add_draft(ticket.id, "Hello!", (), False, T0)
        with pytest.raises(ValueError, match="offered"):
            await tx.decide_draft(draft.id, DraftStatus.OFFERED, ANN, T0)


async def test_agents_pressing_send_at_once_have_exactly_one_winner(
    storage: SqlStorage,
) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        draft = await tx.add_draft(ticket.id, "Your refund left on Monday.", SOURCES, True, T0)
    agents = [f"Agent {i}" for i in range(6)]
    # On PostgreSQL every agent first sees the draft offered, then all decide at once: the
    # later updates wait for the first and then match nothing. SQLite's writers take turns.
    together = asyncio.Barrier(len(agents)) if storage.engine.dialect.name == "postgresql" else None

    async def press_send(agent: str) -> bool:
        async with storage.transaction() as tx:
            seen = await tx.get_draft(draft.id)
            assert seen is not None
            if together is not None:
                assert seen.status is DraftStatus.OFFERED
                await asyncio.wait_for(together.wait(), 10)
            return await tx.decide_draft(draft.id, DraftStatus.SENT, agent, T0)

    won = await asyncio.gather(*(press_send(agent) for agent in agents))
    assert won.count(True) == 1, won
    async with storage.reading() as tx:
        found = await tx.get_draft(draft.id)
    assert found is not None
    assert found.status is DraftStatus.SENT
    assert found.decided_by == agents[won.index(True)]


async def test_a_draft_keeps_its_ticket_and_outlives_nothing(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        draft = await tx.add_draft(ticket.id, "Hello!", (), False, T0)
    with pytest.raises(IntegrityError):
        async with storage.transaction() as tx:
            await tx.add_draft(TicketId(999_999), "Hello!", (), False, T0)
    async with storage.transaction() as tx:
        await tx._conn.execute(sa.delete(m.tickets).where(m.tickets.c.id == ticket.id))
        assert await tx.get_draft(draft.id) is None


# --- the assistant's lane ----------------------------------------------------------------


async def test_the_assistant_lane_is_queued_and_claimed_on_its_own(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        message = await a_message(tx, ticket)
        asked = await tx.add_delivery(
            NewDelivery(ticket.id, Lane.ASSISTANT, AssistCustomerMessage(), T0, message)
        )
        await tx.add_delivery(NewDelivery(ticket.id, Lane.ASSISTANT, AssistDraft(ANN), T0))
        told = await tx.add_delivery(
            NewDelivery(ticket.id, Lane.AGENTS, CustomerWrote(), T0, message, MAIN_WORKSPACE)
        )
    assert (asked.lane, asked.workspace, asked.event) == (
        Lane.ASSISTANT,
        "",
        AssistCustomerMessage(),
    )
    async with storage.transaction() as tx:
        claimed = await tx.claim_due_deliveries(T0, Lane.ASSISTANT, "", 10, LEASE)
        jobs = await tx.jobs_for(claimed)
        for_agents = await tx.claim_due_deliveries(T0, Lane.AGENTS, MAIN_WORKSPACE, 10, LEASE)
    # One head per lane: the assistant's second request waits for its first.
    assert [d.id for d in claimed] == [asked.id]
    assert [d.id for d in for_agents] == [told.id]
    # Its job carries the ticket and the customer's message, like any other lane's.
    [job] = jobs
    assert job is not None
    assert job.ticket.id == ticket.id
    assert job.message is not None
    assert job.message.id == message


def test_a_delivery_on_the_assistant_lane_names_no_workspace() -> None:
    with pytest.raises(ValueError, match="assistant"):
        NewDelivery(TicketId(1), Lane.ASSISTANT, AssistDraft(None), T0, workspace=MAIN_WORKSPACE)


# --- migration 0012 ----------------------------------------------------------------------

deliveries_0011 = sa.table(
    "deliveries",
    sa.column("id", sa.Integer),
    sa.column("ticket_id", sa.Integer),
    sa.column("lane", sa.String),
    sa.column("kind", sa.String),
    sa.column("schema_version", sa.Integer),
    sa.column("payload", sa.JSON),
    sa.column("message_id", sa.Integer),
    sa.column("workspace", sa.String),
    sa.column("status", sa.String),
    sa.column("attempts", sa.Integer),
    sa.column("created_at", m.UTCDateTime),
    sa.column("next_attempt_at", m.UTCDateTime),
)
TICKET_COLUMNS = {"triage", "translate_replies", "auto_answer_stopped"}


async def _at_0011(engine: AsyncEngine) -> tuple[TicketId, MessageId]:
    """A database at 0011 with ticket #1001, a message on it, and a delivery in each lane."""
    await upgrade(engine, "0011")
    async with engine.begin() as conn:
        ticket = await old_ticket(conn, T0, status="claimed", workspace_ref="C0MAIN:1.1")
    storage = SqlStorage(engine)  # messages and deliveries are as 0011 had them
    async with storage.transaction() as tx:
        message = await tx.add_message(
            NewMessage(ticket, Direction.FROM_CUSTOMER, Actor.system("Alice"), "Where is it?", T0)
        )
        assert message is not None
    # Deliveries as a build of 0011 wrote them (today's rows have columns 0011 lacks).
    await _delivery_0011(engine, ticket, "agents", CustomerWrote(), MAIN_WORKSPACE, message.id)
    await _delivery_0011(engine, ticket, "customer", TicketClaimed(ANN))
    return ticket, message.id


async def _delivery_0011(
    engine: AsyncEngine,
    ticket_id: TicketId,
    lane: str,
    event: OutboundEvent,
    workspace: str = "",
    message_id: MessageId | None = None,
    *,
    done: bool = False,
) -> None:
    kind, version, payload = encode(event)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(deliveries_0011).values(
                ticket_id=ticket_id,
                lane=lane,
                kind=kind,
                schema_version=version,
                payload=payload,
                message_id=message_id,
                workspace=workspace,
                status="done" if done else "pending",
                attempts=0,
                created_at=T0,
                next_attempt_at=T0,
            )
        )


async def _schema(engine: AsyncEngine) -> tuple[set[str], set[str]]:
    """(the tables, the tickets' columns)."""

    def read(conn: Connection) -> tuple[set[str], set[str]]:
        inspector = sa.inspect(conn)
        columns = {str(c["name"]) for c in inspector.get_columns("tickets")}
        return set(inspector.get_table_names()), columns

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def _assistant_row(engine: AsyncEngine, ticket_id: TicketId) -> None:
    """Queue a row on the assistant lane as a build without the migration would write it."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(deliveries_0011).values(
                ticket_id=ticket_id,
                lane="assistant",
                kind="assist_draft",
                schema_version=1,
                payload={"by": None},
                workspace="",
                status="pending",
                attempts=0,
                created_at=T0,
                next_attempt_at=T0,
            )
        )


async def test_0012_upgrades_a_ticket_and_keeps_what_refers_to_it(engine: AsyncEngine) -> None:
    ticket_id, message_id = await _at_0011(engine)
    with pytest.raises(IntegrityError):  # the lane check before
        await _assistant_row(engine, ticket_id)

    assert await upgrade(engine, "0012") == ("0011", "0012")
    tables, columns = await _schema(engine)
    assert "drafts" in tables
    assert columns >= TICKET_COLUMNS
    await upgrade(engine)  # today's storage reads today's schema
    storage = SqlStorage(engine)
    ticket = await fetch(storage, ticket_id)
    assert (ticket.number, ticket.status, ticket.workspace_ref) == (
        1001,
        Status.CLAIMED,
        "C0MAIN:1.1",
    )
    assert (ticket.triage, ticket.translate_replies, ticket.auto_answer_stopped) == (
        None,
        False,
        False,
    )
    async with storage.transaction() as tx:
        # Nothing that refers to the ticket was lost on the way.
        assert [msg.id for msg in await tx.list_messages(ticket_id)] == [message_id]
        queued = await tx.list_deliveries(ticket_id)
        assert [d.lane for d in queued] == [Lane.AGENTS, Lane.CUSTOMER]
        await tx.add_delivery(NewDelivery(ticket_id, Lane.ASSISTANT, AssistDraft(ANN), T0))
        draft = await tx.add_draft(ticket_id, "Hello!", SOURCES, True, T0)
        assert await tx.decide_draft(draft.id, DraftStatus.SENT, ANN, T0, message_id)
    await _assistant_row(engine, ticket_id)  # the lane check after


async def test_0012_downgraded_forgets_the_assistant(engine: AsyncEngine) -> None:
    ticket_id, message_id = await _at_0011(engine)
    await upgrade(engine, "0012")
    storage = SqlStorage(engine)
    async with storage.transaction() as tx:
        await tx.set_ticket_triage(ticket_id, TRIAGE)
        await tx.set_translate_replies(ticket_id, True)
        await tx.add_draft(ticket_id, "Hello!", SOURCES, True, T0)
    # The assistant's rows, one done and one pending, as a build of 0012 wrote them.
    asked = AssistCustomerMessage()
    await _delivery_0011(engine, ticket_id, "assistant", asked, message_id=message_id, done=True)
    await _delivery_0011(engine, ticket_id, "assistant", AssistDraft(ANN))

    await downgrade_to(engine, "0011")
    assert await current_revision(engine) == "0011"
    tables, columns = await _schema(engine)
    assert "drafts" not in tables
    assert not columns & TICKET_COLUMNS
    async with engine.connect() as conn:
        d = deliveries_0011
        left = [
            tuple(row) for row in await conn.execute(sa.select(d.c.lane, d.c.kind).order_by(d.c.id))
        ]
        messages = (await conn.execute(sa.select(sa.func.count()).select_from(m.messages))).one()
    # The assistant's rows are gone, pending or done; the agents' and the customer's are kept,
    # and so is the message (the tickets' columns were dropped in place, not by a rebuild).
    assert left == [("agents", "customer_wrote"), ("customer", "ticket_claimed")]
    assert messages == (1,)
    with pytest.raises(IntegrityError):  # the lane check is as it was
        await _assistant_row(engine, ticket_id)

    # And up again: the ticket starts afresh.
    assert await upgrade(engine) == ("0011", head())
    ticket = await fetch(storage, ticket_id)
    assert (ticket.triage, ticket.translate_replies) == (None, False)


async def test_where_each_workspace_shows_a_draft(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        draft = await tx.add_draft(ticket.id, "Hello!", (), False, T0)
        other = await tx.add_draft(ticket.id, "Hi!", (), False, T0)
        assert await tx.draft_posts(draft.id) == {}
        await tx.set_draft_post(draft.id, "main", "C1:1.2")
        await tx.set_draft_post(draft.id, "discord", "1234")
        await tx.set_draft_post(draft.id, "discord", "5678")  # posted again (a lost thread)
        await tx.set_draft_post(other.id, "main", "C1:3.4")
        await tx.set_draft_post(999_999, "main", "C1:5.6")  # no such draft: nothing kept
    async with storage.reading() as tx:
        assert await tx.draft_posts(draft.id) == {"main": "C1:1.2", "discord": "5678"}
        assert await tx.draft_posts(other.id) == {"main": "C1:3.4"}
        assert await tx.draft_posts(999_999) == {}
