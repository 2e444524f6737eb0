"""The assistant on the real `openai` client against the sandbox model: each method with a
model, and each way of falling back (no model, the budget spent, a model that fails, is slow,
rate-limits, answers malformed JSON or refuses). Drafts, automated answers, redaction and
prompt injection: `test_assistant_answers.py`."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.core.ai_policy import AiPolicy
from bot.core.domain import Priority
from bot.core.ports import Assistant
from integrations.ai.assistant import ModelAssistant, build_assistant
from integrations.sandbox.openai import OpenAIEmulator
from tests.ai.assistant_support import (
    EMAIL,
    METHODS,
    REFUND,
    REFUND_TEXT,
    agent,
    assert_fell_back,
    call,
    conversation,
    customer,
    note,
)
from tests.ai.conftest import KNOWLEDGE, MODEL, MakeAssistant


def _is_an_assistant(found: ModelAssistant) -> Assistant:
    return found  # mypy checks that ModelAssistant implements the port


def triage_json(**changes: Any) -> dict[str, Any]:
    """A model's triage answer."""
    return {
        "category": "Billing",
        "category_confidence": 0.9,
        "priority": "high",
        "priority_confidence": 0.8,
        "sentiment": "negative",
        "sentiment_confidence": 0.7,
        "language": "en",
        "title": "Charged twice",
        **changes,
    }


# Triage -----------------------------------------------------------------------------------------


async def test_triage_asks_the_model_for_one_of_the_teams_categories(
    make_assistant: MakeAssistant, emulator: OpenAIEmulator
) -> None:
    policy = AiPolicy.model_validate(
        {"categories": [{"name": "Bugs"}, {"name": "billing", "keywords": ["charged"]}]}
    )
    found = await make_assistant(policy).triage(REFUND_TEXT, use_model=True)

    assert found.fallback is None
    assert found.triage.by_model is True
    assert found.triage.category == "billing"  # as the team wrote it
    assert found.triage.priority is Priority.HIGH  # "charged twice"
    assert found.triage.language == "en"
    [spent] = found.spent
    assert spent.model == MODEL
    assert spent.prompt_tokens > 0
    assert spent.completion_tokens > 0
    [asked] = emulator.chat_calls
    assert "<task>triage</task>" in asked.text
    assert "<categories>Bugs, billing</categories>" in asked.text
    assert asked.body["response_format"]["json_schema"]["name"] == "Triage"


async def test_a_category_outside_the_list_becomes_the_keywords_choice(
    make_assistant: MakeAssistant, emulator: OpenAIEmulator
) -> None:
    emulator.reply_with(triage_json(category="Crypto scams", category_confidence=0.99))
    found = (await make_assistant().triage(REFUND_TEXT, use_model=True)).triage

    assert found.by_model is True
    assert (found.category, found.category_confidence) == ("Billing", 0.55)  # the keywords'
    assert found.priority is Priority.HIGH  # the rest is the model's
    assert found.title == "Charged twice"


async def test_a_category_is_matched_without_case_and_written_as_listed(
    make_assistant: MakeAssistant, emulator: OpenAIEmulator
) -> None:
    emulator.reply_with(triage_json(category="  billing "))
    found = (await make_assistant().triage(REFUND_TEXT, use_model=True)).triage
    assert found.category == "Billing"


@pytest.mark.parametrize(
    ("text", "model_says", "expected"),
    [
        (REFUND_TEXT, "fr", "en"),  # lingua is sure: it wins
        ("Rückerstattung bitte", "de", "de"),  # two words: lingua says nothing, the model does
        ("Rückerstattung bitte", "German", None),  # not an ISO 639-1 code
        ("Rückerstattung bitte", "PT-br", "pt"),
    ],
)
async def test_the_language_is_linguas_when_it_is_sure_and_else_the_models(
    make_assistant: MakeAssistant,
    emulator: OpenAIEmulator,
    text: str,
    model_says: str,
    expected: str | None,
) -> None:
    emulator.reply_with(triage_json(language=model_says))
    found = (await make_assistant().triage(text, use_model=True)).triage
    assert found.language == expected


async def test_a_title_quoting_a_placeholder_shows_the_real_value(
    make_assistant: MakeAssistant, emulator: OpenAIEmulator
) -> None:
    emulator.reply_with(triage_json(title="Refund for [email 1]"))
    found = await make_assistant().triage(f"Refund please, I am {EMAIL} here", use_model=True)
    assert EMAIL not in emulator.chat_calls[0].text
    assert found.triage.title == f"Refund for {EMAIL}"


# Language ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ich wurde doppelt belastet", "de"),
        ("Mon colis n'est pas arrivé", "fr"),
        (REFUND_TEXT, "en"),
        ("danke schön", None),  # two words
        ("ok thx", None),
        ("https://example.com/orders/123 #4567", None),
    ],
)
async def test_detect_language(make_assistant: MakeAssistant, text: str, expected: str) -> None:
    assert await make_assistant().detect_language(text) == expected


# Translation ------------------------------------------------------------------------------------


async def test_a_translation_names_the_language_it_came_from(
    make_assistant: MakeAssistant, emulator: OpenAIEmulator
) -> None:
    found = await make_assistant().translate("Ich wurde doppelt belastet.", "en", use_model=True)

    assert (found.text, found.source, found.target) == ("I was charged twice.", "de", "en")
    assert found.fallback is None
    assert len(found.spent) == 1
    assert "<target_language>en</target_language>" in emulator.chat_calls[0].text


async def test_text_already_in_the_target_language_is_not_sent(
    make_assistant: MakeAssistant, emulator: OpenAIEmulator
) -> None:
    found = await make_assistant().translate(REFUND_TEXT, "en-GB", use_model=True)
    assert (found.text, found.source, found.fallback) == (None, "en", None)
    assert emulator.chat_calls == []


async def test_an_empty_translation_is_none(
    make_assistant: MakeAssistant, emulator: OpenAIEmulator
) -> None:
    emulator.reply_with({"translation": " ", "source_language": "de"})
    found = await make_assistant().translate("Ich wurde doppelt belastet", "en", use_model=True)
    assert (found.text, found.fallback) == (None, "the model gave no translation")
    assert len(found.spent) == 1


async def test_a_translation_puts_the_hidden_values_back(
    make_assistant: MakeAssistant, emulator: OpenAIEmulator
) -> None:
    text = f"Bitte schreiben Sie mir an {EMAIL}, ich warte seit einer Woche"
    found = await make_assistant().translate(text, "en", use_model=True)

    assert EMAIL not in emulator.chat_calls[0].text
    assert "[email 1]" in emulator.chat_calls[0].text
    assert found.text == f"(translated from de) {text}"  # the sandbox's unknown phrase


# Summary ----------------------------------------------------------------------------------------


async def test_a_summary_uses_the_summary_model_and_restores_hidden_values(
    make_assistant: MakeAssistant, emulator: OpenAIEmulator
) -> None:
    policy = AiPolicy.model_validate({"models": {"summary": "gpt-4o"}})
    ticket = conversation(customer(f"Please send the refund confirmation to {EMAIL}."))
    found = await make_assistant(policy).summarise(ticket, use_model=True)

    assert found.fallback is None
    assert found.text.startswith(f"Customer: Alice Doe says: Please send the refund confirmation "
                                 f"to {EMAIL}.")  # fmt: skip
    [asked] = emulator.chat_calls
    assert asked.body["model"] == "gpt-4o"
    assert found.spent[0].model == "gpt-4o"
    assert EMAIL not in asked.text
    assert "<team_language>en</team_language>" in asked.text
    assert '<ticket number="1001">Refund</ticket>' in asked.text


async def test_the_summary_without_a_model_is_made_of_the_conversations_lines(
    make_assistant: MakeAssistant,
) -> None:
    long = "Where is my parcel? " * 20
    ticket = conversation(
        customer(long), agent("Checking."), note("Courier asked."), customer("?!")
    )
    found = await make_assistant(model=False).summarise(ticket, use_model=True)

    first, last, counts = found.text.split("\n")
    assert first.startswith("Customer (Alice Doe): Where is my parcel?")
    assert first.endswith("…")
    assert len(first) <= len("Customer (Alice Doe): ") + 200
    assert last == "Last from the customer: ?!"
    assert counts == "Replies so far: 1; notes: 1"
    assert found.fallback == "no model configured"


# Every method, every fallback -------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
async def test_without_a_model_each_method_falls_back(
    make_assistant: MakeAssistant, emulator: OpenAIEmulator, method: str
) -> None:
    result = await call(make_assistant(model=False), method)
    assert_fell_back(method, result, "no model configured")
    assert emulator.chat_calls == []


@pytest.mark.parametrize("method", METHODS)
async def test_with_the_budget_spent_no_call_is_made(
    make_assistant: MakeAssistant, emulator: OpenAIEmulator, method: str
) -> None:
    result = await call(make_assistant(), method, use_model=False)
    assert_fell_back(method, result, "the day's token budget is spent")
    assert emulator.chat_calls == []


FAULTS: dict[str, tuple[str, dict[str, float], str]] = {
    "a server error": ("fail_next", {"count": 1}, "the model server answered 500"),
    "a timeout": ("delay_next", {"count": 1, "seconds": 2.0}, "no answer in time"),
    "malformed JSON": ("malformed_next", {}, "the answer did not match the schema"),
    "a refusal": ("refuse_next", {}, "the model refused"),
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("method", METHODS)
async def test_a_failing_model_means_a_fallback_not_an_error(
    make_assistant: MakeAssistant, emulator: OpenAIEmulator, method: str, fault: str
) -> None:
    arm, options, reason = FAULTS[fault]
    getattr(emulator.faults, arm)(**options)
    result = await call(make_assistant(timeout=0.3), method)
    assert_fell_back(method, result, reason)
    assert len(emulator.chat_calls) == 1


async def test_a_server_error_is_retried_twice_then_falls_back(
    make_assistant: MakeAssistant, emulator: OpenAIEmulator
) -> None:
    emulator.faults.fail_next(5)
    result = await make_assistant(retries=2).triage(REFUND_TEXT, use_model=True)
    assert result.fallback == "the model server answered 500"
    assert len(emulator.chat_calls) == 3


async def test_the_built_assistant_waits_out_a_rate_limit_then_answers(
    emulator: OpenAIEmulator,
) -> None:
    assistant = build_assistant(AiPolicy(), emulator.api_key, emulator.base_url, MODEL)
    emulator.faults.rate_limit_next(1, retry_after=0.2)
    found = await assistant.summarise(REFUND, use_model=True)
    assert found.fallback is None
    assert [c.status for c in emulator.chat_calls] == [429, 200]

    emulator.faults.rate_limit_next(3, retry_after=0.05)
    found = await assistant.summarise(REFUND, use_model=True)
    await assistant.aclose()
    assert found.fallback == "rate-limited by the model server"
    assert found.text.startswith("Customer (Alice Doe)")


# Building ---------------------------------------------------------------------------------------


async def test_without_a_key_or_server_the_built_assistant_has_no_model(
    caplog: pytest.LogCaptureFixture, tmp_path: Any
) -> None:
    policy = AiPolicy(knowledge=str(tmp_path / "missing"))
    with caplog.at_level(logging.WARNING):
        assistant = build_assistant(policy, None, None, MODEL)
        found = await assistant.draft(REFUND, use_model=True)
        await assistant.draft(REFUND, use_model=True)
        await assistant.aclose()  # nothing to close

    assert assistant.has_model is False
    assert (found.text, found.citations, found.fallback) == (None, (), "no article matches")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "missing" in warnings[0].getMessage()


async def test_the_built_assistant_drafts_from_the_policys_folder() -> None:
    policy = AiPolicy(knowledge=str(KNOWLEDGE), timeout_seconds=3)
    async with OpenAIEmulator(api_key=None) as local:  # a local server needs no key
        assistant = build_assistant(policy, None, local.base_url, MODEL)
        found = await assistant.draft(REFUND, use_model=True)
        await assistant.aclose()

    assert assistant.has_model is True
    assert found.text is not None
    assert found.text.startswith("Hi Alice, ")
