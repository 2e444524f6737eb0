"""`/metrics`: what the running bot reports to Prometheus, in its text format.

Each bot has a registry of its own (never prometheus_client's global one), so several bots in
one process (the tests, the demo) each report only their own figures. Three kinds of figures:

- counted as they happen in this process: each delivery's outcome and latency (the Dispatcher
  calls `Metrics` as its `DeliveryWatcher`), the platforms' retries and 429s
  (integrations/metrics_platforms.py);
- read from the database at each scrape (storage/metrics_repository.py): the queue, tickets by
  status, notifications and surveys. A database that does not answer leaves these out and sets
  `threadline_database_up` to 0; the rest is still served;
- read from the adapters at each scrape: what each platform's catch-up recovered at start, and
  whether each platform is connected (the checks `/healthz` runs).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from bot.core.delivery import Lane
from bot.core.domain import Status
from bot.core.ports import Clock
from bot.core.survey import RATINGS
from integrations.http import HealthCheck, state_of
from storage.metrics_repository import StoredFigures

log = logging.getLogger(__name__)

# Seconds from a delivery's queueing to its being sent: a relay normally takes well under a
# second; a platform that is away or rate limiting pushes it to minutes.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
# The states a /healthz check reports, as a gauge: connected (or answering) is 1.
UP_STATES = frozenset({"ok", "connected"})

ReadFigures = Callable[[datetime], Awaitable[StoredFigures]]  # as of this instant
Outlet = tuple[Lane, str]  # a lane and its agent workspace ("" off the agents' lane)


class Metrics:
    """One bot's metrics. It is the Dispatcher's `DeliveryWatcher`; `handle` serves `/metrics`.
    The counters exist from the start (the platforms' clients are given them as they are
    built); what is read at each scrape is named once the parts exist (`read_from`,
    `checks`, `caught_up`)."""

    def __init__(self, clock: Clock) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "threadline_deliveries",
            "Deliveries by outcome: done (sent), retried (failed, queued again), failed (for good)",
            ["lane", "workspace", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "threadline_delivery_latency_seconds",
            "From a delivery's queueing to its being sent",
            ["lane", "workspace"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.retries = Counter(
            "threadline_platform_retries",
            "Requests to a platform or the model that its client made again after a failure",
            ["platform"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "threadline_platform_rate_limited",
            "HTTP 429 answers from a platform or the model",
            ["platform"],
            registry=self.registry,
        )
        self._stored = _StoredCollector(clock)
        self._live = _LiveCollector()
        self.registry.register(self._stored)
        self.registry.register(self._live)
        ProcessCollector(registry=self.registry)  # process_* : memory, CPU, open files
        self._scraping = asyncio.Lock()

    # --- the Dispatcher's DeliveryWatcher ----------------------------------------------

    def done(self, lane: Lane, workspace: str, waited: timedelta) -> None:
        self.deliveries.labels(lane, workspace, "done").inc()
        self.latency.labels(lane, workspace).observe(max(waited.total_seconds(), 0.0))

    def retried(self, lane: Lane, workspace: str) -> None:
        self.deliveries.labels(lane, workspace, "retried").inc()

    def failed(self, lane: Lane, workspace: str) -> None:
        self.deliveries.labels(lane, workspace, "failed").inc()

    # --- what is read at each scrape ---------------------------------------------------

    def read_from(self, read: ReadFigures, outlets: Sequence[Outlet]) -> None:
        """The database's figures come from `read`. `outlets`: the lanes the deployment sends
        on, each reported (at 0 when empty) before anything is queued there."""
        self._stored.read, self._stored.outlets = read, list(outlets)
        for lane, workspace in outlets:
            self.latency.labels(lane, workspace)  # present, empty, before the first send

    def checks(self, health: Mapping[str, HealthCheck]) -> None:
        """Each part's state comes from these checks (the ones `/healthz` runs)."""
        self._live.health = dict(health)

    def caught_up(self, platform: str, way: str, count: Callable[[], int]) -> None:
        """Report `count()` (read at each scrape) as what `platform`'s catch-up in `way`
        recovered since start."""
        self._live.caught_up[platform, way] = count

    # --- serving ------------------------------------------------------------------------

    async def exposition(self) -> bytes:
        """Every figure now, in the Prometheus text format."""
        async with self._scraping:  # one scrape's figures at a time: each reads them fresh
            await self._stored.refresh()
            await self._live.refresh()
            # generate_latest runs each collector's collect(), which only formats.
            return generate_latest(self.registry)

    async def handle(self, _request: web.Request) -> web.Response:
        body = await self.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})


class _StoredCollector:
    """The figures read from the database; `refresh()` reads them, `collect()` reports them."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.read: ReadFigures | None = None
        self.outlets: list[Outlet] = []
        self._figures: StoredFigures | None = None

    async def refresh(self) -> None:
        if self.read is None:
            return
        try:
            self._figures = await self.read(self._clock.now())
        except Exception as exc:
            log.warning("Metrics: could not read the database's figures: %s", exc)
            self._figures = None

    def collect(self) -> Iterable[Metric]:
        if self.read is None:
            return []
        return list(self._families(self._figures))

    def _families(self, figures: StoredFigures | None) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "threadline_database_up",
            "1 when this scrape read the database's figures; 0 when the database did not "
            "answer (those figures are then left out)",
            value=0 if figures is None else 1,
        )
        yield up
        if figures is None:
            return
        yield from self._queue(figures)
        tickets = GaugeMetricFamily(
            "threadline_tickets", "Tickets not closed, by status", labels=["status"]
        )
        for status in Status:
            if status is not Status.CLOSED:
                tickets.add_metric([status], figures.tickets.get(status, 0))
        yield tickets
        notices = CounterMetricFamily(
            "threadline_notices",
            "Notifications the jobs have sent, by metric and kind (SLA reminders, breaches and "
            "escalations; pending nudges; unhappy ratings to the leads)",
            labels=["metric", "kind"],
        )
        for (metric, kind), count in sorted(figures.notices.items()):
            notices.add_metric([metric, kind], count)
        yield notices
        yield from _surveys(figures)

    def _queue(self, figures: StoredFigures) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "threadline_queue_depth",
            "Deliveries pending (being sent or waiting), by lane and agent workspace",
            labels=["lane", "workspace"],
        )
        age = GaugeMetricFamily(
            "threadline_queue_oldest_age_seconds",
            "How long the oldest pending delivery has been queued (0 when none is)",
            labels=["lane", "workspace"],
        )
        now = self._clock.now()
        found = {(q.lane, q.workspace): q for q in figures.queues}
        for lane, workspace in sorted({*self.outlets, *found}):
            queued = found.get((lane, workspace))
            depth.add_metric([lane, workspace], queued.pending if queued else 0)
            waited = (now - queued.oldest_at).total_seconds() if queued else 0.0
            age.add_metric([lane, workspace], max(waited, 0.0))
        yield depth
        yield age


def _surveys(figures: StoredFigures) -> Iterator[Metric]:
    sent = CounterMetricFamily(
        "threadline_surveys_sent",
        "Satisfaction surveys sent to customers (answered or not)",
        value=figures.surveys_sent,
    )
    yield sent
    ratings = CounterMetricFamily(
        "threadline_survey_ratings", "Survey answers, by rating (1 to 5)", labels=["rating"]
    )
    for rating in RATINGS:
        ratings.add_metric([str(rating)], figures.ratings.get(rating, 0))
    yield ratings


class _LiveCollector:
    """What the adapters know now: each platform's connection, and its catch-up counts."""

    def __init__(self) -> None:
        self.health: dict[str, HealthCheck] = {}
        self._states: dict[str, str] = {}
        self.caught_up: dict[tuple[str, str], Callable[[], int]] = {}

    async def refresh(self) -> None:
        self._states = {name: await state_of(check) for name, check in self.health.items()}

    def collect(self) -> Iterable[Metric]:
        return list(self._families(self._states))

    def _families(self, states: Mapping[str, str]) -> Iterator[Metric]:
        connected = GaugeMetricFamily(
            "threadline_up",
            "1 when a part is connected (a platform) or answering (the database), as /healthz "
            "reports it; parts that are not configured are left out",
            labels=["part"],
        )
        for name, state in sorted(states.items()):
            if state != "off":
                connected.add_metric([name], 1 if state in UP_STATES else 0)
        yield connected
        caught = CounterMetricFamily(
            "threadline_caught_up",
            "What was recovered at start from while the bot was away: Discord messages "
            "(customers' and, with agents in Discord, agents') read from history "
            "(way=history), Discord gateway events replayed on resume (way=resume), Slack "
            "events stored but not processed before a restart (way=stored)",
            labels=["platform", "way"],
        )
        for (platform, way), count in sorted(self.caught_up.items()):
            caught.add_metric([platform, way], count())
        yield caught
