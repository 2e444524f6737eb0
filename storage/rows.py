"""What the repository's modules share: the base of their mixins, and rows to domain objects.

`SqlTransaction` (storage/repository.py) is put together from one mixin per aggregate; `Rows`
is their common base, holding the connection they all run on. The conversions here are the ones
more than one aggregate needs: a delivery's job carries its ticket, customer and message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

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

log = logging.getLogger(__name__)


class Rows:
    """A mixin of `SqlTransaction`: every method runs in the caller's transaction on `_conn`."""

    _conn: AsyncConnection

    def _insert(self) -> Any:
        """The dialect's INSERT, which (unlike the generic one) has ON CONFLICT."""
        return sqlite_insert if self._conn.dialect.name == "sqlite" else postgresql_insert


def customer_row(row: Row[Any]) -> Customer:
    return Customer(
        id=CustomerId(row.id),
        platform=Platform(row.platform),
        external_id=row.external_id,
        display_name=row.display_name,
        avatar_url=row.avatar_url,
        blocked=row.blocked_at is not None,
        contact_channel=row.contact_channel_id,
    )


def ticket_row(row: Row[Any]) -> Ticket:
    assignee = (
        Agent(AgentId(row.assignee_id), row.assignee_name or row.assignee_id)
        if row.assignee_id
        else None
    )
    return Ticket(
        id=TicketId(row.id),
        number=TicketNumber(row.number),
        customer_id=CustomerId(row.customer_id),
        subject=row.subject,
        status=Status(row.status),
        priority=Priority(row.priority),
        tier=row.tier,
        created_at=row.created_at,
        updated_at=row.updated_at,
        assignee=assignee,
        version=row.version,
        first_response_at=row.first_response_at,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        due_at=row.due_at,
        workspace_ref=row.workspace_ref,
        csat_rating=row.csat_rating,
        triage=_triage(row.id, row.triage),
        translate_replies=bool(row.translate_replies),
        auto_answer_stopped=bool(row.auto_answer_stopped),
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
    return Message(
        id=MessageId(row.id),
        ticket_id=TicketId(row.ticket_id),
        direction=Direction(row.direction),
        author=Actor(ActorKind(row.author_kind), row.author_id, row.author_name),
        body=row.body,
        created_at=row.created_at,
        attachments=tuple(_attachment(a) for a in row.attachments),
        refs=refs,
        edited_at=row.edited_at,
        deleted_at=row.deleted_at,
    )


def _attachment(data: Mapping[str, Any]) -> Attachment:
    return Attachment(
        filename=str(data["filename"]),
        url=str(data["url"]),
        size=int(data["size"]),
        content_type=data.get("content_type"),
    )
