"""How a customer's message and a lost thread's history read in a ticket's Slack thread. Pure:
messages in, mrkdwn out, in pieces Slack takes whole."""

from __future__ import annotations

from bot.core.domain import Attachment, Direction, Message, Ticket
from bot.core.text import split_message
from integrations.slack.blocks import date_token, escape
from integrations.slack.mrkdwn import to_slack

# Slack truncates text past 40,000 characters; stay clear of it and split instead.
TEXT_LIMIT = 39_000
HISTORY = 20  # messages of a lost thread shown again in the new one
HISTORY_LINE = 300  # characters of each


def message_pieces(message: Message, linked: list[Attachment] | None = None) -> list[str]:
    """The message as posted in the thread, split where Slack would cut it; with a line for each
    file in `linked` (every file, unless told which ones are not uploaded)."""
    text = to_slack(message.body)  # the customer's Discord Markdown, as Slack shows it
    files = [file_line(a) for a in (message.attachments if linked is None else linked)]
    pieces = split_message("\n".join([text, *files]), TEXT_LIMIT)
    if pieces:
        return pieces
    count = len(message.attachments)
    return [f":paperclip: {count} attachment(s)" if count else "_(empty message)_"]


def agent_copy(message: Message) -> str:
    """An agent's reply or note written in another workspace, as this thread shows it (the
    body is Discord Markdown there: a reply as the customer reads it, a note as typed)."""
    text = to_slack(message.body).strip() or "_(no text)_"
    files = [file_line(a) for a in message.attachments]
    shown = "\n".join([text, *files])
    if message.direction is Direction.NOTE:
        return f":memo: _Internal note, not sent to the customer_\n{shown}"
    return shown


def history(intro: str, shown: list[Message]) -> str:
    """The first message of a thread made anew: why (`intro`), and what the old one showed."""
    lines = [intro]
    if shown:
        recent = shown[-HISTORY:]
        earlier = len(shown) - len(recent)
        more = f", {earlier} earlier not shown" if earlier else ""
        lines.append(f"*Recent history* (last {len(recent)} messages{more}):")
        lines += [_history_line(m) for m in recent]
    return "\n".join(lines)


def moved_line(old_channel: str, why: str) -> str:
    """Why a ticket's thread is now here: a route sent it from `old_channel`."""
    return f":arrow_right: This ticket moved here from <#{old_channel}>: {escape(why)}."


def moved_away_line(ticket: Ticket, channel: str, why: str) -> str:
    """What a moved ticket's old card says instead: where its thread is now."""
    return (
        f":arrow_right: Ticket #{ticket.number} moved to <#{channel}> ({escape(why)}): "
        "its thread goes on there. Nothing written here reaches the customer."
    )


def _history_line(message: Message) -> str:
    who = escape(message.author.name)
    role = {
        Direction.FROM_CUSTOMER: "customer",
        Direction.TO_CUSTOMER: "reply",
        Direction.NOTE: ":memo: internal note",
    }[message.direction]
    text = " ".join(message.body.split())
    if len(text) > HISTORY_LINE:
        text = text[: HISTORY_LINE - 1] + "…"
    files = f" (+{len(message.attachments)} file(s))" if message.attachments else ""
    when = date_token(message.created_at)
    return f"• {when} *{who}* ({role}): {escape(text) or '_(no text)_'}{files}"


def file_line(attachment: Attachment) -> str:
    size = f"{attachment.size / 1024:.0f} KB" if attachment.size >= 1024 else f"{attachment.size} B"
    return f":paperclip: <{attachment.url}|{escape(attachment.filename)}> ({size})"
