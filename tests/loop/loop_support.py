"""What the whole-loop tests share: pointing the bot at the sandbox, starting it, and reading
what each side sees."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.app import Bot
from bot.config import load_settings
from bot.core.domain import Status, TicketNumber
from bot.core.ports import Clock
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.discord import Interaction
from integrations.sandbox.discord import Message as DiscordMessage
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import Message as SlackMessage
from tests.support import eventually

ALICE = DISCORD.customer_id
BOB = DISCORD.second_customer_id


def point_at_sandbox(
    sandbox: Sandbox,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    policy: str | None = None,
    ai: bool = False,
    **extra: str,
) -> None:
    """The bot's settings for the sandbox, a fresh database, and `policy` as threadline.toml.
    The sandbox's model server is left out unless `ai`: without it (and no `[ai]` table) the
    bot has no AI features, as a deployment without a model."""
    for name, value in sandbox.settings().items():
        if name.startswith("OPENAI_") and not ai:
            monkeypatch.delenv(name, raising=False)
            continue
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{workdir}/loop.db")
    monkeypatch.setenv("HTTP_PORT", "0")
    monkeypatch.setenv("SLACK_AGENTS", SLACK.agent1)
    if policy is not None:
        path = workdir / "threadline.toml"
        path.write_text(policy)
        monkeypatch.setenv("THREADLINE_CONFIG", str(path))
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


@asynccontextmanager
async def running(clock: Clock | None = None) -> AsyncIterator[Bot]:
    """The real bot, started on the settings in the environment and stopped after."""
    bot = Bot(load_settings(), clock=clock)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


async def cards(sandbox: Sandbox, count: int = 1) -> list[SlackMessage]:
    """The ticket cards in the support channel, once there are `count` of them."""

    async def posted() -> list[SlackMessage] | None:
        found = sandbox.slack.messages(SLACK.support)
        return found if len(found) >= count else None

    return await eventually(posted, what=f"{count} ticket card(s) in Slack")


async def card(sandbox: Sandbox) -> SlackMessage:
    return (await cards(sandbox))[0]


def thread_texts(sandbox: Sandbox, root: SlackMessage) -> list[str]:
    return [m.text for m in sandbox.slack.thread(SLACK.support, root.ts)]


async def thread_says(sandbox: Sandbox, root: SlackMessage, text: str) -> str:
    """Wait for a line of the ticket's Slack thread containing `text`."""

    async def seen() -> str | None:
        return next((t for t in thread_texts(sandbox, root) if text in t), None)

    return await eventually(seen, what=f"the Slack thread to show {text!r}")


def bot_dms(sandbox: Sandbox, user_id: int = ALICE) -> list[DiscordMessage]:
    """What the bot wrote to this customer in DMs, oldest first."""
    bot_id = sandbox.discord.bot_id
    return [m for m in sandbox.discord.user(user_id).dm_messages() if m.author_id == bot_id]


async def dm_says(sandbox: Sandbox, text: str, user_id: int = ALICE) -> DiscordMessage:
    """Wait for a DM to this customer containing `text`."""

    async def seen() -> DiscordMessage | None:
        return next((m for m in bot_dms(sandbox, user_id) if text in m.content), None)

    return await eventually(seen, what=f"the customer to read {text!r}")


async def ask_for_support(
    sandbox: Sandbox, fields: dict[str, str], user_id: int = ALICE
) -> Interaction:
    """The customer runs `/support` in the support channel and submits its form."""
    customer = sandbox.discord.user(user_id)
    await customer.slash("support", channel_id=DISCORD.support_channel_id)
    await sandbox.discord.wait_for(customer.open_modal, timeout=5)
    return await customer.submit_modal(fields)


async def ticket_is(bot: Bot, number: int, status: Status) -> None:
    service = bot.service
    assert service is not None

    async def there() -> bool:
        return (await service.get_ticket(TicketNumber(number))).status is status

    await eventually(there, what=f"ticket #{number} to be {status}")
