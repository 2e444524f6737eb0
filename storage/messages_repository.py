"""Messages on tickets, and their refs: the ids of each message's copies on the platforms.

A mixin of `SqlTransaction` (storage/repository.py). A ref is unique per platform, which is how
a redelivered platform message is recognised: `add_message` then writes nothing and returns
None. A deletion only marks the row (`deleted_at`): the message stays in the ticket's history.
`refs_of` is a plain function, not a method, because the delivery queue loads the messages of
its jobs with it too (storage/deliveries_repository.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.domain import (
    Attachment,
    Direction,
    Message,
    MessageId,
    MessageRef,
    NewMessage,
    Platform,
    TicketId,
)
from storage import models as m
from storage.rows import Rows, message_row


class MessageRows(Rows):
    async def add_message(self, new: NewMessage) -> Message | None:
        # A ref already stored fails the insert (unique key), which rolls back the savepoint.
        try:
            async with self._conn.begin_nested():
                result = await self._conn.execute(
                    insert(m.messages)
                    .values(
                        ticket_id=new.ticket_id,
                        direction=new.direction,
                        author_kind=new.author.kind,
                        author_id=new.author.id,
                        author_name=new.author.name,
                        body=new.body,
                        attachments=[_attachment_json(a) for a in new.attachments],
                        created_at=new.created_at,
                    )
                    .returning(m.messages.c.id)
                )
                message_id = MessageId(result.scalar_one())
                for ref in new.refs:
                    await self._insert_ref(message_id, ref)
        except IntegrityError:
            return None  # this platform message was stored before (or concurrently)
        return Message(
            id=message_id,
            ticket_id=new.ticket_id,
            direction=new.direction,
            author=new.author,
            body=new.body,
            created_at=new.created_at.astimezone(UTC),
            attachments=new.attachments,
            refs=new.refs,
        )

    async def add_message_ref(self, message_id: MessageId, ref: MessageRef) -> bool:
        # INSERT … ON CONFLICT DO NOTHING: one statement where a savepoint would take three.
        dialect = sqlite_insert if self._conn.dialect.name == "sqlite" else postgresql_insert
        result = await self._conn.execute(
            dialect(m.message_refs)
            .values(
                message_id=message_id,
                platform=ref.platform,
                external_id=ref.external_id,
                workspace=ref.workspace,
            )
            .on_conflict_do_nothing(index_elements=["platform", "external_id"])
            .returning(m.message_refs.c.id)
        )
        return result.first() is not None

    async def _insert_ref(self, message_id: MessageId, ref: MessageRef) -> None:
        await self._conn.execute(
            insert(m.message_refs).values(
                message_id=message_id,
                platform=ref.platform,
                external_id=ref.external_id,
                workspace=ref.workspace,
            )
        )

    async def find_message(self, ref: MessageRef) -> Message | None:
        q = select(m.message_refs.c.message_id).where(
            (m.message_refs.c.platform == ref.platform)
            & (m.message_refs.c.external_id == ref.external_id)
        )
        message_id = (await self._conn.execute(q)).scalar()
        return await self._message(MessageId(message_id)) if message_id is not None else None

    async def _message(self, message_id: MessageId) -> Message:
        row = (
            await self._conn.execute(select(m.messages).where(m.messages.c.id == message_id))
        ).one()
        refs = await refs_of(self._conn, [message_id])
        return message_row(row, refs.get(message_id, ()))

    async def list_messages(self, ticket_id: TicketId) -> list[Message]:
        q = select(m.messages).where(m.messages.c.ticket_id == ticket_id).order_by(m.messages.c.id)
        rows = list(await self._conn.execute(q))
        refs = await refs_of(self._conn, [MessageId(row.id) for row in rows])
        return [message_row(row, refs.get(row.id, ())) for row in rows]

    async def mark_message_edited(self, message_id: MessageId, body: str, at: datetime) -> None:
        await self._conn.execute(
            update(m.messages).where(m.messages.c.id == message_id).values(body=body, edited_at=at)
        )

    async def set_message_direction(
        self, message_id: MessageId, direction: Direction, body: str | None = None
    ) -> None:
        values: dict[str, Any] = {"direction": direction}
        if body is not None:
            values["body"] = body
        await self._conn.execute(
            update(m.messages).where(m.messages.c.id == message_id).values(**values)
        )

    async def mark_message_deleted(self, message_id: MessageId, at: datetime) -> None:
        await self._conn.execute(
            update(m.messages).where(m.messages.c.id == message_id).values(deleted_at=at)
        )

    async def get_message(self, message_id: MessageId) -> Message | None:
        exists = select(m.messages.c.id).where(m.messages.c.id == message_id)
        if (await self._conn.execute(exists)).first() is None:
            return None
        return await self._message(message_id)

    async def count_customer_messages(self, ticket_id: TicketId, since: datetime) -> int:
        msg = m.messages
        q = select(func.count()).where(
            (msg.c.ticket_id == ticket_id)
            & (msg.c.direction == Direction.FROM_CUSTOMER)
            & (msg.c.created_at >= since)
        )
        return int((await self._conn.execute(q)).scalar_one())


async def refs_of(conn: AsyncConnection, ids: list[MessageId]) -> dict[int, tuple[MessageRef, ...]]:
    """The refs of each of these messages, in the order they were stored."""
    if not ids:
        return {}
    q = (
        select(m.message_refs)
        .where(m.message_refs.c.message_id.in_(ids))
        .order_by(m.message_refs.c.id)
    )
    found: dict[int, list[MessageRef]] = {}
    for row in await conn.execute(q):
        found.setdefault(row.message_id, []).append(
            MessageRef(Platform(row.platform), row.external_id, row.workspace)
        )
    return {k: tuple(v) for k, v in found.items()}


def _attachment_json(a: Attachment) -> dict[str, Any]:
    return {"filename": a.filename, "url": a.url, "size": a.size, "content_type": a.content_type}
