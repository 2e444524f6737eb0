"""Every bot these tests start must shut down cleanly: no handler left holding the database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app import Bot
from integrations.sandbox.launch import Sandbox
from tests.loop.loop_support import point_at_sandbox, running


@pytest.fixture(autouse=True)
def _clean_shutdown(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING, logger="storage.db")
    yield
    leaks = [r.getMessage() for r in caplog.records if "still in use at shutdown" in r.getMessage()]
    assert not leaks, leaks


@pytest.fixture
def settings_env(sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot's settings for the sandbox and a fresh database (a module may add to them)."""
    point_at_sandbox(sandbox, workdir, monkeypatch)


@pytest.fixture
async def bot(settings_env: None) -> AsyncIterator[Bot]:
    async with running() as started:
        yield started
