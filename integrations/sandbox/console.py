"""A line console for `threadline sandbox`: act as the demo's people and see what they see.

Customers and agents are named as in the demo (alice, bob; alice, bob, carol, dana); tickets by
their number, found by the `#NUMBER` on their card in #support. What it shows is rendered as people
read it (names, not ids). It does what a line can do well: dialogs (Escalate, Resolve) are left
to the playground of `threadline demo`, which shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from integrations.sandbox import render
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.discord.payloads import message_json
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import Ephemeral
from integrations.sandbox.slack import Message as SlackMessage
from integrations.sandbox.slack.model import iter_elements

log = logging.getLogger(__name__)

HELP = """\
Commands (TEXT is the rest of the line as typed; quotes and apostrophes need no escaping):
  dm CUSTOMER TEXT            a Discord customer (alice, bob) writes to the bot
  inbox CUSTOMER              what that customer sees in their DMs with the bot
  tickets                     the ticket cards in Slack's #support
  thread TICKET               the Slack thread of a ticket (1042 or #1042)
  reply AGENT TICKET TEXT     someone in Slack (agents alice, bob; lead carol; dana, who is
                              not on the team) writes in the ticket's thread
                              ("note: TEXT" or ";; TEXT" stays with the team)
  click AGENT TICKET BUTTON   an agent clicks Claim, Unclaim, Reopen or Close on the card,
                              Summary or Draft reply (with the AI features), or Take over
                              when the bot offers it
  help                        this list
  quit                        stop the sandbox
Escalate, Resolve and Edit triage open a dialog: try them in `threadline demo`, which shows
both sides in a browser. What the bot shows an agent alone (a refusal) is printed after reply
and click."""

CUSTOMERS = {"alice": DISCORD.customer_id, "bob": DISCORD.second_customer_id}
# dana is not on the support team: what she tries is refused, and the console shows her that.
AGENTS = {"alice": SLACK.agent1, "bob": SLACK.agent2, "carol": SLACK.lead, "dana": SLACK.member}
# The card's buttons that open a dialog (integrations/slack/controls.py and assist_controls.py),
# which a line cannot show.
DIALOGS = ("Escalate", "Resolve", "Edit triage")
# How long to wait for the bot to answer a click or a reply: its answer (a changed card, a
# refusal only the agent sees) comes after the platform's acknowledgement.
ANSWER_WAIT = 2.0


class ConsoleError(Exception):
    """A mistake in a console command; its message says what to type instead."""


class Console:
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._commands: dict[str, Callable[[str], Awaitable[str]]] = {
            "dm": self._dm,
            "inbox": self._inbox,
            "tickets": self._tickets,
            "thread": self._thread,
            "reply": self._reply,
            "click": self._click,
        }

    async def run(self, line: str) -> str:
        """Carry out one command line; returns what to print. The command and the names are
        words; the text at the end is the rest of the line, raw."""
        command, _, rest = line.strip().partition(" ")
        if not command or command == "help":
            return HELP
        handler = self._commands.get(command)
        if handler is None:
            return f"error: unknown command {command!r}; type help"
        try:
            return await handler(rest)
        except ConsoleError as exc:
            return f"error: {exc}"
        except Exception as exc:  # the platforms' own refusals, shown as they are
            log.debug("console command %r failed", line, exc_info=True)
            return f"error: {exc}"

    # --- the customer's side ---------------------------------------------------------------

    async def _dm(self, rest: str) -> str:
        (who,), text = _words(rest, 1, "dm CUSTOMER TEXT", text=True)
        await self._sandbox.discord.user(_customer(who, "dm CUSTOMER TEXT")).send_dm(text)
        return "sent"

    async def _inbox(self, rest: str) -> str:
        (who,), _ = _words(rest, 1, "inbox CUSTOMER")
        discord = self._sandbox.discord
        names = render.discord_names(discord.world)
        lines = []
        for message in discord.user(_customer(who, "inbox CUSTOMER")).dm_messages():
            data = message_json(message, discord.world)
            lines.append(_said(render.discord_author(data), render.discord_message(data, names)))
        return "\n".join(lines) or "(no messages)"

    # --- the agents' side ------------------------------------------------------------------

    async def _tickets(self, _rest: str) -> str:
        names = self._slack_names()
        cards = [render.slack_message(m.to_api(), names) for m in self._cards()]
        return "\n\n".join(cards) or "(no tickets yet)"

    async def _thread(self, rest: str) -> str:
        (ticket,), _ = _words(rest, 1, "thread TICKET")
        card = self._card(ticket)
        return self._replies(card) or "(no replies yet)"

    async def _reply(self, rest: str) -> str:
        (who, ticket), text = _words(rest, 2, "reply AGENT TICKET TEXT", text=True)
        agent = _agent(who, "reply AGENT TICKET TEXT")
        card = self._card(ticket)
        slack = self._sandbox.slack
        seen = self._shown_to(agent)
        ts = await slack.user(agent).post(SLACK.support, text, thread_ts=card.ts)

        def answered() -> bool:
            mine = slack.message(SLACK.support, ts)
            return bool(mine.reactions) or self._shown_to(agent) != seen

        if slack.connections or slack.request_url:  # else no app is there to answer
            await _until(slack.wait_for(answered, ANSWER_WAIT))
        return "\n".join(["posted", *self._told(agent, seen)])

    async def _click(self, rest: str) -> str:
        (who, ticket), label = _words(rest, 2, "click AGENT TICKET BUTTON", text=True)
        agent = _agent(who, "click AGENT TICKET BUTTON")
        if label.casefold() in (d.casefold() for d in DIALOGS):
            return f"{label} opens a dialog; try it in `threadline demo`"
        card = self._card(ticket)
        slack = self._sandbox.slack
        ts, label = self._button_source(agent, card, label)
        before, seen = _look(card), self._shown_to(agent)
        person = slack.user(agent)
        ack = await person.click(SLACK.support, ts, label)
        if not ack.acked:
            return "clicked, but no app answered (is a bot running against this sandbox?)"

        def answered() -> bool:
            now = _look(slack.message(SLACK.support, card.ts))
            return now != before or self._shown_to(agent) != seen

        await _until(slack.wait_for(answered, ANSWER_WAIT))
        names = self._slack_names()
        if person.modal is not None:  # a dialog after all: closed, since nobody can fill it here
            await person.close_modal()
            return f"{label} opens a dialog; try it in `threadline demo`"
        after = slack.message(SLACK.support, card.ts)
        done = ["clicked"]
        if _look(after) != before:
            done.append("the card now reads:\n" + render.slack_message(after.to_api(), names))
        return "\n".join([*done, *self._told(agent, seen)])

    def _button_source(self, agent: str, card: SlackMessage, label: str) -> tuple[str, str]:
        """Where the button is and its exact label: the card when it has it, else the newest
        answer only the agent sees that has it (Take over)."""
        places = [(card.ts, card.button_labels())]
        mine = self._sandbox.slack.ephemerals(agent, SLACK.support)
        places += [(e.ts, _labels(e)) for e in reversed(mine)]
        for ts, labels in places:
            for shown in labels:
                if shown.casefold() == label.casefold():
                    return ts, shown
        buttons = ", ".join(card.button_labels()) or "none"
        raise ConsoleError(f"no button {label!r} on that card (its buttons: {buttons})")

    def _shown_to(self, agent: str) -> set[str]:
        """The answers only `agent` sees, by ts."""
        return {e.ts for e in self._sandbox.slack.ephemerals(agent)}

    def _told(self, agent: str, seen: set[str]) -> list[str]:
        """What the bot showed the agent alone, besides what they had `seen`."""
        names = self._slack_names()
        who = f"{self._sandbox.slack.workspace.bot.name} (only you)"
        return [
            _said(who, render.slack_message(_ephemeral_json(e), names))
            for e in self._sandbox.slack.ephemerals(agent)
            if e.ts not in seen
        ]

    def _replies(self, card: SlackMessage) -> str:
        names = self._slack_names()
        return "\n".join(
            _said(render.slack_author(data, names), render.slack_message(data, names))
            for data in (m.to_api() for m in self._sandbox.slack.thread(SLACK.support, card.ts))
        )

    def _cards(self) -> list[SlackMessage]:
        """The top-level messages of #support, without replies broadcast to it."""
        return [m for m in self._sandbox.slack.messages(SLACK.support) if not m.is_reply]

    def _card(self, ticket: str) -> SlackMessage:
        number = ticket.removeprefix("#")
        if not number.isdigit():
            raise ConsoleError(f"{ticket!r} is not a ticket number")
        for message in self._cards():
            if f"#{number} " in message.text:
                return message
        raise ConsoleError(f"no card for ticket #{number} in #support")

    def _slack_names(self) -> dict[str, str]:
        return render.slack_names(self._sandbox.slack.workspace)


def _words(rest: str, count: int, usage: str, *, text: bool = False) -> tuple[list[str], str]:
    """The first `count` words of `rest` and, with `text`, the rest of it as typed."""
    parts = rest.split(None, count)
    if len(parts) < count + (1 if text else 0):
        raise ConsoleError(f"usage: {usage}")
    if not text and len(parts) > count:
        raise ConsoleError(f"usage: {usage}")
    return parts[:count], parts[count] if text else ""


def _customer(name: str, usage: str) -> int:
    if name not in CUSTOMERS:
        raise ConsoleError(f"usage: {usage} (CUSTOMER one of {', '.join(CUSTOMERS)})")
    return CUSTOMERS[name]


def _agent(name: str, usage: str) -> str:
    if name not in AGENTS:
        raise ConsoleError(f"usage: {usage} (AGENT one of {', '.join(AGENTS)})")
    return AGENTS[name]


def _said(who: str, body: str) -> str:
    """`who: body`, a body of several lines indented under the name."""
    return f"{who}: " + body.replace("\n", "\n    ")


def _look(message: SlackMessage) -> tuple[str, str]:
    """What a card shows, to tell when it changed."""
    return message.text, repr(message.blocks)


def _labels(ephemeral: Ephemeral) -> list[str]:
    return [
        str(element.get("text", {}).get("text", ""))
        for _, element in iter_elements(ephemeral.blocks or [])
        if element.get("type") == "button"
    ]


def _ephemeral_json(ephemeral: Ephemeral) -> dict[str, object]:
    return {"text": ephemeral.text, "blocks": ephemeral.blocks}


async def _until(waiting: Awaitable[object]) -> None:
    """Wait for an answer that may never come (a note has none)."""
    try:
        await waiting
    except TimeoutError:
        return
