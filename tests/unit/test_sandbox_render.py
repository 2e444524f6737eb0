"""Slack and Discord messages as plain text, the way the console and the scripted demo print
them: names for ids, labels for links, UTC times for date tokens, cards as lines and buttons."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.core.domain import (
    Agent,
    AgentId,
    Customer,
    CustomerId,
    Priority,
    Status,
    Ticket,
    TicketId,
    TicketNumber,
)
from integrations.platforms import DISCORD
from integrations.sandbox import render
from integrations.sandbox.discord import DiscordEmulator, demo_world
from integrations.sandbox.discord.payloads import message_json
from integrations.sandbox.slack import demo_workspace
from integrations.sandbox.slack.workspace import Workspace
from integrations.slack import blocks, modals

SLACK_NAMES = {"UAGENT1": "Alice Agent", "UBOT": "supportbot", "CSUPPORT": "support"}
DISCORD_NAMES = {"1000000000000000005": "Alice", "1000000000000000004": "support"}
NOON = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
EPOCH = int(NOON.timestamp())
DANA = Customer(CustomerId(1), DISCORD, "42", "Dana")
TICKET = Ticket(
    TicketId(1),
    TicketNumber(1001),
    CustomerId(1),
    "Order *late*",
    Status.CLAIMED,
    Priority.NORMAL,
    1,
    NOON,
    NOON,
    assignee=Agent(AgentId("UAGENT1"), "alice"),
)


def test_slack_mentions_read_as_names() -> None:
    text = "<@UAGENT1> and <@UNKNOWN> in <#CSUPPORT> or <#C9|general>, <!here> <!subteam^S1|@leads>"
    assert render.slack_text(text, SLACK_NAMES) == (
        "@Alice Agent and @UNKNOWN in #support or #general, @here @leads"
    )


def test_slack_links_dates_and_markup_read_as_shown() -> None:
    text = (
        "*Due* <!date^1796558400^{date_short_pretty} at {time}|2026-12-06 12:00 UTC> "
        "<https://x.test/a|Open the thread> <https://x.test/b> _quiet_ ~gone~ snake_case_name"
    )
    assert render.slack_text(text, {}) == (
        "Due 2026-12-06 12:00 UTC Open the thread https://x.test/b quiet gone snake_case_name"
    )
    assert render.slack_text(f"<!date^{EPOCH}^{{time}}>", {}) == "2026-12-06 12:00 UTC"


def test_slack_entities_are_decoded_last() -> None:
    # What a person typed as "<@UAGENT1> & co" arrives escaped: it must not become a mention.
    assert render.slack_text("&lt;@UAGENT1&gt; &amp; co", SLACK_NAMES) == "<@UAGENT1> & co"


def test_a_ticket_card_reads_as_its_lines_and_buttons() -> None:
    card = {"user": "UBOT", "text": "Ticket #1001", "blocks": blocks.ticket_card(TICKET, DANA)}
    shown = render.slack_message(card, SLACK_NAMES).splitlines()
    assert shown[0] == "#1001 · Order *late*"  # a header is plain text: nothing to strip
    assert "Status: :raising_hand: Claimed" in shown[1]
    assert "Assignee: @Alice Agent" in shown[1]
    assert "Customer: Dana (Discord)" in shown[1]
    assert "[Unclaim] [Escalate] [Resolve]" in shown[2]
    assert "[Assign to… ▾]" in shown[2]
    assert shown[3].startswith("Ticket #1001 · updated 2026-12-06 12:00 UTC")
    assert render.slack_author(card, SLACK_NAMES) == "supportbot"


def test_a_customers_words_show_under_the_name_they_were_posted_with() -> None:
    copy = {"user": "UBOT", "username": "Alice (Discord)", "text": "Hello"}
    assert render.slack_author(copy, SLACK_NAMES) == "Alice (Discord)"
    assert render.slack_author({"user": "UAGENT1"}, SLACK_NAMES) == "Alice Agent"


def test_rich_text_messages_read_as_their_text_with_files_and_reactions() -> None:
    message: dict[str, Any] = {
        "user": "UAGENT1",
        "text": "Try this",
        "blocks": [{"type": "rich_text", "elements": []}],
        "files": [{"name": "fix.patch"}],
        "reactions": [{"name": "white_check_mark", "users": ["UBOT"], "count": 1}],
    }
    assert render.slack_message(message, SLACK_NAMES) == (
        "Try this\n[file: fix.patch]\n(reactions :white_check_mark:)"
    )


def test_a_dialog_reads_as_its_inputs_and_buttons() -> None:
    view = modals.escalate_view(replace(TICKET, number=TicketNumber(7)), modals.Opened(7, None))
    assert render.slack_view(view) == (
        'dialog "Escalate #7":\n'
        "To tier: [Tier 2 ▾]\n"
        "Why? (the next tier reads this): [text]\n"
        "[Cancel] [Escalate]"
    )


def test_discord_times_mentions_and_bold() -> None:
    content = (
        f"**Alice Agent:** see <#1000000000000000004>, <@1000000000000000005> by <t:{EPOCH}:f>"
    )
    assert render.discord_text(content, DISCORD_NAMES) == (
        "Alice Agent: see #support, @Alice by 2026-12-06 12:00 UTC"
    )
    assert render.discord_text(f"<t:{EPOCH}> <t:{EPOCH}:R> <@!42>", {}) == (
        "2026-12-06 12:00 UTC 2026-12-06 12:00 UTC @42"
    )


def test_discord_embeds_buttons_and_menus() -> None:
    message = {
        "author": {"id": "1", "username": "supportbot", "global_name": "Support Bot"},
        "content": "",
        "embeds": [
            {
                "title": "Ticket **#1001**",
                "description": "Answer by <t:0:f>",
                "fields": [{"name": "Status", "value": "Open"}],
                "footer": {"text": "Threadline"},
            }
        ],
        "attachments": [{"filename": "log.txt"}],
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "label": "Close ticket", "custom_id": "c"},
                    {"type": 3, "custom_id": "s", "placeholder": "Pick one", "options": []},
                ],
            }
        ],
    }
    assert render.discord_author(message) == "Support Bot"
    assert render.discord_message(message, {}) == (
        "Ticket #1001\nAnswer by 1970-01-01 00:00 UTC\nStatus: Open\nThreadline\n"
        "[file: log.txt]\n[Close ticket] [Pick one ▾]"
    )
    assert render.discord_author({"author": {"username": "bob", "global_name": None}}) == "bob"


def test_names_come_from_the_emulators() -> None:
    slack = render.slack_names(Workspace(demo_workspace()))
    assert slack["UAGENT1"] == "Alice Agent"
    assert slack["UBOT"] == "supportbot"
    assert slack["CSUPPORT"] == "support"
    discord = DiscordEmulator(demo_world())
    names = render.discord_names(discord.world)
    assert names["1000000000000000005"] == "Alice"
    assert names["1000000000000000001"] == "Support Bot"
    assert names["1000000000000000004"] == "support"


async def test_a_discord_message_from_the_emulator_renders() -> None:
    discord = DiscordEmulator(demo_world())
    sent = await discord.user(1000000000000000005).send_dm("It's **urgent**")
    data = message_json(sent, discord.world)
    assert render.discord_author(data) == "Alice"
    assert render.discord_message(data, render.discord_names(discord.world)) == "It's urgent"


def test_discords_own_notice_of_someone_added_to_a_thread() -> None:
    notice = {
        "type": 1,
        "content": "",
        "author": {"username": "supportbot", "global_name": "Support Bot"},
        "mentions": [{"username": "alice", "global_name": "Alice"}],
    }
    assert render.discord_message(notice, {}) == "(added Alice to the thread)"
