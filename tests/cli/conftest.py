"""The command-line tests' database: a fresh SQLite file named in DATABASE_URL."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def db(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = workdir / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    return path
