"""What agents read in the Discord agent workspace: a ticket's card, the customer's messages,
agents' messages from another workspace, the lines a ticket's life adds to its thread, the AI
features' posts and the answers to `/queue`, `/mine` and `/ticket`. Pure: data in, Discord
Markdown and embeds out.

Every word a person wrote (a customer, an agent, a model repeating a customer) is escaped where
it could break the markup around it or ping anyone: `@everyone` typed by a customer reaches
agents as text, never as a ping (the workspace should still send with no mentions allowed but
the ones it means). Times are Discord timestamps, so each reader sees their own time zone.
Every content is at most 2,000 characters (long texts are returned as pieces) and every embed
stays within Discord's limits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Final

import discord

from bot.core.domain import (
    Agent,
    Attachment,
    Customer,
    Direction,
    Message,
    Priority,
    Status,
    Ticket,
    Triage,
)
from bot.core.outbound import (
    TranslationShown,
)
from bot.core.text import split_message

# Discord's limits (discord-api-docs, message and embed resources).
CONTENT_LIMIT: Final = 2000
THREAD_NAME_LIMIT: Final = 100
TITLE_LIMIT: Final = 256
DESCRIPTION_LIMIT: Final = 4096
FIELD_NAME_LIMIT: Final = 256
FIELD_LIMIT: Final = 1024
FOOTER_LIMIT: Final = 2048
AUTHOR_LIMIT: Final = 256
EMBED_TOTAL: Final = 6000

STATUS_LABEL: Final = {
    Status.NEW: "🆕 New",
    Status.CLAIMED: "🙋 Claimed",
    Status.ESCALATED: "⏫ Escalated",
    Status.PENDING: "⏳ Waiting on customer",
    Status.RESOLVED: "✅ Resolved",
    Status.CLOSED: "🔒 Closed",
}
PRIORITY_LABEL: Final = {
    Priority.URGENT: "🔴 Urgent",
    Priority.HIGH: "🟠 High",
    Priority.NORMAL: "🔵 Normal",
    Priority.LOW: "⚪ Low",
}
# A closed, resolved, escalated or waiting ticket shows its status; one in play its priority.
STATUS_COLOUR: Final = {
    Status.CLOSED: discord.Colour.dark_grey(),
    Status.RESOLVED: discord.Colour.green(),
    Status.ESCALATED: discord.Colour.red(),
    Status.PENDING: discord.Colour.gold(),
}
PRIORITY_COLOUR: Final = {
    Priority.URGENT: discord.Colour.red(),
    Priority.HIGH: discord.Colour.orange(),
    Priority.NORMAL: discord.Colour.blurple(),
    Priority.LOW: discord.Colour.light_grey(),
}
# The languages support teams meet most (ISO 639-1); any other is shown by its code.
LANGUAGES: Final = {
    "ar": "Arabic", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "fi": "Finnish", "fr": "French", "he": "Hebrew",
    "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese",
    "ro": "Romanian", "ru": "Russian", "sv": "Swedish", "th": "Thai", "tr": "Turkish",
    "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip
NO_TEXT: Final = "*(no text)*"
NAME_LIMIT: Final = 100  # characters of a person's name in a line
NO_SUBJECT: Final = "(no subject)"

# --- escaping -------------------------------------------------------------------------------

# An @ that would ping: before everyone, here, or an id (a user's or a role's), maybe behind
# markup or escapes. A zero-width space after it keeps the text and drops the ping.
_PING = re.compile(r"@(?=[\\*_~|`]*(?:everyone|here|[!&]?[0-9]))", re.IGNORECASE)
_MASKED_LINK = re.compile(r"\[([^\[\]\n]*)\]\(\s*<?([^()\s<>]*)>?\s*\)")
_FENCE = "```"


def no_pings(text: str) -> str:
    """Text that mentions nobody: every @ that could ping is defused, the rest kept."""
    return _PING.sub("@\u200b", text)


def escape(text: str) -> str:
    """A person's words shown as typed: no markup of theirs applies, nobody is pinged."""
    return no_pings(discord.utils.escape_markdown(text))


def inline(text: str) -> str:
    """A person's words on one line (a name, a subject): whitespace collapsed, escaped."""
    return escape(" ".join(text.split()))


def markdown(text: str) -> str:
    """A person's Discord Markdown, kept as they wrote it, pinging nobody; an unclosed code
    block is closed, so it cannot swallow what follows."""
    text = no_pings(text)
    return f"{text}\n{_FENCE}" if text.count(_FENCE) % 2 else text


def defused(text: str) -> str:
    """A model's Markdown: kept, but a masked link shows where it goes (the words may be a
    customer's, and a label can say anything)."""
    return markdown(_MASKED_LINK.sub(r"\1 (<\2>)", text))


def name_of(text: str) -> str:
    """A person's name in a line: escaped, at most `NAME_LIMIT` characters, never empty."""
    return clip(inline(text), NAME_LIMIT) or "(no name)"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pieces(text: str) -> list[str]:
    """Content in messages Discord takes whole (at least one)."""
    return split_message(text, CONTENT_LIMIT) or [NO_TEXT]


def when(at: datetime) -> str:
    """An instant each reader sees in their own time zone."""
    return f"<t:{int(at.timestamp())}:f>"


def relative(at: datetime) -> str:
    return f"<t:{int(at.timestamp())}:R>"


def due(at: datetime) -> str:
    return f"{when(at)} ({relative(at)})"


def stars(rating: int) -> str:
    return f"{'★' * rating}{'☆' * (5 - rating)} {rating}/5"


def is_discord_user(agent_id: str) -> bool:
    return agent_id.isascii() and agent_id.isdigit()


def person(agent: Agent | None, nobody: str = "Unassigned") -> str:
    """An agent as Discord shows them: a mention for a Discord user, anyone else (an agent in
    another workspace) by name."""
    if agent is None:
        return nobody
    if is_discord_user(agent.id):
        return f"<@{agent.id}>"
    return f"**{name_of(agent.name)}**"


def language_name(code: str | None) -> str:
    if not code:
        return "an unknown language"
    return LANGUAGES.get(code.lower(), inline(code))


# --- the card ------------------------------------------------------------------------------


def thread_name(ticket: Ticket) -> str:
    """The ticket's thread (or forum post) name: `#N · subject`, one line, 1..100 characters.
    Discord shows a thread name as plain text: nothing to escape."""
    subject = " ".join(ticket.subject.split()) or NO_SUBJECT
    return clip(f"#{ticket.number} · {subject}", THREAD_NAME_LIMIT)


def subject_of(ticket: Ticket) -> str:
    """The ticket's subject on one line, escaped; never empty."""
    return inline(ticket.subject) or NO_SUBJECT


def card_embed(ticket: Ticket, customer: Customer) -> discord.Embed:
    """The ticket's card: its facts as fields, coloured by status or priority."""
    embed = discord.Embed(
        title=clip(f"#{ticket.number} · {subject_of(ticket)}", TITLE_LIMIT),
        colour=STATUS_COLOUR.get(ticket.status, PRIORITY_COLOUR[ticket.priority]),
        timestamp=ticket.updated_at,
    )
    for name, value in card_fields(ticket, customer):
        embed.add_field(name=name, value=clip(value, FIELD_LIMIT), inline=True)
    if ticket.triage is not None:
        value = triage_text(ticket.triage, ticket.subject)
        embed.add_field(name="AI triage", value=clip(value, FIELD_LIMIT), inline=False)
    embed.set_footer(text=f"Ticket #{ticket.number} · updated")
    return embed


def card_fields(ticket: Ticket, customer: Customer) -> list[tuple[str, str]]:
    """The card's facts, as (name, value), in the order shown."""
    who = name_of(customer.display_name)
    fields = [
        ("Customer", f"{who} ({customer.platform.title()})"),
        ("Status", STATUS_LABEL[ticket.status]),
        ("Priority", PRIORITY_LABEL[ticket.priority]),
        ("Tier", str(ticket.tier)),
        ("Assignee", person(ticket.assignee)),
        ("Opened", when(ticket.created_at)),
    ]
    if ticket.due_at is not None and ticket.status.is_open:
        fields.append(("SLA due", due(ticket.due_at)))
    if ticket.resolved_at is not None:
        fields.append(("Resolved", when(ticket.resolved_at)))
    if ticket.csat_rating is not None:
        fields.append(("Satisfaction", stars(ticket.csat_rating)))
    return fields


def triage_text(triage: Triage, subject: str) -> str:
    """The triage, with who gave it (the model, the keywords, an agent), and the model's
    summary line when it says more than the subject."""
    parts = [
        f"Category: {inline(triage.category)} ({_percent(triage.category_confidence)})",
        f"Sentiment: {inline(triage.sentiment)} ({_percent(triage.sentiment_confidence)})",
    ]
    if triage.language:
        parts.append(f"Language: {language_name(triage.language)}")
    priority = triage.priority.value.title()
    parts.append(f"Suggested priority: {priority} ({_percent(triage.priority_confidence)})")
    if triage.edited_by:
        parts.append(f"edited by {name_of(triage.edited_by)}")
    else:
        parts.append("by the model" if triage.by_model else "by keywords")
    text = " · ".join(parts)
    title = " ".join(triage.title.split())
    if title and title.casefold() != " ".join(subject.split()).casefold():
        text += f"\n**Summary line:** {escape(title)}"
    return text


def _percent(confidence: float) -> str:
    return f"{round(min(max(confidence, 0.0), 1.0) * 100)}%"


# --- messages ------------------------------------------------------------------------------


def customer_embeds(
    message: Message, customer: Customer, translation: TranslationShown | None = None
) -> list[discord.Embed]:
    """A customer's message under their name and avatar (their Markdown kept, nobody pinged),
    its files listed; struck through once they deleted it; with the translation beneath it
    when there is one."""
    embed = discord.Embed(colour=discord.Colour.blurple(), timestamp=message.created_at)
    # An author's name shows no Markdown (nothing to escape) and never pings; defused anyway.
    name = no_pings(" ".join(customer.display_name.split()))
    author = clip(f"{name} ({customer.platform.title()})", AUTHOR_LIMIT)
    embed.set_author(name=author, icon_url=customer.avatar_url)
    if message.deleted_at is not None:
        embed.colour = discord.Colour.dark_grey()
        embed.description = _struck(message.body, "*(deleted by the customer)*")
    elif message.body.strip():
        embed.description = _clipped(markdown(message.body.strip()), DESCRIPTION_LIMIT)
    elif not message.attachments:
        embed.description = "*(empty message)*"
    if message.attachments:
        embed.add_field(name="Attachments", value=_file_lines(message.attachments), inline=False)
    if translation is not None and message.deleted_at is None:
        source = f" from {language_name(translation.source)}" if translation.source else ""
        text = clip(defused(translation.text), FIELD_LIMIT)
        name = clip(f"🌐 Translated{source}", FIELD_NAME_LIMIT)
        embed.add_field(name=name, value=text or NO_TEXT, inline=False)
    if message.edited_at is not None and message.deleted_at is None:
        embed.set_footer(text="(edited)")
    return [_fit(embed)]


def agent_copy(message: Message, written_in: str) -> list[str]:
    """An agent's reply or internal note written in another workspace (`written_in`, such as
    "Slack"), under a line that says who wrote it, where, and for whom; in pieces."""
    who, where = name_of(message.author.name), inline(written_in)
    if message.direction is Direction.NOTE:
        head = f"📝 **{who}** ({where}) · internal note, not sent to the customer:"
    else:
        head = f"**{who}** ({where}) → customer:"
    if message.deleted_at is not None:
        return pieces(f"{head}\n{_struck(message.body, '*(deleted by its author)*')}")
    lines = [head, markdown(message.body.strip()) or NO_TEXT]
    lines += [file_line(a) for a in message.attachments]
    if message.edited_at is not None:
        lines.append("*(edited)*")
    return pieces("\n".join(lines))


HISTORY: Final = 20  # messages of a lost thread shown again in the new one
HISTORY_LINE: Final = 200  # characters of each


def history_text(shown: Sequence[Message]) -> list[str]:
    """The first message of a re-created thread: why, and what the lost one showed."""
    lines = ["♻️ This ticket's thread was gone (deleted?), so it was made again here."]
    if shown:
        recent = shown[-HISTORY:]
        earlier = len(shown) - len(recent)
        more = f", {earlier} earlier not shown" if earlier else ""
        lines.append(f"**Recent history** (last {len(recent)} messages{more}):")
        for message in recent:
            role = {
                Direction.FROM_CUSTOMER: "customer",
                Direction.TO_CUSTOMER: "reply",
                Direction.NOTE: "📝 internal note",
            }[message.direction]
            text = clip(" ".join(message.body.split()), HISTORY_LINE)
            who = name_of(message.author.name)
            lines.append(
                f"• {when(message.created_at)} **{who}** ({role}): {escape(text) or NO_TEXT}"
            )
    return pieces("\n".join(lines))


def file_line(attachment: Attachment) -> str:
    size = attachment.size
    shown = f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} B"
    name = inline(attachment.filename.replace("[", "(").replace("]", ")")) or "file"
    url = attachment.url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    if url.startswith(("https://", "http://")):
        return f"📎 [{clip(name, 200)}](<{url}>) ({shown})"
    return f"📎 {clip(name, 200)} ({shown})"


def _file_lines(attachments: Sequence[Attachment]) -> str:
    """As many file lines as fit in a field, and how many more there are."""
    lines: list[str] = []
    for at, attachment in enumerate(attachments):
        line = clip(file_line(attachment), 900)
        more = len(attachments) - at - 1
        tail = f"\n… and {more} more" if more else ""
        if len("\n".join([*lines, line])) + len(tail) > FIELD_LIMIT:
            return "\n".join([*lines, f"… and {len(attachments) - at} more"])
        lines.append(line)
    return "\n".join(lines)


def _struck(body: str, note: str) -> str:
    struck = "\n".join(f"~~{escape(line.strip())}~~" for line in body.splitlines() if line.strip())
    return clip(f"{struck}\n{note}" if struck else note, DESCRIPTION_LIMIT)


def _clipped(text: str, limit: int) -> str:
    """A long text cut to fit, saying how much was left out."""
    if len(text) <= limit:
        return text
    note = f"\n\n*(cut: {len(text)} characters in all, the rest is not shown)*"
    return text[: limit - len(note) - 1] + "…" + note


def _fit(embed: discord.Embed) -> discord.Embed:
    """Within Discord's 6,000 characters for an embed: the description gives way."""
    over = len(embed) - EMBED_TOTAL
    if over > 0 and embed.description:
        embed.description = clip(embed.description, max(len(embed.description) - over, 1))
    return embed
