"""What agents do with the AI features in Slack, end to end: the card's Summary, Draft reply,
Edit triage and Translate buttons, a draft's Send, Edit and Discard, and `/threadline summary`,
clicked and submitted by the Slack emulator's people against the real Bolt app, the real
service (AI features on, no model: the fallbacks answer) and its dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from slack_bolt.async_app import AsyncApp

from bot.config import Policy, SlackPolicy
from bot.core.ai_policy import AiPolicy
from bot.core.assist import Draft, DraftStatus
from bot.core.delivery import MAIN_WORKSPACE, for_agents
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Agent, AgentId, Ticket
from bot.core.outbound import DraftOffered
from bot.core.routes import Routes
from bot.core.service import TicketService
from integrations.ai.assistant import build_assistant
from integrations.platforms import DISCORD
from integrations.sandbox.slack import DEMO, Message, SlackEmulator, Timing, demo_workspace
from integrations.sandbox.slack.model import View
from integrations.slack.blocks import CardAi
from integrations.slack.client import web_client
from integrations.slack.runtime import install
from integrations.slack.team import NOT_AN_AGENT
from integrations.slack.workspace import SlackWorkspace
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repository import SqlStorage
from tests.conftest import PG_URL, _drop_pg_schema, _pg_schema
from tests.slack.conftest import CustomerInbox, Desk, connected, point_at
from tests.support import FakeClock, eventually

DRAFT_TEXT = "Please restart the printer, then try again."
ALICE = Agent(AgentId(DEMO.agent1), "alice")


AiInbox = CustomerInbox  # the customer's side; it takes what the AI features send too


@dataclass
class AiDesk(Desk):
    storage: SqlStorage

    async def ticket(
        self, message_id: str = "m1", body: str = "Printer jam", customer: str = "42"
    ) -> Ticket:
        """A new ticket, once triaged and its card shows the AI buttons. (Two words: too few
        for a language guess, so no language model is loaded.)"""
        ticket = await self.customer_writes(message_id, body, customer)

        async def triaged() -> Ticket | None:
            now = await self.service.get_ticket(ticket.number)
            return now if now.triage is not None else None

        ticket = await eventually(triaged, what=f"the triage of #{ticket.number}")
        await self.slack.wait_for(lambda: _has_button(self.card(ticket), "Summary"), timeout=5)
        return ticket

    def card(self, ticket: Ticket) -> Message:
        return self.slack.message(*self.thread_of(ticket))

    def posts(self, ticket: Ticket, starting: str) -> list[Message]:
        """The thread's posts whose text starts with `starting`."""
        return [
            m for m in self.slack.thread(*self.thread_of(ticket)) if m.text.startswith(starting)
        ]

    async def offer(self, ticket: Ticket, text: str = DRAFT_TEXT) -> tuple[Draft, Message]:
        """A drafted reply as the assistant's lane stores and queues one, and its post."""
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            draft = await tx.add_draft(ticket.id, text, (), True, now)
            offered = DraftOffered(draft.id, text, "[]", None, None)
            for new in for_agents((MAIN_WORKSPACE,), ticket.id, offered, now):
                await tx.add_delivery(new)
        self.dispatcher.wake()
        post = await self.slack.wait_for(lambda: self._draft_post(ticket, draft.id), timeout=5)
        assert post is not None
        return draft, post

    def _draft_post(self, ticket: Ticket, draft_id: int) -> Message | None:
        for message in self.slack.thread(*self.thread_of(ticket)):
            for block in message.blocks or []:
                if block.get("block_id") == "draft_actions" and any(
                    e.get("value") == str(draft_id) for e in block["elements"]
                ):
                    return message
        return None

    def post(self, message: Message) -> Message:
        """A post as it is now."""
        return self.slack.message(message.channel, message.ts)

    async def decided(self, post: Message) -> Message:
        """A draft's post, once redrawn without its buttons."""

        def redrawn() -> Message | None:
            now = self.post(post)
            return None if _has_button(now, "Send") else now

        shown = await self.slack.wait_for(redrawn, timeout=5)
        assert shown is not None
        return shown

    async def modal(self, user: str) -> View:
        """The dialog `user` has open, once it is."""
        shown = await self.slack.wait_for(lambda: self.slack.user(user).modal, timeout=5)
        assert shown is not None
        return shown

    async def told(self, user: str, seen: int = 0) -> list[str]:
        """What `user` was told (ephemeral), past the first `seen`."""
        shown = await self.slack.wait_for(lambda: self.slack.ephemerals(user)[seen:], timeout=5)
        return [e.text for e in shown]

    async def draft_status(self, draft_id: int, status: DraftStatus) -> Draft:
        async def decided() -> Draft | None:
            draft = await self.service.get_draft(draft_id)
            return draft if draft is not None and draft.status is status else None

        return await eventually(decided, what=f"draft {draft_id} {status}")


@pytest.fixture
async def desk_storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStorage]:
    """SQLite, as in conftest.py; PostgreSQL where a test asks for it (indirect "postgres"),
    for the races that the two databases settle differently."""
    if getattr(request, "param", "sqlite") == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/desk.db")
        await upgrade(engine)
        yield SqlStorage(engine)
        await engine.dispose()
        return
    dsn, schema = await _pg_schema()
    engine = create_engine(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        await upgrade(engine)
        yield SqlStorage(engine)
    finally:
        await engine.dispose()
        await _drop_pg_schema(dsn, schema)


@pytest.fixture
async def desk(
    desk_storage: SqlStorage,
    clock: FakeClock,
    workdir: object,
    monkeypatch: pytest.MonkeyPatch,
    slack_pacing: SlackPolicy,
    policy: Policy,
) -> AsyncIterator[AiDesk]:
    """The desk of conftest.py with the AI features on (no model, no articles: the fallbacks
    answer) and the assistant's lane carried; Socket Mode only (these controls do not care how
    Slack is connected: test_slack_dialogs.py runs both)."""
    async with SlackEmulator(demo_workspace(), timing=Timing.fast()) as slack:
        settings = point_at(slack, monkeypatch)
        client = web_client(settings)
        inbox = AiInbox()
        ai = AiPolicy()
        workspace = SlackWorkspace(
            client, DEMO.support, DEMO.escalations, slack_pacing, ai=CardAi("en", buttons=True)
        )
        service = TicketService(
            desk_storage, clock, ai=ai, assistant=build_assistant(ai, None, None, "no-model")
        )
        routes = Routes(workspace, {DISCORD: inbox}, service.assist)
        dispatcher = Dispatcher(desk_storage, clock, routes, idle_poll_seconds=0.05)
        service.on_enqueued(dispatcher.wake)
        app = AsyncApp(client=client, signing_secret=slack.signing_secret)
        slack_desk, work = install(app, service, settings, policy, client)
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        try:
            async with connected(app, slack, "socket"):
                yield AiDesk(slack, service, dispatcher, inbox, clock, slack_desk, desk_storage)
                stop.set()
                dispatcher.wake()
            await work.drain()
        finally:
            stop.set()
            dispatcher.wake()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(running, 5)


def _has_button(message: Message, label: str) -> bool:
    return any(
        e.get("type") == "button" and label in e["text"]["text"]
        for block in message.blocks or []
        for e in block.get("elements", [])
    )


def _context_texts(message: Message) -> list[str]:
    return [
        e["text"]
        for block in message.blocks or []
        if block.get("type") == "context"
        for e in block["elements"]
    ]


async def _delivered(desk: AiDesk, count: int) -> list[str]:
    async def arrived() -> list[str] | None:
        bodies = desk.inbox.bodies()
        return bodies if len(bodies) >= count else None

    return await eventually(arrived, what=f"{count} replies to the customer")


async def _settled() -> None:
    """Give anything still on its way (a second send, a queued delivery) time to arrive."""
    await asyncio.sleep(0.3)


# --- the card's buttons ----------------------------------------------------------------------


async def test_summary_button_posts_a_summary_in_the_thread(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    channel, root = desk.thread_of(ticket)
    await desk.slack.user(DEMO.agent1).click(channel, root, "Summary")
    assert await desk.told(DEMO.agent1) == [
        f"A summary of #{ticket.number} is on its way to the thread."
    ]
    posted = await desk.slack.wait_for(lambda: desk.posts(ticket, ":memo: Summary"), timeout=5)
    assert "asked by alice" in posted[0].text


async def test_draft_button_asks_the_assistant(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    channel, root = desk.thread_of(ticket)
    first = len(desk.posts(ticket, ":mag:"))  # the new ticket's own first try
    await desk.slack.user(DEMO.lead).click(channel, root, "Draft reply")
    assert await desk.told(DEMO.lead) == [
        f"A draft reply for #{ticket.number} is on its way to the thread."
    ]
    # No articles here: the assistant answers that none matches, in the thread.
    await desk.slack.wait_for(lambda: len(desk.posts(ticket, ":mag:")) > first, timeout=5)


async def test_a_feature_turned_off_is_told(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    channel, root = desk.thread_of(ticket)
    assert desk.service.ai is not None
    desk.service.ai = desk.service.ai.model_copy(update={"summary": False})
    await desk.slack.user(DEMO.agent1).click(channel, root, "Summary")
    assert await desk.told(DEMO.agent1) == ["The summary feature is turned off."]


async def test_edit_triage_checks_the_form_and_sets_only_what_changed(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    before = ticket.triage
    assert before is not None
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.click(channel, root, "Edit triage")
    modal = await desk.modal(DEMO.agent1)
    assert modal.spec["callback_id"] == "ai_triage_modal"
    assert modal.spec["private_metadata"] == str(ticket.number)
    state = {b["block_id"]: b["element"] for b in modal.blocks if b["type"] == "input"}
    assert state["category"]["initial_option"]["value"] == before.category
    assert [o["value"] for o in state["category"]["options"]] == desk.service.categories()

    # The emulator fills text inputs with their initial values, not selects: chosen as shown.
    kept = {"category": before.category, "sentiment": before.sentiment}
    refused = await agent.submit({**kept, "language": "french", "title": " " * 3})
    assert refused.errors == {
        "language": "Two or three letters (ISO 639-1), such as fr; or leave it empty.",
        "title": "Say in one line what the ticket is about.",
    }
    assert agent.modal is not None  # still open, with the errors under the fields
    sentiment = "negative" if before.sentiment != "negative" else "positive"
    answer = await agent.submit(
        {**kept, "sentiment": sentiment, "language": "FR", "title": "Jammed"}
    )
    assert answer.acked
    assert answer.response_action is None

    async def edited() -> Ticket | None:
        now = await desk.service.get_ticket(ticket.number)
        return now if now.triage is not None and now.triage.edited_by else None

    after = (await eventually(edited, what="the edited triage")).triage
    assert after is not None
    assert (after.sentiment, after.sentiment_confidence) == (sentiment, 1.0)
    assert (after.language, after.title, after.edited_by) == ("fr", "Jammed", "alice")
    # The category was not touched: it keeps the confidence it was given.
    assert (after.category, after.category_confidence) == (
        before.category,
        before.category_confidence,
    )


async def test_translate_switch_on_the_card(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    await desk.service.edit_triage(ticket.number, ALICE, language="fr")
    channel, root = desk.thread_of(ticket)
    await desk.slack.wait_for(
        lambda: _has_button(desk.card(ticket), "Translate replies: off"), timeout=5
    )
    agent = desk.slack.user(DEMO.agent1)
    await agent.click(channel, root, "Translate replies: off")
    assert await desk.told(DEMO.agent1) == [
        f"Replies on #{ticket.number} now go out in the customer's language."
    ]
    assert (await desk.service.get_ticket(ticket.number)).translate_replies
    await desk.slack.wait_for(
        lambda: _has_button(desk.card(ticket), "Translate replies: on"), timeout=5
    )
    await agent.click(channel, root, "Translate replies: on")
    assert (await desk.told(DEMO.agent1, 1)) == [
        f"Replies on #{ticket.number} now go out as written, untranslated."
    ]
    assert not (await desk.service.get_ticket(ticket.number)).translate_replies


async def test_a_non_agent_is_refused_and_nothing_happens(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    draft, post = await desk.offer(ticket)
    channel, root = desk.thread_of(ticket)
    outsider = desk.slack.user(DEMO.agent2)
    summaries = len(desk.posts(ticket, ":memo:"))
    await outsider.click(channel, root, "Summary")
    await outsider.click(channel, root, "Edit triage")
    await outsider.click(channel, post.ts, "Send")
    await outsider.click(channel, post.ts, "Discard")
    await desk.slack.wait_for(lambda: len(desk.slack.ephemerals(DEMO.agent2)) >= 4, timeout=5)
    await _settled()
    assert [e.text for e in desk.slack.ephemerals(DEMO.agent2)] == [NOT_AN_AGENT] * 4
    assert outsider.modal is None
    still = await desk.service.get_draft(draft.id)
    assert still is not None
    assert still.status is DraftStatus.OFFERED
    assert desk.inbox.bodies() == []
    assert len(desk.posts(ticket, ":memo:")) == summaries
    assert _has_button(desk.post(post), "Send")


# --- a draft's buttons -----------------------------------------------------------------------


async def test_send_delivers_the_draft_and_marks_its_post(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    draft, post = await desk.offer(ticket)
    await desk.slack.user(DEMO.agent1).click(post.channel, post.ts, "Send")
    assert await _delivered(desk, 1) == [DRAFT_TEXT]
    await desk.draft_status(draft.id, DraftStatus.SENT)

    shown = await desk.decided(post)
    assert f":outbox_tray: Sent to the customer by <@{DEMO.agent1}>" in _context_texts(shown)
    assert any(DRAFT_TEXT in (b.get("text") or {}).get("text", "") for b in shown.blocks or [])
    # The draft's post is the reply's copy in the thread: its delivery mark lands there.
    await desk.slack.wait_for(lambda: "white_check_mark" in desk.post(post).reactions, timeout=5)
    reply = (await desk.detail(ticket.number)).messages[-1]
    assert (reply.body, reply.author.name) == (DRAFT_TEXT, "alice")


@pytest.mark.parametrize("desk_storage", ["sqlite", "postgres"], indirect=True)
async def test_two_agents_pressing_send_reach_the_customer_once(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    draft, post = await desk.offer(ticket)
    alice, carol = desk.slack.user(DEMO.agent1), desk.slack.user(DEMO.lead)
    await asyncio.gather(
        alice.click(post.channel, post.ts, "Send"), carol.click(post.channel, post.ts, "Send")
    )
    await desk.draft_status(draft.id, DraftStatus.SENT)

    def loser() -> tuple[str, str] | None:
        for user in (DEMO.agent1, DEMO.lead):
            for told in desk.slack.ephemerals(user):
                if told.text.startswith("This draft was already sent"):
                    return user, told.text
        return None

    found = await desk.slack.wait_for(loser, timeout=5)
    assert found is not None
    lost, text = found
    winner = "carol" if lost == DEMO.agent1 else "alice"
    assert text == f"This draft was already sent by {winner}."
    assert await _delivered(desk, 1) == [DRAFT_TEXT]
    await _settled()
    assert desk.inbox.bodies() == [DRAFT_TEXT]
    bodies = [m.body for m in (await desk.detail(ticket.number)).messages]
    assert bodies == ["Printer jam", DRAFT_TEXT]  # the customer's, and the one reply


async def test_discard_then_send_is_refused(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    draft, post = await desk.offer(ticket)
    stale = copy.deepcopy(post)  # what the lead still sees
    await desk.slack.user(DEMO.agent1).click(post.channel, post.ts, "Discard")
    await desk.draft_status(draft.id, DraftStatus.DISCARDED)
    shown = await desk.decided(post)
    assert f":wastebasket: Discarded by <@{DEMO.agent1}>" in _context_texts(shown)
    assert not any(b.get("type") == "actions" for b in shown.blocks or [])

    await desk.click_on(DEMO.lead, stale, "Send")
    assert await desk.told(DEMO.lead) == ["This draft was already discarded by alice."]
    await _settled()
    assert desk.inbox.bodies() == []


async def test_edit_sends_the_agents_words(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    draft, post = await desk.offer(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.click(post.channel, post.ts, "Edit")
    modal = await desk.modal(DEMO.agent1)
    assert modal.spec["callback_id"] == "draft_edit_modal"
    assert modal.blocks[0]["element"]["initial_value"] == DRAFT_TEXT
    assert modal.blocks[0]["element"]["max_length"] == 3000

    refused = await agent.submit({"text": "   "})
    assert refused.errors == {
        "text": "Write the reply to send, or close this and discard the draft."
    }
    answer = await agent.submit({"text": "Restart it *twice* & <wait>."})
    assert answer.response_action is None
    assert agent.modal is None
    # Converted as an agent's thread reply is: Slack's bold is Discord's, the rest as typed.
    assert await _delivered(desk, 1) == ["Restart it **twice** & <wait>."]
    await desk.draft_status(draft.id, DraftStatus.SENT)

    shown = await desk.decided(post)
    words = [b["text"]["text"] for b in shown.blocks or [] if b.get("type") == "section"]
    assert words == ["Restart it *twice* &amp; &lt;wait&gt;."]
    assert f":outbox_tray: Sent to the customer by <@{DEMO.agent1}>" in _context_texts(shown)


async def test_edit_left_as_drafted_sends_the_draft_as_is(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    text = "Use the *reset* button_now."  # the model's text: sent as it is, never converted
    _, post = await desk.offer(ticket, text)
    agent = desk.slack.user(DEMO.agent1)
    await agent.click(post.channel, post.ts, "Edit")
    await desk.modal(DEMO.agent1)
    await agent.submit()  # as prefilled
    assert await _delivered(desk, 1) == [text]


async def test_edit_of_a_draft_decided_meanwhile_shows_why(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    draft, post = await desk.offer(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.click(post.channel, post.ts, "Edit")
    await desk.modal(DEMO.agent1)
    await desk.slack.user(DEMO.lead).click(post.channel, post.ts, "Discard")
    await desk.draft_status(draft.id, DraftStatus.DISCARDED)

    refused = await agent.submit({"text": "My own words"})
    assert refused.errors == {"text": "This draft was already discarded by carol."}
    await _settled()
    assert desk.inbox.bodies() == []


async def test_edit_of_a_decided_draft_does_not_open(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    draft, post = await desk.offer(ticket)
    stale = copy.deepcopy(post)
    await desk.slack.user(DEMO.lead).click(post.channel, post.ts, "Send")
    await desk.draft_status(draft.id, DraftStatus.SENT)
    await desk.click_on(DEMO.agent1, stale, "Edit")
    assert await desk.told(DEMO.agent1) == ["This draft was already sent by carol."]
    assert desk.slack.user(DEMO.agent1).modal is None


# --- /threadline summary ---------------------------------------------------------------------


async def ask(desk: AiDesk, user: str, line: str) -> str:
    seen = len(desk.slack.ephemerals(user))
    ack = await desk.slack.user(user).command(f"/threadline {line}", channel=DEMO.support)
    assert ack.acked
    shown = await desk.told(user, seen)
    assert len(shown) == 1, shown
    return shown[0]


async def test_threadline_summary(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    assert await ask(desk, DEMO.agent1, f"summary #{ticket.number}") == (
        f"A summary of #{ticket.number} is on its way to the thread."
    )
    await desk.slack.wait_for(lambda: desk.posts(ticket, ":memo: Summary"), timeout=5)
    assert await ask(desk, DEMO.agent1, "summary 99999") == "Ticket #99999 does not exist."
    assert (await ask(desk, DEMO.agent1, "summary soon")).startswith(
        "Usage: `/threadline summary NUMBER`"
    )
    assert "`summary NUMBER`" in await ask(desk, DEMO.agent1, "help")
    assert await ask(desk, DEMO.agent2, f"summary {ticket.number}") == NOT_AN_AGENT


async def test_a_failed_redraw_leaves_the_send_standing(desk: AiDesk) -> None:
    ticket = await desk.ticket()
    draft, post = await desk.offer(ticket)
    desk.slack.faults.fail_next(20, method="chat.update", status=400)  # no retry: it fails
    await desk.slack.user(DEMO.agent1).click(post.channel, post.ts, "Send")
    assert await _delivered(desk, 1) == [DRAFT_TEXT]
    await desk.draft_status(draft.id, DraftStatus.SENT)
    await _settled()
    desk.slack.faults.clear()
    assert _has_button(desk.post(post), "Send")  # not redrawn: only cosmetic
    assert desk.slack.ephemerals(DEMO.agent1) == []  # the send went through: nothing to tell
    assert desk.inbox.bodies() == [DRAFT_TEXT]


async def test_a_draft_button_from_another_thread_is_refused(desk: AiDesk) -> None:
    first = await desk.ticket("m1", "Printer jam")
    other = await desk.ticket("m2", "Lost password", customer="43")
    _, post = await desk.offer(first)
    elsewhere, _ = await desk.offer(other)
    await desk.click_on(DEMO.agent1, post, "Send", value=str(elsewhere.id))  # a forged value
    assert await desk.told(DEMO.agent1) == [
        "This draft is not in its ticket's thread (an old post?); nothing was changed."
    ]
    still = await desk.service.get_draft(elsewhere.id)
    assert still is not None
    assert still.status is DraftStatus.OFFERED
    assert desk.inbox.bodies() == []
