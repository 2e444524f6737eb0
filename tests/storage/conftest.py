"""Fixtures of the repository's tests."""

from __future__ import annotations

from typing import Any

import pytest

from storage.prepared import Fetched, Prepared
from storage.rows import Rows


@pytest.fixture
def prepared_runs(monkeypatch: pytest.MonkeyPatch) -> list[Prepared]:
    """The prepared statements the repository runs from now on, in order."""
    ran: list[Prepared] = []
    fetch = Rows._fetch

    async def recorded(self: Rows, statement: Prepared, params: Any) -> Fetched:
        ran.append(statement)
        return await fetch(self, statement, params)

    monkeypatch.setattr(Rows, "_fetch", recorded)
    return ran
