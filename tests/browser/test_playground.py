"""The playground in a real Chromium: one person's clicks and keystrokes, both worlds seen
changing live. Each step's screenshot is kept in .artifacts/browser/<test>/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.slack import DEMO as SLACK
from tests.browser.browser_support import (
    CUSTOMER_TEXT,
    Playground,
    Steps,
    agent_claims,
    agent_replies,
    customer_writes_in,
)

pytestmark = pytest.mark.browser


def test_one_ticket_whole_life(playground: Playground, steps: Steps) -> None:
    pg, page = playground, playground.page
    steps.shot(page, "first-visit")

    number = customer_writes_in(pg)
    steps.shot(page, "ticket-card")
    expect(pg.card(number).get_by_role("button", name="Claim", exact=True)).to_be_visible()

    agent_claims(pg, number)
    steps.shot(page, "claimed")

    agent_replies(pg, number)
    steps.shot(page, "reply-in-discord")
    # Rendered as Discord shows it: no markdown or timestamp markup left in sight.
    expect(pg.discord).not_to_contain_text("**")
    expect(pg.discord).not_to_contain_text("<t:")

    pg.reply_in_thread("note: check the warehouse")
    steps.shot(page, "internal-note")

    pg.click_on_card(number, "Resolve")
    modal = pg.modal("slack")
    expect(modal).to_be_visible()
    modal.locator('[name="note"]').fill("A new parcel left the warehouse today.")
    steps.shot(page, "resolve-dialog")
    modal.get_by_test_id("modal-submit").click()
    expect(modal).to_be_hidden()
    expect(pg.card(number)).to_contain_text("Resolved")
    expect(pg.discord_message("A new parcel left the warehouse today.")).to_be_visible()
    expect(pg.discord_message(f"Your ticket #{number} is resolved")).to_be_visible()
    expect(pg.discord).not_to_contain_text("check the warehouse")  # the note stayed inside
    steps.shot(page, "resolved")

    note = pg.move_clock("1h")
    assert "surveys 1" in note, note
    survey = pg.discord_message("How did we do")
    expect(survey).to_be_visible()
    steps.shot(page, "survey")

    survey.get_by_role("button", name=re.compile(r"^5\b")).click()
    comment = pg.modal("discord")  # the survey asks for an optional comment next
    expect(comment).to_be_visible()
    comment.get_by_label("Your comment (optional)").fill("Quick and kind, thank you")
    comment.get_by_test_id("modal-submit").click()
    expect(comment).to_be_hidden()
    expect(pg.slack).to_contain_text("5/5")
    steps.shot(page, "rated")


def test_who_you_are_and_refusals(playground: Playground, steps: Steps) -> None:
    pg, page = playground, playground.page
    number = customer_writes_in(pg)
    agent_claims(pg, number)

    # Bob Agent hands the ticket to the agent who already holds it: the bot refuses, to him only.
    pg.be_slack_person(SLACK.agent2)
    pg.card(number).get_by_role("combobox", name="Assign to…").select_option(label="Alice Agent")
    refusal = pg.slack_messages().filter(has_text="Only visible to you")
    expect(refusal).to_contain_text("already holds it")
    steps.shot(page, "refused-to-bob")

    # Dana from sales reads #support but is not on the team: a click is refused, to her only.
    pg.be_slack_person(SLACK.member)
    pg.card(number).get_by_role("button", name="Unclaim", exact=True).click()
    not_agent = pg.slack_messages().filter(has_text="Only support agents can act on tickets")
    expect(not_agent).to_contain_text("Only visible to you")
    expect(pg.card(number)).to_contain_text("Alice Agent")  # still hers
    steps.shot(page, "refused-to-dana")

    # Carol Lead sees her private leads channel, and not what the bot told Bob or Dana.
    leads = pg.slack.locator(f'[data-testid="nav"][data-channel="{SLACK.leads}"]')
    pg.be_slack_person(SLACK.lead)
    expect(leads).to_be_visible()
    expect(pg.slack).not_to_contain_text("already holds it")
    expect(pg.slack).not_to_contain_text("Only support agents")
    steps.shot(page, "carol-lead")
    pg.be_slack_person(SLACK.agent1)
    expect(leads).to_have_count(0)
    expect(pg.card(number)).to_be_visible()
    expect(pg.slack).not_to_contain_text("already holds it")

    # Each customer sees only their own DM with the bot.
    expect(pg.discord_message(CUSTOMER_TEXT)).to_be_visible()
    pg.be_customer(DISCORD.second_customer_id)
    expect(pg.discord.get_by_test_id("message")).to_have_count(0)
    steps.shot(page, "bob-customer")
    pg.be_customer(DISCORD.customer_id)
    expect(pg.discord_message(CUSTOMER_TEXT)).to_be_visible()


def test_support_command_and_modal_in_discord(playground: Playground, steps: Steps) -> None:
    pg, page = playground, playground.page
    pg.discord_open(DISCORD.support_channel_id)
    box = pg.discord.get_by_test_id("discord-composer")
    box.fill("/support")
    pg.discord.get_by_role("option", name="/support").click()
    form = pg.modal("discord")
    expect(form).to_be_visible()
    steps.shot(page, "support-form")
    form.locator('[name="subject"]').fill("Refund for order #B-2")
    form.locator('[name="description"]').fill("Charged twice for one order.")
    form.get_by_label("Category").select_option("Billing")
    form.get_by_test_id("modal-submit").click()
    expect(form).to_be_hidden()
    answer = pg.discord_message("Only you can see this")
    expect(answer).to_contain_text(re.compile(r"ticket #\d+"))
    pg.slack_open(SLACK.support)
    card = pg.slack_messages().filter(has_text="Refund for order #B-2")
    expect(card).to_be_visible()
    expect(card.get_by_role("button", name="Claim", exact=True)).to_be_visible()
    steps.shot(page, "card-from-form")


def test_clock_next_sla_event(playground: Playground, steps: Steps) -> None:
    pg, page = playground, playground.page
    number = customer_writes_in(pg)
    # The demo's policy: a first answer within 1 h, a reminder 15 min before it is late.
    note = pg.move_clock("next")
    assert "SLA notices 1" in note, note
    reminder = pg.slack_messages().filter(has_text=f"Ticket #{number}").filter(has_text="is due")
    expect(reminder).to_be_visible()
    steps.shot(page, "reminder")

    note = pg.move_clock("next")
    assert "SLA notices 1" in note, note
    pg.be_slack_person(SLACK.lead)
    pg.slack_open(SLACK.leads)
    breach = pg.slack_messages().filter(has_text="SLA breached").filter(has_text=f"#{number}")
    expect(breach).to_be_visible()
    steps.shot(page, "breach-for-the-lead")


def test_tour(page: Page, steps: Steps) -> None:
    pg = Playground(page)
    expect(pg.tour).to_be_visible()  # a first visit
    expect(pg.tour).to_contain_text("Step 1 of")
    steps.shot(page, "tour-step-1")
    pg.tour.get_by_test_id("tour-next").click()
    expect(pg.tour).to_contain_text("Step 2 of")
    steps.shot(page, "tour-step-2")
    pg.tour.get_by_test_id("tour-skip").click()
    expect(pg.tour).to_be_hidden()

    page.reload()
    expect(pg.tour).to_be_visible()  # skipped, not turned off: it shows again
    pg.tour.get_by_label("Don't show again").check()
    pg.tour.get_by_test_id("tour-skip").click()
    page.reload()
    expect(page.get_by_test_id("clock-now")).not_to_have_text("…")  # the page is up
    expect(pg.tour).to_be_hidden()
    page.get_by_test_id("tour-open").click()  # and can be read again at will
    expect(pg.tour).to_contain_text("Step 1 of")
    steps.shot(page, "tour-reopened")


def test_a_customer_with_closed_dms_is_answered_in_a_private_thread(
    playground: Playground, steps: Steps
) -> None:
    pg, page = playground, playground.page
    number = customer_writes_in(pg)
    agent_claims(pg, number)
    # Alice turns off "Allow DMs": the bot can no longer write to her there.
    pg.discord.get_by_test_id("discord-dms").uncheck()
    expect(pg.toast).to_contain_text("Direct messages are closed")
    pg.open_thread(number)
    pg.reply_in_thread("Could you check the address on the order?")
    # She finds the answer in a private thread of the server's #support, only hers to see.
    thread = pg.discord.locator('[data-testid="nav"][data-kind="thread"]')
    expect(thread).to_be_visible()
    thread.click()
    expect(pg.discord_message("Could you check the address on the order?")).to_be_visible()
    steps.shot(page, "private-thread")
    pg.discord_write("It is 1 Main Street, flat 2.")
    expect(pg.thread.get_by_test_id("message").filter(has_text="1 Main Street")).to_be_visible()
    pg.be_customer(DISCORD.second_customer_id)
    expect(thread).to_have_count(0)  # Bob is not in it
    steps.shot(page, "not-for-bob")


def test_markup_typed_by_people_is_shown_never_run(playground: Playground, steps: Steps) -> None:
    pg, page = playground, playground.page
    hostile = '<img src=x onerror="window.pwned=1"> <b>bold?</b> & [x](javascript:window.pwned=2)'
    number = customer_writes_in(pg, hostile)
    agent_claims(pg, number)
    pg.open_thread(number)
    answer = "<script>window.pwned=3</script> <javascript:window.pwned=4|click me> 1 < 2 & 3 > 2"
    pg.reply_in_thread(answer)
    # Each side shows the characters as typed, as text; nothing typed becomes a script or a link.
    expect(pg.thread.get_by_test_id("message").filter(has_text="<b>bold?</b>")).to_be_visible()
    told = pg.discord_message("window.pwned=3")
    expect(told).to_contain_text("<script>window.pwned=3</script>")
    expect(told).to_contain_text("1 < 2 & 3 > 2")
    for side in (pg.discord, pg.slack):
        expect(side.locator("script, img[src='x'], a[href^='javascript:' i]")).to_have_count(0)
    assert page.evaluate("window.pwned") is None
    steps.shot(page, "markup-as-text")


def test_app_home_and_the_threadline_command(playground: Playground, steps: Steps) -> None:
    pg, page = playground, playground.page
    number = customer_writes_in(pg)
    # App Home lists the unassigned queue, with the new ticket in it.
    pg.slack.locator('[data-testid="nav"][data-channel="home"]').click()
    home = pg.slack.get_by_test_id("home")
    expect(home).to_contain_text("Unassigned queue")
    expect(home).to_contain_text(f"#{number}")
    steps.shot(page, "app-home")
    # `/threadline queue` in #support answers only the one who asked.
    pg.slack_open(SLACK.support)
    box = pg.slack.get_by_test_id("slack-composer")
    box.fill("/threadline queue")
    box.press("Enter")
    answer = pg.slack_messages().filter(has_text="Unassigned, most urgent first")
    expect(answer).to_contain_text("Only visible to you")
    expect(answer).to_contain_text(f"#{number}")
    steps.shot(page, "threadline-queue")
    pg.be_slack_person(SLACK.agent2)
    expect(pg.slack).not_to_contain_text("Unassigned, most urgent first")
