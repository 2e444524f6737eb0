"""Plain-text and JSON views of settings and tickets for the command line. Pure functions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from bot.config import Settings
from bot.core.domain import Direction, Message, Ticket, TicketEvent
from integrations.discord.staff_check import StaffReport, shown_url

if TYPE_CHECKING:
    from bot.app import Migration
    from bot.core.service import TicketDetail

_STAFF_EXTRAS = ("DISCORD_STAFF_ROLE", "DISCORD_LEADS_ROLE", "DISCORD_LEADS_CHANNEL")


def migration(m: Migration) -> str:
    if m.before == m.after:
        return f"Database {m.database}: schema up to date (revision {m.after})."
    if m.before is None:
        return f"Database {m.database}: schema created (revision {m.after})."
    return f"Database {m.database}: migrated from revision {m.before} to {m.after}."


def platforms(settings: Settings) -> str:
    slack = settings.missing_for_slack()
    mode = "Socket Mode" if settings.slack_app_token else f"HTTP mode on port {settings.http_port}"
    discord = settings.missing_for_discord()
    lines = [
        "Slack: " + (f"configured ({mode})" if not slack else "missing " + ", ".join(slack)),
        "Discord: " + ("configured" if not discord else "missing " + ", ".join(discord)),
        "AI: "
        + (
            f"configured (model {settings.openai_model})"
            if settings.ai_enabled
            else "off (set OPENAI_API_KEY, or OPENAI_BASE_URL for a local model server)"
        ),
    ]
    return "\n".join(lines)


def discord_staff(settings: Settings) -> str:
    """Whether agents work in Discord too, and what that still needs (the settings only)."""
    if not settings.discord_staff:
        unused = [name for name in _STAFF_EXTRAS if getattr(settings, name.lower()) is not None]
        if unused:
            return (
                f"Discord agents: off; {', '.join(unused)} set but unused without "
                "DISCORD_STAFF_CHANNEL"
            )
        return "Discord agents: off (set DISCORD_STAFF_CHANNEL for agents to work in Discord)"
    missing = settings.missing_for_discord_staff()
    if missing:
        return (
            f"Discord agents: missing {', '.join(missing)} "
            "(needed because DISCORD_STAFF_CHANNEL is set)"
        )
    also = " and Slack" if not settings.missing_for_slack() else ""
    return f"Discord agents: configured (agents work in Discord{also})"


def staff_check(settings: Settings, found: StaffReport) -> str:
    """What asking Discord about the agent workspace found, and the verdict."""
    problems = len(found.problems)
    verdict = (
        "Discord agents: ready"
        if not problems
        else f"Discord agents: {problems} problem{'s' if problems > 1 else ''} to fix (above)"
    )
    where = shown_url(settings.discord_api_url)
    heading = f"Checking the Discord agent workspace with Discord ({where}):"
    return "\n".join([heading, *found.lines(), verdict])


def nothing_to_run(settings: Settings) -> str:
    return "\n".join(
        [
            "Nothing to connect to: neither Slack nor Discord is configured.",
            "Set at least these, in the environment or in .env (see .env.example):",
            "  Slack:   SLACK_BOT_TOKEN, SLACK_SUPPORT_CHANNEL, and SLACK_APP_TOKEN "
            "(or SLACK_SIGNING_SECRET)",
            "  Discord: DISCORD_BOT_TOKEN",
            "To try Threadline without any accounts, run `threadline demo`: the whole product",
            "with a Slack and a Discord of its own, in your browser.",
        ]
    )


def config(settings: Settings) -> str:
    lines = ["Settings (secrets are never shown):"]
    for name in Settings.model_fields:
        lines.append(f"  {name.upper():26} {_shown(getattr(settings, name))}")
    lines.append("")
    lines.append(platforms(settings))
    return "\n".join(lines)


def _shown(value: Any) -> str:
    if value is None or value == []:
        return "(not set)"
    if isinstance(value, SecretStr):
        return "set (hidden)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "-"


def ticket_table(tickets: list[Ticket]) -> str:
    if not tickets:
        return "No tickets."
    header = " ".join(
        [
            "TICKET  ",
            "STATUS    ",
            "PRIORITY ",
            "TIER",
            "ASSIGNEE        ",
            f"{'UPDATED':20}",
            "SUBJECT",
        ]
    )
    rows = [
        f"{'#' + str(t.number):8} {t.status:10} {t.priority:9} {t.tier:<4} "
        f"{(t.assignee.name if t.assignee else '-')[:16]:16} {_when(t.updated_at):20} {t.subject}"
        for t in tickets
    ]
    return "\n".join([header, *rows])


def ticket_json(t: Ticket) -> dict[str, Any]:
    return {
        "number": t.number,
        "subject": t.subject,
        "status": t.status.value,
        "priority": t.priority.value,
        "tier": t.tier,
        "assignee": {"id": t.assignee.id, "name": t.assignee.name} if t.assignee else None,
        "version": t.version,
        "created_at": t.created_at.isoformat(),
        "updated_at": t.updated_at.isoformat(),
        "first_response_at": _iso(t.first_response_at),
        "resolved_at": _iso(t.resolved_at),
        "closed_at": _iso(t.closed_at),
        "due_at": _iso(t.due_at),
    }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


_LABEL = {
    Direction.FROM_CUSTOMER: "customer",
    Direction.TO_CUSTOMER: "reply",
    Direction.NOTE: "note",
}


def detail_text(d: TicketDetail) -> str:
    t = d.ticket
    holder = f"{t.assignee.name} ({t.assignee.id})" if t.assignee else "nobody"
    lines = [
        f"Ticket #{t.number}: {t.subject}",
        f"  status {t.status}, priority {t.priority}, tier {t.tier}, held by {holder}",
        f"  customer {d.customer.display_name} ({d.customer.platform} {d.customer.external_id})",
        f"  opened {_when(t.created_at)}, updated {_when(t.updated_at)}",
        "",
        f"Messages ({len(d.messages)}):",
        *(_message_line(m) for m in d.messages),
        "",
        f"History ({len(d.events)}):",
        *(_event_line(e) for e in d.events),
    ]
    return "\n".join(lines)


def _message_line(m: Message) -> str:
    marks = "".join([" (edited)" if m.edited_at else "", " (deleted)" if m.deleted_at else ""])
    files = f" [+{len(m.attachments)} attachment(s)]" if m.attachments else ""
    return (
        f"  {_when(m.created_at)}  {_LABEL[m.direction]:8} {m.author.name}: {m.body}{files}{marks}"
    )


def _event_line(e: TicketEvent) -> str:
    move = f"{e.from_status} → {e.to_status}" if e.from_status != e.to_status else str(e.to_status)
    extra = "".join([f"; {e.detail}" if e.detail else "", f"; {e.reason}" if e.reason else ""])
    return f"  {_when(e.at)}  {e.action:14} {move} by {e.actor.name}{extra}"


def detail_json(d: TicketDetail) -> dict[str, Any]:
    return {
        "ticket": ticket_json(d.ticket),
        "customer": {
            "platform": d.customer.platform,
            "id": d.customer.external_id,
            "name": d.customer.display_name,
        },
        "messages": [
            {
                "direction": m.direction.value,
                "author": {"kind": m.author.kind.value, "id": m.author.id, "name": m.author.name},
                "body": m.body,
                "created_at": m.created_at.isoformat(),
                "edited_at": _iso(m.edited_at),
                "deleted_at": _iso(m.deleted_at),
                "attachments": [
                    {"filename": a.filename, "url": a.url, "size": a.size} for a in m.attachments
                ],
                "refs": [{"platform": r.platform, "id": r.external_id} for r in m.refs],
            }
            for m in d.messages
        ],
        "events": [
            {
                "action": e.action.value,
                "from": e.from_status.value,
                "to": e.to_status.value,
                "actor": {"kind": e.actor.kind.value, "id": e.actor.id, "name": e.actor.name},
                "at": e.at.isoformat(),
                "reason": e.reason,
                "detail": e.detail,
            }
            for e in d.events
        ],
    }
