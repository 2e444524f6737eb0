"""The Dispatcher: sends queued deliveries through the adapters, in order, losing nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.core.delivery import (
    GROUP_MOST,
    MAIN_WORKSPACE,
    Backoff,
    Delivery,
    DeliveryId,
    DeliveryJob,
    DeliveryStatus,
    Lane,
    NewDelivery,
    Progress,
    for_agents,
    queue,
    wait_or_timeout,
    workspace_names,
)
from bot.core.delivery_watch import DeliveryWatcher, Unwatched
from bot.core.domain import MessageRef, Platform
from bot.core.errors import PlatformError
from bot.core.outbound import (
    AgentReplied,
    AgentWrote,
    AutoAnswered,
    CardChanged,
    CopyEdited,
    CustomerWrote,
    DeliveryFailed,
    DraftOffered,
    ReplyDelivered,
    TranslatedEdit,
    TranslatedReply,
    UnreadableEvent,
)
from bot.core.ports import Clock, Storage, Transaction
from bot.core.routes import Outlet, Routes

log = logging.getLogger(__name__)

# The events whose platform ids are copies of the delivery's message: new copies, and the pieces
# an edit of a split copy sent or kept (an edit that made the text longer needs more of them).
COPIES = (
    CustomerWrote,
    AgentWrote,
    AgentReplied,
    CopyEdited,
    TranslatedReply,
    TranslatedEdit,
    AutoAnswered,
)
# A delivery that became several platform messages (a reply split to fit a length limit) is
# reported as their ids joined by this: platform ids never hold whitespace. Each piece gets a
# MessageRef of its own, in order, so that edits and deletes later reach every piece.
PIECES = " "


def joined(pieces: Sequence[str]) -> str | None:
    """What a handler returns for a delivery sent as these platform messages, in order."""
    return PIECES.join(pieces) or None


def pieces_of(external_id: str | None) -> list[str]:
    """The platform ids a handler reported, in order (see `joined`)."""
    return external_id.split(PIECES) if external_id else []


class Dispatcher:
    """Sends due deliveries; one per ticket lane at a time, so each lane stays in order.

    Each lane (the agents' side, the customer's side) has its own `concurrency` sends in flight,
    so a backlog on one platform (a limit of one post a second per channel, say) never holds up the
    other. A delivery is leased only when a send slot is free for it, and the leases of what is in
    flight are renewed while it waits or sends: a lease that ran out would let a second send start.
    """

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        routes: Routes,
        workspaces: Sequence[str] = (MAIN_WORKSPACE,),
        *,
        batch: int = 100,
        concurrency: int = 16,
        # Short, since leases in flight are renewed: a crashed process holds its sends this long.
        lease_seconds: float = 20.0,
        idle_poll_seconds: float = 1.0,
        backoff: Backoff | None = None,
        watcher: DeliveryWatcher | None = None,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._routes = routes
        self._batch = batch
        self._concurrency = concurrency
        self._lease_seconds = lease_seconds
        self._idle_poll = idle_poll_seconds
        self._backoff = backoff or Backoff()
        self._watcher: DeliveryWatcher = watcher or Unwatched()
        self._wake = asyncio.Event()
        self._workspaces = workspace_names(workspaces)
        self._in_flight: dict[Outlet, dict[DeliveryId, asyncio.Task[bool]]] = {
            outlet: {} for outlet in routes.outlets
        }
        # The deliveries riding with a delivery in flight (sent with it as one post), by its id:
        # their leases are renewed with it.
        self._riders: dict[DeliveryId, list[DeliveryId]] = {}
        # Lanes whose last claim took all it was allowed to: more may be due there. Other lanes
        # need no claim until something is enqueued or a send leaves its successor due, which
        # keeps empty claims (write transactions that find nothing) off a busy database.
        self._more: dict[Outlet, bool] = {outlet: True for outlet in routes.outlets}
        self._running = False  # handed lane heads are taken only while `run` sends
        # Wakes so far. A delivery queued while a send of its lane is under way waits for that
        # send; the claim its wake caused may have run before the send's end was committed
        # (on PostgreSQL, transactions overlap), so a send that saw a wake looks again.
        self._wakes = 0

    @property
    def running(self) -> bool:
        """Whether `run` is sending (and handed lane heads are taken)."""
        return self._running

    def lease_until(self, lane: Lane, workspace: str) -> datetime | None:
        """(Handoff) A new head of this lane is leased to this process when it can be sent at
        once: while running, with a send slot free for it (and, where waiting customers'
        messages are posted together, with nothing else of the lane's workspace in flight)."""
        tasks = self._in_flight.get((lane, workspace))
        if not self._running or tasks is None or len(tasks) >= self._concurrency:
            return None
        if tasks and self._routes.coalescing((lane, workspace)) is not None:
            # Sends there may be waiting for a channel's pacing: a customer's message is then
            # better claimed in its turn, to be posted together with those waiting behind it.
            return None
        return self._clock.now() + timedelta(seconds=self._lease_seconds)

    def take(self, jobs: Sequence[DeliveryJob]) -> None:
        """(Handoff) Send lane heads a use case leased to this process. One taken after `run`
        stopped is not lost: its lease runs out and the next claim takes it."""
        if not self._running:
            log.info("Not sending %d handed deliveries: stopping", len(jobs))
            return
        # A person's message is started first: on one event loop, each send runs until its
        # first wait on the platform before the next begins, and a redraw handed over with the
        # message (a card showing the due time the reply moved, on another lane) costs more
        # time before its request than the message. Lanes are independent: only the order of
        # the starts changes.
        for job in sorted(jobs, key=lambda job: job.message is None):
            self._start(replace(job, progress=self._progress(job)))

    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        self._wakes += 1
        self._wake.set()

    async def hasten(self) -> int:
        """A platform that was away is back: what waits out a retry's backoff (which grows to
        minutes over a long outage) is sent now. Returns how many deliveries were hastened."""
        async with self._storage.transaction() as tx:
            hastened = await tx.hasten_retries(self._clock.now())
        if hastened:
            log.info("%d deliveries waiting to be retried are due now", hastened)
            self.wake()
        return hastened

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set. Sends overlap: a new lane head is taken as soon as it is
        due and a slot is free, not when the whole previous batch is done; what was started is
        finished."""
        renewing = asyncio.create_task(self._renew_leases(stop), name="delivery-leases")
        self._running = True
        try:
            while not stop.is_set():
                budget = {lane: n for lane, n in self._free_slots().items() if n > 0}
                try:
                    jobs = await self._claim(budget) if budget else []
                except Exception:
                    log.exception("Delivery sweep failed; trying again shortly")
                    jobs = []
                for job in jobs:
                    self._start(job)
                free = self._free_slots()
                if not any(self._more[outlet] and free[outlet] > 0 for outlet in free):
                    await wait_or_timeout(self._wake, self._idle_poll)
            self._running = False
            # What the assistant is asked may wait on a slow model: it is stopped, not awaited.
            # Its answer is written with the delivery's end in one transaction, so the delivery
            # stays pending, and is asked again once its lease runs out after the next start.
            for task in self._in_flight.get((Lane.ASSISTANT, ""), {}).values():
                task.cancel()
            await asyncio.gather(*self._tasks(), return_exceptions=True)
        finally:
            self._running = False
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)

    async def run_once(self) -> int:
        """Send every lane head that is due now and wait for them; returns how many."""
        outlets = self._routes.outlets
        jobs = await self._claim({outlet: self._batch for outlet in outlets})
        gates = {outlet: asyncio.Semaphore(self._concurrency) for outlet in outlets}
        started = [self._start(job, gates[_outlet(job.delivery)]) for job in jobs]
        await asyncio.gather(*(task for task in started if task is not None))
        return len(jobs)

    def _free_slots(self) -> dict[Outlet, int]:
        return {
            outlet: min(self._batch, self._concurrency - len(tasks))
            for outlet, tasks in self._in_flight.items()
        }

    def _tasks(self) -> list[asyncio.Task[bool]]:
        return [task for tasks in self._in_flight.values() for task in tasks.values()]

    def _start(
        self, job: DeliveryJob, gate: asyncio.Semaphore | None = None
    ) -> asyncio.Task[bool] | None:
        """Send `job` in a task of its own, unless this dispatcher is sending it already: a
        lease can run out under a send that is slow to finish (a clock moved on, a long retry),
        and a second send of the same delivery would post it twice."""
        delivery = job.delivery
        lane = self._in_flight[_outlet(delivery)]
        if delivery.id in lane:
            log.debug("Delivery %s is still being sent; not starting it again", delivery.id)
            return None

        async def attempt() -> bool:
            if gate is None:
                return await self._attempt(job)
            async with gate:
                return await self._attempt(job)

        task = asyncio.create_task(attempt())
        lane[delivery.id] = task
        wakes = self._wakes
        if job.riders:
            self._riders[delivery.id] = [rider.delivery.id for rider in job.riders]

        def finished(done: asyncio.Task[bool]) -> None:
            lane.pop(delivery.id, None)
            self._riders.pop(delivery.id, None)
            # Look again if the lane's next delivery may be due now, or if deliveries were
            # waiting for the slot this one frees (a send that failed unexpectedly: look anyway).
            failed = done.cancelled() or done.exception() is not None
            woken = self._wakes != wakes
            if failed or woken or done.result() or self._more[_outlet(delivery)]:
                self._wake.set()

        task.add_done_callback(finished)
        return task

    async def _renew_leases(self, stop: asyncio.Event) -> None:
        """Every third of a lease, extend the leases of the deliveries still in flight."""
        while not stop.is_set():
            await asyncio.sleep(self._lease_seconds / 3)
            held = [d for tasks in self._in_flight.values() for d in tasks]
            held += [rider for riders in list(self._riders.values()) for rider in riders]
            if not held:
                continue
            until = self._clock.now() + timedelta(seconds=self._lease_seconds)
            try:
                async with self._storage.transaction() as tx:
                    await tx.extend_leases(held, until)
            except Exception:
                log.exception("Renewing %d delivery leases failed; trying again", len(held))

    async def _claim(self, budget: Mapping[Outlet, int]) -> list[DeliveryJob]:
        """Lease up to `budget` due lane heads of each outlet and load what sending them needs."""
        now = self._clock.now()
        async with self._storage.transaction() as tx:
            leased: list[Delivery] = []
            for (lane, workspace), most in budget.items():
                if most > 0:
                    lease = self._lease_seconds
                    taken = await tx.claim_due_deliveries(now, lane, workspace, most, lease)
                    self._more[lane, workspace] = len(taken) >= most
                    leased += taken
            jobs = await tx.jobs_for(leased)  # what each needs, in the same trip
            gone = [d for d, job in zip(leased, jobs, strict=True) if job is None]
            for delivery in gone:
                await tx.finish_delivery(
                    delivery.id, DeliveryStatus.FAILED, now, error="ticket is gone"
                )
            ready = [job for job in jobs if job is not None]
            ready = await self._with_riders(tx, ready)
        for delivery in gone:
            self._watcher.failed(delivery.lane, delivery.workspace)
        return [replace(job, progress=self._progress(job)) for job in ready]

    async def _with_riders(self, tx: Transaction, jobs: list[DeliveryJob]) -> list[DeliveryJob]:
        """Customers' messages that wait behind a lane head that is one too, in a workspace
        that shows such messages together: leased with the head, to ride with it in one post.
        Only consecutive ones, due and free (nothing of the lane is sent out of order), and
        only as many as the workspace takes (`Routes.coalescing`). A card redraw between them
        is passed over and follows them: it is drawn from the ticket when it is sent, so it
        shows the same before them or after (a customer's first answer after a reply queues
        one behind itself, for the due time it moved)."""
        heads = [
            job
            for job in jobs
            if isinstance(job.event, CustomerWrote)
            and self._routes.coalescing(_outlet(job.delivery)) is not None
            # One this process is still sending (its lease ran out under it) is not started
            # again: nothing may ride with it, or they would be held for nothing.
            and job.delivery.id not in self._in_flight[_outlet(job.delivery)]
        ]
        if not heads:
            return jobs
        now = self._clock.now()
        behind = await tx.waiting_behind([job.delivery for job in heads], GROUP_MOST - 1)
        candidates: dict[DeliveryId, list[Delivery]] = {}
        for job in heads:
            waiting = _may_ride(behind.get(job.delivery.id, []), now)
            if waiting:
                candidates[job.delivery.id] = waiting
        if not candidates:
            return jobs
        loaded = await tx.jobs_for([d for waiting in candidates.values() for d in waiting])
        rider_jobs = {job.delivery.id: job for job in loaded if job is not None}
        until = now + timedelta(seconds=self._lease_seconds)
        grouped: dict[DeliveryId, DeliveryJob] = {}
        for job in heads:
            waiting = candidates.get(job.delivery.id, [])
            riders: list[DeliveryJob] = []
            for delivery in waiting:
                if delivery.id not in rider_jobs:
                    break
                riders.append(rider_jobs[delivery.id])
            workspace = self._routes.coalescing(_outlet(job.delivery))
            size = workspace.group_size([job, *riders]) if workspace is not None else 1
            wanted = [rider.delivery.id for rider in riders[: size - 1]]
            leased = {d.id: d for d in await tx.lease_deliveries(wanted, now, until)}
            taken: list[DeliveryJob] = []
            for rider in riders[: size - 1]:
                if rider.delivery.id not in leased:
                    break  # another holder has it: the rest wait for the next post
                taken.append(replace(rider, delivery=leased[rider.delivery.id]))
            if taken:
                grouped[job.delivery.id] = replace(job, riders=tuple(taken))
        return [grouped.get(job.delivery.id, job) for job in jobs]

    def _progress(self, job: DeliveryJob) -> Progress:
        async def record(steps: list[str]) -> None:
            async with self._storage.transaction() as tx:
                await tx.set_delivery_steps(job.delivery.id, steps)

        return record

    async def _attempt(self, job: DeliveryJob) -> bool:
        """Send one delivery and record the outcome; True if there may be more to send now."""
        delivery = job.delivery
        event = delivery.event
        if job.riders:
            return await self._attempt_group(job)
        try:
            if isinstance(event, UnreadableEvent):
                # Queued by a build that knows more event types, or damaged: loud, never lost.
                problem = f"cannot read the queued event: {event.problem}"
                raise PlatformError(problem, retryable=False)
            external_id = await self._routes.carry(job)
        except PlatformError as error:
            await self._failed(delivery, error)
        except Exception as error:
            log.exception("Delivery %s (%s) crashed", delivery.id, event.type)
            await self._failed(
                delivery, PlatformError(f"internal error: {error!r}", retryable=False)
            )
        else:
            return await self._done(job, external_id)
        return True  # a failure may have queued a notice, or let the lane's next one go first

    async def _attempt_group(self, job: DeliveryJob) -> bool:
        """Send a delivery and those riding with it as one post; each is recorded as its own
        (done with its own copy's ref), or all are retried or failed together."""
        group = [member.delivery for member in job.group]
        try:
            refs = await self._routes.carry_group(job)
        except Exception as exc:
            if isinstance(exc, PlatformError):
                error = exc
            else:
                log.exception("Deliveries %s (sent together) crashed", [d.id for d in group])
                error = PlatformError(f"internal error: {exc!r}", retryable=False)
            for delivery in group:
                await self._failed(delivery, error)
            return True
        now = self._clock.now()
        platform = self._routes.platform_of(job)
        more = False
        async with self._storage.transaction() as tx:
            for member, ref in zip(job.group, refs, strict=True):
                # The last one's answer counts: the others of the group are done by then.
                more = await self._record(tx, member, ref, platform, now)
        for delivery in group:
            self._watcher.done(delivery.lane, delivery.workspace, now - delivery.created_at)
        log.debug("Delivered %d messages together as %s", len(group), refs)
        return more

    async def _record(
        self,
        tx: Transaction,
        job: DeliveryJob,
        ref: str,
        platform: Platform | None,
        now: datetime,
    ) -> bool:
        """One delivery of a group done, its message's copy recorded; whether its lane has
        another delivery pending."""
        delivery = job.delivery
        more = await tx.finish_delivery(delivery.id, DeliveryStatus.DONE, now, external_id=ref)
        if delivery.message_id is not None and platform is not None:
            ref_of = MessageRef(platform, ref, delivery.workspace)
            await tx.add_message_ref(delivery.message_id, ref_of)
        return more

    async def _done(self, job: DeliveryJob, external_id: str | None) -> bool:
        delivery = job.delivery
        now = self._clock.now()
        pieces = pieces_of(external_id)
        first = pieces[0] if pieces else None  # the row's column is short; the refs hold all
        platform = self._routes.platform_of(job)
        async with self._storage.transaction() as tx:
            # Whether its lane has more is answered here; nothing below queues into its lane.
            pending = await tx.finish_delivery(
                delivery.id, DeliveryStatus.DONE, now, external_id=first
            )
            copies = isinstance(delivery.event, COPIES)
            if delivery.message_id is not None and copies and platform is not None:
                for piece in pieces:  # a piece recorded before is kept once (a unique key)
                    await tx.add_message_ref(
                        delivery.message_id, MessageRef(platform, piece, delivery.workspace)
                    )
            if first and isinstance(delivery.event, CardChanged):
                await tx.set_card(delivery.ticket_id, delivery.workspace, first)
            event = delivery.event
            if first and isinstance(event, DraftOffered) and event.draft_id is not None:
                await tx.set_draft_post(event.draft_id, delivery.workspace, first)
            marks: list[DeliveryJob | None] = []
            more = False
            if isinstance(delivery.event, AgentReplied | TranslatedReply):
                marks, more = await self._queue_here(
                    tx,
                    for_agents(
                        self._workspaces,
                        delivery.ticket_id,
                        ReplyDelivered(),
                        now,
                        delivery.message_id,
                    ),
                )
            more = more or pending
        for mark in marks:
            if mark is not None:
                self._start(replace(mark, progress=self._progress(mark)))
        self._watcher.done(delivery.lane, delivery.workspace, now - delivery.created_at)
        log.debug("Delivered %s %s as %s", delivery.event.type, delivery.id, external_id)
        return more

    async def _queue_here(
        self, tx: Transaction, news: Sequence[NewDelivery]
    ) -> tuple[list[DeliveryJob | None], bool]:
        """Queue what a send led to; a new lane head is leased to this dispatcher, to start
        once `tx` commits (as a use case hands one over). Returns those jobs, and whether
        anything else was queued (for a claim)."""
        held: list[Delivery] = []
        others = False
        for new in news:
            added = await queue(tx, new, self)
            if added is not None:
                held.append(added)
            else:
                others = True
        jobs = await tx.jobs_for(held) if held else []
        return jobs, others or any(job is None for job in jobs)

    async def _failed(self, delivery: Delivery, error: PlatformError) -> None:
        now = self._clock.now()
        attempts = delivery.attempts + 1
        gave_up = now - delivery.created_at >= self._backoff.give_up_after
        if error.retryable and not gave_up:
            when = now + self._backoff.delay(attempts, error.retry_after)
            async with self._storage.transaction() as tx:
                await tx.retry_delivery(delivery.id, when, str(error), unsure=error.unsure)
            self._watcher.retried(delivery.lane, delivery.workspace)
            log.warning("Delivery %s will be retried at %s: %s", delivery.id, when, error)
            return
        async with self._storage.transaction() as tx:
            await tx.finish_delivery(delivery.id, DeliveryStatus.FAILED, now, error=str(error))
            await self._tell_agents(tx, delivery, str(error))
        self._watcher.failed(delivery.lane, delivery.workspace)
        log.error("Delivery %s (%s) failed: %s", delivery.id, delivery.event.type, error)

    async def _tell_agents(self, tx: Transaction, delivery: Delivery, reason: str) -> None:
        """Nothing fails silently: a send that failed for good is shown in the ticket's thread.
        An event that could not be read is shown even when it was the agents' own."""
        unreadable = isinstance(delivery.event, UnreadableEvent)
        if delivery.lane is Lane.AGENTS and not unreadable:
            return  # the agents' own side is what failed; the log is all that is left
        if isinstance(delivery.event, DeliveryFailed):
            return  # never a notice about a notice
        failed = DeliveryFailed(delivery_id=delivery.id, reason=reason)
        # With the message that did not get through.
        now = self._clock.now()
        for new in for_agents(
            self._workspaces, delivery.ticket_id, failed, now, delivery.message_id
        ):
            await tx.add_delivery(new)


def _may_ride(behind: Sequence[Delivery], now: datetime) -> list[Delivery]:
    """Of what waits behind a customer's message in its lane, in order, the customers'
    messages that may ride with it: consecutive, due. A card redraw is passed over (it follows
    them); anything else ends the run, as a rider may not overtake it."""
    riders: list[Delivery] = []
    for delivery in behind:
        if isinstance(delivery.event, CardChanged):
            continue
        if not isinstance(delivery.event, CustomerWrote) or delivery.next_attempt_at > now:
            break
        riders.append(delivery)
    return riders


def _outlet(delivery: Delivery) -> Outlet:
    return delivery.lane, delivery.workspace
