"""What a ticket's life, the AI features and the queue commands add to the Discord agent
workspace: lines for its threads, the leads' channel and private answers. Pure: data in,
Discord Markdown out, each piece at most 2,000 characters; what people wrote is escaped
(`staff_texts.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, assert_never

from bot.core.assist import Citation, decode_citations
from bot.core.digest import Digest
from bot.core.domain import (
    Customer,
    Direction,
    Message,
    Ticket,
)
from bot.core.outbound import (
    AutoAnswered,
    DeliveryFailed,
    DraftOffered,
    FollowsUp,
    HandedOff,
    ReplyTranslated,
    SlaBreached,
    SlaReminder,
    SummaryShown,
    SurveyAnswered,
    TicketAssigned,
    TicketEscalated,
    TicketReopened,
    TicketResolved,
    TranslationShown,
)
from bot.core.service import TicketDetail
from integrations.digest import digest_lines
from integrations.discord.staff_texts import (
    CONTENT_LIMIT,
    NO_SUBJECT,
    NO_TEXT,
    PRIORITY_LABEL,
    STATUS_LABEL,
    card_fields,
    clip,
    defused,
    due,
    escape,
    inline,
    language_name,
    markdown,
    name_of,
    person,
    pieces,
    relative,
    stars,
    subject_of,
    triage_text,
    when,
)
from integrations.wording import late_text

METRICS: Final = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}
OCCASIONS: Final = {"escalation": "on escalation", "takeover": "when taken over"}
RECENT: Final = 5  # messages `/ticket` shows
RECENT_LINE: Final = 300  # characters of each
LISTED_SUBJECT: Final = 80  # characters of a subject in a list

# --- a ticket's life -------------------------------------------------------------------------

Move = TicketEscalated | TicketAssigned | TicketResolved | TicketReopened


def move_line(event: Move) -> str:
    by = name_of(event.by)
    match event:
        case TicketEscalated():
            line = f"⏫ Escalated by {by}{_detail(event.detail)}"
        case TicketAssigned():
            line = f"👤 Assigned by {by}{_detail(event.detail)}"
        case TicketResolved():
            line = f"✅ Resolved by {by}"
        case TicketReopened():
            line = f"↩️ Reopened by {by}"
        case _:
            assert_never(event)
    return clip(f"{line}: {escape(event.reason)}" if event.reason else line, CONTENT_LIMIT)


def _detail(detail: str | None) -> str:
    return f" ({inline(detail)})" if detail else ""


def follow_up_line(event: FollowsUp) -> str:
    return clip(
        f"🔗 This follows up on ticket #{event.number} ({inline(event.subject)}).", CONTENT_LIMIT
    )


def failed_line(customer: Customer, event: DeliveryFailed) -> str:
    who = name_of(customer.display_name)
    return clip(f"⚠️ Not delivered to {who}: {escape(event.reason)}", CONTENT_LIMIT)


def sla_text(
    ticket: Ticket,
    customer: Customer,
    event: SlaReminder | SlaBreached,
    link: str | None,
    leads_role: int | None = None,
) -> str:
    """A reminder before a deadline, or a breach notice after it (`link`: the ticket's thread;
    `leads_role`: a role to mention at the start, for the leads' copy)."""
    metric = METRICS.get(event.metric) or clip(inline(event.metric), 100)
    at = due(event.due_at) if event.due_at is not None else "?"
    holder = person(ticket.assignee, "nobody")
    ref = f"[#{ticket.number}](<{link}>)" if link else f"#{ticket.number}"
    subject = clip(subject_of(ticket), 300)
    about = f"{ref} ({subject}) from {name_of(customer.display_name)}"
    ping = f"<@&{leads_role}> " if leads_role is not None else ""
    if isinstance(event, SlaBreached):
        late = late_text(event.late_seconds)
        return (
            f"{ping}🚨 SLA breached: the {metric} target of ticket {about} was due {at} and "
            f"is {late} late. Assignee: {holder}."
        )
    return f"{ping}⏰ Ticket {about}: the {metric} is due {at}. Assignee: {holder}."


def csat_text(ticket: Ticket, event: SurveyAnswered, link: str | None) -> str:
    """A customer's rating (and comment) as the team reads it."""
    who = name_of(event.customer)
    ref = f"[#{ticket.number}](<{link}>)" if link else f"#{ticket.number}"
    said = f": “{clip(escape(event.comment), 1500)}”" if event.comment else ""
    if event.rating is not None:
        return f"⭐ {who} rated ticket {ref} {stars(event.rating)}{said}"
    return f"💬 {who} commented on ticket {ref}{said}"


def digest_text(digest: Digest) -> list[str]:
    """The leads' daily digest in Discord Markdown, subjects and names escaped, in pieces."""
    return pieces("\n".join(digest_lines(digest, title=lambda t: f"**{t}**", escape=inline)))


# --- the AI features -------------------------------------------------------------------------


def summary_text(event: SummaryShown) -> list[str]:
    """A summary as an internal note, saying so, and why no model wrote it when none did."""
    occasion = OCCASIONS.get(event.occasion)
    if occasion is None:
        occasion = f"asked by {name_of(event.by)}" if event.by else "asked for"
    lines = [
        f"📝 **Summary** · {occasion} · internal, not sent to the customer",
        defused(event.text.strip()) or NO_TEXT,
    ]
    if event.fallback:
        lines.append(f"-# Written without a model: {inline(event.fallback)}")
    return pieces("\n".join(lines))


def draft_text(event: DraftOffered) -> list[str]:
    """A drafted reply as the customer would read it, for agents only, with its sources (the
    workspace puts Send and Discard on the last piece); or, with no draft, the articles that
    may help."""
    citations = decode_citations(event.citations)
    if event.text is None:
        lines = ["🔍 No article matches this question"]
        if citations:
            lines.append(sources_line(citations, "Articles that may help"))
        if event.fallback:
            lines.append(f"-# No draft was written: {inline(event.fallback)}")
        return pieces("\n".join(lines))
    asked = f" · asked by {name_of(event.asked_by)}" if event.asked_by else ""
    lines = [f"✏️ **Drafted reply** · for agents only, not sent{asked}"]
    lines.append(markdown(event.text.strip()) or "*(empty draft)*")
    if citations:
        lines.append(sources_line(citations))
    if event.fallback:
        lines.append(f"-# Written without a model: {inline(event.fallback)}")
    return pieces("\n".join(lines))


def settled_text(content: str, status: str, by: str) -> str:
    """A draft's post once it was sent or discarded by the agent named `by`."""
    by = name_of(by)
    verdict = f"✉️ Sent to the customer by {by}." if status == "sent" else f"🗑️ Discarded by {by}."
    if verdict in content:
        return content  # redrawn already (the one who pressed saw it at once)
    return f"{clip(content, CONTENT_LIMIT - len(verdict) - 1)}\n{verdict}"


def sources_line(citations: Sequence[Citation], label: str = "Sources") -> str:
    listed = ", ".join(f"{inline(c.title)} (relevance {c.relevance:.2f})" for c in citations)
    return clip(f"-# {label}: {listed}", CONTENT_LIMIT)


def translation_text(event: TranslationShown) -> str:
    """The customer's message in the team's language (a line beneath it)."""
    source = f" from {language_name(event.source)}" if event.source else ""
    return clip(f"🌐 Translated{source}: {defused(event.text)}", CONTENT_LIMIT)


def reply_translated_text(event: ReplyTranslated) -> str:
    """What an agent's reply went out as: the translation, or why it went as written."""
    if event.text is None:
        reason = inline(event.fallback or "no translation was made")
        return clip(f"⚠️ Sent as written, not translated: {reason}", CONTENT_LIMIT)
    target = language_name(event.target)
    return clip(f"🌐 Sent to the customer in {target}: {markdown(event.text)}", CONTENT_LIMIT)


def auto_answer_text(message: Message, event: AutoAnswered) -> list[str]:
    """The automated answer the customer was sent, as they read it, with its sources."""
    lines = ["🤖 **Automated answer sent to the customer:**", markdown(message.body) or NO_TEXT]
    citations = decode_citations(event.citations)
    if citations:
        lines.append(sources_line(citations))
    return pieces("\n".join(lines))


def handed_off_line(ticket: Ticket, event: HandedOff) -> str:
    """A person is wanted; the ticket's assignee, if it has one, is named (a Discord agent
    mentioned)."""
    if event.by_customer:
        line = "🙋 The customer asked for a person"
    else:
        line = "🙋 The assistant could not answer; a person is needed"
    return f"{line}: {person(ticket.assignee)}" if ticket.assignee else line


# --- the commands' answers -----------------------------------------------------------------


def ticket_line(ticket: Ticket, now: datetime) -> str:
    """One ticket in a list: number, subject, status, priority, assignee, when it is due."""
    subject = clip(" ".join(ticket.subject.split()), LISTED_SUBJECT)
    parts = [
        f"**#{ticket.number}** {escape(subject) or NO_SUBJECT}",
        STATUS_LABEL[ticket.status],
        PRIORITY_LABEL[ticket.priority],
    ]
    if ticket.assignee is not None:
        parts.append(person(ticket.assignee))
    if ticket.due_at is not None and ticket.status.is_open:
        late = " ⚠️ overdue" if ticket.due_at <= now else ""
        parts.append(f"due {relative(ticket.due_at)}{late}")
    return " · ".join(parts)


def ticket_lines(title: str, tickets: Sequence[Ticket], now: datetime) -> str:
    """A titled list, as many tickets as fit in one message and how many more there are."""
    if not tickets:
        return f"**{title}**: none."
    lines = [f"**{title}** ({len(tickets)}):"]
    for at, ticket in enumerate(tickets):
        line = f"• {ticket_line(ticket, now)}"
        if len("\n".join([*lines, line])) > CONTENT_LIMIT - 40:
            lines.append(f"… and {len(tickets) - at} more")
            break
        lines.append(line)
    return "\n".join(lines)


def queue_lines(tickets: Sequence[Ticket], now: datetime) -> str:
    """`/queue`: the tickets nobody holds, the soonest due first (as given)."""
    return ticket_lines("Unassigned, soonest due first", tickets, now)


def mine_lines(tickets: Sequence[Ticket], now: datetime) -> str:
    """`/mine`: the tickets an agent holds, most urgent first (as given)."""
    return ticket_lines("Your tickets", tickets, now)


def ticket_text(detail: TicketDetail, now: datetime) -> str:
    """`/ticket`: the card's facts and the last few messages, notes marked, in one message."""
    ticket = detail.ticket
    facts = " · ".join(f"{name}: {value}" for name, value in card_fields(ticket, detail.customer))
    head = [f"**#{ticket.number} · {clip(subject_of(ticket), 200)}**", facts]
    if ticket.due_at is not None and ticket.status.is_open and ticket.due_at <= now:
        head.append("⚠️ The SLA is overdue.")
    if ticket.triage is not None:
        head.append(f"AI triage: {clip(triage_text(ticket.triage, ticket.subject), 600)}")
    # The facts are short but people's names are not bounded: room is kept for messages.
    text = clip("\n".join(head), CONTENT_LIMIT - 200)
    shown = detail.messages[-RECENT:]
    if not shown:
        return clip(f"{text}\nNo messages yet.", CONTENT_LIMIT)
    more = f", {len(detail.messages)} in all" if len(detail.messages) > len(shown) else ""
    lines = [f"**Last messages** ({len(shown)}{more}):"]
    for message in reversed(shown):  # the newest are kept when room runs out
        line = recent_line(message)
        if len("\n".join([text, *lines, line])) > CONTENT_LIMIT:
            break
        lines.insert(1, line)
    return "\n".join([text, *lines])


def recent_line(message: Message) -> str:
    role = {
        Direction.FROM_CUSTOMER: "customer",
        Direction.TO_CUSTOMER: "reply",
        Direction.NOTE: "📝 internal note",
    }[message.direction]
    words = clip(" ".join(message.body.split()), RECENT_LINE)
    said = escape(words) or NO_TEXT
    if message.deleted_at is not None:
        said = f"~~{said}~~ *(deleted)*"
    files = f" (+{len(message.attachments)} file(s))" if message.attachments else ""
    who = name_of(message.author.name)
    return f"• {when(message.created_at)} **{who}** ({role}): {said}{files}"
