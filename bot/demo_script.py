"""`threadline demo --script`: one ticket's whole life, played headless as people would play it,
with a transcript of what each side saw.

Everything is done through the emulators' people (a customer in Discord, an agent in Slack) and
the demo's clock, never by calling the bot: what is checked is what the platforms show. The
bot's service is only read, where the point is that something did not reach a platform (a note).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import click

from bot import demo
from bot.core.domain import Direction, TicketNumber
from bot.core.errors import ConfigError
from integrations.sandbox import render
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.discord import Message as DiscordMessage
from integrations.sandbox.discord.constants import THREAD_TYPES
from integrations.sandbox.discord.payloads import message_json
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import Message as SlackMessage
from integrations.sandbox.slack import View

log = logging.getLogger(__name__)
T = TypeVar("T")

STEP_WAIT = 8.0  # seconds a step's effect may take to show
QUIET = 0.45  # seconds without change after which a step's effects are taken as all shown
SETTLE_AT_MOST = 3.0
INDENT = " " * 12

AGENT = "Alice Agent (Slack)"
CUSTOMER = "Alice (customer, Discord DM)"
REPLY = "Sorry about that! I've asked the courier to trace it."
NOTE = "note: the courier says their van broke down"
NOTE_WORDS = "van broke down"
ANSWER = "Thanks, I'll wait for news."
REASON = "The courier lost the parcel; billing should refund it."
RESOLUTION = "We've refunded you; it shows on your card in 3-5 days."
FOLLOW_UP = "It arrived after all, but the box is crushed."


@dataclass(frozen=True)
class Shown:
    """A message as a person sees it on one side, and who wrote it (an id)."""

    key: tuple[str, ...]
    author_id: str
    side: str
    where: str
    author: str
    body: str

    def line(self, before: str | None) -> str:
        """Its transcript line: whole when new, by its new lines when changed."""
        body, author = self.body, self.author
        if before is not None:
            old = set(before.splitlines())
            body = "\n".join(line for line in body.splitlines() if line not in old) or body
            author += " (updated)"
        return f"   {self.side:<8} {self.where}  {author}: " + body.replace("\n", "\n" + INDENT)


class Watch:
    """What each side has shown so far, so that each step prints only what is new or changed."""

    def __init__(self, running: demo.Demo) -> None:
        self._box = running.sandbox
        self._seen: dict[tuple[str, ...], str] = {}

    def snapshot(self) -> list[tuple[tuple[str, ...], str]]:
        """What both sides show now, to tell when it stops changing."""
        return [(shown.key, shown.body) for shown in self._shown()]

    def news(self, first: str, skip_author: str) -> list[str]:
        """Lines for what appeared or changed since the last call, `first` side first; new
        messages of `skip_author` (the step's actor, whose words the headline quotes) left out."""
        lines: dict[str, list[str]] = {"Slack": [], "Discord": []}
        for shown in self._shown():
            before = self._seen.get(shown.key)
            self._seen[shown.key] = shown.body
            if before != shown.body and (before is not None or shown.author_id != skip_author):
                lines[shown.side].append(shown.line(before))
        order = ["Discord", "Slack"] if first == "Discord" else ["Slack", "Discord"]
        return [line for side in order for line in lines[side]]

    def _shown(self) -> Iterator[Shown]:
        yield from self._slack()
        yield from self._discord()

    def _slack(self) -> Iterator[Shown]:
        ws = self._box.slack.workspace
        names = render.slack_names(ws)
        for channel in list(ws.channels.values()):
            place = f"DM {names.get(channel.im_user or '', '?')}" if channel.is_im else None
            for m in list(channel.messages.values()):
                where = place or f"#{channel.name}" + (" thread" if m.is_reply else "")
                data = m.to_api()
                author, body = render.slack_author(data, names), render.slack_message(data, names)
                yield Shown(("slack", channel.id, m.ts), m.user, "Slack", where, author, body)
        for e in list(ws.ephemerals):
            where = f"#{names.get(e.channel, e.channel)}, only {names.get(e.user, e.user)} sees"
            body = render.slack_message({"text": e.text, "blocks": e.blocks}, names)
            key = ("ephemeral", e.channel, e.user, e.ts)
            yield Shown(key, ws.bot.user_id, "Slack", where, ws.bot.name, body)

    def _discord(self) -> Iterator[Shown]:
        discord = self._box.discord
        world = discord.world
        names = render.discord_names(world)
        dm_of = {channel: user for user, channel in world.dm_by_user.items()}
        for channel_id, history in list(world.history.items()):
            name = names.get(str(dm_of.get(channel_id, channel_id)), "?")
            where = f"DM {name}" if channel_id in dm_of else f"#{name}"
            if world.channels[channel_id].type in THREAD_TYPES:
                where = f'thread "{name}"'
            for m in list(history.values()):
                yield self._discord_shown(m, where, names)
        for user_id in list(world.ephemeral):
            for m in discord.user(user_id).ephemeral_messages():
                yield self._discord_shown(m, f"only {names.get(str(user_id))} sees", names)

    def _discord_shown(self, message: DiscordMessage, where: str, names: dict[str, str]) -> Shown:
        data = message_json(message, self._box.discord.world)
        body = "(deleted)" if message.deleted else render.discord_message(data, names)
        author = render.discord_author(data)
        return Shown(("discord", data["id"]), data["author"]["id"], "Discord", where, author, body)


class Step:
    """One step of the tour: its headline, what it waits for, what it printed, and a miss."""

    def __init__(self, tour: Tour, headline: str, side: str, actor: str) -> None:
        self._tour = tour
        tour.played += 1
        self.number = tour.played
        self._side = side
        self._actor = actor
        self.missed: str | None = None
        click.echo(f"== {self.number}. {headline}")

    async def __aenter__(self) -> Step:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        _trace: TracebackType | None,
    ) -> bool:
        if error is not None and not isinstance(error, Exception):
            return False  # a cancellation or an interrupt goes on up
        if error is not None and self.missed is None:
            self.missed = f"{error}"
        await self._tour.settle()
        for line in self._tour.watch.news(self._side, self._actor):
            click.echo(line)
        if self.missed is not None:
            click.echo(f"!! step {self.number} did not happen: {self.missed}")
            self._tour.misses += 1
        return True

    def say(self, side: str, text: str) -> None:
        """A line of the transcript that no message carries (a dialog, the clock)."""
        click.echo(f"   {side:<8} " + text.replace("\n", "\n" + INDENT))

    async def expect(self, what: str, check: Callable[[], T]) -> T | None:
        """Wait (bounded) until `check()` gives something truthy (awaited, when it is a
        coroutine) and return it; a miss names `what`. After a miss, expect nothing more."""
        deadline = time.monotonic() + STEP_WAIT
        while self.missed is None and time.monotonic() < deadline:
            found = check()
            if isinstance(found, Awaitable):
                found = await found
            if found:
                return found
            await asyncio.sleep(0.05)
        self.missed = self.missed or what
        return None


class Tour:
    """The steps, played in order on a running demo."""

    def __init__(self, running: demo.Demo) -> None:
        self.running = running
        self.slack = running.sandbox.slack
        self.discord = running.sandbox.discord
        self.agent = self.slack.user(SLACK.agent1)
        self.alice = self.discord.user(DISCORD.customer_id)
        self.bob = self.discord.user(DISCORD.second_customer_id)
        self.watch = Watch(running)
        self.played = 0
        self.misses = 0
        self.number = 0  # the ticket the tour follows, once it has one
        self.card_ts = ""

    async def settle(self) -> None:
        """Wait until nothing has changed for a moment: the step's last effects shown."""
        last, quiet_since, start = self.watch.snapshot(), time.monotonic(), time.monotonic()
        while time.monotonic() - quiet_since < QUIET and time.monotonic() - start < SETTLE_AT_MOST:
            await asyncio.sleep(0.1)
            now = self.watch.snapshot()
            if now != last:
                last, quiet_since = now, time.monotonic()

    def step(self, headline: str, side: str = "Slack", actor: str = SLACK.agent1) -> Step:
        return Step(self, headline, side, actor)

    # --- what the tour looks at ---------------------------------------------------------

    def card(self) -> SlackMessage:
        return self.slack.message(SLACK.support, self.card_ts)

    def card_says(self, text: str) -> bool:
        names = render.slack_names(self.slack.workspace)
        return text in render.slack_message(self.card().to_api(), names)

    def thread_says(self, text: str) -> bool:
        return any(text in m.text for m in self.slack.thread(SLACK.support, self.card_ts))

    def dm_says(self, text: str, customer_id: int = DISCORD.customer_id) -> bool:
        bot = self.discord.bot_id
        messages = self.discord.user(customer_id).dm_messages()
        return any(text in m.content for m in messages if m.author_id == bot)

    def slack_says(self, text: str) -> int:
        """How many Slack messages anywhere hold `text`."""
        channels = list(self.slack.workspace.channels.values())
        return sum(text in m.text for c in channels for m in list(c.messages.values()))

    def new_card(self, known: set[str]) -> SlackMessage | None:
        cards = [m for m in self.slack.messages(SLACK.support) if not m.is_reply]
        return next((m for m in cards if m.ts not in known), None)

    def modal_opened(self, title: str) -> View | None:
        view = self.agent.modal
        return view if view is not None and view.title.startswith(title) else None

    async def is_note(self, words: str) -> bool:
        service = self.running.bot.service
        assert service is not None
        detail = await service.ticket_detail(TicketNumber(self.number))
        return any(m.direction is Direction.NOTE and words in m.body for m in detail.messages)

    # --- the steps -------------------------------------------------------------------------

    def steps(self) -> list[Callable[[], Awaitable[None]]]:
        return [
            self.customer_writes,
            self.agent_claims,
            self.agent_replies,
            self.agent_notes,
            self.customer_answers,
            self.agent_opens_escalate,
            self.agent_escalates,
            self.agent_opens_resolve,
            self.agent_resolves,
            self.clock_passes_survey_delay,
            self.customer_rates,
            self.customer_writes_again,
            self.bob_writes,
            self.clock_reaches_sla_event,
        ]

    async def customer_writes(self) -> None:
        text = "My order #A-1 never arrived, can you help?"
        async with self.step(f'{CUSTOMER} writes: "{text}"', "Discord", str(self.alice.id)) as s:
            await self.alice.send_dm(text)
            card = await s.expect("a ticket card in #support", lambda: self.new_card(set()))
            if card is not None:
                self.card_ts = card.ts
                self.number = int(re.findall(r"#(\d+)", card.text)[0])
                await s.expect("a confirmation in Alice's DMs", lambda: self.dm_says("ticket is"))

    async def agent_claims(self) -> None:
        async with self.step(f"{AGENT} clicks Claim on the card") as s:
            await self.agent.click(SLACK.support, self.card_ts, "Claim")
            await s.expect("the card to show the claim", lambda: self.card_says("Claimed"))
            await s.expect("Alice to be told", lambda: self.dm_says("is looking into your ticket"))

    async def agent_replies(self) -> None:
        async with self.step(f'{AGENT} replies in the ticket\'s thread: "{REPLY}"') as s:
            await self.agent.post(SLACK.support, REPLY, thread_ts=self.card_ts)
            await s.expect("Alice to receive the reply", lambda: self.dm_says(REPLY))

    async def agent_notes(self) -> None:
        async with self.step(f'{AGENT} writes an internal note in the thread: "{NOTE}"') as s:
            await self.agent.post(SLACK.support, NOTE, thread_ts=self.card_ts)
            await s.expect("the bot to keep it as a note", lambda: self.is_note(NOTE_WORDS))
            await self.settle()  # anything on its way to Discord has arrived by now
            if self.dm_says(NOTE_WORDS):
                s.missed = "the note to stay in Slack (Alice received it)"
            else:
                s.say("Discord", "(nothing new for Alice: the note stays with the team)")

    async def customer_answers(self) -> None:
        async with self.step(
            f'Alice answers in her DMs: "{ANSWER}"', "Discord", str(self.alice.id)
        ) as s:
            await self.alice.send_dm(ANSWER)
            await s.expect("her answer in the Slack thread", lambda: self.thread_says(ANSWER))

    async def agent_opens_escalate(self) -> None:
        async with self.step(f"{AGENT} clicks Escalate on the card") as s:
            await self.agent.click(SLACK.support, self.card_ts, "Escalate")
            view = await s.expect("the escalate dialog", lambda: self.modal_opened("Escalate"))
            if view is not None:
                s.say("Slack", render.slack_view(view.to_api()))

    async def agent_escalates(self) -> None:
        async with self.step(f'{AGENT} picks the tier, writes why ("{REASON}") and submits') as s:
            await self.agent.submit({**chosen(self.agent.modal), "reason": REASON})
            await s.expect("the escalation in the thread", lambda: self.thread_says("Escalated"))
            await s.expect("the card to show it", lambda: self.card_says("Escalated"))
            await s.expect("a post in #escalations", lambda: self.slack.messages(SLACK.escalations))

    async def agent_opens_resolve(self) -> None:
        async with self.step(f"{AGENT} clicks Resolve on the card") as s:
            await self.agent.click(SLACK.support, self.card_ts, "Resolve")
            view = await s.expect("the resolve dialog", lambda: self.modal_opened("Resolve"))
            if view is not None:
                s.say("Slack", render.slack_view(view.to_api()))

    async def agent_resolves(self) -> None:
        async with self.step(f'{AGENT} writes a note for Alice ("{RESOLUTION}") and submits') as s:
            await self.agent.submit({"note": RESOLUTION})
            await s.expect("Alice to be told it is resolved", lambda: self.dm_says("is resolved"))
            await s.expect("Alice to read the note", lambda: self.dm_says(RESOLUTION))

    async def clock_passes_survey_delay(self) -> None:
        async with self.step("The clock moves past the survey delay (1 h 1 min)", "Discord") as s:
            s.say("Clock", await self.running.advance(timedelta(hours=1, minutes=1)))
            await s.expect("the survey in Alice's DMs", lambda: self.survey() is not None)

    async def customer_rates(self) -> None:
        async with self.step("Alice clicks 5 on the survey", "Discord", str(self.alice.id)) as s:
            survey = self.survey()
            if survey is None:
                raise LookupError("there is no survey to rate")
            label = next(b for b in survey.button_labels() if b.startswith("5"))
            await self.alice.click(survey, label=label)
            await s.expect("Slack to show the rating", lambda: self.slack_says("5/5"))
            form = self.alice.open_modal()
            if form is not None:
                s.say("Discord", f'a form opens for Alice: "{form.title}" (left unanswered)')

    async def customer_writes_again(self) -> None:
        async with self.step(
            f'Alice writes again: "{FOLLOW_UP}"', "Discord", str(self.alice.id)
        ) as s:
            await self.alice.send_dm(FOLLOW_UP)
            await s.expect("Alice to be told it is open again", lambda: self.dm_says("open again"))
            await s.expect("the card to show it reopened", lambda: not self.card_says("Resolved"))

    async def bob_writes(self) -> None:
        text = "Where is my invoice for March?"
        headline = f'Bob (customer, Discord DM) writes: "{text}", and nobody answers'
        known = {m.ts for m in self.slack.messages(SLACK.support)}
        async with self.step(headline, "Discord", str(self.bob.id)) as s:
            await self.bob.send_dm(text)
            await s.expect("a second card in #support", lambda: self.new_card(known))

    async def clock_reaches_sla_event(self) -> None:
        async with self.step("The clock moves to the next SLA event") as s:
            before = self.slack_says(":alarm_clock:") + self.slack_says("SLA breached")
            s.say("Clock", await self.running.advance(None))
            await s.expect(
                "an SLA reminder or breach notice in Slack",
                lambda: self.slack_says(":alarm_clock:") + self.slack_says("SLA breached") > before,
            )

    # --- helpers of the steps --------------------------------------------------------------

    def survey(self) -> DiscordMessage | None:
        """The survey in Alice's DMs: the bot's message with rating buttons."""
        for message in reversed(self.alice.dm_messages()):
            if any(label.startswith("5") for label in message.button_labels()):
                return message
        return None


def chosen(view: View | None) -> dict[str, str]:
    """The options a dialog's menus start on, by block: what a person leaves as shown."""
    values = {}
    for block in view.blocks if view is not None else []:
        element = block.get("element") or {}
        option = element.get("initial_option")
        if block.get("type") == "input" and isinstance(option, dict):
            values[str(block.get("block_id"))] = str(option.get("value"))
    return values


async def play(data: Path | None) -> bool:
    """Play the tour on a fresh demo; print the transcript; True when every step happened."""
    if data is not None and (data / demo.DATABASE).exists():
        # Earlier tickets would take the story elsewhere (Alice's message would join her last one).
        raise ConfigError(
            f"the scripted tour starts from an empty database, and {data} already holds one: "
            "choose another --data DIR, or none"
        )
    async with demo.running(data) as running:
        tour = Tour(running)
        steps = tour.steps()
        click.echo("Threadline demo, scripted: the real bot, a Discord customer, Slack agents.\n")
        await tour.settle()
        tour.watch.news("Slack", "")  # what was there before the tour (the day's digest)
        for index, play_step in enumerate(steps):
            await play_step()
            if tour.number == 0:  # no ticket: nothing after the first step can happen
                click.echo(f"!! steps {index + 2}-{len(steps)} need the ticket; not played")
                tour.misses += len(steps) - index - 1
                break
    total = len(steps)
    if tour.misses:
        click.echo(f"\n{tour.misses} of {total} steps did not happen.")
    else:
        click.echo(f"\nAll {total} steps happened.")
    return tour.misses == 0
