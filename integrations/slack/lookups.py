"""`/threadline` and App Home: what agents look up without leaving Slack."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.domain import AgentId, Ticket, TicketNumber
from bot.core.errors import DomainError, EventNotFound
from bot.core.inbound import InboundEvent, InboundId
from bot.core.service import TicketService
from integrations.slack.blocks import PRIORITY_LABEL, STATUS_LABEL, date_token, escape
from integrations.slack.refs import split_ref
from integrations.slack.team import NOT_AN_AGENT, Team
from integrations.slack.work import WorkInProgress

log = logging.getLogger(__name__)

Json = Mapping[str, Any]
COMMAND = "/threadline"
BREACH_WINDOW = timedelta(hours=1)
CSAT_WINDOW = timedelta(days=7)  # the span `stats` reports satisfaction over
LISTED = 10  # tickets per list in answers and on App Home
LOOKUP_FAILED = "Threadline could not answer that just now; please try again in a moment."
USAGE = (
    "Usage: `/threadline mine` (your tickets) · `queue` (unassigned, most urgent first) · "
    "`find TEXT` · `show NUMBER` · `summary NUMBER` (an AI summary in its thread) · `stats` · "
    "`failed` (Slack events set aside) with `failed show|retry|drop ID`"
)
FAILED_USAGE = (
    "Usage: `/threadline failed` · `failed show ID` · `failed retry ID` · `failed drop ID`"
)
PAYLOAD_SHOWN = 2500  # characters of a stored payload shown in Slack (the CLI shows it all)


class Lookups:
    def __init__(
        self, service: TicketService, team: Team, client: AsyncWebClient, work: WorkInProgress
    ) -> None:
        self._service = service
        self._team = team
        self._client = client
        self._work = work
        self._links: dict[str, str] = {}

    def register(self, app: AsyncApp) -> None:
        app.command(COMMAND)(self._on_command)
        app.event("app_home_opened")(self._on_home)

    async def _on_command(
        self, ack: Callable[..., Awaitable[None]], respond: AsyncRespond, command: Json
    ) -> None:
        user = str(command.get("user_id", ""))
        if not self._team.may_act(user):
            await ack(text=NOT_AN_AGENT)  # known without a lookup: the answer is the ack
            return
        async with self._work.counted():
            # Slack waits 3 seconds for the ack; a search or a count may take longer, so the
            # answer follows through the command's response_url (ephemeral, like the ack).
            await ack()
            try:
                text = await self.answer(user, str(command.get("text", "")))
            except DomainError as refused:
                text = str(refused)
            except Exception:
                # Slack has had its ack and shows no error of its own: say it here instead.
                log.exception("/threadline failed for %s", user)
                text = LOOKUP_FAILED
            try:
                await respond(text=text, response_type="ephemeral")
            except (aiohttp.ClientError, TimeoutError, ValueError) as lost:
                log.warning("Could not answer /threadline for %s: %r", user, lost)

    async def answer(self, user: str, line: str) -> str:  # noqa: PLR0911 (one per subcommand)
        verb, _, rest = line.strip().partition(" ")
        match verb.lower():
            case "mine":
                return await self._listing(
                    "Your tickets", await self._service.held_by(AgentId(user), LISTED)
                )
            case "queue":
                return await self._listing(
                    "Unassigned, most urgent first", await self._service.queue(LISTED)
                )
            case "find":
                found = await self._service.find(rest, LISTED)
                return await self._listing(f"Tickets mentioning “{escape(rest.strip())}”", found)
            case "show":
                return await self._show(rest)
            case "summary":
                return await self._summary(user, rest)
            case "stats":
                return await self._stats()
            case "failed":
                return await self._failed(rest)
            case _:
                return USAGE

    async def _listing(self, title: str, tickets: list[Ticket]) -> str:
        if not tickets:
            return f"*{title}*: none."
        lines = [f"*{title}* ({len(tickets)}):"]
        lines += [f"• {await self.line(t)}" for t in tickets]
        return "\n".join(lines)

    async def line(self, ticket: Ticket) -> str:
        link = await self._link(ticket)
        number = f"<{link}|#{ticket.number}>" if link else f"#{ticket.number}"
        parts = [
            f"{number} {escape(ticket.subject)}",
            STATUS_LABEL[ticket.status],
            PRIORITY_LABEL[ticket.priority],
        ]
        if ticket.assignee:
            parts.append(f"<@{ticket.assignee.id}>")
        if ticket.due_at:
            parts.append(f"due {date_token(ticket.due_at)}")
        return " · ".join(parts)

    async def _show(self, rest: str) -> str:
        text = rest.strip().removeprefix("#")
        if not _digits(text):
            return "Usage: `/threadline show NUMBER`, for example `/threadline show 1042`."
        detail = await self._service.ticket_detail(TicketNumber(int(text)))
        customer = detail.customer
        return "\n".join(
            [
                await self.line(detail.ticket),
                f"Customer: {escape(customer.display_name)} ({customer.platform.title()})",
                f"Tier {detail.ticket.tier} · {len(detail.messages)} message(s) · "
                f"opened {date_token(detail.ticket.created_at)}",
            ]
        )

    async def _summary(self, user: str, rest: str) -> str:
        """Ask for a summary of a ticket: it is posted in the ticket's thread, for everyone."""
        text = rest.strip().removeprefix("#")
        if not _digits(text):
            return "Usage: `/threadline summary NUMBER`, for example `/threadline summary 1042`."
        number = TicketNumber(int(text))
        await self._service.ask_for_summary(number, await self._team.agent(user))
        return f"A summary of #{number} is on its way to the thread."

    async def _stats(self) -> str:
        stats = await self._service.stats(BREACH_WINDOW)
        median = stats.median_first_response
        first = f"{_duration(median)}" if median is not None else "no replies yet"
        share, rated = await self._service.csat_since(self._service.now() - CSAT_WINDOW)
        csat = f"{share:.0%} satisfied of {rated} rating(s)" if share is not None else "no ratings"
        return (
            f"Open: {stats.open} ({stats.unassigned} unassigned) · "
            f"breaching within the hour: {stats.breaching_soon} · "
            f"median first response today: {first} (of {stats.opened_today} opened today) · "
            f"CSAT over 7 days: {csat}"
        )

    async def _failed(self, rest: str) -> str:
        """Dead letters: stored events that failed every attempt, and what to do with them."""
        verb, _, arg = rest.strip().partition(" ")
        verb = verb.lower() or "list"
        if verb == "list":
            dead = await self._service.inbound_events(dead=True, limit=LISTED)
            if not dead:
                return "*Events set aside*: none."
            lines = [f"*Events set aside* ({len(dead)}):"]
            lines += [f"• {_dead_line(event)}" for event in dead]
            return "\n".join(lines)
        number = arg.strip().removeprefix("#")
        if verb not in ("show", "retry", "drop") or not _digits(number):
            return FAILED_USAGE
        return await self._dead_letter(verb, InboundId(int(number)))

    async def _dead_letter(self, verb: str, inbound_id: InboundId) -> str:
        try:
            if verb == "show":
                return _dead_detail(await self._service.inbound_event(inbound_id))
            if verb == "retry":
                await self._service.retry_dead_letter(inbound_id)
                return f"Event {inbound_id} is back in line: Threadline tries it again shortly."
            await self._service.drop_dead_letter(inbound_id)
            return f"Event {inbound_id} is dropped; it stays on record."
        except EventNotFound as missing:
            return f"{missing}. See `/threadline failed` for the list."

    async def _on_home(self, event: Json) -> None:
        user = str(event.get("user", ""))
        if event.get("tab", "home") != "home" or not user:
            return
        async with self._work.counted():
            try:
                await self._client.views_publish(user_id=user, view=await self.home(user))
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as refused:
                # Slack refused it (a user it no longer knows, a limit) or is away: the tab
                # keeps what it showed, and the next opening tries again.
                log.warning("Could not show App Home to %s: %s", user, _one_line(refused))

    async def home(self, user: str) -> dict[str, Any]:
        if not self._team.may_act(user):
            return {"type": "home", "blocks": [_section(NOT_AN_AGENT)]}
        sections = [
            ("Your tickets", await self._service.held_by(AgentId(user), LISTED)),
            ("Unassigned queue", await self._service.queue(LISTED)),
            ("Breaching soon", await self._service.breaching_soon(BREACH_WINDOW, LISTED)),
        ]
        blocks: list[dict[str, Any]] = []
        for title, tickets in sections:
            blocks.append({"type": "header", "text": {"type": "plain_text", "text": title}})
            if not tickets:
                blocks.append(_section("_Nothing here._"))
            blocks += [_section(await self.line(t)) for t in tickets]
            blocks.append({"type": "divider"})
        return {"type": "home", "blocks": blocks}

    async def _link(self, ticket: Ticket) -> str | None:
        ref = ticket.workspace_ref
        if ref is None:
            return None
        if ref not in self._links:
            channel, ts = split_ref(ref)
            try:
                found = await self._client.chat_getPermalink(channel=channel, message_ts=ts)
            except Exception:
                log.warning("No permalink for ticket #%s", ticket.number, exc_info=True)
                return None
            self._links[ref] = str(found["permalink"])
        return self._links[ref]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _digits(text: str) -> bool:
    """A number as people type one: ASCII digits (`isdigit` alone takes "²", which `int`
    refuses), and short enough to be an id."""
    return text.isascii() and text.isdigit() and len(text) <= 12


def _dead_line(event: InboundEvent) -> str:
    error = " ".join((event.last_error or "no error recorded").split())[:200]
    return (
        f"`{event.id}` {event.platform} `{escape(event.event_id)}` · "
        f"received {date_token(event.received_at)} · {event.attempts} tries · {escape(error)}"
    )


def _dead_detail(event: InboundEvent) -> str:
    payload = json.dumps(event.payload, indent=2, ensure_ascii=False, default=str)
    if len(payload) > PAYLOAD_SHOWN:
        payload = payload[:PAYLOAD_SHOWN] + "\n… (cut: `threadline events show` has it all)"
    fenced = escape(payload).replace("`", "'")  # a backquote would close the block early
    return f"*Stored event {event.id}* ({event.state.value}): {_dead_line(event)}\n```{fenced}```"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
