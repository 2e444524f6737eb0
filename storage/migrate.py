"""Apply and inspect Alembic migrations from inside Threadline (no alembic.ini needed)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.errors import StorageError
from storage.db import begin, describe

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x7468726C  # PostgreSQL advisory lock key held while migrating ("thrl")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


async def current_revision(engine: AsyncEngine) -> str | None:
    async with begin(engine) as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def upgrade(engine: AsyncEngine, target: str = "head") -> tuple[str | None, str]:
    """Migrate the database to `target`; returns (revision before, revision after)."""
    before = await current_revision(engine)

    def run(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)

    async with begin(engine) as conn:
        if conn.dialect.name == "postgresql":
            # Replicas started together each migrate at start: one at a time, so the later
            # ones find the schema current instead of racing to create the same tables.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await conn.run_sync(run)
    after = await current_revision(engine)
    if before != after:
        log.info("Database migrated from %s to %s", before or "empty", after)
    return before, after or ""


async def ensure_current(engine: AsyncEngine) -> None:
    """Refuse to work on a database whose schema is missing or behind, naming the fix."""
    current = await current_revision(engine)
    if current != head():
        state = "has no Threadline schema" if current is None else f"is at revision {current}"
        raise StorageError(
            f"The database at {describe(str(engine.url))} {state}; "
            f"run `threadline db upgrade` to bring it to {head()}."
        )
