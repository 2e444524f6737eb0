"""Several waiting messages of one customer as one Slack post. Pure: messages in, blocks out.

When customers write faster than Slack lets Threadline post into a channel (about one post a
second), their messages queue up behind the pacing. The dispatcher then takes a ticket's
consecutive waiting messages together, and they are posted as one message of one section each.
Each message stays its own: its section's `block_id` names it, its copy's ref is the post's
with `#<message id>` after it (`part_ref`), so an edit, a deletion or a translation line
rewrites its own section and leaves the others as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.delivery import GROUP_MOST
from bot.core.domain import Message, MessageId
from integrations.slack.assist_posts import sections
from integrations.slack.blocks import SECTION_LIMIT, Block
from integrations.slack.copies import TEXT_LIMIT, message_pieces
from integrations.slack.refs import split_ref

# Sections one message may grow to by an edit; with a line beneath, 5 blocks a message and 50
# (Slack's most) for a post of GROUP_MOST.
PART_BLOCKS = 4
PART = "#"  # between a post's ref and the message it holds, in a part's ref
BLOCK = "msg"  # a part's block ids: "msg<id>", then "msg<id>.1", "msg<id>.2", …


def part_ref(channel: str, ts: str, message_id: MessageId) -> str:
    """The ref of one message's copy in a post of several."""
    return f"{channel}:{ts}{PART}{message_id}"


def split_part(ref: str) -> tuple[str, str, MessageId | None]:
    """(channel, ts, message) of a copy's ref: the message held in the post, None when the
    post is the message's alone. ValueError if it is no Slack ref."""
    channel, ts = split_ref(ref)
    ts, _, part = ts.partition(PART)
    return channel, ts, MessageId(int(part)) if part.isdigit() else None


def groupable(message: Message | None) -> bool:
    """Whether a message can be one section of a shared post: words only (a file is uploaded
    on its own), short enough for one section, not deleted while it waited."""
    if message is None or message.attachments or message.deleted_at is not None:
        return False
    pieces = message_pieces(message)
    return len(pieces) == 1 and len(pieces[0]) <= SECTION_LIMIT


def group_size(messages: Sequence[Message | None]) -> int:
    """How many of these consecutive messages (the first is the lane's head) go in one post:
    the groupable ones from the start, within one post's limits; 1 when fewer than two."""
    size, length = 0, 0
    for message in messages[:GROUP_MOST]:
        if message is None or not groupable(message):
            break
        length += len(message_pieces(message)[0]) + 1
        if length > TEXT_LIMIT:
            break
        size += 1
    return size if size >= 2 else 1


def group_post(messages: Sequence[Message]) -> tuple[str, list[Block]]:
    """The post holding `messages`: its notification text and one section per message."""
    texts = [message_pieces(message)[0] for message in messages]
    blocks = [
        block
        for message, text in zip(messages, texts, strict=True)
        for block in part(message.id, text)
    ]
    return "\n".join(texts), blocks


def part(message_id: MessageId, text: str, beneath: Sequence[Block] = ()) -> list[Block]:
    """One message's blocks in a shared post: its mrkdwn in sections, then `beneath` (a
    translation line), each with a block id naming the message."""
    blocks = [*sections(text, PART_BLOCKS), *beneath]
    first = f"{BLOCK}{message_id}"
    return [
        {**block, "block_id": first if index == 0 else f"{first}.{index}"}
        for index, block in enumerate(blocks)
    ]


def replaced(blocks: Sequence[Block], message_id: MessageId, new: Sequence[Block]) -> list[Block]:
    """A shared post's blocks with one message's replaced by `new`, where they were; the
    others as they are. Unchanged when the post holds no such message."""
    mine = [_holds(block, message_id) for block in blocks]
    if not any(mine):
        return list(blocks)
    at = mine.index(True)
    others = [block for block, is_mine in zip(blocks, mine, strict=True) if not is_mine]
    return [*others[:at], *new, *others[at:]]


def text_of(blocks: Sequence[Block]) -> str:
    """A shared post's notification text: what its sections say."""
    texts = [
        str((block.get("text") or {}).get("text") or "")
        for block in blocks
        if block.get("type") == "section"
    ]
    return "\n".join(t for t in texts if t) or " "


def _holds(block: Block, message_id: MessageId) -> bool:
    block_id = str(block.get("block_id") or "")
    first = f"{BLOCK}{message_id}"
    return block_id == first or block_id.startswith(f"{first}.")
