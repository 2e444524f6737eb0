"""Every bot these tests start must shut down cleanly: no handler left holding the database."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _clean_shutdown(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING, logger="storage.db")
    yield
    leaks = [r.getMessage() for r in caplog.records if "still in use at shutdown" in r.getMessage()]
    assert not leaks, leaks
