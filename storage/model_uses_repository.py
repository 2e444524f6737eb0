"""What the AI features spent on models: one row per call (`model_uses`).

A mixin of `SqlTransaction` (storage/repository.py). Sums are taken by the `used_at` index, so
the daily budget check reads only the day's rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select

from bot.core.domain import TicketId
from bot.core.model_use import ModelUse, Spent
from storage import models as m
from storage.rows import Rows


class ModelUseRows(Rows):
    async def record_model_use(self, use: ModelUse) -> None:
        await self._conn.execute(
            insert(m.model_uses).values(
                ticket_id=use.ticket_id,
                feature=use.feature,
                model=use.model,
                prompt_tokens=use.prompt_tokens,
                completion_tokens=use.completion_tokens,
                used_at=use.used_at,
            )
        )

    async def spent_between(self, start: datetime, end: datetime) -> Spent:
        u = m.model_uses
        return await self._spent((u.c.used_at >= start) & (u.c.used_at < end))

    async def spent_on_ticket(self, ticket_id: TicketId) -> Spent:
        return await self._spent(m.model_uses.c.ticket_id == ticket_id)

    async def _spent(self, where: Any) -> Spent:
        u = m.model_uses
        q = select(
            func.coalesce(func.sum(u.c.prompt_tokens), 0),
            func.coalesce(func.sum(u.c.completion_tokens), 0),
            func.count(),
        ).where(where)
        prompt, completion, calls = (await self._conn.execute(q)).one()
        return Spent(int(prompt), int(completion), int(calls))
