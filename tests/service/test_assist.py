"""The AI features in the core, with a scripted assistant: what each side is shown, what waits
for an agent, what stops the automated answers, and that the assistant is never in the way
(nothing queued without AI, a reply never held back, an answer written once). Read as what each
side sees (tests/fakes.py). Run on SQLite and PostgreSQL; the real assistant and the platforms
are in tests/loop/test_loop_ai.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from bot.core.ai_policy import AiPolicy, AutoAnswerMode
from bot.core.assist import (
    AutoReply,
    Citation,
    Conversation,
    Drafted,
    DraftStatus,
    Speaker,
    Spend,
    Summarised,
    Translated,
    Triaged,
)
from bot.core.delivery import DeliveryStatus, Lane
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Action, Actor, MessageRef, Priority, TicketNumber, Triage
from bot.core.errors import AssistantOff, DraftDecided
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.routes import Routes
from bot.core.service import TicketService
from bot.core.sla_keeper import SlaKeeper
from integrations.platforms import DISCORD, SLACK
from storage.repository import SqlStorage
from tests.fakes import RecordingChannel, RecordingWorkspace
from tests.service.test_dispatcher import drain
from tests.service.test_transcripts import ANN, BOB, POLICY
from tests.support import FakeClock

ARTICLE = Citation("refund-policy", "Refunds", 0.8)


def triage(language: str | None = "en", priority: Priority = Priority.HIGH) -> Triage:
    return Triage("Billing", 0.9, priority, 0.7, "negative", 0.6, language, "Charged twice", True)


@dataclass
class ScriptedAssistant:
    """An assistant whose answers a test sets; it records what it was asked."""

    has_model: bool = True
    language: str | None = "en"
    auto: AutoReply = field(default_factory=lambda: AutoReply("none"))
    draft_text: str | None = "Refunds take 5 days."
    asked: list[tuple[str, bool]] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)
    gate: asyncio.Event | None = None
    called: asyncio.Event = field(default_factory=asyncio.Event)
    spend: tuple[Spend, ...] = (Spend("m", 10, 5),)

    async def _ask(self, what: str, use_model: bool) -> None:
        self.asked.append((what, use_model))
        self.called.set()
        if self.gate is not None:
            await self.gate.wait()

    async def triage(self, text: str, *, use_model: bool) -> Triaged:
        await self._ask("triage", use_model)
        return Triaged(triage(self.language), self.spend)

    async def detect_language(self, text: str) -> str | None:
        return self.language

    async def translate(self, text: str, target: str, *, use_model: bool) -> Translated:
        await self._ask(f"translate to {target}", use_model)
        if not use_model:
            return Translated(None, self.language, target, fallback="no model")
        return Translated(f"[{target}] {text}", self.language, target, self.spend)

    async def summarise(self, conversation: Conversation, *, use_model: bool) -> Summarised:
        await self._ask("summary", use_model)
        self.conversations.append(conversation)
        return Summarised(f"{len(conversation.turns)} turns", self.spend)

    async def draft(self, conversation: Conversation, *, use_model: bool) -> Drafted:
        await self._ask("draft", use_model)
        if self.draft_text is None:
            return Drafted(None, (ARTICLE,), fallback="no model")
        return Drafted(self.draft_text, (ARTICLE,), self.spend)

    async def auto_answer(self, conversation: Conversation, *, use_model: bool) -> AutoReply:
        await self._ask("auto_answer", use_model)
        self.conversations.append(conversation)
        return self.auto


@dataclass
class Desk:
    service: TicketService
    dispatcher: Dispatcher
    assistant: ScriptedAssistant
    workspace: RecordingWorkspace
    channel: RecordingChannel
    clock: FakeClock
    storage: SqlStorage
    written: int = 0

    async def customer(self, body: str) -> TicketNumber:
        self.written += 1
        intake = await self.service.receive_customer_message(
            CustomerMessage(DISCORD, f"m{self.written}", "1001", "Alice", body, self.clock.now())
        )
        await drain(self.dispatcher)
        return intake.ticket.number

    async def agent(self, number: TicketNumber, body: str, *, internal: bool = False) -> None:
        msg = AgentMessage(ANN, body, internal, self.clock.now())
        await self.service.add_agent_message(number, msg)
        await drain(self.dispatcher)

    def thread(self) -> list[str]:
        return self.workspace.lines()

    def customer_saw(self) -> list[str]:
        return self.channel.lines()


def make_desk(
    storage: SqlStorage,
    clock: FakeClock,
    policy: AiPolicy | None,
    assistant: ScriptedAssistant | None = None,
) -> Desk:
    assistant = assistant or ScriptedAssistant()
    service = TicketService(
        storage, clock, sla=SlaKeeper(POLICY), ai=policy, assistant=assistant if policy else None
    )
    workspace, channel = RecordingWorkspace(), RecordingChannel()
    carry = service.assist if policy else None
    dispatcher = Dispatcher(storage, clock, Routes(workspace, {DISCORD: channel}, carry))
    return Desk(service, dispatcher, assistant, workspace, channel, clock, storage)


@pytest.fixture
def desk(storage: SqlStorage, clock: FakeClock) -> Desk:
    return make_desk(storage, clock, AiPolicy())


async def test_without_ai_nothing_is_queued_for_an_assistant(
    storage: SqlStorage, clock: FakeClock
) -> None:
    plain = make_desk(storage, clock, None)
    number = await plain.customer("I was charged twice")
    ticket = await plain.service.get_ticket(number)
    async with storage.reading() as tx:
        lanes = {d.lane for d in await tx.list_deliveries(ticket.id)}
    assert Lane.ASSISTANT not in lanes
    assert ticket.triage is None
    with pytest.raises(AssistantOff):
        await plain.service.ask_for_summary(ticket.number, ANN)


async def test_a_new_ticket_is_triaged_on_its_card_and_gets_a_draft(desk: Desk) -> None:
    number = await desk.customer("I was charged twice for my order")
    ticket = await desk.service.get_ticket(number)
    assert ticket.triage == triage()
    assert ticket.priority is Priority.NORMAL  # suggested, not applied: auto_priority is off
    thread = desk.thread()
    assert thread[1] == "customer wrote: I was charged twice for my order"
    assert any(line.startswith("draft ") and "[refund-policy]" in line for line in thread)
    assert not any("draft" in line or "Refunds" in line for line in desk.customer_saw())
    async with desk.storage.reading() as tx:
        spent = await tx.spent_on_ticket(ticket.id)
    assert spent.calls == 2  # the triage and the draft


async def test_the_suggested_priority_is_applied_only_when_configured(
    storage: SqlStorage, clock: FakeClock
) -> None:
    auto = make_desk(storage, clock, AiPolicy(auto_priority=True))
    number = await auto.customer("I was charged twice")
    ticket = await auto.service.get_ticket(number)
    assert ticket.priority is Priority.HIGH
    async with storage.reading() as tx:
        events = await tx.list_events(ticket.id)
    assert events[-1].actor.name == "Threadline assistant"


async def test_a_foreign_message_gets_a_translation_line_and_replies_go_translated(
    storage: SqlStorage, clock: FakeClock
) -> None:
    desk = make_desk(storage, clock, AiPolicy(), ScriptedAssistant(language="de"))
    number = await desk.customer("Ich wurde doppelt belastet")
    assert "translated from de: [en] Ich wurde doppelt belastet" in desk.thread()
    ticket = await desk.service.get_ticket(number)
    assert ticket.translate_replies
    await desk.agent(number, "Your refund is on its way")
    assert desk.customer_saw()[-1] == "reply (de): **Ann:** [de] Your refund is on its way"
    assert "sent in de: [de] Your refund is on its way" in desk.thread()
    assert "delivered: Your refund is on its way" in desk.thread()

    await desk.service.set_translate_replies(ticket.number, ANN, False)
    await desk.agent(number, "Anything else?")
    assert desk.customer_saw()[-1] == "reply: **Ann:** Anything else?"


async def test_an_edit_of_a_translated_reply_reaches_the_customer_translated(
    storage: SqlStorage, clock: FakeClock
) -> None:
    desk = make_desk(storage, clock, AiPolicy(), ScriptedAssistant(language="de"))
    number = await desk.customer("Ich wurde doppelt belastet")
    ref = MessageRef(SLACK, "C1:1.1", "main")
    reply = AgentMessage(ANN, "Your refund is on its way", False, clock.now(), ref=ref)
    await desk.service.add_agent_message(number, reply)
    await drain(desk.dispatcher)
    await desk.service.edit_message(ref, "Your refund arrives on Monday")
    await drain(desk.dispatcher)
    assert desk.customer_saw()[-1] == "reply edited (de): [de] Your refund arrives on Monday"
    assert not any(
        "Your refund arrives on Monday" in line and "[de]" not in line
        for line in desk.customer_saw()
    )
    desk.assistant.has_model = False  # no translation now: the edit still goes, as written
    await desk.service.edit_message(ref, "Your refund arrives on Tuesday")
    await drain(desk.dispatcher)
    assert desk.customer_saw()[-1] == "reply edited: Your refund arrives on Tuesday"


async def test_a_reply_is_sent_as_written_when_it_cannot_be_translated(
    storage: SqlStorage, clock: FakeClock
) -> None:
    desk = make_desk(storage, clock, AiPolicy(), ScriptedAssistant(language="de"))
    number = await desk.customer("Ich wurde doppelt belastet")
    desk.assistant.has_model = False  # the model went away: the reply still goes, as written
    await desk.agent(number, "Your refund is on its way")
    assert desk.customer_saw()[-1] == "reply: **Ann:** Your refund is on its way"
    assert "sent as written (no model): Your refund is on its way" in desk.thread()


async def test_a_draft_reaches_the_customer_only_when_an_agent_sends_it_and_only_once(
    desk: Desk,
) -> None:
    number = await desk.customer("I was charged twice")
    assert not any("Refunds take" in line for line in desk.customer_saw())
    async with desk.storage.reading() as tx:
        ticket = await tx.get_ticket(number)
        assert ticket is not None
    drafts = [line for line in desk.thread() if line.startswith("draft ")]
    draft_id = int(drafts[0].split()[1].rstrip(":"))
    sends = await asyncio.gather(
        desk.service.send_draft(draft_id, ANN),
        desk.service.send_draft(draft_id, BOB),
        return_exceptions=True,
    )
    assert sum(not isinstance(s, BaseException) for s in sends) == 1
    assert sum(isinstance(s, DraftDecided) for s in sends) == 1
    await drain(desk.dispatcher)
    replies = [line for line in desk.customer_saw() if "Refunds take 5 days." in line]
    assert len(replies) == 1
    draft = await desk.service.get_draft(draft_id)
    assert draft is not None
    assert draft.status is DraftStatus.SENT
    with pytest.raises(DraftDecided, match="already sent by"):
        await desk.service.discard_draft(draft_id, ANN)


async def test_an_edited_draft_is_sent_as_edited_and_a_discarded_one_never(desk: Desk) -> None:
    number = await desk.customer("I was charged twice")
    await desk.service.ask_for_draft(number, ANN)
    await drain(desk.dispatcher)
    ids = [int(line.split()[1].rstrip(":")) for line in desk.thread() if line.startswith("draft ")]
    assert len(ids) == 2
    await desk.service.send_draft(ids[0], ANN, text="Refunds take 5 working days, Alice.")
    await desk.service.discard_draft(ids[1], BOB)
    with pytest.raises(DraftDecided, match="discarded by Bob"):
        await desk.service.send_draft(ids[1], ANN)
    await drain(desk.dispatcher)
    assert [line for line in desk.customer_saw() if line.startswith("reply")] == [
        "reply: **Ann:** Refunds take 5 working days, Alice."
    ]


async def test_no_article_means_no_draft(storage: SqlStorage, clock: FakeClock) -> None:
    desk = make_desk(storage, clock, AiPolicy(), ScriptedAssistant(draft_text=None))
    await desk.customer("Something odd")
    assert "no draft (no model); may help: refund-policy" in desk.thread()


async def test_summaries_on_escalation_takeover_and_asking(desk: Desk) -> None:
    number = await desk.customer("I was charged twice")
    await desk.agent(number, "checking with billing", internal=True)
    await desk.service.claim(number, ANN)
    await desk.service.escalate(number, Actor.of_agent(ANN), "needs billing")
    await desk.service.claim(number, BOB)
    await desk.service.act(number, Action.ASSIGN, Actor.of_agent(BOB), assignee=ANN)
    await desk.service.ask_for_summary(number, BOB)
    await drain(desk.dispatcher)
    summaries = [line for line in desk.thread() if line.startswith("summary")]
    # Bob's claim after the escalation takes a released ticket; Ann taking it from Bob is a
    # takeover.
    assert [line.split(":")[0] for line in summaries] == [
        "summary escalation",
        "summary takeover",
        "summary asked",
    ]
    # A summary is for agents: it reads the notes, and the customer never sees it.
    assert any(t.speaker is Speaker.NOTE for t in desk.assistant.conversations[0].turns)
    assert not any("summary" in line for line in desk.customer_saw())


async def test_auto_answer_answers_then_stops_for_good_once_a_person_replies(
    storage: SqlStorage, clock: FakeClock
) -> None:
    bot = ScriptedAssistant(auto=AutoReply("answer", "Refunds take 5 days.", (ARTICLE,)))
    desk = make_desk(storage, clock, AiPolicy(auto_answer=AutoAnswerMode.ALWAYS), bot)
    number = await desk.customer("How long do refunds take?")
    assert desk.customer_saw()[-1] == "automated answer: Refunds take 5 days."
    assert "auto-answered: Refunds take 5 days." in desk.thread()
    assert not any(line.startswith("draft") for line in desk.thread())  # answered already
    await desk.customer("And to a card?")
    assert desk.customer_saw().count("automated answer: Refunds take 5 days.") == 2
    await desk.agent(number, "Hi, Ann here")
    asked = len(bot.asked)
    await desk.customer("Thanks Ann")
    assert desk.customer_saw().count("automated answer: Refunds take 5 days.") == 2
    assert ("auto_answer", True) not in bot.asked[asked:]
    # A note never reaches the model that answers customers.
    assert all(t.speaker is not Speaker.NOTE for c in bot.conversations for t in c.turns)


async def test_auto_answer_stops_when_claimed_and_starts_afresh_after_a_reopen(
    storage: SqlStorage, clock: FakeClock
) -> None:
    bot = ScriptedAssistant(auto=AutoReply("answer", "See the refunds article.", (ARTICLE,)))
    desk = make_desk(storage, clock, AiPolicy(auto_answer=AutoAnswerMode.ALWAYS), bot)
    number = await desk.customer("How long do refunds take?")
    await desk.service.claim(number, ANN)
    await desk.customer("Hello?")
    assert desk.customer_saw().count("automated answer: See the refunds article.") == 1
    await desk.service.resolve(number, Actor.of_agent(ANN))
    await drain(desk.dispatcher)
    await desk.customer("It happened again")  # reopens the ticket: the answers start afresh
    assert desk.customer_saw().count("automated answer: See the refunds article.") == 2


async def test_a_person_taking_the_ticket_while_the_model_thinks_wins(
    storage: SqlStorage, clock: FakeClock
) -> None:
    gate = asyncio.Event()
    bot = ScriptedAssistant(auto=AutoReply("answer", "Late answer.", (ARTICLE,)), gate=gate)
    desk = make_desk(storage, clock, AiPolicy(auto_answer=AutoAnswerMode.ALWAYS, draft=False), bot)
    intake = await desk.service.receive_customer_message(
        CustomerMessage(DISCORD, "m1", "1001", "Alice", "How long?", clock.now())
    )
    sending = asyncio.create_task(drain(desk.dispatcher))
    await asyncio.wait_for(bot.called.wait(), 5)
    await desk.service.claim(intake.ticket.number, ANN)
    gate.set()
    await sending
    await drain(desk.dispatcher)
    assert not any("Late answer." in line for line in desk.customer_saw())


async def test_the_assistant_can_hand_off_and_so_can_the_customer(
    storage: SqlStorage, clock: FakeClock
) -> None:
    bot = ScriptedAssistant(auto=AutoReply("handoff"))
    desk = make_desk(storage, clock, AiPolicy(auto_answer=AutoAnswerMode.ALWAYS), bot)
    number = await desk.customer("I want to speak to a human")
    assert "handed off by the assistant" in desk.thread()
    assert "told: a person will answer" in desk.customer_saw()
    ticket = await desk.service.get_ticket(number)
    assert ticket.status.is_open  # a hand-off moves nothing
    assert ticket.assignee is None
    assert not await desk.service.hand_off(ticket.number)  # stopped already: told once


async def test_auto_answer_outside_hours_only_answers_when_the_team_is_away(
    storage: SqlStorage, clock: FakeClock
) -> None:
    bot = ScriptedAssistant(auto=AutoReply("answer", "An answer.", (ARTICLE,)))
    policy = AiPolicy(auto_answer=AutoAnswerMode.OUTSIDE_HOURS)
    desk = make_desk(storage, clock, policy, bot)
    open_now = desk.service.sla.calendar(Priority.NORMAL).is_open(clock.now())
    await desk.customer("How long do refunds take?")
    answered = "automated answer: An answer." in desk.customer_saw()
    assert answered is (not open_now)


async def test_a_spent_budget_makes_every_feature_fall_back(
    storage: SqlStorage, clock: FakeClock
) -> None:
    desk = make_desk(storage, clock, AiPolicy(daily_tokens=20))
    await desk.customer("I was charged twice")  # triage and draft spend 30 tokens
    await desk.customer("Hello?")
    await desk.service.ask_for_summary(TicketNumber(1001), ANN)
    await drain(desk.dispatcher)
    assert ("summary", False) in desk.assistant.asked


async def test_triage_corrections_are_kept_and_win_over_a_late_triage(desk: Desk) -> None:
    number = await desk.customer("I was charged twice")
    ticket = await desk.service.edit_triage(
        number,
        ANN,
        category="Shipping",
        sentiment="neutral",
        title="Double charge",
    )
    assert ticket.triage is not None
    assert (ticket.triage.category, ticket.triage.category_confidence) == ("Shipping", 1.0)
    assert ticket.triage.edited_by == "Ann"
    assert (await desk.service.get_ticket(ticket.number)).triage == ticket.triage
    with pytest.raises(Exception, match="not one of the team's categories"):
        await desk.service.edit_triage(ticket.number, ANN, category="Nonsense")


async def test_an_answer_is_written_with_the_end_of_its_delivery(
    desk: Desk, storage: SqlStorage
) -> None:
    """A crash after the answer was written finds the delivery done: never posted twice."""
    number = await desk.customer("I was charged twice")
    ticket = await desk.service.get_ticket(number)
    async with storage.reading() as tx:
        assisted = [d for d in await tx.list_deliveries(ticket.id) if d.lane is Lane.ASSISTANT]
    assert [d.status for d in assisted] == [DeliveryStatus.DONE]
    before = len(desk.thread())
    await drain(desk.dispatcher)
    assert len(desk.thread()) == before


async def test_a_reply_deleted_before_translation_is_never_sent(
    storage: SqlStorage, clock: FakeClock
) -> None:
    bot = ScriptedAssistant(language="de")
    desk = make_desk(storage, clock, AiPolicy(), bot)
    number = await desk.customer("Ich wurde doppelt belastet")
    ref_msg = AgentMessage(ANN, "oops", False, clock.now(), ref=None)
    message = await desk.service.add_agent_message(number, ref_msg)
    assert message is not None
    async with storage.transaction() as tx:
        await tx.mark_message_deleted(message.id, clock.now())
    await drain(desk.dispatcher)
    assert not any("oops" in line for line in desk.customer_saw())


async def test_a_message_delivered_twice_is_assisted_once(desk: Desk, clock: FakeClock) -> None:
    same = CustomerMessage(DISCORD, "m-twice", "1001", "Alice", "I was charged twice", clock.now())
    first = await desk.service.receive_customer_message(same)
    again = await desk.service.receive_customer_message(same)
    assert again.duplicate
    await drain(desk.dispatcher)
    async with desk.storage.reading() as tx:
        queued = await tx.list_deliveries(first.ticket.id)
    assert [d.lane for d in queued].count(Lane.ASSISTANT) == 1
    assert [line for line in desk.thread() if line.startswith("draft ")] != []
    assert len([line for line in desk.thread() if line.startswith("draft ")]) == 1
    assert desk.assistant.asked.count(("triage", True)) == 1
