"""What the AI features show agents in a ticket's Slack thread: summaries, drafted replies with
Send, Edit and Discard, translation lines, automated answers and hand-offs. Pure: an event in,
mrkdwn and Block Kit out.

A model's words carry the customer's words with them, so every one is escaped before it is
shown: a summary cannot ping the channel or forge a link. Each post says whom it is for; none of
them is ever sent to the customer from here (a draft reaches the customer only through its Send
button, as the agent's own reply).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from bot.core.assist import Citation, decode_citations
from bot.core.domain import Attachment, Message, Ticket
from bot.core.outbound import (
    AutoAnswered,
    DraftOffered,
    HandedOff,
    ReplyTranslated,
    SummaryShown,
    TranslationShown,
)
from bot.core.text import split_message
from integrations.slack.blocks import SECTION_LIMIT, Block, escape
from integrations.slack.copies import TEXT_LIMIT, message_pieces
from integrations.slack.mrkdwn import to_slack

# A post: its plain-text fallback (notifications, screen readers) and its blocks.
Post = tuple[str, list[Block]]

# The drafted reply's buttons; the handlers (assist_controls.py) find them by these ids.
DRAFT_BLOCK: Final = "draft_actions"
DRAFT_SEND: Final = "draft_send"
DRAFT_EDIT: Final = "draft_edit"
DRAFT_DISCARD: Final = "draft_discard"

MESSAGE_BLOCKS: Final = 50  # Slack's limit for one message
CONTEXT_ITEMS: Final = 10  # elements in one context block
CONTEXT_TEXT: Final = 3000  # characters in one of them
# Blocks a post keeps for its words, leaving room for its heading, sources and buttons.
TEXT_BLOCKS: Final = MESSAGE_BLOCKS - 6

OCCASIONS: Final = {"escalation": "on escalation", "takeover": "when taken over"}
# The languages support teams meet most (ISO 639-1), named as agents read them; any other is
# shown by its code.
LANGUAGES: Final = {
    "ar": "Arabic",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "fi": "Finnish",
    "fr": "French",
    "he": "Hebrew",
    "hi": "Hindi",
    "hu": "Hungarian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sv": "Swedish",
    "th": "Thai",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "zh": "Chinese",
}


def language_name(code: str | None) -> str:
    """A language as agents read it: its English name, else its code."""
    if not code:
        return "an unknown language"
    return LANGUAGES.get(code.lower(), escape(code))


# --- the posts ---------------------------------------------------------------------------


def summary_post(event: SummaryShown) -> Post:
    """A summary as an internal note: a heading that says so, the text, and why no model wrote
    it when none did."""
    when = OCCASIONS.get(event.occasion)
    if when is None:
        when = f"asked by {escape(event.by)}" if event.by else "asked for"
    heading = f":memo: Summary · {when} · internal, not sent to the customer"
    text = escape(event.text)
    blocks = [context(heading), *sections(text)]
    if event.fallback:
        blocks.append(context(f"Written without a model: {escape(event.fallback)}"))
    return _fallback_text(heading, text), blocks


# The draft's heading: once it is decided, it no longer says "not sent".
DRAFT_HEADING = "draft_heading"
DECIDED_HEADING = ":pencil2: Drafted reply"


def draft_post(event: DraftOffered) -> Post:
    """A drafted reply with Send, Edit and Discard; or, with no draft, the articles that may
    help. Shown as the customer would read it (the draft is their Markdown), for agents only."""
    citations = decode_citations(event.citations)
    if event.text is None:
        return _no_draft_post(event, citations)
    asked = f" · asked by {escape(event.asked_by)}" if event.asked_by else ""
    heading = f":pencil2: Drafted reply · for agents only, not sent{asked}"
    text = to_slack(event.text) or "_(empty draft)_"
    blocks = [{**context(heading), "block_id": DRAFT_HEADING}, *sections(text)]
    if citations:
        blocks.append(context(sources_line(citations)))
    if event.fallback:
        blocks.append(context(f"Written without a model: {escape(event.fallback)}"))
    if event.draft_id is not None:
        blocks.append(draft_actions(event.draft_id))
    return _fallback_text(heading, text), blocks


def _no_draft_post(event: DraftOffered, citations: tuple[Citation, ...]) -> Post:
    line = ":mag: No article matches this question"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": line}}]
    if citations:
        blocks.append(context(sources_line(citations, "Articles that may help")))
    if event.fallback:
        blocks.append(context(f"No draft was written: {escape(event.fallback)}"))
    return line, blocks


def draft_actions(draft_id: int) -> Block:
    """Send, Edit and Discard, each carrying the draft's id."""
    value = str(draft_id)
    buttons = (
        (DRAFT_SEND, "Send", "primary"),
        (DRAFT_EDIT, "Edit", None),
        (DRAFT_DISCARD, "Discard", None),
    )
    elements: list[Block] = []
    for action_id, label, style in buttons:
        button: Block = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label},
            "value": value,
        }
        if style:
            button["style"] = style
        elements.append(button)
    return {"type": "actions", "block_id": DRAFT_BLOCK, "elements": elements}


def reply_translated_post(event: ReplyTranslated) -> Post:
    """What an agent's reply went out as: the translation, or why it went as written."""
    if event.text is None:
        reason = escape(event.fallback or "no translation was made")
        line = f":warning: Sent as written, not translated: {reason}"
    else:
        target = language_name(event.target)
        line = f":globe_with_meridians: Sent to the customer in {target}: {escape(event.text)}"
    return _clip(line, TEXT_LIMIT), [context(line)]


def auto_answer_post(message: Message, event: AutoAnswered) -> Post:
    """The automated answer the customer was sent, as they read it, with its sources."""
    heading = ":robot_face: Automated answer sent to the customer:"
    text = to_slack(message.body) or "_(no text)_"
    blocks = [context(heading), *sections(text)]
    citations = decode_citations(event.citations)
    if citations:
        blocks.append(context(sources_line(citations)))
    return _fallback_text(heading, text), blocks


def handed_off_line(ticket: Ticket, event: HandedOff) -> str:
    """A person is wanted; the ticket's assignee, if it has one, is mentioned."""
    if event.by_customer:
        line = ":raising_hand: The customer asked for a person"
    else:
        line = ":raising_hand: The assistant could not answer; a person is needed"
    return f"{line}: <@{ticket.assignee.id}>" if ticket.assignee else line


def sources_line(citations: Sequence[Citation], label: str = "Sources") -> str:
    listed = ", ".join(f"{escape(c.title)} (relevance {c.relevance:.2f})" for c in citations)
    return f"{label}: {listed}"


# --- the translation line beneath a customer's message ------------------------------------


def edited_text(message: Message) -> str:
    """What the first copy of a customer's edited message shows (a copy_edited writes it)."""
    text = message_pieces(message)[0] if message.body.strip() else "_(emptied)_"
    return f"{text}\n_(edited)_"


def shown_copy(
    message: Message, copies: Sequence[str], linked: list[Attachment]
) -> tuple[str, str] | None:
    """The copy of a customer's message that takes a line beneath it, and the mrkdwn it shows
    now: the last piece of a split message, as posted (`linked`: the files too large to upload,
    which it lists). An edited message: its first copy, the only one an edit rewrites; so too
    when the copies recorded are not the pieces (a message from before every piece was
    recorded). None for a deleted message, or one with no copy here."""
    if not copies or message.deleted_at is not None:
        return None
    if message.edited_at is not None:
        return copies[0], edited_text(message)
    pieces = message_pieces(message, linked)
    if len(pieces) == len(copies):
        return copies[-1], pieces[-1]
    return copies[0], pieces[0]


def translated_copy(shown: str, event: TranslationShown) -> list[Block]:
    """A copy as it shows (`shown`, its mrkdwn), with the translation line beneath it."""
    return [*sections(shown), context(translation_line(event))]


def translation_line(event: TranslationShown) -> str:
    source = f" from {language_name(event.source)}" if event.source else ""
    return f":globe_with_meridians: Translated{source}: {escape(event.text)}"


# --- blocks ----------------------------------------------------------------------------------


def sections(text: str, most: int = TEXT_BLOCKS) -> list[Block]:
    """Mrkdwn in sections of at most Slack's 3,000 characters each (cut where split_message
    cuts), at most `most` of them, the last clipped if it comes to that."""
    pieces = split_message(text, SECTION_LIMIT) or ["_(no text)_"]
    if len(pieces) > most:
        pieces = [*pieces[: most - 1], _clip(pieces[most - 1] + " …", SECTION_LIMIT)]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": p}} for p in pieces]


def context(text: str) -> Block:
    """A context block (small grey text); a long text is spread over its elements."""
    pieces = split_message(text, CONTEXT_TEXT) or [" "]
    if len(pieces) > CONTEXT_ITEMS:
        last = CONTEXT_ITEMS - 1
        pieces = [*pieces[:last], _clip(pieces[last] + " …", CONTEXT_TEXT)]
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": p} for p in pieces]}


def _fallback_text(heading: str, text: str) -> str:
    return _clip(f"{heading}\n{text}", TEXT_LIMIT)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
