"""Leases: one holder at a time for what only one process may do (the Discord gateway).

Each change is one statement, so two processes racing for a lease cannot both win: taking is an
INSERT that, on conflict, updates the row only where it is ours or has run out (SQLite and
PostgreSQL both have ON CONFLICT ... DO UPDATE ... WHERE); a row comes back only when it was
written. On PostgreSQL the conflicting row is locked for the update, so a racer waits and then
sees the winner's row; on SQLite writers are one at a time anyway.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update

from storage import models as m
from storage.rows import Rows


class LeaseRows(Rows):
    async def take_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take `name` for `holder` until `until` if it is free, has run out by `now`, or is
        already `holder`'s (then it is renewed). True if `holder` holds it now."""
        lease = m.leases
        stmt = self._insert()(lease).values(name=name, holder=holder, expires_at=until)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"holder": holder, "expires_at": until},
            where=(lease.c.holder == holder) | (lease.c.expires_at <= now),
        ).returning(lease.c.holder)
        return (await self._conn.execute(stmt)).first() is not None

    async def renew_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Extend `holder`'s lease to `until`; False if it is not theirs any more, or ran out
        by `now` (then someone else may hold it already: the holder must stop at once)."""
        lease = m.leases
        stmt = (
            update(lease)
            .where((lease.c.name == name) & (lease.c.holder == holder) & (lease.c.expires_at > now))
            .values(expires_at=until)
        )
        return bool((await self._conn.execute(stmt)).rowcount)

    async def release_lease(self, name: str, holder: str) -> bool:
        """Give `name` up so that another process may take it at once; False if it was not
        `holder`'s."""
        lease = m.leases
        stmt = delete(lease).where((lease.c.name == name) & (lease.c.holder == holder))
        return bool((await self._conn.execute(stmt)).rowcount)

    async def lease_holder(self, name: str, now: datetime) -> str | None:
        """Who holds `name` at `now` (None: nobody, or it ran out)."""
        lease = m.leases
        q = lease.select().where((lease.c.name == name) & (lease.c.expires_at > now))
        row = (await self._conn.execute(q)).first()
        return str(row.holder) if row is not None else None

    async def count_leases(self, prefix: str, now: datetime, besides: str) -> int:
        """How many leases named `prefix`… are held at `now`, `besides` left out."""
        lease = m.leases
        q = select(func.count()).where(
            lease.c.name.startswith(prefix, autoescape=True)
            & (lease.c.name != besides)
            & (lease.c.expires_at > now)
        )
        return int((await self._conn.execute(q)).scalar_one())
