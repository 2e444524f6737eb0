"""What agents read in the Discord agent workspace, as pure builders: Discord's limits kept,
people's words escaped (nobody pinged by a customer or an agent), Discord users mentioned and
everyone else named, times as Discord timestamps."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import discord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.assist import Citation, encode_citations
from bot.core.digest import Digest
from bot.core.domain import (
    Actor,
    Agent,
    AgentId,
    Attachment,
    Customer,
    CustomerId,
    Direction,
    Message,
    MessageId,
    Platform,
    Priority,
    Status,
    Ticket,
    TicketId,
    TicketNumber,
    Triage,
)
from bot.core.outbound import (
    AutoAnswered,
    DeliveryFailed,
    DraftOffered,
    FollowsUp,
    HandedOff,
    ReplyTranslated,
    SlaBreached,
    SlaReminder,
    SummaryShown,
    SurveyAnswered,
    TicketAssigned,
    TicketEscalated,
    TicketReopened,
    TicketResolved,
    TranslationShown,
)
from bot.core.service import TicketDetail
from integrations.discord import staff_lines as said
from integrations.discord import staff_texts as texts

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EPOCH = int(NOW.timestamp())
SAM = Agent(AgentId("1000000000000000012"), "Sam Staff")  # a Discord user
ANN = Agent(AgentId("U0ANN"), "Ann")  # a Slack user
ALICE = Customer(
    CustomerId(1),
    Platform("discord"),
    "1000000000000000005",
    "Alice",
    avatar_url="https://cdn.example/alice.png",
)
TICKET = Ticket(
    TicketId(1),
    TicketNumber(1042),
    CustomerId(1),
    "Printer on fire",
    Status.NEW,
    Priority.NORMAL,
    1,
    NOW,
    NOW,
    due_at=NOW + timedelta(hours=1),
)
# A ping in any output that a person's words could have put there.
PING = re.compile(r"@(everyone|here)|<@[!&]?[0-9]", re.IGNORECASE)


def message(body: str, direction: Direction = Direction.FROM_CUSTOMER, **kw: object) -> Message:
    author = (
        Actor.of_customer(ALICE) if direction is Direction.FROM_CUSTOMER else Actor.of_agent(ANN)
    )
    return Message(MessageId(7), TicketId(1), direction, author, body, NOW, **kw)  # type: ignore[arg-type]


def assert_embed_fits(embed: discord.Embed) -> None:
    assert len(embed.title or "") <= texts.TITLE_LIMIT
    assert len(embed.description or "") <= texts.DESCRIPTION_LIMIT
    assert len(embed.fields) <= 25
    for field in embed.fields:
        assert 0 < len(field.name or "") <= texts.FIELD_NAME_LIMIT
        assert 0 < len(field.value or "") <= texts.FIELD_LIMIT
    assert len(embed.footer.text or "") <= texts.FOOTER_LIMIT
    assert len(embed.author.name or "") <= texts.AUTHOR_LIMIT
    assert len(embed) <= texts.EMBED_TOTAL


def embed_text(embed: discord.Embed) -> str:
    parts = [embed.title or "", embed.description or "", embed.footer.text or ""]
    parts.append(embed.author.name or "")
    parts += [f"{f.name}\n{f.value}" for f in embed.fields]
    return "\n".join(parts)


# --- names and people ---------------------------------------------------------------------


def test_a_thread_name_is_one_line_of_at_most_100_characters() -> None:
    assert texts.thread_name(TICKET) == "#1042 · Printer on fire"
    messy = replace(TICKET, subject="  Printer\n\n on\tfire  ")
    assert texts.thread_name(messy) == "#1042 · Printer on fire"
    long = texts.thread_name(replace(TICKET, subject="word " * 60))
    assert len(long) == 100
    assert long.endswith("…")
    assert texts.thread_name(replace(TICKET, subject=" \n ")) == "#1042 · (no subject)"


def test_a_discord_agent_is_mentioned_and_anyone_else_named() -> None:
    assert texts.person(SAM) == "<@1000000000000000012>"
    assert texts.person(ANN) == "**Ann**"
    assert texts.person(None) == "Unassigned"
    assert texts.person(None, "nobody") == "nobody"
    tricky = Agent(AgentId("U0X"), "**Bob** @everyone <@&123456789012345678>")
    shown = texts.person(tricky)
    assert shown.startswith("**\\*\\*Bob\\*\\*")
    assert not PING.search(shown)


# --- the card -----------------------------------------------------------------------------


def test_the_card_shows_the_ticket_s_facts_with_timestamps_each_reader_sees_locally() -> None:
    embed = texts.card_embed(replace(TICKET, assignee=SAM), ALICE)
    fields = fields_of(embed)
    assert embed.title == "#1042 · Printer on fire"
    assert fields["Customer"] == "Alice (Discord)"
    assert fields["Status"] == "🆕 New"
    assert fields["Priority"] == "🔵 Normal"
    assert fields["Tier"] == "1"
    assert fields["Assignee"] == "<@1000000000000000012>"
    assert fields["Opened"] == f"<t:{EPOCH}:f>"
    assert fields["SLA due"] == f"<t:{EPOCH + 3600}:f> (<t:{EPOCH + 3600}:R>)"
    assert "Resolved" not in fields
    assert "AI triage" not in fields
    assert embed.colour == discord.Colour.blurple()
    assert embed.footer.text == "Ticket #1042 · updated"
    assert embed.timestamp == NOW


def test_a_resolved_card_shows_when_and_the_rating_and_no_due_time_once_closed() -> None:
    done = replace(TICKET, status=Status.CLOSED, resolved_at=NOW, csat_rating=4, assignee=ANN)
    fields = fields_of(texts.card_embed(done, ALICE))
    assert "SLA due" not in fields
    assert fields["Resolved"] == f"<t:{EPOCH}:f>"
    assert fields["Satisfaction"] == "★★★★☆ 4/5"
    assert fields["Assignee"] == "**Ann**"
    assert fields["Status"] == "🔒 Closed"


def colour(ticket: Ticket) -> discord.Colour | None:
    return texts.card_embed(ticket, ALICE).colour


def fields_of(embed: discord.Embed) -> dict[str, str]:
    return {f.name or "": f.value or "" for f in embed.fields}


def test_the_card_s_colour_follows_status_then_priority() -> None:
    assert colour(replace(TICKET, priority=Priority.URGENT)) == discord.Colour.red()
    assert colour(replace(TICKET, priority=Priority.HIGH)) == discord.Colour.orange()
    assert colour(replace(TICKET, status=Status.RESOLVED)) == discord.Colour.green()
    assert colour(replace(TICKET, status=Status.PENDING)) == discord.Colour.gold()


def test_the_card_shows_the_triage_and_who_gave_it() -> None:
    triage = Triage(
        "billing", 0.91, Priority.HIGH, 0.6, "negative", 0.8, "de", "Refund wanted", True
    )
    fields = fields_of(texts.card_embed(replace(TICKET, triage=triage), ALICE))
    shown = fields["AI triage"]
    assert "Category: billing (91%)" in shown
    assert "Sentiment: negative (80%)" in shown
    assert "Language: German" in shown
    assert "Suggested priority: High (60%)" in shown
    assert "by the model" in shown
    assert "**Summary line:** Refund wanted" in shown
    edited = replace(triage, edited_by="Ann", title="printer on FIRE")
    fields = fields_of(texts.card_embed(replace(TICKET, triage=edited), ALICE))
    assert "edited by Ann" in fields["AI triage"]
    assert "Summary line" not in fields["AI triage"]  # it says no more than the subject


def test_a_card_of_huge_customer_text_stays_within_discord_s_limits() -> None:
    huge = "x" * 5000
    triage = Triage(huge, 1, Priority.LOW, 1, huge, 1, huge, huge, False)
    ticket = replace(TICKET, subject=huge, triage=triage)
    customer = replace(ALICE, display_name=huge)
    embed = texts.card_embed(ticket, customer)
    assert_embed_fits(embed)
    assert (embed.title or "").endswith("…")


# --- messages -----------------------------------------------------------------------------


def test_a_customer_s_message_is_shown_under_their_name_and_avatar() -> None:
    files = (Attachment("log.txt", "https://cdn.example/log.txt", 2048),)
    [embed] = texts.customer_embeds(message("It **smells** of toast", attachments=files), ALICE)
    assert embed.author.name == "Alice (Discord)"
    assert embed.author.icon_url == "https://cdn.example/alice.png"
    assert embed.description == "It **smells** of toast"  # their Markdown, as they wrote it
    [attached] = embed.fields
    assert attached.value == "📎 [log.txt](<https://cdn.example/log.txt>) (2 KB)"
    assert embed.footer.text is None
    assert embed.timestamp == NOW


def test_a_customer_cannot_ping_the_staff_channel() -> None:
    body = "@everyone @here <@&123456789012345678> <@123456789012345678> <@!123456789012345678>"
    [embed] = texts.customer_embeds(message(body), replace(ALICE, display_name="@everyone"))
    assert not PING.search(embed_text(embed))
    assert "everyone" in (embed.description or "")  # the words are kept


def test_an_edited_and_a_deleted_customer_message_say_so() -> None:
    [edited] = texts.customer_embeds(message("fixed", edited_at=NOW), ALICE)
    assert edited.footer.text == "(edited)"
    [deleted] = texts.customer_embeds(message("oops\n\n~~x~~ *y*", deleted_at=NOW), ALICE)
    assert deleted.description == "~~oops~~\n~~\\~\\~x\\~\\~ \\*y\\*~~\n*(deleted by the customer)*"


def test_a_long_customer_message_is_cut_with_a_note() -> None:
    [embed] = texts.customer_embeds(message("word " * 2000), ALICE)
    assert embed.description is not None
    assert len(embed.description) <= texts.DESCRIPTION_LIMIT
    assert embed.description.endswith("*(cut: 9999 characters in all, the rest is not shown)*")
    assert_embed_fits(embed)


def test_many_files_are_listed_as_far_as_a_field_goes() -> None:
    files = tuple(
        Attachment(f"file-{i}.png", f"https://cdn.example/{i}.png", 10) for i in range(60)
    )
    [embed] = texts.customer_embeds(message("", attachments=files), ALICE)
    assert embed.description is None
    [attached] = embed.fields
    assert attached.value is not None
    assert attached.value.startswith("📎 [file-0.png](<https://cdn.example/0.png>) (10 B)")
    assert re.search(r"… and \d+ more$", attached.value)
    assert_embed_fits(embed)


def test_a_translation_is_shown_beneath_the_customer_s_message() -> None:
    event = TranslationShown("de", "Hello @everyone [bank](https://evil.example)")
    [embed] = texts.customer_embeds(message("Hallo"), ALICE, event)
    translated = embed.fields[-1]
    assert translated.name == "🌐 Translated from German"
    assert translated.value == "Hello @\u200beveryone bank (<https://evil.example>)"


def test_an_agent_s_reply_and_note_from_slack_say_who_wrote_them_and_for_whom() -> None:
    reply = texts.agent_copy(message("On its way", Direction.TO_CUSTOMER), "Slack")
    assert reply == ["**Ann** (Slack) → customer:\nOn its way"]
    note = texts.agent_copy(message("Check the logs", Direction.NOTE), "Slack")
    assert note == ["📝 **Ann** (Slack) · internal note, not sent to the customer:\nCheck the logs"]


def test_an_agent_s_edited_deleted_and_long_copies() -> None:
    edited = texts.agent_copy(message("v2", Direction.NOTE, edited_at=NOW), "Slack")
    assert edited[0].endswith("\nv2\n*(edited)*")
    deleted = texts.agent_copy(message("gone", Direction.TO_CUSTOMER, deleted_at=NOW), "Slack")
    assert deleted == ["**Ann** (Slack) → customer:\n~~gone~~\n*(deleted by its author)*"]
    long = texts.agent_copy(message("Sentence here. " * 400, Direction.TO_CUSTOMER), "Slack")
    assert len(long) > 1
    assert all(len(piece) <= texts.CONTENT_LIMIT for piece in long)


def test_an_unclosed_code_block_cannot_swallow_what_follows() -> None:
    [copy] = texts.agent_copy(message("```py\nprint(1)", Direction.NOTE, edited_at=NOW), "Slack")
    assert copy.endswith("print(1)\n```\n*(edited)*")


# --- a ticket's life ----------------------------------------------------------------------


def test_moves_are_lines_with_people_s_words_escaped() -> None:
    assert (
        said.move_line(TicketEscalated("Ann", "tier 2", "needs *root* @here"))
        == "⏫ Escalated by Ann (tier 2): needs \\*root\\* @\u200bhere"
    )
    assert said.move_line(TicketAssigned("Ann", "Sam", None)) == "👤 Assigned by Ann (Sam)"
    assert said.move_line(TicketResolved("Sam", None)) == "✅ Resolved by Sam"
    assert said.move_line(TicketReopened("Alice", "still_broken")) == (
        "↩️ Reopened by Alice: still\\_broken"
    )


def test_follow_ups_and_failures() -> None:
    assert said.follow_up_line(FollowsUp(1001, "Old  issue")) == (
        "🔗 This follows up on ticket #1001 (Old issue)."
    )
    failed = said.failed_line(ALICE, DeliveryFailed(3, "Cannot send messages to this user"))
    assert failed == "⚠️ Not delivered to Alice: Cannot send messages to this user"


def test_an_sla_reminder_and_breach_name_the_deadline_and_the_assignee() -> None:
    held = replace(TICKET, assignee=SAM)
    reminder = said.sla_text(held, ALICE, SlaReminder("first_response", NOW, SAM.id), None)
    assert reminder == (
        f"⏰ Ticket #1042 (Printer on fire) from Alice: the first response is due "
        f"<t:{EPOCH}:f> (<t:{EPOCH}:R>). Assignee: <@1000000000000000012>."
    )
    link = "https://discord.com/channels/1/2/3"
    breach = said.sla_text(TICKET, ALICE, SlaBreached("resolution", NOW, 5400), link, 77)
    assert breach.startswith("<@&77> 🚨 SLA breached: the resolution target of ticket ")
    assert f"[#1042](<{link}>)" in breach
    assert "is 1h 30m late. Assignee: nobody." in breach


def test_a_rating_and_a_comment() -> None:
    rated = said.csat_text(TICKET, SurveyAnswered("Alice", 2, "slow @everyone"), None)
    assert rated == "⭐ Alice rated ticket #1042 ★★☆☆☆ 2/5: “slow @\u200beveryone”"
    commented = said.csat_text(TICKET, SurveyAnswered("Alice", None, "thanks"), "https://x")
    assert commented == "💬 Alice commented on ticket [#1042](<https://x>): “thanks”"


def test_the_digest_in_discord_markdown_escapes_what_people_typed() -> None:
    late = replace(TICKET, subject="my_printer @everyone", assignee=ANN)
    digest = Digest(NOW.date(), (late,), (), timedelta(hours=1), None)
    [text] = said.digest_text(digest)
    assert text.splitlines() == [
        "**Daily digest** (2026-03-02)",
        "Breached and still open: 1",
        "• #1042 my\\_printer @\u200beveryone (Ann)",
        "At risk within 1h: 0",
    ]


# --- the AI features ----------------------------------------------------------------------

CITED = encode_citations((Citation("refunds", "Refunds", 0.82),))


def test_a_summary_is_marked_internal_and_its_links_show_where_they_go() -> None:
    [text] = said.summary_text(
        SummaryShown("Wants a [refund](https://evil.example).", "escalation", None, "no model")
    )
    assert text.splitlines() == [
        "📝 **Summary** · on escalation · internal, not sent to the customer",
        "Wants a refund (<https://evil.example>).",
        "-# Written without a model: no model",
    ]
    [asked] = said.summary_text(SummaryShown("x", "asked", "Sam", None))
    assert asked.startswith("📝 **Summary** · asked by Sam ·")


def test_a_draft_shows_its_sources_and_no_draft_the_articles_that_may_help() -> None:
    [draft] = said.draft_text(DraftOffered(5, "Hi **there**", CITED, None, "Sam"))
    assert draft.splitlines() == [
        "✏️ **Drafted reply** · for agents only, not sent · asked by Sam",
        "Hi **there**",
        "-# Sources: Refunds (relevance 0.82)",
    ]
    [none] = said.draft_text(DraftOffered(None, None, CITED, "no model", None))
    assert none.splitlines() == [
        "🔍 No article matches this question",
        "-# Articles that may help: Refunds (relevance 0.82)",
        "-# No draft was written: no model",
    ]


def test_translations_automated_answers_and_hand_offs() -> None:
    assert said.translation_text(TranslationShown("fr", "Hello")) == (
        "🌐 Translated from French: Hello"
    )
    assert said.reply_translated_text(ReplyTranslated("de", "Hallo", None)) == (
        "🌐 Sent to the customer in German: Hallo"
    )
    assert said.reply_translated_text(ReplyTranslated("de", None, "no model")) == (
        "⚠️ Sent as written, not translated: no model"
    )
    answer = message("Try **restarting** it", Direction.TO_CUSTOMER)
    [auto] = said.auto_answer_text(answer, AutoAnswered(CITED))
    assert auto.splitlines() == [
        "🤖 **Automated answer sent to the customer:**",
        "Try **restarting** it",
        "-# Sources: Refunds (relevance 0.82)",
    ]
    assert said.handed_off_line(TICKET, HandedOff(True)) == "🙋 The customer asked for a person"
    assert said.handed_off_line(replace(TICKET, assignee=SAM), HandedOff(False)) == (
        "🙋 The assistant could not answer; a person is needed: <@1000000000000000012>"
    )


# --- the commands' answers ----------------------------------------------------------------


def test_a_list_marks_what_is_overdue_and_fits_one_message() -> None:
    late = replace(TICKET, due_at=NOW - timedelta(minutes=5), assignee=ANN)
    text = said.queue_lines([late, replace(TICKET, number=TicketNumber(1043))], NOW)
    lines = text.splitlines()
    assert lines[0] == "**Unassigned, soonest due first** (2):"
    assert lines[1] == (
        f"• **#1042** Printer on fire · 🆕 New · 🔵 Normal · **Ann** · "
        f"due <t:{EPOCH - 300}:R> ⚠️ overdue"
    )
    assert lines[2].startswith("• **#1043** ")
    many = [replace(TICKET, subject="s" * 200, number=TicketNumber(n)) for n in range(100)]
    text = said.mine_lines(many, NOW)
    assert len(text) <= texts.CONTENT_LIMIT
    assert re.search(r"… and \d+ more$", text)
    assert said.mine_lines([], NOW) == "**Your tickets**: none."


def test_a_ticket_s_detail_keeps_the_newest_messages_and_marks_notes() -> None:
    written = [
        message(f"line {i} " + "x" * 280, Direction.NOTE if i % 2 else Direction.FROM_CUSTOMER)
        for i in range(12)
    ]
    detail = TicketDetail(TICKET, ALICE, written, [])
    text = said.ticket_text(detail, NOW)
    assert len(text) <= texts.CONTENT_LIMIT
    assert text.startswith("**#1042 · Printer on fire**\nCustomer: Alice (Discord) · ")
    assert "(📝 internal note): line 11" in text
    assert "line 0 " not in text
    assert "**Last messages** (5, 12 in all):" in text


# --- properties -----------------------------------------------------------------------------

TRICKS = [
    "@everyone",
    "@here",
    "@",
    "everyone",
    "<@&123456789012345678>",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "```",
    "**",
    "~~",
    "||",
    "\\",
    "[a](https://x.example)",
    "\n",
    " ",
    "# ",
    "> ",
]
words = st.lists(st.one_of(st.text(max_size=30), st.sampled_from(TRICKS)), max_size=30).map("".join)
# Now and then far longer than any limit.
people_text = st.one_of(words, st.tuples(words, st.integers(50, 400)).map(lambda t: t[0] * t[1]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=people_text, name=people_text, body=people_text, other=people_text)
def test_no_output_breaks_a_limit_or_pings_from_people_s_words(
    subject: str, name: str, body: str, other: str
) -> None:
    agent = Agent(AgentId("U0X"), name)
    triage = Triage(other, 0.5, Priority.HIGH, 0.5, other, 0.5, other, other, True, other)
    ticket = replace(TICKET, subject=subject, assignee=agent, triage=triage, csat_rating=3)
    customer = replace(ALICE, display_name=name)
    files = (Attachment(other, "https://cdn.example/f", 10),)
    from_customer = message(body, attachments=files)
    reply = replace(message(body, Direction.TO_CUSTOMER), author=Actor.of_agent(agent))
    note = replace(reply, direction=Direction.NOTE, edited_at=NOW)
    gone = replace(from_customer, deleted_at=NOW)
    cited = encode_citations((Citation("a", other, 0.5),))

    name_ = texts.thread_name(ticket)
    assert 1 <= len(name_) <= texts.THREAD_NAME_LIMIT
    assert "\n" not in name_

    embeds = [texts.card_embed(ticket, customer)]
    embeds += texts.customer_embeds(from_customer, customer, TranslationShown(other, body))
    embeds += texts.customer_embeds(gone, customer)
    for embed in embeds:
        assert_embed_fits(embed)
        assert not PING.search(embed_text(embed))

    contents = [
        *texts.agent_copy(reply, other),
        *texts.agent_copy(note, other),
        *texts.agent_copy(replace(reply, deleted_at=NOW), other),
        said.move_line(TicketEscalated(name, other, body)),
        said.move_line(TicketAssigned(name, other, body)),
        said.move_line(TicketResolved(name, body)),
        said.move_line(TicketReopened(name, body)),
        said.follow_up_line(FollowsUp(1, subject)),
        said.failed_line(customer, DeliveryFailed(1, body)),
        said.sla_text(ticket, customer, SlaReminder(other, NOW, None), None),
        said.sla_text(ticket, customer, SlaBreached(other, NOW, 99), "https://l"),
        said.csat_text(ticket, SurveyAnswered(name, 1, body), None),
        *said.digest_text(Digest(NOW.date(), (ticket,), (ticket,), timedelta(hours=1), 0.5)),
        *said.summary_text(SummaryShown(body, other, name, other)),
        *said.draft_text(DraftOffered(1, body, cited, other, name)),
        *said.draft_text(DraftOffered(None, None, cited, other, name)),
        said.translation_text(TranslationShown(other, body)),
        said.reply_translated_text(ReplyTranslated(other, body, None)),
        said.reply_translated_text(ReplyTranslated(other, None, body)),
        *said.auto_answer_text(reply, AutoAnswered(cited)),
        said.handed_off_line(ticket, HandedOff(False)),
        said.queue_lines([ticket] * 30, NOW),
        said.mine_lines([ticket], NOW),
        said.ticket_text(TicketDetail(ticket, customer, [from_customer, note, gone], []), NOW),
    ]
    for content in contents:
        assert 0 < len(content) <= texts.CONTENT_LIMIT
        assert not PING.search(content), content
