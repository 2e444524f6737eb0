"""The promise with the AI features on, for many random sequences of what people do: a draft
reaches the customer only when an agent sends it, and then exactly once; a note or a summary
never does; every reply arrives once; an automated answer is never sent after a person took the
ticket or replied. Each sequence interleaves customers writing, agents replying, noting, asking
for drafts and summaries, sending (several at once) and discarding drafts, claiming, escalating
and resolving, with the queue sent at random moments. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
from dataclasses import dataclass, field

import pytest

from bot.core.ai_policy import AiPolicy, AutoAnswerMode
from bot.core.assist import AutoReply, Citation, Conversation, Drafted, Speaker
from bot.core.domain import Actor, Agent, AgentId, TicketNumber
from bot.core.errors import DomainError
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.service import TicketService
from integrations.platforms import DISCORD
from storage.repository import SqlStorage
from tests.service.test_assist import ScriptedAssistant, make_desk
from tests.service.test_dispatcher import drain
from tests.support import FakeClock

AGENTS = (Agent(AgentId("U0ANN"), "Ann"), Agent(AgentId("U0BOB"), "Bob"))
TOKEN = re.compile(r"\b([a-z]+)-(\d+)\b")
ARTICLE = Citation("refunds", "Refunds", 0.9)


@dataclass
class Inventing(ScriptedAssistant):
    """Each draft and automated answer a text of its own ("d-7", "a-3"), so where each one went
    can be told; an automated answer only while no person has written in the conversation."""

    counter: itertools.count[int] = field(default_factory=itertools.count)

    async def draft(self, conversation: Conversation, *, use_model: bool) -> Drafted:
        await self._ask("draft", use_model)
        return Drafted(f"d-{next(self.counter)}", (ARTICLE,), self.spend)

    async def auto_answer(self, conversation: Conversation, *, use_model: bool) -> AutoReply:
        await self._ask("auto_answer", use_model)
        assert all(turn.speaker is not Speaker.NOTE for turn in conversation.turns)
        return AutoReply("answer", f"a-{next(self.counter)}", (ARTICLE,), self.spend)


@dataclass
class Run:
    service: TicketService
    rng: random.Random
    number: TicketNumber | None = None
    written: int = 0
    replies: set[str] = field(default_factory=set)
    notes: set[str] = field(default_factory=set)
    sent_drafts: set[str] = field(default_factory=set)

    def token(self, kind: str) -> str:
        self.written += 1
        return f"{kind}-{self.written}"


async def _step(run: Run, clock: FakeClock) -> None:
    service, rng = run.service, run.rng
    agent = rng.choice(AGENTS)
    choice = rng.randrange(10)
    if run.number is None or choice == 0:
        body = run.token("c")
        intake = await service.receive_customer_message(
            CustomerMessage(DISCORD, body, "1001", "Alice", f"question {body}", clock.now())
        )
        run.number = intake.ticket.number
        return
    number = run.number
    try:
        if choice == 1:
            body = run.token("r")
            msg = AgentMessage(agent, f"answer {body}", False, clock.now())
            if await service.add_agent_message(number, msg) is not None:
                run.replies.add(body)
        elif choice == 2:
            body = run.token("n")
            run.notes.add(body)
            await service.add_agent_message(number, AgentMessage(agent, body, True, clock.now()))
        elif choice == 3:
            await service.ask_for_draft(number, agent)
        elif choice == 4:
            await service.ask_for_summary(number, agent)
        elif choice in (5, 6):
            await _decide_a_draft(run, agent)
        elif choice == 7:
            await service.claim(number, agent)
        elif choice == 8:
            await service.escalate(number, Actor.of_agent(agent), "help")
        else:
            await service.resolve(number, Actor.of_agent(agent))
    except DomainError:
        pass  # an illegal move or a decided draft: refused, and nothing changed


async def _decide_a_draft(run: Run, agent: Agent) -> None:
    """Send (by several agents at once, maybe edited) or discard a draft offered earlier."""
    drafts = []
    for draft_id in range(1, 200):
        draft = await run.service.get_draft(draft_id)
        if draft is None:
            break
        drafts.append(draft)
    if not drafts:
        return
    draft = run.rng.choice(drafts)
    if run.rng.random() < 0.3:
        await run.service.discard_draft(draft.id, agent)
        return
    edited = f"{draft.text} e-{run.written}" if run.rng.random() < 0.3 else None
    outcomes = await asyncio.gather(
        *(run.service.send_draft(draft.id, who, text=edited) for who in AGENTS),
        return_exceptions=True,
    )
    sent = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(sent) <= 1  # however many press Send, it is sent once
    assert all(isinstance(o, DomainError) for o in outcomes if isinstance(o, BaseException))
    if sent:
        run.sent_drafts.add(draft.text)


@pytest.mark.parametrize("seed", range(12))
async def test_drafts_notes_and_summaries_reach_the_customer_only_as_the_rules_say(
    storage: SqlStorage, clock: FakeClock, seed: int
) -> None:
    rng = random.Random(seed)
    policy = AiPolicy(auto_answer=AutoAnswerMode.ALWAYS)
    desk = make_desk(storage, clock, policy, Inventing())
    run = Run(desk.service, rng)
    for _ in range(30):
        await _step(run, clock)
        if rng.random() < 0.4:
            await drain(desk.dispatcher)
    await drain(desk.dispatcher)

    lines = desk.customer_saw()
    seen = [(kind, f"{kind}-{n}") for line in lines for kind, n in TOKEN.findall(line)]
    # Nothing internal ever reaches the customer.
    assert not [t for kind, t in seen if kind in ("n", "s")]
    # A draft only once an agent sent it, and then exactly once.
    drafts = [t for kind, t in seen if kind == "d"]
    assert len(drafts) == len(set(drafts))
    assert set(drafts) == run.sent_drafts
    # Every reply once.
    assert sorted(t for kind, t in seen if kind == "r") == sorted(run.replies)
    # No automated answer once a person took the ticket or replied, until it is reopened.
    stopped = False
    for line in lines:
        if line.startswith("told: reopened"):
            stopped = False
        elif line.startswith(("reply", "told: claimed")):
            stopped = True
        elif line.startswith("automated answer"):
            assert not stopped, lines
