"""A line console for `threadline sandbox`: act as the demo's people and see what they see.

Customers and agents are named as in the demo (alice, bob; alice, bob, carol); tickets by their
number, found by the `#NUMBER` on their card in #support.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable

from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import Message as SlackMessage

HELP = """\
Commands:
  dm CUSTOMER TEXT            a Discord customer (alice, bob) writes to the bot
  inbox CUSTOMER              what that customer sees in their DMs with the bot
  tickets                     the ticket cards in Slack's #support
  thread TICKET               the Slack thread of a ticket (1042 or #1042)
  reply AGENT TICKET TEXT     an agent (alice, bob, carol) writes in the ticket's thread
  click AGENT TICKET LABEL    an agent clicks a button on the ticket's card (Claim, Resolve…)
  help                        this list
  quit                        stop the sandbox"""

CUSTOMERS = {"alice": DISCORD.customer_id, "bob": DISCORD.second_customer_id}
AGENTS = {"alice": SLACK.agent1, "bob": SLACK.agent2, "carol": SLACK.lead}


class ConsoleError(Exception):
    """A mistake in a console command; its message says what to type instead."""


class Console:
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._commands: dict[str, Callable[[list[str]], Awaitable[str]]] = {
            "dm": self._dm,
            "inbox": self._inbox,
            "tickets": self._tickets,
            "thread": self._thread,
            "reply": self._reply,
            "click": self._click,
        }

    async def run(self, line: str) -> str:
        """Carry out one command line; returns what to print."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            return f"error: {exc}"
        if not words or words[0] == "help":
            return HELP
        command = self._commands.get(words[0])
        if command is None:
            return f"error: unknown command {words[0]!r}; type help"
        try:
            return await command(words[1:])
        except ConsoleError as exc:
            return f"error: {exc}"
        except Exception as exc:  # the platforms' own refusals, shown as they are
            return f"error: {exc}"

    async def _dm(self, args: list[str]) -> str:
        who, text = _who_and_text(args, CUSTOMERS, "dm CUSTOMER TEXT")
        await self._sandbox.discord.user(who).send_dm(text)
        return "sent"

    async def _inbox(self, args: list[str]) -> str:
        who = int(_lookup(args, CUSTOMERS, "inbox CUSTOMER"))
        messages = self._sandbox.discord.user(who).dm_messages()
        lines = [
            f"{'bot' if m.author_id == DISCORD.bot_id else 'you'}: {m.content}" for m in messages
        ]
        return "\n".join(lines) or "(no messages)"

    async def _tickets(self, _args: list[str]) -> str:
        cards = self._sandbox.slack.messages(SLACK.support)
        return "\n".join(m.text for m in cards) or "(no tickets yet)"

    async def _thread(self, args: list[str]) -> str:
        card = self._card(args[0] if args else "")
        replies = self._sandbox.slack.thread(SLACK.support, card.ts)
        return "\n".join(f"{m.user}: {m.text}" for m in replies) or "(no replies yet)"

    async def _reply(self, args: list[str]) -> str:
        if len(args) < 3:
            raise ConsoleError("usage: reply AGENT TICKET TEXT")
        agent = _lookup(args[:1], AGENTS, "reply AGENT TICKET TEXT")
        card = self._card(args[1])
        await self._sandbox.slack.user(agent).post(
            SLACK.support, " ".join(args[2:]), thread_ts=card.ts
        )
        return "posted"

    async def _click(self, args: list[str]) -> str:
        if len(args) < 3:
            raise ConsoleError("usage: click AGENT TICKET LABEL")
        agent = _lookup(args[:1], AGENTS, "click AGENT TICKET LABEL")
        card = self._card(args[1])
        await self._sandbox.slack.user(agent).click(SLACK.support, card.ts, " ".join(args[2:]))
        return "clicked"

    def _card(self, ticket: str) -> SlackMessage:
        number = ticket.removeprefix("#")
        if not number.isdigit():
            raise ConsoleError(f"{ticket!r} is not a ticket number")
        for message in self._sandbox.slack.messages(SLACK.support):
            if f"#{number} " in message.text:
                return message
        raise ConsoleError(f"no card for ticket #{number} in #support")


def _lookup(args: list[str], names: dict[str, int] | dict[str, str], usage: str) -> str:
    if not args or args[0] not in names:
        raise ConsoleError(f"usage: {usage} (one of {', '.join(names)})")
    return str(names[args[0]])


def _who_and_text(args: list[str], names: dict[str, int], usage: str) -> tuple[int, str]:
    if len(args) < 2:
        raise ConsoleError(f"usage: {usage}")
    return int(_lookup(args, names, usage)), " ".join(args[1:])
