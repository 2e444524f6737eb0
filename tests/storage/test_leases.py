"""Leases on both databases: one holder at a time, taken over once run out, given up at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from storage.repository import SqlStorage

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=10)
NAME = "discord-gateway"


async def take(storage: SqlStorage, holder: str, now: datetime) -> bool:
    async with storage.transaction() as tx:
        return await tx.take_lease(NAME, holder, now, now + TTL)


async def holder(storage: SqlStorage, now: datetime) -> str | None:
    async with storage.transaction() as tx:
        return await tx.lease_holder(NAME, now)


async def test_a_free_lease_is_taken_and_then_refused_to_another(storage: SqlStorage) -> None:
    assert await take(storage, "a", T0)
    assert not await take(storage, "b", T0 + timedelta(seconds=1))
    assert await holder(storage, T0 + timedelta(seconds=1)) == "a"


async def test_taking_ones_own_lease_again_renews_it(storage: SqlStorage) -> None:
    assert await take(storage, "a", T0)
    assert await take(storage, "a", T0 + timedelta(seconds=8))
    # Renewed to T0 + 18 s: at T0 + 12 s it is still a's.
    assert not await take(storage, "b", T0 + timedelta(seconds=12))


async def test_a_lease_run_out_is_taken_over(storage: SqlStorage) -> None:
    assert await take(storage, "a", T0)
    assert await holder(storage, T0 + TTL) is None
    assert await take(storage, "b", T0 + TTL)
    assert await holder(storage, T0 + TTL) == "b"
    async with storage.transaction() as tx:  # the old holder finds out it lost it
        assert not await tx.renew_lease(NAME, "a", T0 + TTL, T0 + 2 * TTL)


async def test_renewing_extends_only_a_lease_still_held(storage: SqlStorage) -> None:
    assert await take(storage, "a", T0)
    async with storage.transaction() as tx:
        t5 = T0 + timedelta(seconds=5)
        assert await tx.renew_lease(NAME, "a", t5, T0 + timedelta(seconds=15))
        assert not await tx.renew_lease(NAME, "b", t5, T0 + TTL)
    assert not await take(storage, "b", T0 + timedelta(seconds=12))
    async with storage.transaction() as tx:  # run out: renewing cannot bring it back
        assert not await tx.renew_lease(NAME, "a", T0 + timedelta(seconds=15), T0 + 2 * TTL)


async def test_a_released_lease_is_free_at_once(storage: SqlStorage) -> None:
    assert await take(storage, "a", T0)
    async with storage.transaction() as tx:
        assert not await tx.release_lease(NAME, "b")  # not b's to give up
        assert await tx.release_lease(NAME, "a")
    assert await take(storage, "b", T0 + timedelta(seconds=1))


async def test_of_many_racing_for_a_free_lease_exactly_one_wins(storage: SqlStorage) -> None:
    won = await asyncio.gather(*(take(storage, f"r{n}", T0) for n in range(8)))
    assert sum(won) == 1
    assert await holder(storage, T0) == f"r{won.index(True)}"


async def test_of_many_racing_for_a_lease_run_out_exactly_one_wins(storage: SqlStorage) -> None:
    assert await take(storage, "old", T0)
    later = T0 + TTL + timedelta(seconds=1)
    won = await asyncio.gather(*(take(storage, f"r{n}", later) for n in range(8)))
    assert sum(won) == 1


async def test_the_live_leases_of_a_kind_are_counted_but_ones_own(storage: SqlStorage) -> None:
    async with storage.transaction() as tx:
        for name in ("replica:a", "replica:b", "replica_c", "discord-gateway"):
            assert await tx.take_lease(name, name, T0, T0 + TTL)
        # An underscore in the prefix is a character, not a LIKE wildcard.
        assert await tx.count_leases("replica:", T0, besides="replica:a") == 1
        assert await tx.count_leases("replica:", T0, besides="nobody") == 2
        assert await tx.count_leases("replica:", T0 + TTL, besides="nobody") == 0  # run out
