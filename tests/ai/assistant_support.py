"""What the assistant's tests share: conversations, and each method called the same way."""

from __future__ import annotations

from typing import Any

from bot.core.assist import Conversation, Speaker, Turn
from integrations.ai.assistant import ModelAssistant

QUESTION = "How long does a refund take to show on my card?"
EMAIL = "alice.doe@example.com"
CARD = "4111 1111 1111 1111"  # Luhn-valid (a test card number)


def conversation(*turns: tuple[Speaker, str, str], language: str | None = None) -> Conversation:
    return Conversation(
        1001, "Refund", tuple(Turn(who, name, text) for who, name, text in turns), language
    )


def customer(text: str) -> tuple[Speaker, str, str]:
    return (Speaker.CUSTOMER, "Alice Doe", text)


def agent(text: str) -> tuple[Speaker, str, str]:
    return (Speaker.AGENT, "Bob", text)


def note(text: str) -> tuple[Speaker, str, str]:
    return (Speaker.NOTE, "Bob", text)


REFUND = conversation(
    customer(f"Hi, I returned the shoes last week. {QUESTION}"),
    agent("Thanks Alice, let me check."),
    note("She is a long-time customer."),
    customer("Any news?"),
)
REFUND_TEXT = f"I was charged twice for my order and want a refund. {QUESTION}"

METHODS = ("triage", "summarise", "draft", "translate", "auto_answer")


async def call(assistant: ModelAssistant, method: str, *, use_model: bool = True) -> Any:
    """One of the assistant's model-backed methods, on inputs for which it would ask the
    model (articles above the cut-off, a text in another language than the target)."""
    if method == "triage":
        return await assistant.triage(REFUND_TEXT, use_model=use_model)
    if method == "summarise":
        return await assistant.summarise(REFUND, use_model=use_model)
    if method == "draft":
        return await assistant.draft(REFUND, use_model=use_model)
    if method == "translate":
        return await assistant.translate(REFUND_TEXT, "de", use_model=use_model)
    return await assistant.auto_answer(REFUND, use_model=use_model)


def assert_fell_back(method: str, result: Any, reason: str) -> None:
    """`result` is what `method` gives without a model, for `reason`."""
    assert result.fallback == reason
    assert result.spent == ()
    if method == "triage":
        assert result.triage.by_model is False
        assert result.triage.category == "Billing"  # the keywords' choice
    elif method == "summarise":
        assert result.text.startswith("Customer (Alice Doe): Hi, I returned the shoes")
    elif method == "draft":
        assert result.text is None
        assert [c.slug for c in result.citations][:1] == ["refunds"]  # articles that may help
    elif method == "translate":
        assert (result.text, result.source, result.target) == (None, "en", "de")
    else:
        assert (result.action, result.text) == ("none", None)
