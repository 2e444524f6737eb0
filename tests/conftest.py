"""Shared fixtures: databases (SQLite and PostgreSQL), a movable clock, a migrated storage."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from integrations.sandbox.launch import Sandbox
from integrations.sandbox.launch import sandbox as run_sandbox
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repository import SqlStorage
from tests.support import FakeClock

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack_sdk reads these and ignores NO_PROXY: loopback calls must never be diverted.
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _pg_required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("THREADLINE_REQUIRE_POSTGRES") == "1"


async def _pg_schema() -> tuple[str, str]:
    """Create a throwaway schema; returns (plain DSN, schema name)."""
    url = make_url(PG_URL)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"tl_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at {url.render_as_string(hide_password=True)} is unreachable: {exc}"
        if _pg_required():
            pytest.fail(message)
        pytest.skip(message)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    return dsn, schema


async def _drop_pg_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database on each backend."""
    if request.param == "sqlite":
        eng = create_engine(f"sqlite+aiosqlite:///{tmp_path}/threadline.db")
        yield eng
        await eng.dispose()
        return
    dsn, schema = await _pg_schema()
    eng = create_engine(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        yield eng
    finally:
        await eng.dispose()
        await _drop_pg_schema(dsn, schema)


@pytest.fixture
async def storage(engine: AsyncEngine) -> SqlStorage:
    """A migrated database on each backend."""
    await upgrade(engine)
    return SqlStorage(engine)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory with no Threadline settings in the environment."""
    monkeypatch.chdir(str(tmp_path))
    for name in list(os.environ):
        if name.startswith(("SLACK_", "DISCORD_", "OPENAI_", "THREADLINE_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    return tmp_path


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """Both emulators with the demo workspace and world: Slack timings shortened, limits off."""
    async with run_sandbox(fast=True) as box:
        yield box
