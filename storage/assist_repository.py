"""What the AI features keep: a ticket's triage and switches, and drafted replies.

A mixin of `SqlTransaction` (storage/repository.py). The ticket setters are not version-checked
and leave the version alone (like `set_ticket_rating`): a triage or a switch is not a move, and an
agent's move made meanwhile must not fail for it. A draft is decided by a conditional update of
its 'offered' row, so of two agents pressing Send at once exactly one changes it; the other
learns it was decided already.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select, update

from bot.core.assist import Citation, Draft, DraftStatus
from bot.core.domain import MessageId, TicketId, Triage
from storage import models as m
from storage.rows import Rows

log = logging.getLogger(__name__)


class AssistRows(Rows):
    async def set_ticket_triage(self, ticket_id: TicketId, triage: Triage) -> None:
        await self._set_on_ticket(ticket_id, triage=_triage_json(triage))

    async def set_translate_replies(self, ticket_id: TicketId, on: bool) -> None:
        await self._set_on_ticket(ticket_id, translate_replies=on)

    async def set_auto_answer_stopped(self, ticket_id: TicketId, stopped: bool) -> None:
        await self._set_on_ticket(ticket_id, auto_answer_stopped=stopped)

    async def _set_on_ticket(self, ticket_id: TicketId, **values: Any) -> None:
        t = m.tickets
        self._forget_ticket(ticket_id)
        await self._conn.execute(update(t).where(t.c.id == ticket_id).values(**values))

    # --- drafts ------------------------------------------------------------------------

    async def add_draft(
        self,
        ticket_id: TicketId,
        text: str,
        citations: tuple[Citation, ...],
        by_model: bool,
        at: datetime,
    ) -> Draft:
        result = await self._conn.execute(
            insert(m.drafts)
            .values(
                ticket_id=ticket_id,
                text=text,
                citations=[[c.slug, c.title, c.relevance] for c in citations],
                by_model=by_model,
                status=DraftStatus.OFFERED,
                created_at=at,
            )
            .returning(m.drafts)
        )
        return _draft(result.one())

    async def get_draft(self, draft_id: int) -> Draft | None:
        row = (await self._conn.execute(select(m.drafts).where(m.drafts.c.id == draft_id))).first()
        return _draft(row) if row else None

    async def decide_draft(
        self,
        draft_id: int,
        status: DraftStatus,
        by: str,
        at: datetime,
        message_id: MessageId | None = None,
    ) -> bool:
        if status is DraftStatus.OFFERED:
            raise ValueError("a draft is decided as sent or discarded, not offered")
        d = m.drafts
        # The status in the WHERE is what makes it once only: on PostgreSQL the second of two
        # concurrent updates waits for the first, re-reads the row and then matches nothing; on
        # SQLite writers take turns.
        result = await self._conn.execute(
            update(d)
            .where((d.c.id == draft_id) & (d.c.status == DraftStatus.OFFERED))
            .values(status=status, decided_by=by[:200], decided_at=at, message_id=message_id)
        )
        return bool(result.rowcount)

    async def set_draft_post(self, draft_id: int, workspace: str, ref: str) -> None:
        p = m.draft_posts
        if await self.get_draft(draft_id) is None:
            return  # a draft that is no more (its ticket's rows went): nothing to point at
        await self._conn.execute(
            delete(p).where((p.c.draft_id == draft_id) & (p.c.workspace == workspace))
        )
        await self._conn.execute(insert(p).values(draft_id=draft_id, workspace=workspace, ref=ref))

    async def draft_posts(self, draft_id: int) -> dict[str, str]:
        p = m.draft_posts
        rows = await self._conn.execute(select(p).where(p.c.draft_id == draft_id))
        return {row.workspace: row.ref for row in rows}


def _triage_json(triage: Triage) -> dict[str, object]:
    data = triage.as_dict()
    data["priority"] = str(triage.priority)  # the plain value, whatever the JSON encoder
    return data


def _draft(row: Row[Any]) -> Draft:
    return Draft(
        id=row.id,
        ticket_id=row.ticket_id,
        text=row.text,
        citations=_citations(row.id, row.citations),
        by_model=bool(row.by_model),
        status=DraftStatus(row.status),
        created_at=row.created_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        message_id=row.message_id,
    )


def _citations(draft_id: int, data: Sequence[Any]) -> tuple[Citation, ...]:
    """The stored citations; an unreadable list costs the draft its sources, never the draft."""
    try:
        return tuple(Citation(str(s), str(t), float(r)) for s, t, r in data)
    except (TypeError, ValueError) as exc:
        log.warning("Draft %s: its stored citations are unreadable (%s); left out", draft_id, exc)
        return ()
