"""The leads' daily digest in words, shared by the agent workspaces: each gives its own markup
for a title and its own escaping for what people typed (subjects, names)."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.digest import Digest
from bot.core.domain import Ticket
from bot.core.usecases.jobs import human

Markup = Callable[[str], str]


def digest_lines(digest: Digest, *, title: Markup, escape: Markup) -> list[str]:
    """The digest's lines: breached tickets, tickets at risk, satisfaction."""

    def line(ticket: Ticket) -> str:
        holder = Digest.holder(ticket) or "unassigned"
        return f"• #{ticket.number} {escape(ticket.subject)} ({escape(holder)})"

    lines = [f"{title('Daily digest')} ({digest.day:%Y-%m-%d})"]
    lines.append(f"Breached and still open: {len(digest.breached)}")
    lines += [line(t) for t in digest.breached]
    lines.append(f"At risk within {human(digest.within)}: {len(digest.at_risk)}")
    lines += [line(t) for t in digest.at_risk]
    if digest.satisfaction is not None:
        lines.append(f"CSAT over the last 7 days: {digest.satisfaction:.0%}")
    return lines
