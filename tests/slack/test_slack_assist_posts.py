"""What the AI features show agents in Slack: summaries, drafts, translation lines, automated
answers, hand-offs and the card's triage and AI buttons, posted into the Slack emulator through
the real slack_sdk client; and the pure builders behind them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import load_settings
from bot.core.assist import Citation, encode_citations
from bot.core.delivery import (
    MAIN_WORKSPACE,
    Delivery,
    DeliveryId,
    DeliveryJob,
    DeliveryStatus,
    Lane,
    NewDelivery,
)
from bot.core.dispatcher import Dispatcher
from bot.core.domain import (
    Actor,
    ActorKind,
    Agent,
    AgentId,
    Customer,
    CustomerId,
    Direction,
    Message,
    MessageId,
    MessageRef,
    Priority,
    Status,
    Ticket,
    TicketId,
    TicketNumber,
    Triage,
)
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.outbound import (
    AutoAnswered,
    CardChanged,
    DraftOffered,
    HandedOff,
    OutboundEvent,
    ReplyTranslated,
    SummaryShown,
    TranslationShown,
)
from bot.core.routes import Routes
from bot.core.service import TicketService
from integrations import platforms
from integrations.sandbox.slack import DEMO, SlackEmulator, Timing, demo_workspace
from integrations.sandbox.slack.model import Message as SlackMessage
from integrations.slack.assist_posts import (
    DRAFT_BLOCK,
    auto_answer_post,
    draft_post,
    edited_text,
    handed_off_line,
    language_name,
    reply_translated_post,
    sections,
    shown_copy,
    summary_post,
    translated_copy,
)
from integrations.slack.blocks import ACTION_PREFIX, CardAi, ticket_card, triage_line
from integrations.slack.client import web_client
from integrations.slack.refs import ref_of, split_ref
from integrations.slack.workspace import SlackWorkspace
from storage.repository import SqlStorage
from tests.fakes import QuietChannel
from tests.support import FakeClock

SENT = datetime(2026, 3, 2, 9, tzinfo=UTC)
ANN = Agent(AgentId(DEMO.agent1), "Alice Agent")
HOSTILE = "Ping <!channel> and <@U123> & co"
ESCAPED = "Ping &lt;!channel&gt; and &lt;@U123&gt; &amp; co"
CITED = encode_citations(
    (Citation("refunds", "Refunds & returns", 0.82), Citation("billing", "Billing FAQ", 0.41))
)
TRIAGE = Triage(
    category="Billing",
    category_confidence=0.82,
    priority=Priority.HIGH,
    priority_confidence=0.64,
    sentiment="negative",
    sentiment_confidence=0.7,
    language="de",
    title="Refund for a double charge",
    by_model=True,
)


class CustomerSide(QuietChannel):
    """The customer's channel: records every delivery it is handed (none should be ours)."""

    def __init__(self) -> None:
        self.handed: list[DeliveryJob] = []

    async def answer(self, job: DeliveryJob) -> str | None:
        self.handed.append(job)
        return f"discord-{len(self.handed)}"


@dataclass
class Desk:
    slack: SlackEmulator
    service: TicketService
    dispatcher: Dispatcher
    workspace: SlackWorkspace
    storage: SqlStorage
    customer: CustomerSide
    clock: FakeClock
    said: int = field(default=0)

    async def drain(self) -> None:
        while await self.dispatcher.run_once():
            pass

    async def ticket(self, body: str = "Hallo, ich wurde doppelt belastet") -> Ticket:
        """A ticket whose card and first message are in the support channel."""
        self.said += 1
        intake = await self.service.receive_customer_message(
            CustomerMessage(platforms.DISCORD, f"m{self.said}", "42", "Dana", body, SENT)
        )
        await self.drain()
        return await self.service.get_ticket(intake.ticket.number)

    async def messages(self, number: TicketNumber) -> list[Message]:
        return (await self.service.ticket_detail(number)).messages

    async def job(
        self, ticket: Ticket, event: OutboundEvent, message: Message | None = None
    ) -> DeliveryJob:
        """A delivery on the agents' lane, as the dispatcher would hand it over."""
        customer = (await self.service.ticket_detail(ticket.number)).customer
        return hand_built(ticket, customer, event, message)

    def thread(self, ticket: Ticket) -> list[SlackMessage]:
        assert ticket.workspace_ref is not None
        return self.slack.thread(*split_ref(ticket.workspace_ref))

    def post(self, ref: str) -> SlackMessage:
        return self.slack.message(*split_ref(ref))

    def card(self, ticket: Ticket) -> SlackMessage:
        assert ticket.workspace_ref is not None
        return self.post(ticket.workspace_ref)


def hand_built(
    ticket: Ticket, customer: Customer, event: OutboundEvent, message: Message | None = None
) -> DeliveryJob:
    delivery = Delivery(
        DeliveryId(1),
        ticket.id,
        Lane.AGENTS,
        event,
        DeliveryStatus.PENDING,
        SENT,
        SENT,
        message_id=message.id if message is not None else None,
        workspace=MAIN_WORKSPACE,
    )
    return DeliveryJob(delivery, ticket, customer, message, card=ticket.workspace_ref)


@pytest.fixture
async def desk(
    desk_storage: SqlStorage,
    clock: FakeClock,
    workdir: object,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Desk]:
    async with SlackEmulator(demo_workspace(), timing=Timing.fast()) as slack:
        monkeypatch.setenv("SLACK_API_URL", slack.api_url)
        monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
        client = web_client(load_settings())
        workspace = SlackWorkspace(client, DEMO.support, ai=CardAi("en", buttons=True))
        customer = CustomerSide()
        routes = Routes(workspace, {platforms.DISCORD: customer})
        dispatcher = Dispatcher(desk_storage, clock, routes)
        service = TicketService(desk_storage, clock)
        yield Desk(slack, service, dispatcher, workspace, desk_storage, customer, clock)


def texts(blocks: list[dict[str, Any]] | None) -> list[str]:
    """Every mrkdwn text in the blocks, in order (sections and context elements)."""
    found: list[str] = []
    for block in blocks or []:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return found


def buttons(blocks: list[dict[str, Any]] | None, block_id: str) -> list[dict[str, Any]]:
    for block in blocks or []:
        if block.get("block_id") == block_id:
            return list(block["elements"])
    return []


# --- the posts, in the emulator -----------------------------------------------------------


async def test_a_summary_is_an_internal_note_in_the_thread(desk: Desk) -> None:
    ticket = await desk.ticket()
    event = SummaryShown(HOSTILE, "asked", "Alice <Agent>", "the model timed out")
    ref = await desk.workspace.show_summary(await desk.job(ticket, event), event)

    assert ref is not None
    post = desk.post(ref)
    assert post.thread_ts == split_ref(ticket.workspace_ref or "")[1]
    assert texts(post.blocks) == [
        ":memo: Summary · asked by Alice &lt;Agent&gt; · internal, not sent to the customer",
        ESCAPED,
        "Written without a model: the model timed out",
    ]
    assert "<!channel>" not in post.text


@pytest.mark.parametrize(
    ("occasion", "said"), [("escalation", "on escalation"), ("takeover", "when taken over")]
)
async def test_a_summary_says_when_it_was_written(desk: Desk, occasion: str, said: str) -> None:
    ticket = await desk.ticket()
    event = SummaryShown("Customer was charged twice.", occasion, None, None)
    ref = await desk.workspace.show_summary(await desk.job(ticket, event), event)
    assert ref is not None
    assert texts(desk.post(ref).blocks) == [
        f":memo: Summary · {said} · internal, not sent to the customer",
        "Customer was charged twice.",
    ]


async def test_a_draft_has_send_edit_and_discard_carrying_its_id(desk: Desk) -> None:
    ticket = await desk.ticket()
    event = DraftOffered(17, HOSTILE, CITED, None, "Alice Agent")
    ref = await desk.workspace.offer_draft(await desk.job(ticket, event), event)

    assert ref is not None
    post = desk.post(ref)
    assert texts(post.blocks) == [
        ":pencil2: Drafted reply · for agents only, not sent · asked by Alice Agent",
        ESCAPED,
        "Sources: Refunds &amp; returns (relevance 0.82), Billing FAQ (relevance 0.41)",
    ]
    controls = buttons(post.blocks, DRAFT_BLOCK)
    assert [(b["action_id"], b["text"]["text"], b["value"]) for b in controls] == [
        ("draft_send", "Send", "17"),
        ("draft_edit", "Edit", "17"),
        ("draft_discard", "Discard", "17"),
    ]
    assert controls[0]["style"] == "primary"


async def test_no_draft_names_the_articles_that_may_help_and_has_no_buttons(desk: Desk) -> None:
    ticket = await desk.ticket()
    event = DraftOffered(None, None, CITED, "nothing above the cut-off", None)
    ref = await desk.workspace.offer_draft(await desk.job(ticket, event), event)

    assert ref is not None
    post = desk.post(ref)
    assert texts(post.blocks) == [
        ":mag: No article matches this question",
        "Articles that may help: Refunds &amp; returns (relevance 0.82), "
        "Billing FAQ (relevance 0.41)",
        "No draft was written: nothing above the cut-off",
    ]
    assert not [b for b in post.blocks or [] if b["type"] == "actions"]


async def test_a_translation_line_goes_under_the_customers_message(desk: Desk) -> None:
    ticket = await desk.ticket("Hallo, ich wurde **doppelt** belastet")
    (message,) = await desk.messages(ticket.number)
    event = TranslationShown("de", f"Hello, I was charged *twice*. {HOSTILE}")
    ref = await desk.workspace.show_translation(await desk.job(ticket, event, message), event)

    (copy,) = desk.thread(ticket)
    assert ref == f"{copy.channel}:{copy.ts}"
    assert copy.text == "Hallo, ich wurde *doppelt* belastet"  # the words stay as they were
    assert texts(copy.blocks) == [
        "Hallo, ich wurde *doppelt* belastet",
        f":globe_with_meridians: Translated from German: Hello, I was charged *twice*. {ESCAPED}",
    ]
    assert copy.username == "Dana (Discord)"  # still the customer's post


async def test_a_split_message_gets_its_translation_under_the_last_piece(desk: Desk) -> None:
    paragraph = ("Wort " * 1999).strip() + "."
    ticket = await desk.ticket("\n\n".join([paragraph] * 8))  # 80,000 characters: 3 posts
    (message,) = await desk.messages(ticket.number)
    assert len(message.copies(platforms.SLACK, MAIN_WORKSPACE)) == 3  # every piece is a copy
    event = TranslationShown("de", "Word word word.")
    await desk.workspace.show_translation(await desk.job(ticket, event, message), event)

    first, middle, last = desk.thread(ticket)
    assert first.blocks is None
    assert middle.blocks is None
    assert last.blocks is not None
    words = "".join(texts(last.blocks[:-1]))
    assert "".join(words.split()) == "".join(last.text.split())  # cut in sections, whole
    assert all(len(t) <= 3000 for t in texts(last.blocks))
    assert texts(last.blocks)[-1] == (
        ":globe_with_meridians: Translated from German: Word word word."
    )


async def test_a_copy_that_is_gone_takes_no_translation(desk: Desk) -> None:
    ticket = await desk.ticket()
    (message,) = await desk.messages(ticket.number)
    (copy,) = desk.thread(ticket)
    desk.slack.workspace.delete(copy.channel, copy.ts, desk.slack.bot_user_id)
    event = TranslationShown("de", "Hello")
    assert (
        await desk.workspace.show_translation(await desk.job(ticket, event, message), event) is None
    )


async def test_an_edit_after_a_translation_shows_and_drops_the_line(desk: Desk) -> None:
    ticket = await desk.ticket("Halo")
    (message,) = await desk.messages(ticket.number)
    event = TranslationShown("de", "Hello")
    await desk.workspace.show_translation(await desk.job(ticket, event, message), event)
    await desk.service.edit_message(MessageRef(platforms.DISCORD, "m1"), "Hallo", SENT)
    await desk.drain()

    (copy,) = desk.thread(ticket)
    assert copy.text == "Hallo\n_(edited)_"
    assert not copy.blocks  # the edit shows; the translation of the old words went with them


async def test_a_translated_reply_is_told_beneath_it(desk: Desk) -> None:
    ticket = await desk.ticket()
    sent = ReplyTranslated("de", f"Wir erstatten es. {HOSTILE}", None)
    ref = await desk.workspace.reply_translated(await desk.job(ticket, sent), sent)
    assert ref is not None
    assert texts(desk.post(ref).blocks) == [
        f":globe_with_meridians: Sent to the customer in German: Wir erstatten es. {ESCAPED}"
    ]

    as_written = ReplyTranslated("de", None, "the day's token budget is spent")
    ref = await desk.workspace.reply_translated(await desk.job(ticket, as_written), as_written)
    assert ref is not None
    assert texts(desk.post(ref).blocks) == [
        ":warning: Sent as written, not translated: the day's token budget is spent"
    ]


async def test_an_automated_answer_is_shown_with_its_sources(desk: Desk) -> None:
    ticket = await desk.ticket()
    answer = Message(
        MessageId(99),
        ticket.id,
        Direction.TO_CUSTOMER,
        Actor(ActorKind.SYSTEM, "assistant", "Threadline"),
        f"**Refunds** take 5 days. {HOSTILE}",
        SENT,
    )
    event = AutoAnswered(CITED)
    ref = await desk.workspace.show_auto_answer(await desk.job(ticket, event, answer), event)

    assert ref is not None
    assert desk.thread(ticket)[-1].ts == split_ref(ref)[1]
    assert texts(desk.post(ref).blocks) == [
        ":robot_face: Automated answer sent to the customer:",
        f"*Refunds* take 5 days. {ESCAPED}",  # as the customer read it, in Slack's markup
        "Sources: Refunds &amp; returns (relevance 0.82), Billing FAQ (relevance 0.41)",
    ]


async def test_a_hand_off_mentions_the_assignee(desk: Desk) -> None:
    ticket = await desk.ticket()
    asked = HandedOff(by_customer=True)
    ref = await desk.workspace.handed_off(await desk.job(ticket, asked), asked)
    assert ref is not None
    assert desk.post(ref).text == ":raising_hand: The customer asked for a person"

    claimed = await desk.service.claim(ticket.number, ANN)
    await desk.drain()
    could_not = HandedOff(by_customer=False)
    ref = await desk.workspace.handed_off(await desk.job(claimed, could_not), could_not)
    assert ref is not None
    assert desk.post(ref).text == (
        f":raising_hand: The assistant could not answer; a person is needed: <@{DEMO.agent1}>"
    )


async def test_none_of_it_reaches_the_customer(desk: Desk) -> None:
    """Every AI event queued on the agents' lane, carried by the dispatcher: Slack shows each,
    the customer's side is handed none, and the automated answer's post is recorded as its
    copy in the workspace."""
    ticket = await desk.ticket()
    (question,) = await desk.messages(ticket.number)
    channel, root = split_ref(ticket.workspace_ref or "")
    ts = await desk.slack.user(DEMO.agent1).post(channel, "Refunds take 5 days", thread_ts=root)
    reply = await desk.service.add_agent_message(
        ticket.number, AgentMessage(ANN, "Refunds take 5 days", False, SENT, ref_of(channel, ts))
    )
    assert reply is not None
    await desk.drain()
    handed_before = len(desk.customer.handed)

    events: list[tuple[OutboundEvent, Message | None]] = [
        (SummaryShown("Charged twice.", "asked", "Alice", None), None),
        (DraftOffered(5, "We refunded you.", CITED, None, "Alice"), None),
        (TranslationShown("de", "Hello, I was charged twice"), question),
        (ReplyTranslated("de", "Erstattungen dauern 5 Tage", None), reply),
        (AutoAnswered(CITED), reply),
        (HandedOff(by_customer=True), None),
    ]
    async with desk.storage.transaction() as tx:
        for event, message in events:
            await tx.add_delivery(
                NewDelivery(
                    ticket.id,
                    Lane.AGENTS,
                    event,
                    desk.clock.now(),
                    message.id if message else None,
                    MAIN_WORKSPACE,
                )
            )
    await desk.drain()

    assert len(desk.customer.handed) == handed_before
    shown = [" ".join(texts(m.blocks) or [m.text]) for m in desk.thread(ticket)]
    assert "Translated from German" in shown[0]
    assert any("Summary · asked by Alice" in s for s in shown)
    assert any("Drafted reply" in s for s in shown)
    assert any("Sent to the customer in German" in s for s in shown)
    assert any("Automated answer sent to the customer" in s for s in shown)
    assert shown[-1] == ":raising_hand: The customer asked for a person"
    answered = [m for m in await desk.messages(ticket.number) if m.id == reply.id]
    assert len(answered[0].copies(platforms.SLACK, MAIN_WORKSPACE)) == 2  # the reply, the answer


# --- the card -----------------------------------------------------------------------------


async def test_the_card_shows_the_triage_and_the_ai_buttons(desk: Desk) -> None:
    ticket = replace(await desk.ticket(), triage=TRIAGE)
    job = await desk.job(ticket, CardChanged())
    await desk.workspace.show_card(job)

    blocks = desk.card(ticket).blocks or []
    ids = [b.get("block_id") for b in blocks]
    assert ids.index("ticket_triage") == ids.index("ticket_fields") + 1
    (triage,) = [b for b in blocks if b.get("block_id") == "ticket_triage"]
    assert triage["elements"][0]["text"] == (
        "Category: Billing (82%) · Sentiment: negative (70%) · Language: de · "
        "Suggested priority: High (64%) · by the model\n"
        "*Summary line:* Refund for a double charge"
    )
    ai = buttons(blocks, "ticket_ai")
    number = str(ticket.number)
    assert [(b["action_id"], b["text"]["text"], b["value"]) for b in ai] == [
        ("ai_summary", "Summary", number),
        ("ai_draft", "Draft reply", number),
        ("ai_triage", "Edit triage", number),
        ("ai_translate", "Translate replies: off", f"{number}:on"),
    ]
    assert not any(b["action_id"].startswith(ACTION_PREFIX) for b in ai)


async def test_the_translate_switch_shows_its_state(desk: Desk) -> None:
    ticket = replace(await desk.ticket(), triage=TRIAGE, translate_replies=True)
    await desk.workspace.show_card(await desk.job(ticket, CardChanged()))
    (switch,) = [
        b
        for b in buttons(desk.card(ticket).blocks, "ticket_ai")
        if b["action_id"] == "ai_translate"
    ]
    assert (switch["text"]["text"], switch["value"]) == (
        "Translate replies: on",
        f"{ticket.number}:off",
    )


async def test_a_card_without_triage_or_ai_shows_neither(desk: Desk) -> None:
    ticket = await desk.ticket()
    blocks = desk.card(ticket).blocks or []
    assert "ticket_triage" not in [b.get("block_id") for b in blocks]
    ai = [b["action_id"] for b in buttons(blocks, "ticket_ai")]
    assert ai == ["ai_summary", "ai_draft", "ai_triage"]  # no language: no translate switch

    plain = ticket_card(ticket, (await desk.service.ticket_detail(ticket.number)).customer)
    assert "ticket_ai" not in [b.get("block_id") for b in plain]


async def test_a_closed_ticket_has_no_ai_buttons(desk: Desk) -> None:
    ticket = replace(await desk.ticket(), status=Status.CLOSED, triage=TRIAGE)
    await desk.workspace.show_card(await desk.job(ticket, CardChanged()))
    blocks = desk.card(ticket).blocks or []
    assert buttons(blocks, "ticket_ai") == []
    assert "ticket_triage" in [b.get("block_id") for b in blocks]


# --- the pure builders --------------------------------------------------------------------


def test_triage_says_who_gave_it() -> None:
    assert triage_line(replace(TRIAGE, by_model=False)).endswith(" · by keywords")
    edited = replace(TRIAGE, edited_by="Bo <b> & co", language=None)
    line = triage_line(edited)
    assert line.endswith(" · edited by Bo &lt;b&gt; &amp; co")
    assert "Language" not in line


def test_the_summary_line_is_left_out_when_it_is_the_subject() -> None:
    ticket = _ticket(subject="Refund for a double charge", triage=TRIAGE)
    (triage,) = [
        b for b in ticket_card(ticket, _customer()) if b.get("block_id") == "ticket_triage"
    ]
    assert "Summary line" not in triage["elements"][0]["text"]


def test_the_translate_switch_needs_another_language_than_the_teams() -> None:
    ticket = _ticket(triage=replace(TRIAGE, language="de"))
    for team, shown in (("de", False), ("de-AT", False), ("en", True)):
        blocks = ticket_card(ticket, _customer(), CardAi(team, buttons=True))
        ids = [b["action_id"] for b in buttons(blocks, "ticket_ai")]
        assert ("ai_translate" in ids) is shown
    hidden = ticket_card(ticket, _customer(), CardAi("en", buttons=False))
    assert buttons(hidden, "ticket_ai") == []


def test_model_text_is_escaped_everywhere() -> None:
    summary = SummaryShown(HOSTILE, "asked", HOSTILE, HOSTILE)
    draft = DraftOffered(1, HOSTILE, encode_citations((Citation("x", HOSTILE, 0.5),)), None, None)
    for text, blocks in (
        summary_post(summary),
        draft_post(draft),
        reply_translated_post(ReplyTranslated("xx<y>", HOSTILE, None)),
        reply_translated_post(ReplyTranslated("de", None, HOSTILE)),
        auto_answer_post(_message(HOSTILE), AutoAnswered("")),
        (handed_off_line(_ticket(), HandedOff(True)), []),
    ):
        for shown in [text, *texts(blocks)]:
            assert "<!channel>" not in shown
            assert "<@U123>" not in shown
            assert " & " not in shown


def test_sections_keep_within_slacks_limits() -> None:
    long = "\n\n".join(["word " * 500] * 400)  # 1,000,000 characters
    blocks = sections(long)
    assert len(blocks) == 44
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)
    assert blocks[-1]["text"]["text"].endswith("…")
    line = translated_copy("short", TranslationShown("de", "x " * 20_000))
    assert all(len(e["text"]) <= 3000 for e in line[-1]["elements"])
    assert len(line[-1]["elements"]) <= 10


def test_the_copy_beneath_which_a_translation_goes() -> None:
    message = _message("Hallo")
    assert shown_copy(message, [], []) is None
    assert shown_copy(message, ["C1:1"], []) == ("C1:1", "Hallo")
    paragraph = ("Wort " * 1999).strip() + "."
    split = _message("\n\n".join([paragraph] * 8))  # pieces of 3, 3 and 2 paragraphs
    last = "\n\n".join([paragraph] * 2)
    assert shown_copy(split, ["C1:1", "C1:2", "C1:3"], []) == ("C1:3", last)
    # Recorded before every piece was: the first copy, with the first piece.
    found = shown_copy(split, ["C1:1"], [])
    assert found is not None
    assert found[0] == "C1:1"
    edited = replace(message, edited_at=SENT)
    assert shown_copy(edited, ["C1:1", "C1:2"], []) == ("C1:1", "Hallo\n_(edited)_")
    assert edited_text(replace(message, body=" ")) == "_(emptied)_\n_(edited)_"
    assert shown_copy(replace(message, deleted_at=SENT), ["C1:1"], []) is None


def test_languages_are_named() -> None:
    assert language_name("de") == "German"
    assert language_name("PT") == "Portuguese"
    assert language_name("tlh") == "tlh"
    assert language_name(None) == "an unknown language"


def test_a_draft_without_an_id_has_no_buttons() -> None:
    _, blocks = draft_post(DraftOffered(None, "Text", "", None, None))
    assert buttons(blocks, DRAFT_BLOCK) == []


def _customer() -> Customer:
    return Customer(CustomerId(1), platforms.DISCORD, "42", "Dana")


def _ticket(**changes: Any) -> Ticket:
    ticket = Ticket(
        id=TicketId(1),
        number=TicketNumber(7),
        customer_id=CustomerId(1),
        subject="Charged twice",
        status=Status.NEW,
        priority=Priority.NORMAL,
        tier=1,
        created_at=SENT,
        updated_at=SENT,
    )
    return replace(ticket, **changes)


def _message(body: str) -> Message:
    return Message(
        MessageId(1),
        TicketId(1),
        Direction.FROM_CUSTOMER,
        Actor(ActorKind.CUSTOMER, "42", "Dana"),
        body,
        SENT,
    )
