"""Migration 0009 on both databases: deliveries queued by a build from before typed events (a kind
and a payload) are read after the upgrade as the typed events they meant, their progress moved
to `steps`; a downgrade gives the old build rows of the shape it knows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.delivery import MAIN_WORKSPACE, Delivery, DeliveryStatus, Lane, NewDelivery
from bot.core.domain import TicketId
from bot.core.outbound import (
    AgentReplied,
    Audience,
    AwaitingCustomer,
    CardChanged,
    CopyDeleted,
    CopyEdited,
    CustomerWrote,
    DeliveryFailed,
    FollowsUp,
    LegacyLine,
    OutboundEvent,
    ReplyDelivered,
    SlaBreached,
    SlaReminder,
    SurveyAnswered,
    SurveyRequested,
    TicketClaimed,
    TicketClosed,
    TicketOpened,
    TicketReopened,
    TicketResolved,
    UnreadableEvent,
)
from storage.migrate import head, upgrade
from storage.models import UTCDateTime
from storage.repository import SqlStorage
from tests.storage.old_schema import downgrade_to, old_ticket

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
DUE = datetime(2026, 3, 2, 10, tzinfo=UTC)
ESCALATED = ":arrow_double_up: Escalated by Ann (tier 1 → 2): Needs hardware team"
RESOLVED = ":white_check_mark: Resolved by Ann"
UNKNOWN = "unknown event type '%s'"

# The tables as revision 0008 had them (only the columns these rows need).
messages = sa.table(
    "messages",
    sa.column("id", sa.Integer),
    sa.column("ticket_id", sa.Integer),
    sa.column("direction", sa.String),
    sa.column("author_kind", sa.String),
    sa.column("author_id", sa.String),
    sa.column("author_name", sa.String),
    sa.column("body", sa.Text),
    sa.column("attachments", sa.JSON),
    sa.column("created_at", UTCDateTime),
)
old_deliveries = sa.table(
    "deliveries",
    sa.column("id", sa.Integer),
    sa.column("ticket_id", sa.Integer),
    sa.column("lane", sa.String),
    sa.column("kind", sa.String),
    sa.column("message_id", sa.Integer),
    sa.column("payload", sa.JSON),
    sa.column("status", sa.String),
    sa.column("attempts", sa.Integer),
    sa.column("created_at", UTCDateTime),
    sa.column("next_attempt_at", UTCDateTime),
)


@dataclass(frozen=True, slots=True)
class Old:
    """A row as the old build queued it, and the event it should be read as now."""

    lane: Lane
    kind: str
    payload: dict[str, Any]
    event: OutboundEvent
    steps: tuple[str, ...] = ()
    about_message: bool = False
    status: DeliveryStatus = DeliveryStatus.PENDING


def sla(kind: str, late: int) -> dict[str, Any]:
    return {"metric": "first_response", "kind": kind, "due": DUE.isoformat(), "late_seconds": late}


A, C = Lane.AGENTS, Lane.CUSTOMER
OLD_ROWS = [
    Old(A, "ticket_card", {}, CardChanged()),
    Old(A, "customer_message", {}, CustomerWrote(), about_message=True),
    Old(A, "customer_message", {"steps": ["s1"]}, CustomerWrote(), ("s1",), about_message=True),
    Old(C, "agent_reply", {"steps": ["a", "b"]}, AgentReplied(), ("a", "b"), about_message=True),
    Old(A, "reply_delivered", {}, ReplyDelivered(), about_message=True),
    Old(C, "copy_edit", {}, CopyEdited(), about_message=True),
    Old(A, "copy_delete", {}, CopyDeleted(), about_message=True),
    Old(C, "customer_notice", {"event": "opened", "due": DUE.isoformat()}, TicketOpened(DUE)),
    Old(C, "customer_notice", {"event": "opened", "due": None}, TicketOpened(None)),
    Old(C, "customer_notice", {"event": "claimed", "agent": "Ann"}, TicketClaimed("Ann")),
    Old(C, "customer_notice", {"event": "claimed", "agent": None}, TicketClaimed(None)),
    Old(C, "customer_notice", {"event": "resolved", "agent": "Ann"}, TicketResolved("Ann", None)),
    Old(C, "customer_notice", {"event": "reopened", "agent": None}, TicketReopened("", None)),
    Old(C, "customer_notice", {"event": "closed", "agent": "Ann"}, TicketClosed()),
    Old(C, "customer_notice", {"event": "nudge"}, AwaitingCustomer()),
    Old(C, "customer_notice", {"event": "survey"}, SurveyRequested()),
    Old(A, "notice", {"text": RESOLVED}, LegacyLine(RESOLVED)),
    Old(
        A,
        "notice",
        {"text": ESCALATED, "to": "escalations"},
        LegacyLine(ESCALATED, Audience.ESCALATIONS),
    ),
    Old(
        A,
        "notice",
        {"to": "agent", "user": "U0ANN", "sla": sla("reminder", 0)},
        SlaReminder("first_response", DUE, "U0ANN"),
    ),
    Old(
        A,
        "notice",
        {"to": "channel", "sla": sla("reminder", 0)},
        SlaReminder("first_response", DUE, None),
    ),
    Old(
        A,
        "notice",
        {"to": "leads", "sla": sla("breach", 20)},
        SlaBreached("first_response", DUE, 20, Audience.LEADS),
    ),
    Old(A, "notice", {"sla": sla("breach", 20)}, SlaBreached("first_response", DUE, 20)),
    Old(
        A,
        "notice",
        {"csat": {"rating": 2, "customer": "Alice"}},
        SurveyAnswered("Alice", 2, None),
    ),
    Old(
        A,
        "notice",
        {"to": "leads", "csat": {"rating": 1, "customer": "Alice", "comment": "Took ages"}},
        SurveyAnswered("Alice", 1, "Took ages", Audience.LEADS),
    ),
    Old(
        A,
        "notice",
        {"failed_delivery": 4, "reason": "Cannot send messages to this user", "warning": True},
        DeliveryFailed(4, "Cannot send messages to this user"),
        about_message=True,
    ),
    Old(
        A,
        "notice",
        {"text": "sent long ago"},
        LegacyLine("sent long ago"),
        status=DeliveryStatus.DONE,
    ),
]


async def _at_0008_with_old_rows(engine: AsyncEngine, rows: Sequence[Old]) -> TicketId:
    """A database at 0008 holding one ticket, one message and `rows` queued for it."""
    await upgrade(engine, "0008")
    async with engine.begin() as conn:
        ticket = await old_ticket(conn, AT, status="claimed")
        message = (
            await conn.execute(
                sa.insert(messages)
                .values(
                    ticket_id=ticket,
                    direction="to_customer",
                    author_kind="agent",
                    author_id="U0ANN",
                    author_name="Ann",
                    body="Have you tried turning it off?",
                    attachments=[],
                    created_at=AT,
                )
                .returning(messages.c.id)
            )
        ).scalar_one()
        for row in rows:
            await conn.execute(
                sa.insert(old_deliveries).values(
                    ticket_id=ticket,
                    lane=row.lane,
                    kind=row.kind,
                    message_id=message if row.about_message else None,
                    payload=row.payload,
                    status=row.status,
                    attempts=0,
                    created_at=AT,
                    next_attempt_at=AT,
                )
            )
    return TicketId(ticket)


async def _queued(engine: AsyncEngine, ticket_id: TicketId) -> list[Delivery]:
    async with SqlStorage(engine).reading() as tx:
        return await tx.list_deliveries(ticket_id)


async def _old_shapes(engine: AsyncEngine) -> list[tuple[str, dict[str, Any]]]:
    async with engine.connect() as conn:
        query = sa.select(old_deliveries.c.kind, old_deliveries.c.payload)
        return [(kind, payload) for kind, payload in await conn.execute(query.order_by("id"))]


async def test_old_rows_are_read_as_typed_events_after_the_upgrade(engine: AsyncEngine) -> None:
    ticket_id = await _at_0008_with_old_rows(engine, OLD_ROWS)
    assert await upgrade(engine) == ("0008", head())
    queued = await _queued(engine, ticket_id)
    assert [d.event for d in queued] == [row.event for row in OLD_ROWS]
    # Equal is not enough for an enum field: its plain text would compare equal too.
    assert [getattr(d.event, "audience", None).__class__ for d in queued] == [
        getattr(row.event, "audience", None).__class__ for row in OLD_ROWS
    ]
    assert [d.steps for d in queued] == [row.steps for row in OLD_ROWS]
    assert [(d.lane, d.status) for d in queued] == [(row.lane, row.status) for row in OLD_ROWS]
    about = [d.message_id is not None for d in queued]
    assert about == [row.about_message for row in OLD_ROWS]


async def test_an_old_row_of_no_known_shape_is_kept_and_reported_unreadable(
    engine: AsyncEngine,
) -> None:
    odd = [
        Old(A, "notice", {"colour": "red"}, UnreadableEvent("notice", 1, UNKNOWN % "notice")),
        Old(
            C,
            "customer_notice",
            {"event": "exploded"},
            UnreadableEvent("customer_notice", 1, UNKNOWN % "customer_notice"),
        ),
    ]
    ticket_id = await _at_0008_with_old_rows(engine, odd)
    await upgrade(engine)
    assert [d.event for d in await _queued(engine, ticket_id)] == [row.event for row in odd]


async def test_a_downgrade_gives_the_old_build_rows_of_its_own_shape(engine: AsyncEngine) -> None:
    ticket_id = await _at_0008_with_old_rows(engine, OLD_ROWS)
    await upgrade(engine)
    # Queued by the new build: one event the old build had a line for, one it had a notice for,
    # and one it could not have sent at all.
    async with SqlStorage(engine).transaction() as tx:
        follows = FollowsUp(1000, "Printer")
        await tx.add_delivery(NewDelivery(ticket_id, A, follows, AT, workspace=MAIN_WORKSPACE))
        await tx.add_delivery(NewDelivery(ticket_id, C, TicketClaimed("Bob"), AT))
        await tx._conn.execute(
            sa.insert(old_deliveries).values(
                ticket_id=ticket_id,
                lane="agents",
                kind="ticket_snoozed",
                payload={},
                status="pending",
                attempts=0,
                created_at=AT,
                next_attempt_at=AT,
            )
        )
    await downgrade_to(engine, "0008")

    expected = [(row.kind, row.payload) for row in OLD_ROWS]
    # Read by the old build with `or`: an empty name is as good as none.
    expected[12] = ("customer_notice", {"event": "reopened", "agent": ""})
    expected[13] = ("customer_notice", {"event": "closed"})  # a closing named nobody
    expected += [
        ("notice", {"text": "This follows up on ticket #1000 (Printer)."}),
        ("customer_notice", {"event": "claimed", "agent": "Bob"}),
        # The snoozed one is gone: the old build had no kind for it.
    ]
    assert await _old_shapes(engine) == expected

    # The old build's constraint is back: it takes no kind it does not know.
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(old_deliveries).values(
                    ticket_id=ticket_id,
                    lane="agents",
                    kind="ticket_snoozed",
                    payload={},
                    status="pending",
                    attempts=0,
                    created_at=AT,
                    next_attempt_at=AT,
                )
            )

    # And up again: the same events as before.
    assert await upgrade(engine) == ("0008", head())
    queued = await _queued(engine, ticket_id)
    assert [d.event for d in queued[: len(OLD_ROWS)]] == [row.event for row in OLD_ROWS]
    assert [d.event for d in queued[len(OLD_ROWS) :]] == [
        LegacyLine("This follows up on ticket #1000 (Printer)."),
        TicketClaimed("Bob"),
    ]
