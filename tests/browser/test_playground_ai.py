"""The AI features in the playground, in a real Chromium: the triage on the card, a drafted
reply an agent sends, a translation, a summary, and an automated answer a customer turns down
for a person. The demo's model server answers, deterministically. Each step's screenshot is
kept in .artifacts/browser/<test>/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, expect

from integrations.sandbox.discord import DEMO as DISCORD
from tests.browser.browser_support import Playground, Steps, customer_writes_in

pytestmark = pytest.mark.browser

REFUND = "I was charged twice for my order, can I get a refund?"
GERMAN = "Ich wurde doppelt belastet. Bitte erstatten Sie mir das Geld zurück."
QUESTION = "How long does a refund take?"
AGENT = "alice"  # Alice Agent's Slack name: what the customer reads above her replies


def in_thread(pg: Playground, text: str | re.Pattern[str]) -> Locator:
    return pg.thread.get_by_test_id("message").filter(has_text=text)


def ticket_number(pg: Playground) -> int:
    """The ticket the bot's latest receipt in the open Discord conversation names."""
    receipt = pg.discord_message("your ticket is").last
    expect(receipt).to_be_visible()
    found = re.search(r"#(\d+)", receipt.inner_text())
    assert found, receipt.inner_text()
    return int(found[1])


def test_the_ai_features_on_both_sides(playground: Playground, steps: Steps) -> None:
    pg, page = playground, playground.page

    # A new ticket: the card shows the AI's triage and its buttons.
    number = customer_writes_in(pg, REFUND)
    card = pg.card(number)
    expect(card.locator('[data-block-id="ticket_triage"]')).to_contain_text("Category: ")
    expect(card.locator('[data-block-id="ticket_triage"]')).to_contain_text("Sentiment: ")
    buttons = card.locator('[data-block-id="ticket_ai"]')
    for label in ("Summary", "Draft reply", "Edit triage"):
        expect(buttons.get_by_role("button", name=label, exact=True)).to_be_visible()
    steps.shot(page, "triage-and-ai-buttons")

    # A drafted reply waits in the thread for the agents; the customer sees none of it.
    pg.open_thread(number)
    draft = in_thread(pg, "Drafted reply").first
    expect(draft).to_contain_text("for agents only, not sent")
    for label in ("Send", "Edit", "Discard"):
        expect(draft.get_by_role("button", name=label, exact=True)).to_be_visible()
    words = draft.locator(".sl-b-text").first.inner_text().strip()
    assert words, "the draft has no words"
    opening = words[:40]
    expect(pg.discord).not_to_contain_text(opening)
    expect(pg.discord).not_to_contain_text("Drafted reply")
    steps.shot(page, "drafted-reply")

    # Alice Agent sends it: the customer reads it under her name, the post says who sent it.
    draft.get_by_role("button", name="Send", exact=True).click()
    sent = pg.discord_message(opening)
    expect(sent).to_be_visible()
    expect(sent).to_contain_text(f"{AGENT}:")
    expect(draft).to_contain_text("Sent to the customer by")
    expect(draft.get_by_role("button", name="Send", exact=True)).to_have_count(0)
    steps.shot(page, "draft-sent")

    # The customer writes in German: a translation line under her message in Slack.
    pg.discord_write(GERMAN)
    german = in_thread(pg, "Ich wurde doppelt belastet")
    expect(german).to_contain_text("Translated from German")
    expect(german).not_to_contain_text(":globe_with_meridians:")  # drawn as the emoji
    steps.shot(page, "translation")

    # Summary: an internal post in the thread, never sent to the customer.
    pg.click_on_card(number, "Summary")
    summary = in_thread(pg, "Summary ·")
    expect(summary).to_contain_text("internal, not sent to the customer")
    expect(pg.discord).not_to_contain_text("Summary ·")
    steps.shot(page, "summary")

    # The automated answer switched on: Bob's question is answered at once, with a way out.
    switch = page.get_by_test_id("auto-answer")
    expect(switch).to_be_visible()
    expect(switch).not_to_be_checked()
    switch.check()
    expect(pg.toast).to_contain_text("Automated answers on")
    expect(switch).to_be_checked()
    pg.be_customer(DISCORD.second_customer_id)
    pg.discord_open_dm()
    pg.discord_write(QUESTION)
    answer = pg.discord_message("Automated answer")
    expect(answer).to_be_visible()
    person = answer.get_by_role("button", name="Talk to a person")
    expect(person).to_be_visible()
    steps.shot(page, "automated-answer")

    # Bob asks for a person: the agents read it in his ticket's thread.
    bobs = ticket_number(pg)
    person.click()
    pg.thread.get_by_role("button", name="Close thread").click()
    expect(pg.thread).to_be_hidden()
    pg.open_thread(bobs)
    expect(in_thread(pg, "Automated answer sent to the customer")).to_be_visible()
    expect(in_thread(pg, "asked for a person")).to_be_visible()
    steps.shot(page, "asked-for-a-person")
