"""Triage without a model: keywords read as a person reads them, cues for priority and tone,
a one-line title; the same `Triage` shape the model answers with."""

from __future__ import annotations

import pydantic
import pytest

from integrations.ai.triage_fallback import (
    DEFAULT_CATEGORIES,
    OTHER,
    TITLE_LENGTH,
    Category,
    Triage,
    as_read,
    title_of,
    triage,
)

# The result's shape ------------------------------------------------------------------------------


def test_the_triage_is_a_frozen_model_whose_schema_bounds_every_field() -> None:
    result = triage("Where is my parcel?", language="en")
    with pytest.raises(pydantic.ValidationError):
        result.category = "Billing"  # type: ignore[misc]
    schema = Triage.model_json_schema()
    assert set(schema["required"]) == set(Triage.model_fields)
    assert schema["additionalProperties"] is False
    for name in ("category_confidence", "priority_confidence", "sentiment_confidence"):
        assert (schema["properties"][name]["minimum"], schema["properties"][name]["maximum"]) == (
            0.0,
            1.0,
        )
    assert schema["properties"]["title"]["maxLength"] == TITLE_LENGTH
    assert schema["properties"]["priority"]["enum"] == ["low", "normal", "high", "urgent"]


def test_a_model_answer_outside_the_bounds_is_refused() -> None:
    good = triage("Where is my parcel?").model_dump()
    for field, value in [
        ("category_confidence", 1.2),
        ("priority", "critical"),
        ("sentiment", "angry"),
        ("title", "x" * 81),
    ]:
        with pytest.raises(pydantic.ValidationError):
            Triage.model_validate({**good, field: value})
    with pytest.raises(pydantic.ValidationError):
        Triage.model_validate({**good, "note": "extra"})


def test_the_language_is_the_callers_and_passed_through() -> None:
    assert triage("Où est mon colis ?", language="fr").language == "fr"
    assert triage("Où est mon colis ?").language is None


def test_the_same_text_gives_the_same_triage() -> None:
    text = "URGENT!!! charged twice for #5512, terrible service"
    assert triage(text) == triage(text)


# Categories -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Hi, my parcel hasn't arrived yet, order #10492", "Shipping"),
        ("Mein Paket ist immer noch nicht angekommen", "Shipping"),
        ("Bonjour, je n'ai toujours pas reçu mon colis", "Shipping"),
        ("¿Dónde está mi paquete? El envío lleva 10 días", "Shipping"),
        ("A minha encomenda ainda não chegou", "Shipping"),
        ("Il pacco non è ancora arrivato", "Shipping"),
        ("Mijn pakket is nog niet bezorgd", "Shipping"),
        ("Moja paczka jeszcze nie dotarła", "Shipping"),
        ("Посылка до сих пор не пришла", "Shipping"),
        ("荷物がまだ届きません", "Shipping"),
        ("我的包裹还没到", "Shipping"),
        ("I'd like to return the jacket, it's too small", "Returns & refunds"),
        ("Wann bekomme ich meine Rückerstattung?", "Returns & refunds"),
        ("Quand serai-je remboursé ?", "Returns & refunds"),
        ("Can I get an invoice with our VAT number?", "Billing"),
        ("Ich brauche eine Rechnung für die Bestellung", "Billing"),
        ("I forgot my password and the reset link never comes", "Account & login"),
        ("Nie mogę się zalogować, hasło nie działa", "Account & login"),
        ("The checkout page shows an error and a blank page", "Technical problem"),
        ("La aplicación no funciona desde ayer", "Technical problem"),
        ("Do you sell gift wrapping?", OTHER),
    ],
)
def test_keywords_in_each_language_find_the_category(text: str, category: str) -> None:
    assert triage(text).category == category


def test_words_are_read_without_case_accents_width_or_hidden_characters() -> None:
    assert as_read("Rückerstattung") == as_read("RUCKERSTATTUNG") == "ruckerstattung"
    assert as_read("\uff52\uff45\uff46\uff55\uff4e\uff44") == "refund"  # full-width letters
    assert triage("Ich will eine Ruckerstattung").category == "Returns & refunds"
    assert triage("where is my pa\u200bcka\u200bge").category == "Shipping"
    assert triage("Gdzie jest moja przesylka?").category == "Shipping"  # ł typed as l
    assert triage("Gdzie jest moja przesyłka?").category == "Shipping"


def test_keywords_match_whole_words_and_starred_ones_any_ending() -> None:
    assert triage("We sold a billion hoodies").category == OTHER  # not "bill"
    assert triage("The item I returned last week").category == "Returns & refunds"
    assert triage("two refunds are missing").category == "Returns & refunds"
    assert triage("I cant log in").category == "Account & login"  # apostrophe left out


def test_discord_markup_and_mentions_do_not_hide_or_make_a_keyword() -> None:
    assert triage("**re**fund please").category == "Returns & refunds"
    assert triage("||parcel|| <@123456789012345678> ~~late~~").category == "Shipping"
    assert triage("see [the tracking page](https://t.example/x)").category == "Shipping"
    assert triage("<#123456789012345678> hello").category == OTHER


def test_a_clear_message_is_more_confident_than_a_mixed_one_and_none_is_least() -> None:
    clear = triage("My parcel is lost, the courier tracking has not moved, no delivery")
    mixed = triage("My parcel came but the invoice is wrong")
    nothing = triage("Do you sell gift wrapping?")
    assert clear.category == "Shipping"
    assert clear.category_confidence > mixed.category_confidence > nothing.category_confidence
    assert nothing.category_confidence < 0.5


def test_a_tie_goes_to_the_keyword_met_first() -> None:
    assert triage("invoice for the parcel").category == "Billing"
    assert triage("parcel with the invoice").category == "Shipping"


def test_a_teams_own_categories() -> None:
    mine = (Category("Sizing", ("size*", "fit*", "groesse", "größe")), Category("Other"))
    assert triage("What size should I order?", mine).category == "Sizing"
    assert triage("Welche Größe passt?", mine).category == "Sizing"
    assert triage("Where is my parcel?", mine).category == OTHER


def test_the_default_list_names_the_demo_shops_categories() -> None:
    assert [c.name for c in DEFAULT_CATEGORIES] == [
        "Shipping",
        "Returns & refunds",
        "Billing",
        "Account & login",
        "Technical problem",
        "Other",
    ]


# Priority ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "priority"),
    [
        ("The whole site is down, all our users get errors", "urgent"),
        ("Someone hacked my account and placed orders", "urgent"),
        ("Please refund me ASAP, I was charged twice", "high"),
        ("Dringend: meine Bestellung ist weg", "high"),
        ("Es urgente, no puedo pagar", "high"),
        ("I can't log in at all since this morning", "high"),
        ("Where is my parcel?", "normal"),
        ("No rush, but could you send the invoice again?", "low"),
        ("Not urgent: can I change my newsletter settings?", "low"),
        ("Pas urgent, mais j'ai une question sur la TVA", "low"),
        ("nicht dringend, aber wie lange dauert der Versand?", "low"),
    ],
)
def test_priority_cues(text: str, priority: str) -> None:
    assert triage(text).priority == priority


def test_an_urgency_cue_outweighs_a_no_rush() -> None:
    assert triage("No rush on the invoice, but I was charged twice").priority == "high"


# Sentiment --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("This is unacceptable, the worst service ever", "negative"),
        ("Ich bin sehr enttäuscht von eurem Service", "negative"),
        ("C'est inadmissible, je suis furieux", "negative"),
        ("Es inaceptable, llevo dos semanas esperando", "negative"),
        ("Where is my parcel???!!!", "negative"),
        ("WHERE IS MY ORDER, NOBODY ANSWERS", "negative"),
        ("Thanks so much, the new jacket is perfect!", "positive"),
        ("Merci beaucoup, c'est parfait", "positive"),
        ("Where is my parcel? Thanks!", "neutral"),  # thanks as politeness
        ("Can I change my delivery address?", "neutral"),
    ],
)
def test_sentiment_lexicon(text: str, sentiment: str) -> None:
    assert triage(text).sentiment == sentiment


@pytest.mark.parametrize(
    "text",
    [
        "I'm not happy with the quality",
        "Ich bin nicht zufrieden mit der Lieferung",
        "Je ne suis pas content du tout",
        "No estoy contento con el pedido",
        "The new one isn't great either",
    ],
)
def test_a_negated_positive_word_is_negative(text: str) -> None:
    assert triage(text).sentiment == "negative"


# Title ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Hi team, my parcel hasn't arrived. Order #1234.", "My parcel hasn't arrived."),
        ("Hello! Where is my order?", "Where is my order?"),
        ("Hi there,\nthe app crashes at checkout", "The app crashes at checkout"),
        ("Hallo zusammen, mein Paket fehlt.", "Mein Paket fehlt."),
        ("Bonjour, je voudrais un remboursement.", "Je voudrais un remboursement."),
        ("**URGENT** <@123456789> ~~refund~~ me", "URGENT refund me"),
        ("> quoted text\nmy reply", "Quoted text"),
        ("荷物がまだ届きません。注文番号は12345です。", "荷物がまだ届きません。"),
        ("Hi I ordered a jacket last week", "I ordered a jacket last week"),
        ("Hey", "Hey"),
        ("", "(no text)"),
        ("\u200b\u200b", "(no text)"),
    ],
)
def test_the_title_is_the_first_sentence_without_greeting_or_markup(text: str, title: str) -> None:
    assert title_of(text) == title
    assert triage(text).title == title


def test_a_long_title_is_cut_at_a_word() -> None:
    text = "I ordered three pairs of the running shoes in different sizes " * 3
    title = title_of(text)
    assert len(title) <= TITLE_LENGTH
    assert title.endswith("…")
    assert text.startswith(title.removesuffix("…"))
    assert text[len(title) - 1] == " "  # the cut fell between words
    unbroken = "x" * 200
    assert title_of(unbroken) == "X" + "x" * (TITLE_LENGTH - 2) + "…"
