"""Work that outlives shutdown is visible: the connections it still holds are counted."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from storage.db import connections_in_use, create_engine, dispose


async def test_connections_in_use_are_counted_before_shutdown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    conn = await engine.connect()
    assert connections_in_use(engine) == 1
    await conn.close()
    assert connections_in_use(engine) == 0
    with caplog.at_level(logging.WARNING, logger="storage.db"):
        await dispose(engine)
    assert "still in use" not in caplog.text
