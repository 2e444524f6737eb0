"""What /metrics reports as tickets move through the queue: the Dispatcher's outcomes counted as
they are recorded, and the database's figures read at each scrape. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.core.delivery import Lane
from bot.core.dispatcher import Dispatcher
from bot.core.errors import PlatformError
from bot.core.events import AgentMessage
from bot.core.routes import Routes
from bot.core.service import TicketService
from bot.core.sla import NotificationKey
from bot.core.survey import SurveyOutcome
from integrations.metrics import Metrics
from integrations.platforms import DISCORD
from storage.metrics_repository import MetricsReader, StoredFigures
from storage.repository import SqlStorage
from tests.fakes import RecordingChannel, RecordingWorkspace
from tests.service.test_dispatcher import ANN, SENT, drain, say
from tests.support import FakeClock

AGENTS = {"lane": "agents", "workspace": "main"}
CUSTOMER = {"lane": "customer", "workspace": ""}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def service(storage: SqlStorage, clock: FakeClock) -> TicketService:
    return TicketService(storage, clock)


@pytest.fixture
def metrics(storage: SqlStorage, clock: FakeClock) -> Metrics:
    made = Metrics(clock)
    made.read_from(MetricsReader(storage.engine).read, [(Lane.AGENTS, "main"), (Lane.CUSTOMER, "")])
    return made


@pytest.fixture
def watched(
    storage: SqlStorage,
    clock: FakeClock,
    workspace: RecordingWorkspace,
    channel: RecordingChannel,
    metrics: Metrics,
) -> Dispatcher:
    """A dispatcher that tells `metrics` each outcome."""
    return Dispatcher(storage, clock, Routes(workspace, {DISCORD: channel}), watcher=metrics)


async def scrape(metrics: Metrics) -> Samples:
    text = (await metrics.exposition()).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, frozenset(labels.items())]


async def test_the_queue_is_read_at_each_scrape_and_each_send_is_counted(
    service: TicketService, watched: Dispatcher, metrics: Metrics, clock: FakeClock
) -> None:
    empty = await scrape(metrics)
    assert value(empty, "threadline_queue_depth", **AGENTS) == 0
    assert value(empty, "threadline_queue_oldest_age_seconds", **AGENTS) == 0
    assert value(empty, "threadline_tickets", status="new") == 0

    await say(service, "alice", "a1", "first")
    clock.advance(seconds=90)
    await say(service, "bob", "b1", "hello")
    queued = await scrape(metrics)
    # Each new ticket: its card and the customer's message for the agents, "opened" for them.
    assert value(queued, "threadline_queue_depth", **AGENTS) == 4
    assert value(queued, "threadline_queue_depth", **CUSTOMER) == 2
    assert value(queued, "threadline_queue_oldest_age_seconds", **AGENTS) == 90
    assert value(queued, "threadline_tickets", status="new") == 2
    assert value(queued, "threadline_delivery_latency_seconds_count", **AGENTS) == 0

    clock.advance(seconds=10)
    assert await drain(watched) == 6
    sent = await scrape(metrics)
    assert value(sent, "threadline_queue_depth", **AGENTS) == 0
    assert value(sent, "threadline_queue_depth", **CUSTOMER) == 0
    assert value(sent, "threadline_queue_oldest_age_seconds", **CUSTOMER) == 0
    assert value(sent, "threadline_deliveries_total", outcome="done", **AGENTS) == 4
    assert value(sent, "threadline_deliveries_total", outcome="done", **CUSTOMER) == 2
    # Alice's two waited 100 s, Bob's two 10 s: the buckets say so.
    latency = "threadline_delivery_latency_seconds"
    assert value(sent, f"{latency}_count", **AGENTS) == 4
    assert value(sent, f"{latency}_sum", **AGENTS) == 220
    assert value(sent, f"{latency}_bucket", le="10.0", **AGENTS) == 2
    assert value(sent, f"{latency}_bucket", le="60.0", **AGENTS) == 2
    assert value(sent, f"{latency}_bucket", le="300.0", **AGENTS) == 4


async def test_retries_and_failures_are_counted_by_lane(
    service: TicketService,
    watched: Dispatcher,
    metrics: Metrics,
    workspace: RecordingWorkspace,
    channel: RecordingChannel,
    clock: FakeClock,
) -> None:
    workspace.fail(PlatformError("ratelimited", retryable=True, retry_after=30))
    number = await say(service, "alice", "a1", "help")
    await drain(watched)
    waiting = await scrape(metrics)
    assert value(waiting, "threadline_deliveries_total", outcome="retried", **AGENTS) == 1
    assert value(waiting, "threadline_queue_depth", **AGENTS) == 2  # kept, in order
    clock.advance(seconds=30)
    await drain(watched)

    channel.fail(PlatformError("Cannot send messages to this user", retryable=False))
    await service.add_agent_message(number, AgentMessage(ANN, "Hello?", False, SENT))
    await drain(watched)
    found = await scrape(metrics)
    assert value(found, "threadline_deliveries_total", outcome="failed", **CUSTOMER) == 1
    assert value(found, "threadline_deliveries_total", outcome="retried", **AGENTS) == 1
    # The card, the message, and the notice of the failed reply reached the agents.
    assert value(found, "threadline_deliveries_total", outcome="done", **AGENTS) == 4
    assert value(found, "threadline_queue_depth", **CUSTOMER) == 0
    assert (
        "threadline_deliveries_total",
        frozenset({**CUSTOMER, "outcome": "retried"}.items()),
    ) not in found


async def test_notices_surveys_and_ratings_are_counted_from_their_rows(
    service: TicketService, metrics: Metrics, storage: SqlStorage, clock: FakeClock
) -> None:
    tickets = [await say(service, name, f"{name}1", "hi") for name in ("ann", "bo", "cy")]
    at = datetime(2026, 3, 2, 10, tzinfo=UTC)
    async with storage.transaction() as tx:
        found = [await tx.get_ticket(n) for n in tickets]
        ids = [t.id for t in found if t is not None]
        customers = [t.customer_id for t in found if t is not None]
        await tx.claim_notification(NotificationKey(ids[0], "first_response", "reminder"), at)
        await tx.claim_notification(NotificationKey(ids[0], "first_response", "breach"), at)
        await tx.claim_notification(NotificationKey(ids[1], "first_response", "breach"), at)
        await tx.claim_notification(NotificationKey(ids[1], "pending", "nudge"), at)
        answered = await tx.add_survey(
            ids[0], customers[0], SurveyOutcome.SENT, at, timedelta(days=7)
        )
        await tx.add_survey(ids[1], customers[1], SurveyOutcome.SENT, at, timedelta(days=7))
        await tx.add_survey(ids[2], customers[2], SurveyOutcome.SKIPPED, at, timedelta(days=7))
        assert answered is not None
        await tx.answer_survey(answered.id, 5, None, at)
    found = await scrape(metrics)
    notices = "threadline_notices_total"
    assert value(found, notices, metric="first_response", kind="reminder") == 1
    assert value(found, notices, metric="first_response", kind="breach") == 2
    assert value(found, notices, metric="pending", kind="nudge") == 1
    assert value(found, "threadline_surveys_sent_total") == 2  # the skipped one was not sent
    assert value(found, "threadline_survey_ratings_total", rating="5") == 1
    assert value(found, "threadline_survey_ratings_total", rating="1") == 0
    assert value(found, "threadline_database_up") == 1


async def test_a_database_that_does_not_answer_leaves_its_figures_out(clock: FakeClock) -> None:
    async def unreachable(_now: datetime) -> StoredFigures:
        raise ConnectionRefusedError("the database is away")

    async def connected() -> str:
        return "connected"

    metrics = Metrics(clock)
    metrics.read_from(unreachable, [(Lane.AGENTS, "main")])
    metrics.checks({"slack": connected})
    metrics.caught_up("discord", "history", lambda: 3)
    metrics.done(Lane.AGENTS, "main", timedelta(seconds=2))
    found = await scrape(metrics)
    assert value(found, "threadline_database_up") == 0
    assert not [name for name, _ in found if name.startswith("threadline_queue")]
    # What the process counted itself is still there.
    assert value(found, "threadline_delivery_latency_seconds_count", **AGENTS) == 1
    assert value(found, "threadline_up", part="slack") == 1
    assert value(found, "threadline_caught_up_total", platform="discord", way="history") == 3


async def test_two_bots_in_one_process_keep_their_figures_apart(clock: FakeClock) -> None:
    first, second = Metrics(clock), Metrics(clock)
    first.done(Lane.CUSTOMER, "", timedelta(seconds=1))
    assert (
        value(await scrape(first), "threadline_deliveries_total", outcome="done", **CUSTOMER) == 1
    )
    found = await scrape(second)
    assert (
        "threadline_deliveries_total",
        frozenset({**CUSTOMER, "outcome": "done"}.items()),
    ) not in found
