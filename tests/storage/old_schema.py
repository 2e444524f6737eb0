"""Rows written as an older schema had them, for the tests of the migrations that convert them:
the tables with only the columns those rows need, a customer and ticket to hang rows on, and a
downgrade to a chosen revision."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.domain import TicketId
from storage.migrate import alembic_config
from storage.models import UTCDateTime

customers = sa.table(
    "customers",
    sa.column("id", sa.Integer),
    sa.column("platform", sa.String),
    sa.column("external_id", sa.String),
    sa.column("display_name", sa.String),
    sa.column("created_at", UTCDateTime),
)
tickets = sa.table(
    "tickets",
    sa.column("id", sa.Integer),
    sa.column("number", sa.BigInteger),
    sa.column("customer_id", sa.Integer),
    sa.column("subject", sa.String),
    sa.column("status", sa.String),
    sa.column("priority", sa.String),
    sa.column("tier", sa.SmallInteger),
    sa.column("workspace_ref", sa.String),
    sa.column("created_at", UTCDateTime),
    sa.column("updated_at", UTCDateTime),
)


async def old_ticket(
    conn: AsyncConnection, at: datetime, *, status: str, workspace_ref: str | None = None
) -> TicketId:
    """Ticket #1001 of a customer on Discord, inserted as any schema since 0002 takes it."""
    customer = (
        await conn.execute(
            sa.insert(customers)
            .values(platform="discord", external_id="1001", display_name="Alice", created_at=at)
            .returning(customers.c.id)
        )
    ).scalar_one()
    ticket = (
        await conn.execute(
            sa.insert(tickets)
            .values(
                number=1001,
                customer_id=customer,
                subject="Printer on fire",
                status=status,
                priority="normal",
                tier=1,
                workspace_ref=workspace_ref,
                created_at=at,
                updated_at=at,
            )
            .returning(tickets.c.id)
        )
    ).scalar_one()
    return TicketId(ticket)


async def downgrade_to(engine: AsyncEngine, revision: str) -> None:
    def down(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(down)
