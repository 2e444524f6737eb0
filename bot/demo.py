"""`threadline demo`: the real bot, unchanged, on SQLite, against the in-process Slack and Discord
emulators, with a clock the playground can move.

Only the bot's clock moves: what the bot decides by time (SLA reminders and breaches, surveys,
auto-close, the digest) follows it, while the emulators keep the wall clock as real platforms
would. After each move every scheduled job runs once, so what fell due shows at once instead of
at the scheduler's next tick.

`workspaces` says where the agents work: "slack" (the default, today's demo), "discord" (the
Discord emulator has the staff world, and the bot the DISCORD_STAFF_* settings, no SLACK_* at
all) or both (mixed: a card and a thread in each, mirrored).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import integrations.sandbox
from bot.app import Bot
from bot.config import Settings, load_settings
from bot.core.ai_policy import AutoAnswerMode
from bot.core.errors import ConfigError
from integrations.playground import describe_move
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.launch import Sandbox, sandbox

log = logging.getLogger(__name__)

DATABASE = "threadline.db"
POLICY = "threadline.toml"
LOG = "threadline.log"
CLOCK = "clock-moved-seconds"
WORKSPACES = ("slack", "discord")  # where agents can work, in the order they are named
DEFAULT_WORKSPACES = frozenset({"slack"})

# The demo's policy, written beside its database the first time (edit it there with --data).
# Round-the-clock SLAs, so that "next SLA event" is hours away on any day of the week; no pacing
# of Slack posts, since the emulator has no limits to respect.
DEMO_POLICY = """\
# The policy of `threadline demo` (the same file format as a real threadline.toml).
[sla.normal]
first_response = "1h"
next_response = "4h"
resolution = "1d"
calendar = "24x7"

[sla.high]
first_response = "30m"
next_response = "1h"
resolution = "8h"
calendar = "24x7"

[reminders]
before_breach = "15m"

[escalation]
after_breach = "1h"

[csat]
delay = "1h"

[slack]
posts_per_second = 0

[discord]
support_categories = ["Orders", "Billing", "Account", "Something else"]

# The AI features, answered by the sandbox's model server (deterministic, no account): triage on
# the card, drafts from the demo's help articles, translation, summaries. The automated answer
# is off here; the playground switches it on and off.
[ai]
knowledge = "{knowledge}"
"""
KNOWLEDGE = Path(integrations.sandbox.__file__).resolve().parent / "knowledge"


class DemoClock:
    """The system's time, moved forward by however much the playground asked.

    With a `kept` file the move is remembered across runs (`--data`): the database holds times
    from the moved clock, and a clock that went back would have the bot see its own history in
    the future."""

    def __init__(self, kept: Path | None = None) -> None:
        self._kept = kept
        self._moved = timedelta(0)
        if kept is not None and kept.exists():
            try:
                self._moved = timedelta(seconds=max(0.0, float(kept.read_text().strip())))
            except ValueError:
                log.warning("Ignoring %s: not a number of seconds", kept)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._moved

    def moved(self) -> timedelta:
        return self._moved

    def move(self, by: timedelta) -> None:
        if by < timedelta(0):
            raise ValueError("the demo's clock only moves forward")
        self._moved += by
        if self._kept is not None:
            self._kept.write_text(f"{self._moved.total_seconds()}\n", encoding="utf-8")


@dataclass(frozen=True)
class Demo:
    """The running demo: the emulators, the bot and its clock. It is what the playground moves
    the clock through (`integrations.playground.BotClock`)."""

    sandbox: Sandbox
    bot: Bot
    clock: DemoClock
    data: Path
    workspaces: frozenset[str] = field(default=DEFAULT_WORKSPACES)

    def now(self) -> datetime:
        return self.clock.now()

    def moved(self) -> timedelta:
        return self.clock.moved()

    async def next_due(self) -> datetime | None:
        assert self.bot.service is not None
        return await self.bot.service.next_sla_event()

    async def advance(self, by: timedelta | None) -> str:
        """Move the bot's clock by `by` (None: just past the next SLA event), run every job once,
        and say what happened in one line."""
        if by is None:
            due = await self.next_due()
            if due is None:
                return "Nothing is due: no SLA clock is running."
            # A second past it: the sweep takes what is due at or before now.
            by = max(due - self.clock.now(), timedelta(0)) + timedelta(seconds=1)
        self.clock.move(by)
        done = await self.bot.run_jobs_once()
        return f"Clock moved {describe_move(by)}, to {shown(self.clock.now())}. {jobs_line(done)}"

    def auto_answer(self) -> bool | None:
        """Whether the automated answer is on; None when the bot has no AI features."""
        service = self.bot.service
        if service is None or service.ai is None:
            return None
        return service.ai.auto_answer is not AutoAnswerMode.OFF

    def set_auto_answer(self, on: bool) -> str:
        """Switch the automated answer on (for every new customer message) or off. The demo's
        own switch: a deployment sets it in `[ai] auto_answer`."""
        service = self.bot.service
        if service is None or service.ai is None:
            raise ValueError("the AI features are off in this demo")
        mode = AutoAnswerMode.ALWAYS if on else AutoAnswerMode.OFF
        service.ai = service.ai.model_copy(update={"auto_answer": mode})
        if on:
            return "Automated answers on: a customer's next question is answered from the articles."
        return "Automated answers off."


def shown(at: datetime) -> str:
    """An instant as the playground shows it: "Mon 7 Dec 10:00 UTC"."""
    return f"{at:%a} {at.day} {at:%b %H:%M} UTC"


def jobs_line(done: dict[str, int]) -> str:
    """What the jobs did, in words; a failed job (counted -1) says so."""
    names = {
        "sla": "SLA notices",
        "csat": "surveys",
        "autoclose": "tickets moved on",
        "digest": "digests",
    }
    parts = [
        f"{label} failed (see {LOG})" if done.get(key, 0) < 0 else f"{label} {done.get(key, 0)}"
        for key, label in names.items()
    ]
    return "Jobs: " + ", ".join(parts) + "."


def parse_workspaces(raw: str) -> frozenset[str]:
    """`--workspaces`: "slack", "discord" or "slack,discord" (any order, spaces allowed)."""
    named = {part.strip().lower() for part in raw.split(",")} - {""}
    unknown = sorted(named - set(WORKSPACES))
    if unknown or not named:
        raise ConfigError(
            f"--workspaces takes slack, discord or slack,discord (got {raw!r}): "
            "where the agents work"
        )
    return frozenset(named)


def describe_workspaces(workspaces: Collection[str]) -> str:
    """Where the agents work, in words: "Slack", "Discord" or "Slack and Discord"."""
    return " and ".join(w.capitalize() for w in WORKSPACES if w in workspaces)


def demo_settings(
    box: Sandbox, data: Path, workspaces: Collection[str] = DEFAULT_WORKSPACES
) -> Settings:
    """The bot's settings for the sandbox: its database and policy in `data`. Given explicitly,
    so a `.env` or environment meant for a real deployment cannot point the demo elsewhere.
    Without "slack" in `workspaces` there is no SLACK_* setting at all, as in a Discord-only
    deployment; with "discord" the sandbox has the staff world and gives DISCORD_STAFF_*."""
    found = box.settings()
    if "slack" not in workspaces:
        found = {k: v for k, v in found.items() if not k.startswith("SLACK_")}
    values: dict[str, object] = {name.lower(): value for name, value in found.items()}
    values.update(
        database_url=f"sqlite+aiosqlite:///{data / DATABASE}",
        threadline_config=data / POLICY,
        discord_support_channel=str(DISCORD.support_channel_id),
        http_host="127.0.0.1",
        http_port=0,  # health only; any free port, so a running Threadline is no obstacle
    )
    return load_settings(**values)


def prepare(data: Path) -> None:
    """Create the data directory and the demo's policy file in it (kept if already there)."""
    data.mkdir(parents=True, exist_ok=True)
    policy = data / POLICY
    if not policy.exists():
        text = DEMO_POLICY.replace("{knowledge}", KNOWLEDGE.as_posix())
        policy.write_text(text, encoding="utf-8")


@asynccontextmanager
async def running(
    data: Path | None = None, workspaces: Collection[str] = DEFAULT_WORKSPACES
) -> AsyncIterator[Demo]:
    """The emulators and the bot, started; `data` keeps the database (a temporary directory,
    removed after, when None); `workspaces`: where the agents work (see the module's doc)."""
    chosen = frozenset(workspaces)
    with tempfile.TemporaryDirectory(prefix="threadline-demo-") as scratch:
        where = data if data is not None else Path(scratch)
        prepare(where)
        async with sandbox(staff="discord" in chosen) as box:
            clock = DemoClock(where / CLOCK)
            bot = Bot(demo_settings(box, where, chosen), clock=clock)
            await bot.start()
            try:
                yield Demo(box, bot, clock, where, chosen)
            finally:
                await bot.stop()
