"""Messages on tickets, and their refs: the ids of each message's copies on the platforms.

A mixin of `SqlTransaction` (storage/repository.py). A ref is unique per platform, which is how
a redelivered platform message is recognised: `add_message` then leaves nothing written and
returns None. A deletion only marks the row (`deleted_at`): the message stays in the ticket's
history.
`refs_of` is a plain function, not a method, because the delivery queue loads the messages of
its jobs with it too (storage/deliveries_repository.py).

The statements every message runs are built once, here, with bound parameters: SQLAlchemy builds
a statement and its cache key anew on each call otherwise, which costs more than SQLite's own
work (a lookup by key: about 0.4 ms built each time, 0.15 ms prebuilt, on this project's
benchmark machine).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert

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
from storage.db import Statements
from storage.prepared import Prepared
from storage.rows import Rows, message_row, unless_stored

_MESSAGE = m.messages
_REFS = m.message_refs
_INSERT_MESSAGE = Prepared(insert(_MESSAGE).returning(_MESSAGE.c.id))
_FORGET_REFS = delete(_REFS).where(_REFS.c.message_id == bindparam("id"))
_FORGET_MESSAGE = delete(_MESSAGE).where(_MESSAGE.c.id == bindparam("id"))
_MESSAGE_AT = select(_REFS.c.message_id).where(
    (_REFS.c.platform == bindparam("platform")) & (_REFS.c.external_id == bindparam("external_id"))
)
_MESSAGE_BY_ID = select(_MESSAGE).where(_MESSAGE.c.id == bindparam("id"))
_REFS_OF = (
    select(_REFS)
    .where(_REFS.c.message_id.in_(bindparam("ids", expanding=True)))
    .order_by(_REFS.c.id)
)
# A copy's ref, unless recorded before.
_ADD_REF = unless_stored(_REFS, ["platform", "external_id"])
_REF_FIELDS = ("platform", "external_id", "workspace")
_MESSAGE_FIELDS = (
    "ticket_id",
    "direction",
    "author_kind",
    "author_id",
    "author_name",
    "body",
    "attachments",
    "created_at",
)


def _message_with_its_ref() -> Select[Any]:
    """PostgreSQL: a message and the ref it came with (every message comes with one), stored in
    one statement, a round trip where two took two. Returns the message's id and how many refs
    were stored: none when the ref was stored before, and the message is then taken back."""
    added = (
        insert(_MESSAGE)
        .values({name: bindparam(name, type_=_MESSAGE.c[name].type) for name in _MESSAGE_FIELDS})
        .returning(_MESSAGE.c.id)
        .cte("added")
    )
    copy = select(
        added.c.id,
        *(bindparam(f"ref_{name}", type_=_REFS.c[name].type) for name in _REF_FIELDS),
    )
    ref = (
        postgresql_insert(_REFS)
        .from_select(["message_id", *_REF_FIELDS], copy)
        .on_conflict_do_nothing(index_elements=["platform", "external_id"])
        .returning(_REFS.c.id)
        .cte("ref")
    )
    refs = select(func.count()).select_from(ref).scalar_subquery()
    return select(added.c.id, refs.label("refs"))


_ADD_WITH_REF = {"postgresql": Prepared(_message_with_its_ref())}


class MessageRows(Rows):
    async def add_message(self, new: NewMessage) -> Message | None:
        values = {
            "ticket_id": new.ticket_id,
            "direction": new.direction,
            "author_kind": new.author.kind,
            "author_id": new.author.id,
            "author_name": new.author.name,
            "body": new.body,
            "attachments": [_attachment_json(a) for a in new.attachments],
            "created_at": new.created_at,
        }
        with_ref = _ADD_WITH_REF.get(self._conn.dialect.name)
        if with_ref is not None and len(new.refs) == 1:
            [ref] = new.refs
            stored = (await self._fetch(with_ref, {**values, **_prefixed_ref(ref)})).one()
            message_id = MessageId(stored["id"])
            if not stored["refs"]:
                await self._taken_back(message_id)
                return None
        else:
            message_id = MessageId((await self._fetch(_INSERT_MESSAGE, values)).one()["id"])
            add_ref = _ADD_REF[self._conn.dialect.name]
            for ref in new.refs:
                if (await self._fetch(add_ref, _ref_values(message_id, ref))).first() is None:
                    await self._taken_back(message_id)
                    return None
        message = Message(
            id=message_id,
            ticket_id=new.ticket_id,
            direction=new.direction,
            author=new.author,
            body=new.body,
            created_at=new.created_at.astimezone(UTC),
            attachments=new.attachments,
            refs=new.refs,
        )
        self._added[message_id] = message
        return message

    async def _taken_back(self, message_id: MessageId) -> None:
        """A message whose ref was stored before (or by a transaction that committed
        meanwhile) is taken back here, on this rare path, as a savepoint would: a savepoint
        would cost two more statements on every message."""
        await self._conn.execute(_FORGET_REFS, {"id": message_id})
        await self._conn.execute(_FORGET_MESSAGE, {"id": message_id})

    async def add_message_ref(self, message_id: MessageId, ref: MessageRef) -> bool:
        self._added.pop(message_id, None)  # its refs change
        # INSERT … ON CONFLICT DO NOTHING: one statement where a savepoint would take three.
        added = await self._fetch(_ADD_REF[self._conn.dialect.name], _ref_values(message_id, ref))
        return added.first() is not None

    async def find_message(self, ref: MessageRef) -> Message | None:
        key = {"platform": ref.platform, "external_id": ref.external_id}
        message_id = (await self._conn.execute(_MESSAGE_AT, key)).scalar()
        return await self._message(MessageId(message_id)) if message_id is not None else None

    async def _message(self, message_id: MessageId) -> Message:
        row = (await self._conn.execute(_MESSAGE_BY_ID, {"id": message_id})).one()
        refs = await refs_of(self._conn, [message_id])
        return message_row(row, refs.get(message_id, ()))

    async def list_messages(self, ticket_id: TicketId) -> list[Message]:
        q = select(m.messages).where(m.messages.c.ticket_id == ticket_id).order_by(m.messages.c.id)
        rows = list(await self._conn.execute(q))
        refs = await refs_of(self._conn, [MessageId(row.id) for row in rows])
        return [message_row(row, refs.get(row.id, ())) for row in rows]

    async def mark_message_edited(self, message_id: MessageId, body: str, at: datetime) -> None:
        self._added.pop(message_id, None)
        await self._conn.execute(
            update(m.messages).where(m.messages.c.id == message_id).values(body=body, edited_at=at)
        )

    async def set_message_direction(
        self, message_id: MessageId, direction: Direction, body: str | None = None
    ) -> None:
        self._added.pop(message_id, None)
        values: dict[str, Any] = {"direction": direction}
        if body is not None:
            values["body"] = body
        await self._conn.execute(
            update(m.messages).where(m.messages.c.id == message_id).values(**values)
        )

    async def mark_message_deleted(self, message_id: MessageId, at: datetime) -> None:
        self._added.pop(message_id, None)
        await self._conn.execute(
            update(m.messages).where(m.messages.c.id == message_id).values(deleted_at=at)
        )

    async def get_message(self, message_id: MessageId) -> Message | None:
        exists = select(m.messages.c.id).where(m.messages.c.id == message_id)
        if (await self._conn.execute(exists)).first() is None:
            return None
        return await self._message(message_id)


async def refs_of(conn: Statements, ids: list[MessageId]) -> dict[int, tuple[MessageRef, ...]]:
    """The refs of each of these messages, in the order they were stored."""
    if not ids:
        return {}
    found: dict[int, list[MessageRef]] = {}
    for row in await conn.execute(_REFS_OF, {"ids": ids}):
        r = row._mapping  # read by name off one mapping: see storage/rows.py
        found.setdefault(r["message_id"], []).append(
            MessageRef(Platform(r["platform"]), r["external_id"], r["workspace"])
        )
    return {k: tuple(v) for k, v in found.items()}


def _prefixed_ref(ref: MessageRef) -> dict[str, Any]:
    return {
        "ref_platform": ref.platform,
        "ref_external_id": ref.external_id,
        "ref_workspace": ref.workspace,
    }


def _ref_values(message_id: MessageId, ref: MessageRef) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "platform": ref.platform,
        "external_id": ref.external_id,
        "workspace": ref.workspace,
    }


def _attachment_json(a: Attachment) -> dict[str, Any]:
    return {"filename": a.filename, "url": a.url, "size": a.size, "content_type": a.content_type}
