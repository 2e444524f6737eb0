"""Replicas count each other through their rows, on both databases (integrations/replicas.py)."""

from __future__ import annotations

import pytest

from integrations import replicas
from integrations.replicas import TTL, Replicas
from storage.repository import SqlStorage
from tests.support import FakeClock


class Changes:
    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []

    def __call__(self, before: int, now: int) -> None:
        self.seen.append((before, now))


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replicas, "NOTICE", 0.0)  # a newcomer's wait is not what is tested


async def test_replicas_count_each_other_and_hear_when_one_leaves(
    storage: SqlStorage, clock: FakeClock
) -> None:
    changes = Changes()
    first = Replicas(storage, changes, holder="a", clock=clock)
    second = Replicas(storage, Changes(), holder="b", clock=clock)
    assert await first.start() == 0  # alone
    assert await second.start() == 1  # finds the first
    assert await first.check() == 1
    assert changes.seen == [(0, 1)]
    await second.stop()  # a clean stop gives its row up at once
    assert await first.check() == 0
    assert changes.seen == [(0, 1), (1, 0)]
    await first.stop()


async def test_a_replica_that_vanished_is_no_longer_counted_once_its_row_ran_out(
    storage: SqlStorage, clock: FakeClock
) -> None:
    changes = Changes()
    first = Replicas(storage, changes, holder="a", clock=clock)
    killed = Replicas(storage, Changes(), holder="b", clock=clock)
    await first.start()
    await killed.start()
    assert await first.check() == 1
    clock.advance(seconds=TTL / 2)
    assert await first.check() == 1  # the killed one's row has not run out yet
    clock.advance(seconds=TTL / 2)
    assert await first.check() == 0
    assert changes.seen == [(0, 1), (1, 0)]
    await first.stop()
