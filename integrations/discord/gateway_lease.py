"""One gateway for several replicas: whoever holds the lease connects it.

Replicas on one PostgreSQL database each send deliveries and run the jobs (both are safe across
processes), and each opens its own Slack Socket Mode connection, but Discord's gateway must be
held by one of them: two would store every event twice over and fight over the stored session.
So the gateway goes with a lease row (storage/leases_repository.py). The holder renews it every
RENEW_EVERY seconds; the others try to take it every TRY_EVERY seconds, and do once it has run
out (TTL) or been given up. Taking over resumes the session the last holder stored (its
`Recovery.before_connecting`), so Discord replays what that one did not store; what it did
store comes again and is dropped by the inbound unique keys.

A holder that cannot renew lets go of the gateway at once, before its lease runs out (MARGIN
earlier by its own clock): it may be cut off from the database while still connected to Discord,
and must be gone before anyone else may take over. A clean stop stores the latest checkpoint and
gives the lease up, so another replica takes over within TRY_EVERY seconds.

Every replica, holder or not, stays logged in to Discord's REST API and sends its share of the
Discord deliveries: the delivery queue serves every platform's lanes from every replica, and a
send needs no gateway (each carries a nonce made from its delivery, so a repeat is the first
message). The holder only receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta
from typing import Protocol

from bot.core.ports import Clock, Storage, SystemClock
from integrations.replicas import holder_id

log = logging.getLogger(__name__)

NAME = "discord-gateway"
# Seconds. A lease outlives a holder by at most TTL: the longest a killed holder's gateway goes
# unheld. Renewing every RENEW_EVERY leaves room for two failed renewals before it runs out, and
# the others look every TRY_EVERY, so a takeover comes within about TTL + TRY_EVERY of a kill.
TTL = 10.0
RENEW_EVERY = 2.5
TRY_EVERY = 1.5
# A holder that could not renew lets go this long before its lease would run out, so that it is
# off the gateway before another replica may take it (their clocks may differ by a little).
MARGIN = 2.0


class Gateway(Protocol):
    """What the lease switches on and off (DiscordSide)."""

    async def connect_gateway(self) -> None: ...

    async def drop_gateway(self, *, hand_over: bool) -> None: ...


class GatewayLease:
    """Holds the gateway while this replica holds the lease; waits for it otherwise."""

    def __init__(
        self,
        storage: Storage,
        gateway: Gateway,
        *,
        holder: str | None = None,
        clock: Clock | None = None,
        ttl: float = TTL,
        renew_every: float = RENEW_EVERY,
        try_every: float = TRY_EVERY,
        margin: float = MARGIN,
    ) -> None:
        self._storage = storage
        self._gateway = gateway
        self.holder = holder or holder_id()
        # Wall-clock time, shared with the other replicas through the rows (not the bot's
        # clock, which tests and the demo move).
        self._clock = clock or SystemClock()
        self._ttl = ttl
        self._renew_every = renew_every
        self._try_every = try_every
        self._margin = margin
        self.holding = False
        self._held_until = 0.0  # monotonic: let go of the gateway by then unless renewed
        self._connecting: asyncio.Task[None] | None = None
        self._keeping: asyncio.Task[None] | None = None
        self.takeovers = 0  # times this replica took the gateway (its first start included)

    async def start(self) -> None:
        """Take the lease if it is free and connect the gateway (raising what stops that, as
        a lone process's start does); either way keep renewing or trying from then on."""
        taken = await self._take()
        self._keeping = asyncio.create_task(self._keep(), name="discord-gateway-lease")
        if not taken:
            log.info("Discord: another replica holds the gateway; this one is on standby")
            return
        [outcome] = await asyncio.gather(self._gain(first=True), return_exceptions=True)
        if isinstance(outcome, Exception):
            self._keeping.cancel()
            await asyncio.gather(self._keeping, return_exceptions=True)
            self._keeping = None
            await self._give_up()
            raise outcome

    async def stop(self) -> None:
        """Stop renewing; a holder stores its checkpoint, closes the gateway (its session kept
        for the next holder) and gives the lease up at once."""
        if self._keeping is not None:
            self._keeping.cancel()
            await asyncio.gather(self._keeping, return_exceptions=True)
            self._keeping = None
        if not self.holding:
            return
        await self._let_go(hand_over=True)
        try:
            async with self._storage.transaction() as tx:
                await tx.release_lease(NAME, self.holder)
        except Exception as exc:  # it runs out by itself within TTL
            log.warning("Could not give up the Discord gateway lease: %s", exc)

    # --- the loop --------------------------------------------------------------------------

    async def _keep(self) -> None:
        while True:
            try:
                await self._step()
            except Exception:  # a bug or an odd failure must not end the renewals
                log.exception("Discord: the gateway lease keeper failed; going on")
                await asyncio.sleep(self._try_every)

    async def _step(self) -> None:
        if self.holding:
            await asyncio.sleep(max(0.0, min(self._renew_every, self._left())))
            await self._renew()
        else:
            await asyncio.sleep(self._try_every)
            if await self._take():
                log.warning("Discord: this replica takes the gateway over")
                self._gain()

    async def _take(self) -> bool:
        started = time.monotonic()
        now = self._clock.now()
        try:
            async with self._storage.transaction() as tx:
                taken = await tx.take_lease(NAME, self.holder, now, self._until(now))
        except Exception as exc:
            log.debug("Could not ask for the Discord gateway lease: %s", exc)
            return False
        if taken:
            self._held_until = started + self._ttl - self._margin
        return taken

    async def _renew(self) -> None:
        started = time.monotonic()
        now = self._clock.now()
        renewed: bool | None = None
        try:
            async with asyncio.timeout(max(0.0, self._left())):
                async with self._storage.transaction() as tx:
                    renewed = await tx.renew_lease(NAME, self.holder, now, self._until(now))
        except Exception as exc:  # the database away, or too slow: try again until it runs out
            log.warning("Could not renew the Discord gateway lease: %s", exc)
        if renewed:
            self._held_until = started + self._ttl - self._margin
        elif renewed is False:
            log.error("Discord: the gateway lease was lost to another replica; letting go")
            await self._let_go(hand_over=False)
        elif self._left() <= 0:
            log.error("Discord: the gateway lease could not be renewed in time; letting go")
            await self._let_go(hand_over=False)

    def _gain(self, *, first: bool = False) -> asyncio.Task[None]:
        self.holding = True
        self.takeovers += 1
        connecting = asyncio.create_task(self._connect(first), name="discord-gateway-connect")
        self._connecting = connecting
        return connecting

    async def _connect(self, first: bool) -> None:
        try:
            await self._gateway.connect_gateway()
        except Exception:
            if first:
                raise  # the first start raises it (a bad token, the gateway unreachable)
            # A takeover gives the lease back, for this replica or another to try again.
            log.exception("Discord: taking the gateway over failed; giving the lease back")
            await self._give_up()

    async def _give_up(self) -> None:
        self.holding = False
        with contextlib.suppress(Exception):
            await self._gateway.drop_gateway(hand_over=False)
        with contextlib.suppress(Exception):
            async with self._storage.transaction() as tx:
                await tx.release_lease(NAME, self.holder)

    async def _let_go(self, *, hand_over: bool) -> None:
        self.holding = False
        connecting, self._connecting = self._connecting, None
        if connecting is not None and not connecting.done():
            connecting.cancel()
            await asyncio.gather(connecting, return_exceptions=True)
        await self._gateway.drop_gateway(hand_over=hand_over)

    def _left(self) -> float:
        return self._held_until - time.monotonic()

    def _until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self._ttl)
