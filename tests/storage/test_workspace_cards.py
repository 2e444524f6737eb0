"""More than one agent workspace, in storage, on both databases: each workspace's cards, the
delivery queue's lanes per workspace, and migration 0010 that brought them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.delivery import MAIN_WORKSPACE, Delivery, DeliveryStatus, Lane, NewDelivery
from bot.core.domain import (
    Actor,
    Direction,
    MessageRef,
    NewMessage,
    NewTicket,
    Priority,
    Ticket,
    TicketId,
)
from bot.core.outbound import CardChanged, CustomerWrote, OutboundEvent, TicketClaimed
from integrations.platforms import DISCORD, SLACK
from storage.migrate import current_revision, head, upgrade
from storage.models import UTCDateTime
from storage.repository import SqlStorage, SqlTransaction
from tests.storage.old_schema import downgrade_to, old_ticket, tickets

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STAFF, NIGHT = "staff", "night"
A, C = Lane.AGENTS, Lane.CUSTOMER
LEASE = 60.0


async def a_ticket(tx: SqlTransaction, customer: str = "alice") -> Ticket:
    found = await tx.upsert_customer(DISCORD, customer, customer.title(), T0)
    return await tx.create_ticket(NewTicket(found.id, "Printer on fire", Priority.NORMAL, 1, T0))


def to(ticket: Ticket, workspace: str, event: OutboundEvent | None = None) -> NewDelivery:
    """A delivery for one agent workspace (or, for "", the customer)."""
    lane = A if workspace else C
    default = CardChanged() if workspace else TicketClaimed("Ann")
    return NewDelivery(ticket.id, lane, event or default, T0, workspace=workspace)


# --- message copies ----------------------------------------------------------------------


async def test_a_message_s_copies_keep_the_workspace_they_are_in(storage: SqlStorage) -> None:
    original = MessageRef(DISCORD, "111")  # the customer's own, on their side
    in_main = MessageRef(SLACK, "C0MAIN:1.1", MAIN_WORKSPACE)
    in_staff = MessageRef(DISCORD, "222", STAFF)  # a staff workspace on the customers' platform
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        message = await tx.add_message(
            NewMessage(
                ticket.id,
                Direction.FROM_CUSTOMER,
                Actor.system("Alice"),
                "hello",
                T0,
                refs=(original,),
            )
        )
        assert message is not None
        assert await tx.add_message_ref(message.id, in_main)
        assert await tx.add_message_ref(message.id, in_staff)
    async with storage.reading() as tx:
        found = await tx.find_message(MessageRef(DISCORD, "222"))  # found by its id alone
        assert found is not None
        assert found.refs == (original, in_main, in_staff)


# --- cards ------------------------------------------------------------------------------


async def test_each_workspace_finds_the_ticket_by_its_own_card(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        other = await a_ticket(tx, "bob")
        await tx.set_card(ticket.id, MAIN_WORKSPACE, "C0MAIN:1.1")
        await tx.set_card(ticket.id, STAFF, "C0STAFF:1.1")
        # The same place in two workspaces is two cards: each workspace's refs are its own.
        await tx.set_card(other.id, NIGHT, "C0STAFF:1.1")

    async with storage.transaction() as tx:
        main = await tx.find_ticket_by_card(MAIN_WORKSPACE, "C0MAIN:1.1")
        staff = await tx.find_ticket_by_card(STAFF, "C0STAFF:1.1")
        night = await tx.find_ticket_by_card(NIGHT, "C0STAFF:1.1")
        assert main is not None
        assert staff is not None
        assert night is not None
        assert (main.id, staff.id, night.id) == (ticket.id, ticket.id, other.id)
        assert main.workspace_ref == "C0MAIN:1.1"  # the main card is the ticket's own
        # A card is found only in its own workspace.
        assert await tx.find_ticket_by_card(MAIN_WORKSPACE, "C0STAFF:1.1") is None
        assert await tx.find_ticket_by_card(STAFF, "C0MAIN:1.1") is None
        assert await tx.find_ticket_by_card("elsewhere", "C0STAFF:1.1") is None


async def test_a_card_set_again_replaces_the_one_before(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        await tx.set_card(ticket.id, MAIN_WORKSPACE, "C0MAIN:1.1")
        await tx.set_card(ticket.id, STAFF, "C0STAFF:1.1")
    async with storage.transaction() as tx:
        await tx.set_card(ticket.id, STAFF, "C0STAFF:2.2")
        await tx.set_card(ticket.id, MAIN_WORKSPACE, "C0MAIN:2.2")
    async with storage.transaction() as tx:
        # A card updated in place is recorded again at the same place: nothing changes.
        await tx.set_card(ticket.id, STAFF, "C0STAFF:2.2")

    async with storage.transaction() as tx:
        for workspace, old, new in [
            (MAIN_WORKSPACE, "C0MAIN:1.1", "C0MAIN:2.2"),
            (STAFF, "C0STAFF:1.1", "C0STAFF:2.2"),
        ]:
            assert await tx.find_ticket_by_card(workspace, old) is None
            found = await tx.find_ticket_by_card(workspace, new)
            assert found is not None
            assert found.id == ticket.id
        rows = await tx._conn.execute(sa.text("SELECT workspace, ref FROM workspace_cards"))
        assert [tuple(row) for row in rows] == [(STAFF, "C0STAFF:2.2")]  # one per workspace
        again = await tx.get_ticket_by_id(ticket.id)
        assert again is not None
        assert again.workspace_ref == "C0MAIN:2.2"


async def test_one_card_belongs_to_one_ticket_in_a_workspace(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        first = await a_ticket(tx)
        await tx.set_card(first.id, STAFF, "C0STAFF:1.1")
    with pytest.raises(IntegrityError):
        async with storage.transaction() as tx:
            second = await a_ticket(tx, "bob")
            await tx.set_card(second.id, STAFF, "C0STAFF:1.1")


async def test_each_delivery_carries_the_card_of_its_own_workspace(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        bare = await a_ticket(tx, "bob")  # no card anywhere yet
        await tx.set_card(ticket.id, MAIN_WORKSPACE, "C0MAIN:1.1")
        await tx.set_card(ticket.id, STAFF, "C0STAFF:1.1")
        queued = [
            await tx.add_delivery(new)
            for new in [
                to(ticket, MAIN_WORKSPACE),
                to(ticket, STAFF),
                to(ticket, NIGHT),
                to(ticket, ""),
                to(bare, STAFF),
                to(bare, MAIN_WORKSPACE),
            ]
        ]
        jobs = await tx.jobs_for(queued)
    assert [job.card if job else "gone" for job in jobs] == [
        "C0MAIN:1.1",
        "C0STAFF:1.1",
        None,  # no card in that workspace yet
        None,  # the customer's lane is in no workspace
        None,
        None,
    ]


# --- the queue's lanes, per workspace -------------------------------------------------------


def test_a_delivery_names_a_workspace_on_the_agents_lane_only() -> None:
    one = TicketId(1)
    NewDelivery(one, A, CardChanged(), T0, workspace=STAFF)
    NewDelivery(one, C, TicketClaimed("Ann"), T0)
    with pytest.raises(ValueError, match="workspace"):
        NewDelivery(one, A, CardChanged(), T0)  # an agents' delivery for no workspace
    with pytest.raises(ValueError, match="workspace"):
        NewDelivery(one, C, TicketClaimed("Ann"), T0, workspace=MAIN_WORKSPACE)


async def test_deliveries_keep_their_workspace(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        added = [await tx.add_delivery(to(ticket, w)) for w in (MAIN_WORKSPACE, STAFF, "")]
        listed = await tx.list_deliveries(ticket.id)
    assert [d.workspace for d in added] == [MAIN_WORKSPACE, STAFF, ""]
    assert [(d.lane, d.workspace) for d in listed] == [
        (A, MAIN_WORKSPACE),
        (A, STAFF),
        (C, ""),
    ]


async def test_heads_are_taken_per_lane_and_workspace(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        main1 = await tx.add_delivery(to(ticket, MAIN_WORKSPACE))
        staff1 = await tx.add_delivery(to(ticket, STAFF))
        main2 = await tx.add_delivery(to(ticket, MAIN_WORKSPACE, CustomerWrote()))
        staff2 = await tx.add_delivery(to(ticket, STAFF, CustomerWrote()))
        told = await tx.add_delivery(to(ticket, ""))

    async def claim(lane: Lane, workspace: str) -> list[int]:
        async with storage.transaction() as tx:
            taken = await tx.claim_due_deliveries(T0, lane, workspace, 10, LEASE)
        return [d.id for d in taken]

    # Each outlet's head, and only that outlet's: main's pending head does not block staff's.
    assert await claim(A, MAIN_WORKSPACE) == [main1.id]
    assert await claim(A, STAFF) == [staff1.id]
    assert await claim(C, "") == [told.id]
    # No delivery is on the agents' lane of no workspace, nor on the customer's of one.
    assert await claim(A, "") == []
    assert await claim(C, MAIN_WORKSPACE) == []
    assert await claim(A, NIGHT) == []
    # Within a workspace, order holds: the second waits for the first, leased or not.
    assert await claim(A, STAFF) == []
    async with storage.transaction() as tx:
        await tx.finish_delivery(staff1.id, DeliveryStatus.DONE, T0)
    assert await claim(A, STAFF) == [staff2.id]
    assert await claim(A, MAIN_WORKSPACE) == []  # main1 is still out
    async with storage.transaction() as tx:
        await tx.retry_delivery(main1.id, T0 + timedelta(minutes=5), "Slack is down", unsure=False)
    assert await claim(A, MAIN_WORKSPACE) == []  # its head waits for its retry; so does main2
    async with storage.transaction() as tx:
        taken = await tx.claim_due_deliveries(
            T0 + timedelta(minutes=5), A, MAIN_WORKSPACE, 10, LEASE
        )
    assert [d.id for d in taken] == [main1.id]
    assert main2.id not in [d.id for d in taken]


async def test_a_head_waiting_in_one_workspace_does_not_hold_up_another(
    storage: SqlStorage,
) -> None:
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        stuck = await tx.add_delivery(to(ticket, STAFF))
        behind = await tx.add_delivery(to(ticket, STAFF, CustomerWrote()))
        main = [await tx.add_delivery(to(ticket, MAIN_WORKSPACE)) for _ in range(3)]
        # Staff's head failed for now: pending, not leased, due again only in an hour.
        await tx.retry_delivery(stuck.id, T0 + timedelta(hours=1), "staff is down", unsure=False)

    sent = []
    for _ in range(4):
        async with storage.transaction() as tx:
            staff_taken = await tx.claim_due_deliveries(T0, A, STAFF, 10, LEASE)
            taken = await tx.claim_due_deliveries(T0, A, MAIN_WORKSPACE, 10, LEASE)
            assert staff_taken == []
            for delivery in taken:
                await tx.finish_delivery(delivery.id, DeliveryStatus.DONE, T0)
            sent += [d.id for d in taken]
    assert sent == [d.id for d in main]  # one at a time, in order
    async with storage.transaction() as tx:
        later = T0 + timedelta(hours=1)
        taken = await tx.claim_due_deliveries(later, A, STAFF, 10, LEASE)
    assert [d.id for d in taken] == [stuck.id]  # and `behind` still waits for it
    assert behind.id not in [d.id for d in taken]


async def test_heads_of_many_tickets_are_taken_per_workspace(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        tickets = [await a_ticket(tx, f"c{i}") for i in range(3)]
        staff = [await tx.add_delivery(to(t, STAFF)) for t in tickets]
        main = [await tx.add_delivery(to(t, MAIN_WORKSPACE)) for t in tickets]
        await tx.add_delivery(to(tickets[0], STAFF, CustomerWrote()))
    async with storage.transaction() as tx:
        first_two = await tx.claim_due_deliveries(T0, A, STAFF, 2, LEASE)
        rest = await tx.claim_due_deliveries(T0, A, STAFF, 2, LEASE)
        mains = await tx.claim_due_deliveries(T0, A, MAIN_WORKSPACE, 10, LEASE)
    assert [d.id for d in first_two + rest] == [d.id for d in staff]
    assert [d.id for d in mains] == [d.id for d in main]
    assert {d.workspace for d in first_two + rest} == {STAFF}


async def test_finishing_a_delivery_tells_whether_its_own_lane_has_more(
    storage: SqlStorage,
) -> None:
    """Its lane is its ticket's, on its side, in its workspace: what waits in another
    workspace, or on the other side, is not its lane's."""
    async with storage.transaction() as tx:
        ticket = await a_ticket(tx)
        other = await a_ticket(tx, "bob")
        main = [await tx.add_delivery(to(ticket, MAIN_WORKSPACE)) for _ in range(2)]
        staff = await tx.add_delivery(to(ticket, STAFF))
        customer = [await tx.add_delivery(to(ticket, "")) for _ in range(2)]
        await tx.add_delivery(to(other, MAIN_WORKSPACE))  # another ticket's

    async def finish(delivery: Delivery, status: DeliveryStatus = DeliveryStatus.DONE) -> bool:
        async with storage.transaction() as tx:
            return await tx.finish_delivery(delivery.id, status, T0, error="gone")

    assert await finish(main[0])
    assert not await finish(main[1])  # the staff workspace's and the customer's are not its
    assert not await finish(staff, DeliveryStatus.FAILED)
    assert await finish(customer[0])
    assert not await finish(customer[1])
    async with storage.reading() as tx:
        left = [
            d for d in await tx.list_deliveries(ticket.id) if d.status is DeliveryStatus.PENDING
        ]
    assert left == []


# --- migration 0010 -------------------------------------------------------------------------

# The tables as revision 0009 had them (only the columns these rows need).
deliveries_0009 = sa.table(
    "deliveries",
    sa.column("id", sa.Integer),
    sa.column("ticket_id", sa.Integer),
    sa.column("lane", sa.String),
    sa.column("kind", sa.String),
    sa.column("schema_version", sa.Integer),
    sa.column("payload", sa.JSON),
    sa.column("status", sa.String),
    sa.column("attempts", sa.Integer),
    sa.column("created_at", UTCDateTime),
    sa.column("next_attempt_at", UTCDateTime),
)
# (lane, kind, payload, status) as the build at 0009 queued them.
ROWS_0009 = [
    ("agents", "card_changed", {}, "done"),
    ("customer", "ticket_opened", {"due_at": None}, "done"),
    ("agents", "customer_wrote", {}, "pending"),
    ("customer", "ticket_claimed", {"agent": "Ann"}, "pending"),
    ("agents", "card_changed", {}, "failed"),
]


async def _at_0009(engine: AsyncEngine) -> TicketId:
    """A database at 0009 with one ticket (its card in Slack) and ROWS_0009 queued for it."""
    await upgrade(engine, "0009")
    async with engine.begin() as conn:
        ticket = await old_ticket(conn, T0, status="new", workspace_ref="C0MAIN:1.1")
        for lane, kind, payload, status in ROWS_0009:
            await conn.execute(
                sa.insert(deliveries_0009).values(
                    ticket_id=ticket,
                    lane=lane,
                    kind=kind,
                    schema_version=1,
                    payload=payload,
                    status=status,
                    attempts=0,
                    created_at=T0,
                    next_attempt_at=T0,
                )
            )
    return TicketId(ticket)


async def _schema(engine: AsyncEngine) -> tuple[set[str], set[str], set[str]]:
    """(the tables, the deliveries' columns, the deliveries' indexes)."""

    def read(conn: Connection) -> tuple[set[str], set[str], set[str]]:
        inspector = sa.inspect(conn)
        return (
            set(inspector.get_table_names()),
            {c["name"] for c in inspector.get_columns("deliveries")},
            {str(i["name"]) for i in inspector.get_indexes("deliveries")},
        )

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def test_0010_puts_the_queued_agents_rows_in_the_main_workspace(
    engine: AsyncEngine,
) -> None:
    ticket_id = await _at_0009(engine)
    assert await upgrade(engine, "0010") == ("0009", "0010")

    async with engine.connect() as conn:  # the columns 0010 knows (today's has more)
        d = sa.table(
            "deliveries",
            sa.column("id"),
            sa.column("ticket_id"),
            sa.column("lane"),
            sa.column("workspace"),
            sa.column("status"),
        )
        found_rows = await conn.execute(
            sa.select(d.c.id, d.c.lane, d.c.workspace, d.c.status)
            .where(d.c.ticket_id == ticket_id)
            .order_by(d.c.id)
        )
        queued = found_rows.all()
    assert [(row.lane, row.workspace, row.status) for row in queued] == [
        (A, MAIN_WORKSPACE, DeliveryStatus.DONE),
        (C, "", DeliveryStatus.DONE),
        (A, MAIN_WORKSPACE, DeliveryStatus.PENDING),
        (C, "", DeliveryStatus.PENDING),
        (A, MAIN_WORKSPACE, DeliveryStatus.FAILED),
    ]
    tables, columns, indexes = await _schema(engine)
    assert "workspace_cards" in tables
    assert "workspace" in columns
    assert "ix_deliveries_status_ticket_id_lane_workspace_id" in indexes
    assert "ix_deliveries_status_ticket_id_lane_id" not in indexes

    # The new build (the schema brought to head: it reads every column) sends them: the main
    # workspace's lane and the customer's, in order.
    await upgrade(engine)
    storage = SqlStorage(engine)
    async with storage.transaction() as tx:
        agents = await tx.claim_due_deliveries(T0, A, MAIN_WORKSPACE, 10, LEASE)
        customer = await tx.claim_due_deliveries(T0, C, "", 10, LEASE)
        jobs = await tx.jobs_for(agents)
        found = await tx.find_ticket_by_card(MAIN_WORKSPACE, "C0MAIN:1.1")
    assert [d.id for d in agents] == [queued[2].id]
    assert [d.id for d in customer] == [queued[3].id]
    assert [job.card for job in jobs if job is not None] == ["C0MAIN:1.1"]
    assert found is not None
    assert found.id == ticket_id


async def test_0010_downgraded_forgets_the_other_workspaces(engine: AsyncEngine) -> None:
    ticket_id = await _at_0009(engine)
    await upgrade(engine)  # the newest build wrote what follows; 0010's downgrade is on the way
    storage = SqlStorage(engine)
    async with storage.transaction() as tx:
        ticket = await tx.get_ticket_by_id(ticket_id)
        assert ticket is not None
        await tx.set_card(ticket.id, STAFF, "C0STAFF:1.1")
        await tx.add_delivery(to(ticket, STAFF))
        await tx.add_delivery(to(ticket, MAIN_WORKSPACE, CustomerWrote()))
        await tx.add_delivery(to(ticket, STAFF, CustomerWrote()))
        await tx.add_delivery(to(ticket, ""))

    await downgrade_to(engine, "0009")
    assert await current_revision(engine) == "0009"
    tables, columns, indexes = await _schema(engine)
    assert "workspace_cards" not in tables
    assert "workspace" not in columns
    assert "ix_deliveries_status_ticket_id_lane_id" in indexes
    assert "ix_deliveries_status_ticket_id_lane_workspace_id" not in indexes
    async with engine.connect() as conn:
        d = deliveries_0009
        rows = await conn.execute(sa.select(d.c.lane, d.c.kind, d.c.status).order_by(d.c.id))
        left = [tuple(row) for row in rows]
        ref = (await conn.execute(sa.select(tickets.c.workspace_ref))).scalar_one()
    # What waited for staff is gone; what was for main and the customer is kept, in order.
    assert left == [(lane, kind, status) for lane, kind, _, status in ROWS_0009] + [
        ("agents", "customer_wrote", "pending"),
        ("customer", "ticket_claimed", "pending"),
    ]
    assert ref == "C0MAIN:1.1"

    # And up again: the main workspace's rows are its own once more; staff starts afresh.
    assert await upgrade(engine) == ("0009", head())
    async with storage.transaction() as tx:
        queued = await tx.list_deliveries(ticket_id)
        assert await tx.find_ticket_by_card(STAFF, "C0STAFF:1.1") is None
    assert [(d.lane, d.workspace) for d in queued] == [
        (A, MAIN_WORKSPACE) if lane == "agents" else (C, "")
        for lane, *_ in [*ROWS_0009, ("agents",), ("customer",)]
    ]
