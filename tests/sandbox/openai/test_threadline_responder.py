"""The sandbox model's answers to Threadline's assistant, through the real `openai` client: the
requests are the ones `integrations/ai/prompts.py` writes, the answers validate against
`integrations/ai/schemas.py`, and they are plausible enough for the demo."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest
from openai import AsyncOpenAI
from pydantic import BaseModel

from bot.core.assist import Conversation, Speaker, Turn
from integrations.ai import schemas
from integrations.ai.model import ModelClient
from integrations.ai.prompts import Excerpt, Prompt
from integrations.ai.redact import Redactor
from integrations.sandbox.openai import OpenAIEmulator
from integrations.sandbox.openai.phrases import guess_language, translate
from integrations.sandbox.openai.threadline import parse
from tests.sandbox.openai.openai_support import MODEL, ask

T = TypeVar("T", bound=BaseModel)

REFUNDS = Excerpt(
    "refunds",
    "Refunds",
    0.61,
    "## How long it takes\n\nWe issue the refund within 2 working days of approving it. Your "
    "bank then needs 3 to 5 working days. Some banks take up to 10.",
)
RETURNS = Excerpt("returns", "Returning an item", 0.32, "Send it back within 30 days.")
TICKET = Conversation(
    1001,
    "Refund",
    (
        Turn(Speaker.CUSTOMER, "Alice Doe", "Hi! I returned the shoes.\nWhen is my refund due?"),
        Turn(Speaker.AGENT, "Bob", "Let me check that for you. One moment."),
        Turn(Speaker.CUSTOMER, "Alice Doe", "Thanks. Any news?"),
    ),
)


def prompt() -> Prompt:
    return Prompt(Redactor())


async def answer(client: AsyncOpenAI, messages: Any, schema: type[T]) -> T:
    done = await client.chat.completions.parse(
        model=MODEL, messages=messages, response_format=schema
    )
    parsed = done.choices[0].message.parsed
    assert parsed is not None
    return parsed


# Reading the wire format ------------------------------------------------------------------------


def test_a_prompt_is_read_back_into_its_sections() -> None:
    user = prompt().draft(TICKET, [REFUNDS, RETURNS], "en")[1]["content"]
    asked = parse(str(user))

    assert asked is not None
    assert asked.task == "draft"
    assert asked.sections["team_language"] == "en"
    assert asked.subject == "Refund"
    first = ("customer", "Alice Doe", "Hi! I returned the shoes.\nWhen is my refund due?")
    assert asked.turns[0] == first
    assert [who for who, _, _ in asked.turns] == ["customer", "agent", "customer"]
    assert [(a.id, a.title, a.relevance) for a in asked.articles] == [
        ("refunds", "Refunds", 0.61),
        ("returns", "Returning an item", 0.32),
    ]
    assert asked.articles[0].excerpt.startswith("## How long it takes")


def test_a_message_without_a_task_is_not_the_assistants() -> None:
    assert parse("Summarise this: <text>hello</text>") is None


# The tasks --------------------------------------------------------------------------------------


async def test_triage_picks_from_the_teams_categories_a_little_surer_than_keywords(
    client: AsyncOpenAI, model: OpenAIEmulator
) -> None:
    text = "Mir wurde die Rechnung doppelt abgebucht, bitte dringend prüfen!"
    found = await answer(client, prompt().triage(text, ["Billing", "Bugs"], "en"), schemas.Triage)

    assert found.category == "Billing"
    assert found.priority == "high"
    assert found.language == "de"
    assert found.category_confidence == 0.82  # the keywords: 0.67
    assert model.chat_calls[0].body["response_format"]["json_schema"]["name"] == "Triage"


async def test_triage_knows_categories_of_the_teams_own(client: AsyncOpenAI) -> None:
    messages = prompt().triage("The payment page crashes", ["Payments", "Misc"], "en")
    assert (await answer(client, messages, schemas.Triage)).category == "Payments"

    messages = prompt().triage("Hello there", ["Payments", "Misc"], "en")
    assert (await answer(client, messages, schemas.Triage)).category == "Misc"


async def test_a_summary_is_two_or_three_lines_of_the_conversation(client: AsyncOpenAI) -> None:
    found = await answer(client, prompt().summary(TICKET, "en"), schemas.SummaryAnswer)
    assert found.summary.split("\n") == [
        "Customer: Alice Doe says: Hi!",
        "Last reply, from Bob: Let me check that for you.",
        "Latest from the customer: Thanks.",
    ]


async def test_a_draft_quotes_the_best_article(client: AsyncOpenAI) -> None:
    messages = prompt().draft(TICKET, [RETURNS, REFUNDS], "en")
    found = await answer(client, messages, schemas.DraftAnswer)

    assert found.enough is True
    assert found.sources == ["refunds"]
    assert found.reply == (
        "Hi Alice, we issue the refund within 2 working days of approving it. Your bank then "
        "needs 3 to 5 working days. Let me know if that helps."
    )


async def test_without_articles_a_draft_is_not_enough(client: AsyncOpenAI) -> None:
    found = await answer(client, prompt().draft(TICKET, [], "en"), schemas.DraftAnswer)
    assert (found.enough, found.reply, found.sources) == (False, "", [])


@pytest.mark.parametrize(
    ("text", "target", "expected", "source"),
    [
        ("Ich wurde doppelt belastet.", "en", "I was charged twice.", "de"),
        ("Mon colis n'est pas arrivé !", "en", "My parcel has not arrived!", "fr"),
        ("¿Dónde está mi pedido?", "en", "Where is my order?", "es"),
        (
            "Sorry about that! I've asked the courier to trace it.",
            "de",
            "Das tut mir leid! Ich habe den Kurier gebeten, es zu verfolgen.",
            "en",
        ),
        ("Ich brauche eine neue Rechnung", "en", "(translated from de) Ich brauche eine neue "
         "Rechnung", "de"),
    ],
)  # fmt: skip
async def test_a_translation_from_the_phrase_table(
    client: AsyncOpenAI, text: str, target: str, expected: str, source: str
) -> None:
    found = await answer(client, prompt().translate(text, target), schemas.TranslationAnswer)
    assert (found.translation, found.source_language) == (expected, source)


async def test_an_automated_answer_in_english_from_the_best_article(client: AsyncOpenAI) -> None:
    messages = prompt().auto_answer(TICKET, [REFUNDS], "en")
    found = await answer(client, messages, schemas.AutoAnswer)

    assert found.action == "answer"
    assert found.sources == ["refunds"]
    assert found.reply.startswith("Hi Alice, we issue the refund within 2 working days")


@pytest.mark.parametrize(
    ("last", "target", "articles"),
    [
        ("Can I talk to a real person?", "en", [REFUNDS]),
        ("Any news?", "de", [REFUNDS]),  # only English is answered
        ("Any news?", "en", []),
    ],
)
async def test_an_automated_answer_hands_off(
    client: AsyncOpenAI, last: str, target: str, articles: list[Excerpt]
) -> None:
    ticket = Conversation(1001, "Refund", (Turn(Speaker.CUSTOMER, "Alice", last),))
    messages = prompt().auto_answer(ticket, articles, target)
    found = await answer(client, messages, schemas.AutoAnswer)
    assert (found.action, found.reply, found.sources) == ("handoff", "", [])


async def test_a_server_without_schemas_gives_the_same_answers_in_json_mode() -> None:
    async with OpenAIEmulator(schemas=False) as model:
        sdk = AsyncOpenAI(base_url=model.base_url, api_key=model.api_key, max_retries=0)
        client = ModelClient(sdk, MODEL)
        found = await client.structured(
            prompt().draft(TICKET, [REFUNDS], "en"), schemas.DraftAnswer
        )
        await sdk.close()
    assert found.value.sources == ["refunds"]
    assert [c.body["response_format"]["type"] for c in model.chat_calls] == [
        "json_schema",
        "json_object",
    ]


async def test_other_requests_still_get_the_default_answers(client: AsyncOpenAI) -> None:
    done = await client.chat.completions.create(model=MODEL, messages=ask("Hello there. Bye."))
    assert done.choices[0].message.content == "Summary: Hello there."
    done = await client.chat.completions.create(
        model=MODEL, messages=ask("<task>unknown</task>\n<text>Hi.</text>")
    )
    assert done.choices[0].message.content == "Summary: <task>unknown</task>"


# The phrase table and the language guess --------------------------------------------------------


def test_the_phrase_table_goes_each_way() -> None:
    assert translate("Me cobraron dos veces.", "de") == ("Ich wurde doppelt belastet.", "es")
    assert translate("I was charged twice", "fr") == ("J'ai été débité deux fois", "en")
    assert translate("Ich wurde doppelt belastet. Something else.", "en") is None
    assert translate("Danke", "xx") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ich habe eine Frage zu meiner Bestellung", "de"),
        ("Je ne trouve pas mon colis", "fr"),
        ("Mi pedido no ha llegado", "es"),
        ("The parcel is late", "en"),
        ("12345", None),
    ],
)
def test_the_language_guess(text: str, expected: str | None) -> None:
    assert guess_language(text) == expected
