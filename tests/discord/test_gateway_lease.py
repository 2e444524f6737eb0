"""The gateway lease between replicas, on both databases: one holds the gateway, another takes
over when it stops or goes quiet, and a holder cut off from the database lets go before anyone
else may take over. The gateway here is a recorder; the lease times are fractions of a second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

from bot.core.errors import StorageError
from bot.core.ports import Transaction
from integrations.discord.gateway_lease import NAME, GatewayLease
from storage.repository import SqlStorage
from tests.support import eventually

TIMES = {"ttl": 1.0, "renew_every": 0.2, "try_every": 0.1, "margin": 0.3}


class Recorder:
    """A gateway that notes when it is connected and dropped."""

    def __init__(self) -> None:
        self.connected = False
        self.drops: list[tuple[bool, float]] = []  # (hand_over, when)
        self.fail_next = False

    async def connect_gateway(self) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("gateway unreachable")
        self.connected = True

    async def drop_gateway(self, *, hand_over: bool) -> None:
        self.connected = False
        self.drops.append((hand_over, time.monotonic()))


class Flaky:
    """The storage, unreachable while `down`."""

    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage
        self.down = False

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        return self._maybe()

    def reading(self) -> AbstractAsyncContextManager[Transaction]:
        return self._storage.reading()

    async def ping(self) -> None:
        await self._storage.ping()

    @asynccontextmanager
    async def _maybe(self) -> AsyncIterator[Transaction]:
        if self.down:
            raise StorageError("the database is away")
        async with self._storage.transaction() as tx:
            yield tx


@asynccontextmanager
async def replicas(
    storage: SqlStorage | Flaky, n: int, prefix: str = "r"
) -> AsyncIterator[list[tuple[GatewayLease, Recorder]]]:
    pairs = []
    for i in range(n):
        gateway = Recorder()
        pairs.append((GatewayLease(storage, gateway, holder=f"{prefix}{i}", **TIMES), gateway))
    try:
        yield pairs
    finally:
        for lease, _ in pairs:
            await lease.stop()


def held(pairs: list[tuple[GatewayLease, Recorder]]) -> list[int]:
    return [i for i, (lease, gateway) in enumerate(pairs) if lease.holding and gateway.connected]


async def test_the_first_holds_the_gateway_and_the_next_stands_by(storage: SqlStorage) -> None:
    async with replicas(storage, 2) as pairs:
        for lease, _ in pairs:
            await lease.start()
        assert held(pairs) == [0]
        await asyncio.sleep(2 * TIMES["ttl"])  # renewals keep it where it is
        assert held(pairs) == [0]


async def test_a_clean_stop_hands_the_gateway_over_at_once(storage: SqlStorage) -> None:
    async with replicas(storage, 2) as pairs:
        for lease, _ in pairs:
            await lease.start()
        (first, gateway), (second, _) = pairs
        stopped = time.monotonic()
        await first.stop()
        assert gateway.drops == [(True, gateway.drops[0][1])]  # handed over, checkpoint stored

        async def taken() -> bool:
            return held(pairs) == [1]

        await eventually(taken, what="the standby on the gateway", within=2)
        # The lease was given up, not left to run out.
        assert time.monotonic() - stopped < TIMES["ttl"]
        assert second.takeovers == 1


async def test_a_holder_gone_quiet_is_taken_over_once_its_lease_runs_out(
    storage: SqlStorage,
) -> None:
    async with replicas(storage, 3) as pairs:
        for lease, _ in pairs:
            await lease.start()
        first, _ = pairs[0]
        assert first._keeping is not None
        first._keeping.cancel()  # as if killed: no renewal, no release
        quiet = time.monotonic()

        async def taken() -> bool:
            return len(held(pairs)) == 2  # the dead one still "holds" in its own eyes

        await eventually(taken, what="a standby on the gateway", within=3)
        assert time.monotonic() - quiet >= TIMES["ttl"] - TIMES["renew_every"]
        assert sum(lease.takeovers for lease, _ in pairs[1:]) == 1  # exactly one took it


async def test_a_holder_cut_off_from_the_database_lets_go_before_its_lease_runs_out(
    storage: SqlStorage,
) -> None:
    flaky = Flaky(storage)
    async with (
        replicas(flaky, 1) as [(cut_off, gateway)],
        replicas(storage, 1, "other") as [(other, its)],
    ):
        await cut_off.start()
        await other.start()
        assert gateway.connected
        assert not its.connected
        flaky.down = True
        went_down = time.monotonic()

        async def let_go() -> bool:
            return not gateway.connected

        await eventually(let_go, what="the cut-off holder letting go", within=3)
        [(hand_over, dropped)] = gateway.drops
        assert not hand_over  # nothing is stored on the way out: the lease is not ours now

        async def taken() -> bool:
            return its.connected

        await eventually(taken, what="the other replica on the gateway", within=3)
        # Gone before the other could take over: never two on the gateway.
        assert dropped - went_down < TIMES["ttl"]
        assert not cut_off.holding
        flaky.down = False  # back: it stands by, since the lease is the other's now
        await asyncio.sleep(3 * TIMES["try_every"])
        assert not gateway.connected


async def test_a_takeover_that_fails_gives_the_lease_back(storage: SqlStorage) -> None:
    async with replicas(storage, 2) as pairs:
        (first, _), (second, standby) = pairs
        await first.start()
        await second.start()
        standby.fail_next = True
        await first.stop()

        async def taken() -> bool:
            return standby.connected

        # The failed attempt gave the lease back; the next try takes it again and connects.
        await eventually(taken, what="the standby connected at its second try", within=3)
        assert second.takeovers == 2


async def test_one_lease_row_whatever_happens(storage: SqlStorage) -> None:
    async with replicas(storage, 2) as pairs:
        for lease, _ in pairs:
            await lease.start()
        async with storage.transaction() as tx:
            assert await tx.count("leases") == 1
            assert await tx.lease_holder(NAME, datetime.now(UTC)) == "r0"
