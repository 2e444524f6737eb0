"""What the repository's modules share: the base of their mixins, and rows to domain objects.

`SqlTransaction` (storage/repository.py) is put together from one mixin per aggregate; `Rows`
is their common base, holding the connection they all run on. The conversions here are the ones
more than one aggregate needs: a delivery's job carries its ticket, customer and message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, Select, Table, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.core.domain import (
    Actor,
    ActorKind,
    Agent,
    AgentId,
    Attachment,
    Customer,
    CustomerId,
    Direction,
    Message,
    MessageId,
    MessageRef,
    Platform,
    Priority,
    Status,
    Ticket,
    TicketId,
    TicketNumber,
    Triage,
)
from storage import models as m
from storage.db import Statements
from storage.prepared import Fetched, Prepared
from storage.sqlite_direct import DirectConnection

log = logging.getLogger(__name__)


class Rows:
    """A mixin of `SqlTransaction`: every method runs in the caller's transaction on `_conn`."""

    _conn: Statements
    # The messages this transaction added, as it added them, until it changes them: what a
    # delivery queued with one needs is known, not read back (see `DeliveryRows.jobs_for`).
    # Every write to a message is in `MessageRows`, which forgets the message there.
    _added: dict[int, Message]
    # Likewise the tickets and customers it read or wrote, as stored, until it changes them in
    # another way: a job queued for one carries them without a read. Every write to either
    # table is in this package's mixins, which forget the row here (`_forget_ticket`).
    _tickets: dict[int, Ticket]
    _customers: dict[int, Customer]
    # The tickets whose lane lock this transaction holds (PostgreSQL: `DeliveryRows`). Held to
    # its end: no savepoint is ever rolled back over a lane lock (none is taken inside one).
    _lane_locks: set[int]

    def _known_ticket(self, ticket: Ticket) -> Ticket:
        self._tickets[ticket.id] = ticket
        return ticket

    def _known_customer(self, customer: Customer) -> Customer:
        self._customers[customer.id] = customer
        return customer

    def _forget_ticket(self, ticket_id: int) -> None:
        self._tickets.pop(ticket_id, None)

    def _forget_customer(self, customer_id: int) -> None:
        self._customers.pop(customer_id, None)

    async def _fetch(self, statement: Prepared, params: Mapping[str, Any]) -> Fetched:
        """Run a statement prepared at import: on an SQLite file straight on its driver (see
        storage/prepared.py), elsewhere through SQLAlchemy; the same answer either way."""
        conn = self._conn
        if isinstance(conn, DirectConnection):
            return statement.run(conn.driver, conn.dialect, params)
        result = await conn.execute(statement.statement, dict(params))
        rows = [row._mapping for row in result] if result.returns_rows else []
        return Fetched(rows, result.rowcount)

    async def _fetch_many(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run a prepared statement once per set of parameters, in order."""
        conn = self._conn
        if isinstance(conn, DirectConnection):
            statement.run_many(conn.driver, conn.dialect, rows)
        elif rows:
            await conn.execute(statement.statement, [dict(row) for row in rows])

    def _insert(self) -> Any:
        """The dialect's INSERT, which (unlike the generic one) has ON CONFLICT."""
        return sqlite_insert if self._conn.dialect.name == "sqlite" else postgresql_insert


def unless_stored(table: Table, keys: list[str]) -> dict[str, Prepared]:
    """INSERT … ON CONFLICT (`keys`) DO NOTHING RETURNING id, for each dialect by name: a row
    stored before (a unique key) is left alone, in one statement where a savepoint would take
    three. Built once, at import; run with `Rows._fetch`."""
    return {
        name: Prepared(
            insert_of(table).on_conflict_do_nothing(index_elements=keys).returning(table.c.id)
        )
        for name, insert_of in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))
    }


def labelled(table: Table, prefix: str) -> tuple[tuple[str, str], ...]:
    """Each of a joined table's columns as (`prefix` + name, name): see `prefixed`."""
    return tuple((f"{prefix}{c.name}", c.name) for c in table.c)


def prefixed(r: Mapping[Any, Any], labels: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The values of a joined table's columns, selected under the labels `labelled` gave them,
    by their own names (read by label: a search of the row's keys cost more than the query)."""
    return {name: r[label] for label, name in labels}


# A ticket's row with its customer's, the customer's columns labelled: each read as its own row
# (`ticket_from(r)`, `customer_from(prefixed(r, CUSTOMER_COLUMNS))`). Built once, at import.
CUSTOMER_COLUMNS = labelled(m.customers, "customer__")
TICKETS_WITH_CUSTOMERS: Select[Any] = select(
    m.tickets, *(m.customers.c[name].label(label) for label, name in CUSTOMER_COLUMNS)
).join(m.customers, m.customers.c.id == m.tickets.c.customer_id)


# The conversions read a row's values through `row._mapping`, one mapping per row: a value read
# off it by name costs about a fifth of reading the row's attribute of that name (a miss of the
# class's own attributes first), and these run for every row read, several per message.


def customer_row(row: Row[Any]) -> Customer:
    return customer_from(row._mapping)


def customer_from(r: Mapping[Any, Any]) -> Customer:
    """A customer off a mapping of its row's values by column name."""
    return Customer(
        id=CustomerId(r["id"]),
        platform=Platform(r["platform"]),
        external_id=r["external_id"],
        display_name=r["display_name"],
        avatar_url=r["avatar_url"],
        blocked=r["blocked_at"] is not None,
        contact_channel=r["contact_channel_id"],
    )


def ticket_row(row: Row[Any]) -> Ticket:
    return ticket_from(row._mapping)


def ticket_from(r: Mapping[Any, Any]) -> Ticket:
    """A ticket off a mapping of its row's values by column name."""
    ticket_id, assignee_id = r["id"], r["assignee_id"]
    assignee = (
        Agent(AgentId(assignee_id), r["assignee_name"] or assignee_id) if assignee_id else None
    )
    return Ticket(
        id=TicketId(ticket_id),
        number=TicketNumber(r["number"]),
        customer_id=CustomerId(r["customer_id"]),
        subject=r["subject"],
        status=Status(r["status"]),
        priority=Priority(r["priority"]),
        tier=r["tier"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        assignee=assignee,
        version=r["version"],
        first_response_at=r["first_response_at"],
        resolved_at=r["resolved_at"],
        closed_at=r["closed_at"],
        due_at=r["due_at"],
        workspace_ref=r["workspace_ref"],
        csat_rating=r["csat_rating"],
        triage=_triage(ticket_id, r["triage"]),
        translate_replies=bool(r["translate_replies"]),
        auto_answer_stopped=bool(r["auto_answer_stopped"]),
    )


def _triage(ticket_id: int, data: object) -> Triage | None:
    """The stored triage; one this build cannot read (written by another version, or edited by
    hand) is left out with a warning: the ticket still works, it is only not triaged."""
    if data is None:
        return None
    try:
        if not isinstance(data, Mapping):
            raise TypeError(f"a {type(data).__name__}, not an object")
        return _checked(Triage.from_dict(data))
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("Ticket id %s: its stored triage is unreadable (%s); left out", ticket_id, exc)
        return None


def _checked(triage: Triage) -> Triage:
    """`Triage.from_dict` takes the values as they come: check their types here, so a wrong one
    is caught now rather than where the triage is shown."""
    texts = (triage.category, triage.sentiment, triage.title)
    optional_texts = (triage.language, triage.edited_by)
    numbers = (
        triage.category_confidence,
        triage.priority_confidence,
        triage.sentiment_confidence,
    )
    if (
        not all(isinstance(v, str) for v in texts)
        or not all(v is None or isinstance(v, str) for v in optional_texts)
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers)
        or not isinstance(triage.by_model, bool)
    ):
        raise TypeError("a field of the wrong type")
    return triage


def message_row(row: Row[Any], refs: tuple[MessageRef, ...]) -> Message:
    r = row._mapping
    return Message(
        id=MessageId(r["id"]),
        ticket_id=TicketId(r["ticket_id"]),
        direction=Direction(r["direction"]),
        author=Actor(ActorKind(r["author_kind"]), r["author_id"], r["author_name"]),
        body=r["body"],
        created_at=r["created_at"],
        attachments=tuple(_attachment(a) for a in r["attachments"]),
        refs=refs,
        edited_at=r["edited_at"],
        deleted_at=r["deleted_at"],
    )


def _attachment(data: Mapping[str, Any]) -> Attachment:
    return Attachment(
        filename=str(data["filename"]),
        url=str(data["url"]),
        size=int(data["size"]),
        content_type=data.get("content_type"),
    )
