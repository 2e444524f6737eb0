"""The two sides of every ticket as recording fakes, and a dispatcher that sends to them."""

from __future__ import annotations

import pytest

from bot.core.dispatcher import Dispatcher
from bot.core.routes import Routes
from integrations.platforms import DISCORD
from storage.repository import SqlStorage
from tests.fakes import RecordingChannel, RecordingWorkspace
from tests.support import FakeClock


@pytest.fixture
def workspace() -> RecordingWorkspace:
    """The agents' side."""
    return RecordingWorkspace()


@pytest.fixture
def channel() -> RecordingChannel:
    """The customers' side (Discord)."""
    return RecordingChannel()


@pytest.fixture
def dispatcher(
    storage: SqlStorage,
    clock: FakeClock,
    workspace: RecordingWorkspace,
    channel: RecordingChannel,
) -> Dispatcher:
    return Dispatcher(storage, clock, Routes(workspace, {DISCORD: channel}))
