"""Migrations: empty to head on both databases, and the models match what they build."""

from __future__ import annotations

import re
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.errors import StorageError
from storage.migrate import alembic_config, current_revision, ensure_current, head, upgrade
from storage.models import metadata


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_upgrade_from_empty_to_head(engine: AsyncEngine) -> None:
    assert await current_revision(engine) is None
    before, after = await upgrade(engine)
    assert (before, after) == (None, head())
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        counter = (await conn.execute(text("SELECT value FROM counters"))).scalar_one()
    assert set(metadata.tables) <= tables
    assert counter == 1000


async def test_models_match_the_migrated_schema(engine: AsyncEngine) -> None:
    await upgrade(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_upgrade_twice_changes_nothing(engine: AsyncEngine) -> None:
    await upgrade(engine)
    assert await upgrade(engine) == (head(), head())


async def test_downgrade_to_empty_and_back(engine: AsyncEngine) -> None:
    await upgrade(engine)

    def down(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")

    async with engine.begin() as conn:
        await conn.run_sync(down)
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert not tables & set(metadata.tables)
    await upgrade(engine)
    assert await current_revision(engine) == head()


async def test_an_unmigrated_database_is_refused_with_the_command_to_run(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(StorageError, match="run `threadline db upgrade`"):
        await ensure_current(engine)
    await upgrade(engine)
    await ensure_current(engine)


async def test_check_constraints_match_the_enums(engine: AsyncEngine) -> None:
    """Autogenerate does not compare CHECK constraints, so compare them here."""
    await upgrade(engine)

    def checks(conn: Connection) -> dict[str, str]:
        inspector = inspect(conn)
        found = {}
        for table in metadata.tables:
            for check in inspector.get_check_constraints(table):
                found[check["name"]] = " ".join(check["sqltext"].split())
        return found

    async with engine.connect() as conn:
        migrated = await conn.run_sync(checks)
    for table in metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint):
                wanted = str(constraint.sqltext)
                have = migrated[str(constraint.name)]
                for value in re.findall(r"'([a-z_]+)'", wanted):
                    assert f"'{value}'" in have, f"{constraint.name} lacks {value}"
