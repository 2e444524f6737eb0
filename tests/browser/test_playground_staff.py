"""`threadline demo --workspaces slack,discord` in a real Chromium: agents work tickets in Slack
and in the Discord staff forum at once, and the playground shows the forum as a third pane,
where the visitor is Sam Staff or Lee Lead. Each step's screenshot is kept in
.artifacts/browser/<test>/.

`test_the_staff_pane_beside_slack` needs only the demo and the page. In
`test_a_ticket_worked_from_the_staff_forum`, what the bot does in Discord's staff forum (the
post per ticket, its card, mirroring a claim and a reply) is marked `# bot:`: it shows once the
Discord agent workspace answers there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.discord import STAFF
from integrations.sandbox.slack import DEMO as SLACK
from tests.browser.browser_support import (
    CUSTOMER_TEXT,
    REPLY_TEXT,
    Demo,
    Playground,
    Steps,
    demo_running,
)

pytestmark = pytest.mark.browser

MIXED = "slack,discord"
SAM, LEE = str(STAFF.staff_id), str(STAFF.lead_id)
FORUM = STAFF.forum_channel_id


@pytest.fixture
def demo(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Demo]:
    """The mixed demo: agents in Slack and in Discord's staff forum (this module's `page` and
    `playground` stand on it instead of the default one); parametrized indirectly, another
    `--workspaces`."""
    workspaces = str(getattr(request, "param", MIXED))
    with demo_running(tmp_path / "data", ("--workspaces", workspaces)) as running:
        yield running
    assert running.process.returncode == 0, "".join(running.output)
    assert not running.logged_errors(), "\n".join(running.logged_errors())


def test_the_staff_pane_beside_slack(playground: Playground, steps: Steps) -> None:
    pg, page = playground, playground.page
    expect(pg.discord).to_be_visible()
    expect(pg.slack).to_be_visible()
    expect(pg.staff).to_be_visible()
    steps.shot(page, "three-panes")

    # Sam and Lee are the staff, not customers: each pane offers its own people.
    who = page.get_by_test_id("who-staff")
    expect(who).to_have_value(SAM)
    expect(who.locator("option")).to_have_text(["Sam Staff — Staff", "Lee Lead — Staff, Leads"])
    customers = page.get_by_test_id("who-discord").locator("option")
    expect(customers).to_have_text(["Alice", "Bob"])

    # The forum is where the tickets are: it opens first; the staff channel is beside it.
    expect(pg.staff.get_by_test_id("staff-open-name")).to_have_text("staff-tickets")
    names = [re.compile(f"{name}$") for name in ("support", "staff-tickets", "staff")]
    expect(pg.staff.locator('[data-testid="nav"]')).to_have_text(names)
    expect(pg.staff.get_by_test_id("staff-composer")).to_be_hidden()  # a forum takes posts

    pg.be_staff(LEE)
    expect(pg.staff.get_by_test_id("staff-roles")).to_have_text("Staff, Leads")
    pg.staff_open(STAFF.staff_channel_id)
    expect(pg.staff.get_by_test_id("staff-open-name")).to_have_text("staff")
    pg.staff_write("Morning all, I'm on the queue today")
    steps.shot(page, "lee-in-the-staff-channel")

    # The customer's side never shows the staff's channels.
    expect(pg.discord.locator(f'[data-channel="{STAFF.staff_channel_id}"]')).to_have_count(0)
    expect(pg.discord).not_to_contain_text("on the queue today")


def test_a_ticket_worked_from_the_staff_forum(playground: Playground, steps: Steps) -> None:
    pg, page = playground, playground.page
    pg.be_customer(DISCORD.customer_id)
    pg.discord_open_dm()
    pg.discord_write(CUSTOMER_TEXT)

    # bot: the ticket gets a post in the forum, its card the starter message.
    post = pg.staff_post(re.compile(r"#\d+"))
    expect(post).to_have_count(1)
    found = re.search(r"#(\d+)", post.inner_text())
    assert found, post.inner_text()
    number = int(found[1])
    steps.shot(page, "post-in-the-forum")

    post.click()
    card = pg.staff.get_by_test_id("message").first  # the starter message: the card
    expect(card).to_contain_text(f"#{number}")
    expect(card.get_by_role("button", name="Claim", exact=True)).to_be_visible()
    expect(card.locator("select.dc-select")).to_be_visible()  # the priority select
    steps.shot(page, "post-opened")

    # Sam claims in Discord: both cards say so (bot: the card is edited, Slack's mirrored).
    claim = card.get_by_role("button", name="Claim", exact=True)
    claim.click()
    expect(card).to_contain_text("Claimed")
    expect(card).to_contain_text("Sam Staff")
    expect(claim).to_be_disabled()  # Discord's card keeps its row: Claim greyed out
    pg.slack_open(SLACK.support)
    slack_card = pg.card(number)
    expect(slack_card).to_contain_text("Sam")
    steps.shot(page, "claimed-in-both")

    # Sam picks a priority and answers in the post; the customer reads it (bot: relayed).
    card.locator("select.dc-select").select_option("high")
    expect(card).to_contain_text(re.compile("high", re.IGNORECASE))
    pg.staff_write(REPLY_TEXT)
    expect(pg.discord_message(REPLY_TEXT)).to_be_visible()
    steps.shot(page, "reply-reaches-the-customer")

    # The resolution dialog, as Discord draws it in the staff pane (bot: the modal, the move).
    card.get_by_role("button", name="Resolve", exact=True).click()
    modal = pg.modal("staff")
    expect(modal).to_be_visible()
    modal.get_by_label(re.compile("Note for the customer")).fill(
        "A new parcel left the warehouse today."
    )
    steps.shot(page, "resolve-dialog")
    modal.get_by_test_id("modal-submit").click()
    expect(modal).to_be_hidden()
    expect(card).to_contain_text("Resolved")
    expect(pg.discord_message("A new parcel left the warehouse today.")).to_be_visible()
    steps.shot(page, "resolved")


@pytest.mark.parametrize("demo", ["discord"], indirect=True)
def test_discord_alone_has_no_slack_pane(playground: Playground, steps: Steps) -> None:
    pg, page = playground, playground.page
    expect(pg.staff).to_be_visible()
    expect(pg.slack).to_be_hidden()
    pg.discord_open_dm()
    pg.discord_write(CUSTOMER_TEXT)
    expect(pg.staff_post(re.compile(r"#\d+"))).to_have_count(1)  # bot: the ticket's post
    steps.shot(page, "discord-only")
