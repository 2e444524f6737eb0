"""Nothing lost across kill -9: the real `threadline run`, killed and restarted while customers
new and known write, and while it is down.

The bot runs in a child process against both emulators in this one. Discord keeps the killed
process's gateway session; the next process resumes it and Discord replays what was sent while
the bot was away, first messages from new customers included (history could not find those: a
bot cannot list its DMs). At the end every message is in its customer's Slack thread once, in
the order it was sent.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from integrations.sandbox.discord import DiscordEmulator, demo_world
from integrations.sandbox.discord.seed import SeedGuild, SeedUser
from integrations.sandbox.launch import HOST, Sandbox
from integrations.sandbox.openai import OpenAIEmulator
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import SlackEmulator, Timing, demo_workspace
from tests.loop.bot_process import BotProcess, bot_env
from tests.support import eventually

pytestmark = pytest.mark.e2e

CUSTOMERS = 16
KNOWN = 8  # write before the first kill; the others write first while the bot is down
ROUNDS = 3
RATE = 10.0  # messages a second
TOKEN = re.compile(r"\bc(\d+)-m(\d+)\b")
FIRST_ID = 1100000000000000000


def _world_with(customers: int) -> tuple[DiscordEmulator, list[int]]:
    seed = demo_world()
    extra = [SeedUser(FIRST_ID + i, f"customer{i}", f"Customer {i}") for i in range(customers)]
    guild: SeedGuild = seed.guilds[0]
    guild = replace(guild, member_ids=(*guild.member_ids, *(u.id for u in extra)))
    seed = replace(seed, guilds=(guild,), users=(*seed.users, *extra))
    return DiscordEmulator(seed, host=HOST), [u.id for u in extra]


@asynccontextmanager
async def _sandbox(customers: int) -> AsyncIterator[tuple[Sandbox, list[int]]]:
    slack = SlackEmulator(demo_workspace(), host=HOST, timing=Timing.fast())
    discord, ids = _world_with(customers)
    async with slack, discord:
        yield Sandbox(slack, discord), ids


def _seen_in_slack(sandbox: Sandbox) -> dict[int, list[tuple[str, int]]]:
    """Each customer's message numbers as they appear in Slack, with the thread they are in."""
    seen: dict[int, list[tuple[str, int]]] = {}
    for root in sandbox.slack.messages(SLACK.support):
        for post in sandbox.slack.thread(SLACK.support, root.ts):
            for customer, number in TOKEN.findall(post.text):
                seen.setdefault(int(customer), []).append((root.ts, int(number)))
    return seen


async def test_kill_nine_loses_nothing_and_keeps_each_tickets_order(tmp_path: Path) -> None:
    rng = random.Random(1009)
    async with _sandbox(CUSTOMERS) as (sandbox, ids):
        bot = BotProcess(bot_env(sandbox, tmp_path), tmp_path)
        sent: dict[int, list[int]] = {i: [] for i in range(CUSTOMERS)}
        gateway = sandbox.discord.gateway

        async def connected(identifies: int) -> None:
            async def there() -> bool:
                return gateway.count("identify") >= identifies

            await eventually(there, what="the bot on Discord's gateway", within=60)

        async def write(customer: int) -> None:
            number = len(sent[customer]) + 1
            sent[customer].append(number)
            await sandbox.discord.user(ids[customer]).send_dm(f"hello c{customer}-m{number}")

        async def burst(seconds: float, customers: list[int]) -> None:
            for _ in range(int(seconds * RATE)):
                await write(rng.choice(customers))
                await asyncio.sleep(1 / RATE)

        try:
            bot.start()
            await connected(1)
            for customer in range(KNOWN):
                await write(customer)
            known = list(range(KNOWN))
            newcomers = list(range(KNOWN, CUSTOMERS))
            per_round = len(newcomers) // ROUNDS + 1
            for round_ in range(ROUNDS):
                await burst(rng.uniform(0.5, 2.0), known)
                bot.kill()
                # While it is down: known customers go on, and some write for the first time.
                arriving, newcomers = newcomers[:per_round], newcomers[per_round:]
                for customer in arriving:
                    await write(customer)
                await burst(rng.uniform(0.5, 1.5), known + arriving)
                known += arriving
                bot.start()
                await connected(round_ + 2)
                await burst(rng.uniform(0.3, 1.0), known)

            async def all_there() -> bool:
                seen = _seen_in_slack(sandbox)
                return all(
                    len({n for _, n in seen.get(c, [])}) == len(sent[c]) for c in range(CUSTOMERS)
                )

            try:
                await eventually(all_there, what="every message in Slack", within=90)
            except AssertionError:
                seen = _seen_in_slack(sandbox)
                missing = {
                    c: sorted(set(sent[c]) - {n for _, n in seen.get(c, [])})
                    for c in range(CUSTOMERS)
                }
                lost = {c: m for c, m in missing.items() if m}
                raise AssertionError(f"not in Slack: {lost}") from None
            finally:
                bot.stop()
        except BaseException:
            bot.stop()
            print(bot.logs()[-20000:])
            raise

        seen = _seen_in_slack(sandbox)
        for customer in range(CUSTOMERS):
            numbers = [n for _, n in seen.get(customer, [])]
            assert numbers == sent[customer], f"customer {customer}: {numbers} != {sent[customer]}"
            threads = {ts for ts, _ in seen[customer]}
            assert len(threads) == 1, f"customer {customer} is in {len(threads)} threads"
        assert len(sandbox.slack.messages(SLACK.support)) == CUSTOMERS  # one ticket each
        assert "Traceback" not in bot.logs()


# --- with the AI features on ------------------------------------------------------------------

AI_CUSTOMERS = 6
KNOWLEDGE = Path(__file__).resolve().parents[2] / "integrations" / "sandbox" / "knowledge"


def _drafts(sandbox: Sandbox, root_ts: str) -> int:
    """The assistant's draft posts in a ticket's thread: a draft, or "no article matches"."""
    posts = sandbox.slack.thread(SLACK.support, root_ts)
    return sum(
        "Drafted reply" in str(post.blocks) or "No article matches" in post.text for post in posts
    )


async def test_kill_nine_with_the_assistant_at_work_answers_each_ticket_once(
    tmp_path: Path,
) -> None:
    """Killed while the model is thinking about several tickets: after the restart each ticket
    is triaged and gets its one draft, none twice, and every customer message is there once."""
    rng = random.Random(2718)
    async with _sandbox(AI_CUSTOMERS) as (plain, ids), OpenAIEmulator(host=HOST) as model:
        sandbox = replace(plain, openai=model)
        model.faults.delay_next(10_000, seconds=0.4)  # every call slow: kills land mid-thought
        env = bot_env(sandbox, tmp_path)
        policy = tmp_path / "threadline.toml"
        policy.write_text(f'[slack]\nposts_per_second = 0\n[ai]\nknowledge = "{KNOWLEDGE}"\n')
        bot = BotProcess(env, tmp_path)
        sent: dict[int, list[int]] = {i: [] for i in range(AI_CUSTOMERS)}

        async def write(customer: int) -> None:
            number = len(sent[customer]) + 1
            sent[customer].append(number)
            text = f"How long does a refund take? c{customer}-m{number}"
            await sandbox.discord.user(ids[customer]).send_dm(text)

        async def connected(identifies: int) -> None:
            async def there() -> bool:
                return sandbox.discord.gateway.count("identify") >= identifies

            await eventually(there, what="the bot on Discord's gateway", within=60)

        try:
            bot.start()
            await connected(1)
            for round_ in range(2):
                for customer in rng.sample(range(AI_CUSTOMERS), AI_CUSTOMERS):
                    await write(customer)
                    await asyncio.sleep(0.05)
                await asyncio.sleep(rng.uniform(0.3, 0.8))  # the model is at work now
                bot.kill()
                bot.start()
                await connected(round_ + 2)

            async def settled() -> bool:
                roots = sandbox.slack.messages(SLACK.support)
                seen = _seen_in_slack(sandbox)
                return (
                    len(roots) == AI_CUSTOMERS
                    and all(_drafts(sandbox, root.ts) >= 1 for root in roots)
                    and all("ticket_triage" in str(root.blocks) for root in roots)
                    and all(len(seen.get(c, [])) == len(sent[c]) for c in range(AI_CUSTOMERS))
                )

            # An assistant job in flight at the kill is taken again when its lease (20 s) ends.
            try:
                await eventually(settled, what="every ticket triaged with its draft", within=120)
            except AssertionError:
                roots = sandbox.slack.messages(SLACK.support)
                shown = [
                    (
                        "ticket_triage" in str(root.blocks),
                        [post.text[:60] for post in sandbox.slack.thread(SLACK.support, root.ts)],
                    )
                    for root in roots
                ]
                raise AssertionError(f"{len(roots)} cards: {shown}") from None
            await asyncio.sleep(1.0)  # a duplicate would have had time to show
        finally:
            bot.stop()
        logs = bot.logs()
        for root in sandbox.slack.messages(SLACK.support):
            assert _drafts(sandbox, root.ts) == 1, logs[-5000:]
        seen = _seen_in_slack(sandbox)
        for customer in range(AI_CUSTOMERS):
            assert [n for _, n in seen[customer]] == sent[customer]
        assert "Traceback" not in logs
