"""The repository: the core's `Storage` and `Transaction` ports on SQLAlchemy Core.

`SqlStorage` opens transactions; `SqlTransaction` is the `Transaction` port, put together from
one mixin per aggregate (customers, tickets, messages, deliveries, SLA, surveys, inbound events,
model uses, the AI features' triage and drafts, leases),
each in a `*_repository.py` module beside this one and all running on the one connection of
the transaction. On SQLite, `SqlStorage` queues this process's writers itself (see `__init__`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import models as m
from storage.assist_repository import AssistRows
from storage.customers_repository import CustomerRows
from storage.db import Statements, begin_statements
from storage.deliveries_repository import DeliveryRows
from storage.inbound_repository import InboundRows
from storage.leases_repository import LeaseRows
from storage.messages_repository import MessageRows
from storage.model_uses_repository import ModelUseRows
from storage.sla_repository import SlaRows
from storage.surveys_repository import SurveyRows
from storage.tickets_repository import TicketRows


class SqlStorage:
    """The `Storage` port on an async SQLAlchemy engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # SQLite has one writer at a time. Left to itself, a waiting writer polls the lock with
        # sleeps of up to 100 ms; queueing this process's writers here instead serves them in
        # order with no sleeping. (PostgreSQL needs no such thing.)
        self._writers = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        if self._writers is None:
            async with begin_statements(self.engine) as conn:
                yield SqlTransaction(conn)
            return
        async with self._writers, begin_statements(self.engine) as conn:
            yield SqlTransaction(conn)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqlTransaction]:
        """A transaction that only reads: on SQLite it neither waits for nor blocks writers."""
        async with begin_statements(self.engine, read_only=True) as conn:
            yield SqlTransaction(conn)

    async def ping(self) -> None:
        async with begin_statements(self.engine, read_only=True) as conn:
            await conn.execute(select(1))

    async def close(self) -> None:
        await self.engine.dispose()  # and its synchronous twin on SQLite (storage.db)


class SqlTransaction(
    CustomerRows,
    TicketRows,
    MessageRows,
    DeliveryRows,
    SlaRows,
    SurveyRows,
    InboundRows,
    ModelUseRows,
    AssistRows,
    LeaseRows,
):
    """The `Transaction` port: every method runs inside the caller's transaction."""

    def __init__(self, conn: Statements) -> None:
        self._conn = conn
        self._added = {}
        self._tickets = {}
        self._customers = {}
        self._lane_locks = set()

    async def count(self, table: str) -> int:
        """Row count of one table; for diagnostics and tests."""
        q = select(func.count()).select_from(m.metadata.tables[table])
        return int((await self._conn.execute(q)).scalar_one())
