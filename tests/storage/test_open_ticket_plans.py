"""The reads of a customer's open ticket use the partial index of open tickets whatever values
are bound: with the status a bound parameter, SQLite used that index only by looking at the
value, and so prepared the statement again at every execution (the intake's first read took
five times as long); PostgreSQL's generic plan of a prepared statement could not use it at all.
"""

from __future__ import annotations

from sqlalchemy import Executable, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.customers_repository import _WRITING
from storage.db import begin
from storage.migrate import upgrade
from storage.tickets_repository import _OPEN_OF

INDEX = "uq_tickets_open_customer"
STATEMENTS: dict[str, Executable] = {
    "customer_writing": _WRITING.statement,
    "open_ticket_of": _OPEN_OF.statement,
}


async def test_the_open_ticket_reads_use_the_open_tickets_index_for_any_binding(
    engine: AsyncEngine,
) -> None:
    await upgrade(engine)
    async with begin(engine) as conn:
        dialect = conn.dialect
        for name, statement in STATEMENTS.items():
            compiled = statement.compile(dialect=dialect)
            sql = str(compiled)
            count = len(compiled.positiontup or ())
            if dialect.name == "sqlite":
                # Every value bound NULL: a plan that needs to know the status would not use it.
                raw = await conn.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                cursor = await driver.execute(f"EXPLAIN QUERY PLAN {sql}", [None] * count)
                plan = " ".join(str(row) for row in await cursor.fetchall())
            else:
                # The generic plan, as a prepared statement gets after a few executions.
                await conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
                await conn.exec_driver_sql(f"PREPARE probe_{name} AS {sql}")
                nulls = ", ".join(["NULL"] * count)
                rows = await conn.exec_driver_sql(f"EXPLAIN EXECUTE probe_{name} ({nulls})")
                plan = " ".join(str(row) for row in rows)
            assert INDEX in plan, f"{name}: {plan}"
