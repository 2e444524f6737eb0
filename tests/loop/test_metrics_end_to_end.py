"""`/metrics` of the running bot, scraped over HTTP while a customer's message goes through: the
real bot against the emulators, each platform answering one request with a 429 on the way."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.app import Bot
from bot.config import load_settings
from bot.core.delivery import DeliveryStatus
from integrations.sandbox.launch import Sandbox
from storage import models as m
from storage.db import begin, create_engine
from tests.loop.loop_support import ALICE, card, dm_says, running, thread_says
from tests.support import eventually

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
SEND = "POST /channels/{channel_id}/messages"
AGENTS = {"lane": "agents", "workspace": "main"}
CUSTOMER = {"lane": "customer", "workspace": ""}


async def scrape(bot: Bot) -> Samples:
    """Every sample of /metrics, by name and labels."""
    assert bot.server is not None
    url = f"http://127.0.0.1:{bot.server.port}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, frozenset(labels.items())]


def value_or_0(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def done_rows() -> dict[str, int]:
    """Deliveries done, by lane, as the database has them."""
    d = m.deliveries
    q = select(d.c.lane, func.count()).where(d.c.status == DeliveryStatus.DONE).group_by(d.c.lane)
    engine = create_engine(load_settings().database_url)
    try:
        async with begin(engine, read_only=True) as conn:
            return {str(lane): int(n) for lane, n in await conn.execute(q)}
    finally:
        await engine.dispose()


async def test_a_message_through_shows_in_the_metrics(sandbox: Sandbox, settings_env: None) -> None:
    alice = sandbox.discord.user(ALICE)
    async with running() as bot:
        before = await scrape(bot)
        assert value(before, "threadline_database_up") == 1
        assert value(before, "threadline_queue_depth", **AGENTS) == 0
        assert value(before, "threadline_queue_depth", **CUSTOMER) == 0
        assert value(before, "threadline_tickets", status="new") == 0
        assert value(before, "threadline_up", part="slack") == 1
        assert value(before, "threadline_up", part="discord") == 1
        assert value(before, "threadline_caught_up_total", platform="discord", way="history") == 0
        for lane in (AGENTS, CUSTOMER):
            assert value(before, "threadline_delivery_latency_seconds_count", **lane) == 0

        # The card's first post and the customer's "ticket opened" each meet one 429.
        sandbox.slack.faults.fail_next(1, method="chat.postMessage", status=429)
        sandbox.discord.faults.rate_limit_next(1, route=SEND, retry_after=0.01)
        await alice.send_dm("My order never came")
        root = await card(sandbox)
        await thread_says(sandbox, root, "My order never came")
        await dm_says(sandbox, "#1")

        async def settled() -> Samples | None:
            now = await scrape(bot)
            depths = [v for (name, _), v in now.items() if name == "threadline_queue_depth"]
            told = value_or_0(now, "threadline_deliveries_total", outcome="done", **CUSTOMER)
            return now if told and not any(depths) else None

        after = await eventually(settled, what="the queue to be empty in /metrics")
        rows = await done_rows()

    assert value(after, "threadline_tickets", status="new") == 1
    assert value(after, "threadline_queue_oldest_age_seconds", **AGENTS) == 0
    # One "ticket opened" to the customer: one observation of its latency, one done.
    assert rows["customer"] == 1
    assert value(after, "threadline_delivery_latency_seconds_count", **CUSTOMER) == 1
    assert value(after, "threadline_deliveries_total", outcome="done", **CUSTOMER) == 1
    # The agents' side: as many observations as the database has deliveries done.
    assert rows["agents"] >= 2  # the card and the customer's message
    assert value(after, "threadline_delivery_latency_seconds_count", **AGENTS) == rows["agents"]
    assert value(after, "threadline_deliveries_total", outcome="done", **AGENTS) == rows["agents"]
    assert value(after, "threadline_delivery_latency_seconds_sum", **AGENTS) > 0
    # Each platform's one 429, and the retry its client made after it.
    for platform in ("slack", "discord"):
        assert value(after, "threadline_platform_rate_limited_total", platform=platform) == 1
        assert value(after, "threadline_platform_retries_total", platform=platform) == 1


async def test_what_the_catch_up_found_is_counted(sandbox: Sandbox, settings_env: None) -> None:
    alice = sandbox.discord.user(ALICE)
    async with running():
        await alice.send_dm("first")
        await thread_says(sandbox, await card(sandbox), "first")
    await alice.send_dm("while away")  # a clean stop ended the session: history is read
    async with running() as bot:
        await thread_says(sandbox, await card(sandbox), "while away")

        async def counted() -> float | None:
            found = await scrape(bot)
            return value(found, "threadline_caught_up_total", platform="discord", way="history")

        assert await eventually(counted, what="the catch-up to be counted") == 1
        found = await scrape(bot)
        assert value(found, "threadline_caught_up_total", platform="discord", way="resume") == 0
        assert value(found, "threadline_caught_up_total", platform="slack", way="stored") == 0
