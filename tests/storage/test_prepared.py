"""The statements prepared at import (storage/prepared.py) run on an SQLite file's driver exactly
as SQLAlchemy would run them: the same SQL, the same values bound, the same rows back.

Every prepared statement of the repository is checked in the middle of real use: each one the
repository runs is run first through SQLAlchemy, in a savepoint rolled back at once, and what
SQLAlchemy handed the driver and read back is compared with what the prepared way hands it and
reads back. A prepared statement that the walk below does not reach fails the test: add it to
the walk. On PostgreSQL a prepared statement is SQLAlchemy's own execution (`Rows._fetch`), so
the same walk there checks that both ways answer alike for the repository.
"""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

import storage
from bot.core.delivery import MAIN_WORKSPACE, DeliveryStatus, Lane, NewDelivery
from bot.core.domain import (
    Actor,
    ActorKind,
    Direction,
    MessageRef,
    NewMessage,
    NewTicket,
    Priority,
    Status,
    TicketId,
)
from bot.core.outbound import CardChanged, CustomerWrote
from bot.core.sla import ClockState, Metric, SlaClock
from integrations.platforms import DISCORD, SLACK
from storage import messages_repository as messages
from storage.prepared import Fetched, Prepared
from storage.repository import SqlStorage
from storage.rows import Rows
from storage.sqlite_direct import DirectConnection

AT = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
QUIET = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def prepared_statements(dialect: str) -> dict[str, Prepared]:
    """Every statement the repository's modules prepare (of a per-dialect pair, `dialect`'s)."""
    found: dict[str, Prepared] = {}
    for module_info in pkgutil.iter_modules(storage.__path__):
        module = importlib.import_module(f"storage.{module_info.name}")
        for name, value in vars(module).items():
            per_dialect = isinstance(value, dict) and isinstance(value.get(dialect), Prepared)
            statement = value[dialect] if per_dialect else value
            if isinstance(statement, Prepared):
                found[f"{module_info.name}.{name}"] = statement
    return found


@dataclass
class Shadow:
    """Runs each prepared statement through SQLAlchemy first and compares (SQLite file)."""

    reached: set[int] = field(default_factory=set)
    compared: int = 0

    def check(self, conn: DirectConnection, statement: Prepared, params: Any) -> None:
        sync = conn.sync_connection
        many = isinstance(params, list)
        sent, expected, count = self._through_sqlalchemy(sync, statement, params)
        names = frozenset(params[0] if many else params)
        form = statement.form(conn.dialect, names)
        ours = [form.arguments(p) for p in params] if many else form.arguments(params)
        assert sent == [(form.sql, ours)], statement.statement
        if not many:
            # In a savepoint too, rolled back: the repository's own call then runs it once.
            conn.driver.execute("SAVEPOINT shadow")
            try:
                fetched = form.run(conn.driver, params)
            finally:
                conn.driver.execute("ROLLBACK TO SAVEPOINT shadow")
                conn.driver.execute("RELEASE SAVEPOINT shadow")
            assert [dict(row) for row in fetched.rows] == expected, statement.statement
            if not expected:  # (SQLAlchemy reads the count of a RETURNING before its rows)
                assert fetched.rowcount == count, statement.statement
        self.reached.add(id(statement))
        self.compared += 1

    @staticmethod
    def _through_sqlalchemy(
        sync: Connection, statement: Prepared, params: Any
    ) -> tuple[list[tuple[str, Any]], list[dict[str, Any]], int]:
        sent: list[tuple[str, Any]] = []

        def record(_c: Any, _cursor: Any, sql: str, values: Any, _ctx: Any, many: bool) -> None:
            if not sql.startswith(QUIET):
                sent.append((sql, [list(v) for v in values] if many else list(values)))

        event.listen(sync, "before_cursor_execute", record)
        try:
            savepoint = sync.begin_nested()
            try:
                result = sync.execute(statement.statement, params)
                rows = [dict(row._mapping) for row in result] if result.returns_rows else []
                count = result.rowcount
            finally:
                savepoint.rollback()
        finally:
            event.remove(sync, "before_cursor_execute", record)
        return sent, rows, count


@pytest.fixture
def shadow(monkeypatch: pytest.MonkeyPatch) -> Shadow:
    watch = Shadow()
    fetch, fetch_many = Rows._fetch, Rows._fetch_many

    async def checked_fetch(self: Rows, statement: Prepared, params: Mapping[str, Any]) -> Fetched:
        if isinstance(self._conn, DirectConnection):
            watch.check(self._conn, statement, dict(params))
        watch.reached.add(id(statement))
        return await fetch(self, statement, params)

    async def checked_many(
        self: Rows, statement: Prepared, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        if isinstance(self._conn, DirectConnection) and rows:
            watch.check(self._conn, statement, [dict(row) for row in rows])
        watch.reached.add(id(statement))
        await fetch_many(self, statement, rows)

    monkeypatch.setattr(Rows, "_fetch", checked_fetch)
    monkeypatch.setattr(Rows, "_fetch_many", checked_many)
    return watch


def clock_of(ticket_id: Any, metric: Metric, due: datetime | None) -> SlaClock:
    return SlaClock(
        ticket_id=ticket_id,
        metric=metric,
        state=ClockState.RUNNING,
        started_at=AT,
        target=timedelta(hours=1),
        running_since=AT,
        due_at=due,
        next_action_at=due,
    )


async def test_every_prepared_statement_runs_as_sqlalchemy_runs_it(
    storage: SqlStorage, shadow: Shadow
) -> None:
    customer_actor = Actor(ActorKind.CUSTOMER, "c1", "Zoë «Ünïcode» 🎫")
    async with storage.transaction() as tx:
        writing = await tx.customer_writing(DISCORD, "c1", MessageRef(DISCORD, "m1"), AT)
        assert writing is None
        customer = await tx.upsert_customer(DISCORD, "c1", "Zoë", AT)
        writing = await tx.customer_writing(DISCORD, "c1", MessageRef(DISCORD, "m1"), AT)
        assert writing is not None
        assert (writing.open_ticket, writing.recent) == (None, 0)
        ticket = await tx.create_ticket(NewTicket(customer.id, "Printer", Priority.HIGH, 2, AT))
        message = await tx.add_message(
            NewMessage(
                ticket.id,
                Direction.FROM_CUSTOMER,
                customer_actor,
                "It's on fire 🔥 — \u202ereversed",
                AT,
                refs=(MessageRef(DISCORD, "m1"),),
            )
        )
        assert message is not None
        # The same platform message again: stored before, so nothing is added.
        again = NewMessage(
            ticket.id, Direction.FROM_CUSTOMER, customer_actor, "again", AT, refs=message.refs
        )
        assert await tx.add_message(again) is None
        # A message with no platform copy yet (one Threadline writes itself).
        note = NewMessage(ticket.id, Direction.NOTE, Actor.system(), "Noted", AT)
        assert await tx.add_message(note) is not None
        copy = MessageRef(SLACK, "1.1", MAIN_WORKSPACE)
        assert await tx.add_message_ref(message.id, copy)
        assert not await tx.add_message_ref(message.id, copy)
        writing = await tx.customer_writing(DISCORD, "c1", MessageRef(DISCORD, "m1"), AT)
        assert writing is not None
        assert (writing.seen_on, writing.open_ticket, writing.recent) == (ticket.id, ticket, 1)

        await tx.save_clocks(
            [
                clock_of(ticket.id, Metric.FIRST_RESPONSE, AT + timedelta(hours=1)),
                clock_of(ticket.id, Metric.RESOLUTION, None),
            ]
        )
        clocks = await tx.get_clocks(ticket.id)
        assert {c.metric for c in clocks} == {Metric.FIRST_RESPONSE, Metric.RESOLUTION}
        await tx.set_ticket_due(ticket.id, AT + timedelta(hours=1))

        head, leased = await tx.add_lane_head(
            NewDelivery(ticket.id, Lane.AGENTS, CardChanged(), AT, workspace=MAIN_WORKSPACE),
            AT + timedelta(seconds=30),
        )
        behind, behind_leased = await tx.add_lane_head(
            NewDelivery(ticket.id, Lane.AGENTS, CustomerWrote(), AT, message.id, MAIN_WORKSPACE),
            AT + timedelta(seconds=30),
        )
        assert (leased, behind_leased) == (True, False)
        queued = await tx.add_delivery(NewDelivery(ticket.id, Lane.CUSTOMER, CardChanged(), AT))
        jobs = await tx.jobs_for([head, behind])
        assert [job.delivery.id if job else None for job in jobs] == [head.id, behind.id]
        first, second = jobs
        assert first is not None
        assert second is not None
        assert first.customer == customer
        assert second.message == replace(message, refs=(*message.refs, copy))
        more = await tx.finish_delivery(head.id, DeliveryStatus.DONE, AT, external_id="1.1")
        assert more  # the message's delivery still waits in the lane
        assert not await tx.finish_delivery(queued.id, DeliveryStatus.FAILED, AT, error="gone")

        await tx.set_card(ticket.id, MAIN_WORKSPACE, "C1/1.0")
        found = await tx.find_ticket_by_card(MAIN_WORKSPACE, "C1/1.0")
        assert found is not None
        assert found.id == ticket.id
        assert await tx.get_ticket(ticket.number) == found
        assert await tx.get_ticket_by_id(ticket.id) == found
        assert await tx.find_open_ticket(customer.id) == found
        saved = await tx.save_ticket(
            replace(found, status=Status.CLAIMED, first_response_at=AT, updated_at=AT)
        )
        assert (saved.version, saved.status) == (found.version + 1, Status.CLAIMED)

        body = {"event": {"text": "Привет", "n": [1, 2.5, None, True]}}
        assert await tx.add_processed_inbound(SLACK, "Ev1", body, AT)
        assert not await tx.add_processed_inbound(SLACK, "Ev1", body, AT)

    every = prepared_statements(storage.engine.dialect.name)
    missing = {name for name, statement in every.items() if id(statement) not in shadow.reached}
    assert not missing, f"prepared statements the walk never ran: {sorted(missing)}"
    if storage.engine.dialect.name == "sqlite":
        assert shadow.compared >= len(every)


async def test_a_driver_error_is_sqlalchemys_error(storage: SqlStorage) -> None:
    """A constraint refused on the driver's side is the `IntegrityError` the repository's
    callers catch, whichever way the statement ran."""
    stray = NewMessage(TicketId(999_999), Direction.FROM_CUSTOMER, Actor.system(), "lost", AT)
    with pytest.raises(IntegrityError) as raised:
        async with storage.transaction() as tx:
            await tx.add_message(stray)  # no such ticket: its foreign key refuses it
    if storage.engine.dialect.name == "sqlite":
        assert isinstance(raised.value.orig, sqlite3.IntegrityError)
    async with storage.reading() as tx:
        assert await tx.count("messages") == 0


async def test_a_message_and_its_ref_are_one_statement_on_postgresql(
    storage: SqlStorage, prepared_runs: list[Prepared]
) -> None:
    """A round trip each to a PostgreSQL server: the two inserts are one statement there."""
    async with storage.transaction() as tx:
        customer = await tx.upsert_customer(DISCORD, "c1", "Zoë", AT)
        ticket = await tx.create_ticket(NewTicket(customer.id, "Help", Priority.NORMAL, 1, AT))
        prepared_runs.clear()
        new = NewMessage(
            ticket.id,
            Direction.FROM_CUSTOMER,
            Actor.of_customer(customer),
            "Hello",
            AT,
            refs=(MessageRef(DISCORD, "m1"),),
        )
        message = await tx.add_message(new)
        assert message is not None
        assert await tx.add_message(replace(new, body="again")) is None  # its ref was stored
        assert [m.id for m in await tx.list_messages(ticket.id)] == [message.id]
    expected = (
        [messages._ADD_WITH_REF["postgresql"]] * 2
        if storage.engine.dialect.name == "postgresql"
        else [messages._INSERT_MESSAGE, messages._ADD_REF["sqlite"]] * 2
    )
    assert prepared_runs == expected
