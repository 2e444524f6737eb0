"""A ticket's messages as the assistant reads them (`Conversation`), bounded so that a long
ticket costs a bounded prompt."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.assist import Conversation, Speaker, Turn
from bot.core.domain import Actor, ActorKind, Direction, Message, Ticket

# Who the automated answers are from, in the ticket's history.
ASSISTANT_ACTOR = Actor(ActorKind.SYSTEM, "assistant", "Threadline assistant")

MAX_TURNS = 30  # the most recent ones; the first customer message is always kept
MAX_TURN_CHARS = 2000


def conversation_of(
    ticket: Ticket, customer_name: str, messages: Sequence[Message], language: str | None
) -> Conversation:
    turns = [turn for message in messages if (turn := _turn(message, customer_name))]
    if len(turns) > MAX_TURNS:
        turns = turns[:1] + turns[-(MAX_TURNS - 1) :]
    return Conversation(int(ticket.number), ticket.subject, tuple(turns), language)


def _turn(message: Message, customer_name: str) -> Turn | None:
    if message.deleted_at is not None or not message.body.strip():
        return None
    text = message.body[:MAX_TURN_CHARS]
    if message.direction is Direction.FROM_CUSTOMER:
        return Turn(Speaker.CUSTOMER, customer_name, text)
    if message.direction is Direction.NOTE:
        return Turn(Speaker.NOTE, message.author.name, text)
    if message.author.id == ASSISTANT_ACTOR.id and message.author.kind is ActorKind.SYSTEM:
        return Turn(Speaker.ASSISTANT, "Threadline", text)
    return Turn(Speaker.AGENT, message.author.name, text)
