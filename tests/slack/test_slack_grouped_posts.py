"""A customer's messages that wait behind a channel's pacing are posted together: one Slack post,
a section each, every message still its own copy (its own ref, edited, deleted and translated
in its own section), and a kill between the post and its record never posts it twice."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import SlackPolicy
from bot.core.delivery import MAIN_WORKSPACE, DeliveryJob, DeliveryStatus, Lane, NewDelivery
from bot.core.dispatcher import Dispatcher
from bot.core.domain import (
    Action,
    Actor,
    Agent,
    AgentId,
    Attachment,
    Direction,
    MessageId,
    MessageRef,
    Ticket,
    TicketId,
)
from bot.core.domain import Message as TicketMessage
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.outbound import CardChanged, TranslationShown
from bot.core.routes import Routes
from bot.core.service import TicketService
from integrations.platforms import DISCORD, SLACK
from integrations.sandbox.slack import DEMO, Message, SlackEmulator, Timing, demo_workspace
from integrations.slack.client import web_client
from integrations.slack.grouped import (
    GROUP_MOST,
    group_post,
    group_size,
    part,
    replaced,
    split_part,
)
from integrations.slack.refs import split_ref
from integrations.slack.workspace import SlackWorkspace
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repository import SqlStorage
from tests.slack.conftest import CustomerInbox, point_at
from tests.support import FakeClock, eventually

LEASE = 20.0
# Paced (a post a millisecond, one at a time: messages waiting behind a post are posted
# together), but no test waits for it.
PACED = SlackPolicy(posts_per_second=1000, burst=1)
CUSTOMER = Actor.system("Dana")


class Killed(BaseException):
    """The process died: nothing after this runs, nothing is recorded."""


class KilledAfterPosting(Routes):
    """Routes of a process killed right after Slack accepted a post of several messages."""

    async def carry_group(self, job: DeliveryJob) -> list[str]:
        await super().carry_group(job)
        raise Killed


@dataclass
class Bot:
    slack: SlackEmulator
    storage: SqlStorage
    service: TicketService
    routes: Routes
    clock: FakeClock

    def process(self, routes: Routes | None = None) -> Dispatcher:
        """A fresh dispatcher, as a new process has (nothing in flight)."""
        return Dispatcher(self.storage, self.clock, routes or self.routes, lease_seconds=LEASE)

    async def drain(self, routes: Routes | None = None) -> None:
        dispatcher = self.process(routes)
        while await dispatcher.run_once():
            pass

    async def customer_writes(self, message_id: str, body: str) -> Ticket:
        intake = await self.service.receive_customer_message(
            CustomerMessage(DISCORD, message_id, "42", "Dana", body, datetime.now(UTC))
        )
        return intake.ticket

    async def replies(self, ticket: Ticket) -> list[Message]:
        fresh = await self.service.get_ticket(ticket.number)
        assert fresh.workspace_ref is not None
        channel, ts = split_ref(fresh.workspace_ref)
        return self.slack.thread(channel, ts)

    async def copy_of(self, message_id: str) -> str:
        message = await self.service.message_at(MessageRef(DISCORD, message_id))
        assert message is not None
        [copy] = message.copies(SLACK, MAIN_WORKSPACE)
        return copy

    async def deliveries_done(self, ticket: Ticket) -> bool:
        async with self.storage.transaction() as tx:
            deliveries = await tx.list_deliveries(ticket.id)
        return all(d.status is DeliveryStatus.DONE for d in deliveries)

    def posts(self) -> int:
        return len([c for c in self.slack.calls_to("chat.postMessage") if c.ok])


@pytest.fixture
async def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Bot]:
    async with SlackEmulator(demo_workspace(), timing=Timing.fast()) as slack:
        settings = point_at(slack, monkeypatch)
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
        await upgrade(engine)
        storage = SqlStorage(engine)
        clock = FakeClock()
        workspace = SlackWorkspace(web_client(settings), DEMO.support, pacing=PACED)
        routes = Routes(workspace, {DISCORD: CustomerInbox()})
        try:
            yield Bot(slack, storage, TicketService(storage, clock), routes, clock)
        finally:
            await engine.dispose()


async def opened(bot: Bot) -> Ticket:
    """A ticket whose card and first message are in Slack."""
    ticket = await bot.customer_writes("m0", "My printer is on fire")
    await bot.drain()
    return ticket


def sections(post: Message) -> dict[str, str]:
    """A post's sections by block id: what each says."""
    return {
        str(block.get("block_id")): str(block["text"]["text"])
        for block in post.blocks or []
        if block.get("type") == "section"
    }


async def test_waiting_messages_are_one_post_each_message_its_own_copy(bot: Bot) -> None:
    ticket = await opened(bot)
    for n in range(1, 5):
        await bot.customer_writes(f"m{n}", f"Still burning ({n})")
    before = bot.posts()
    await bot.drain()

    assert bot.posts() == before + 1
    [first, post] = await bot.replies(ticket)
    assert first.text == "My printer is on fire"  # a lone message, posted as before
    assert first.blocks is None
    assert list(sections(post).values()) == [f"Still burning ({n})" for n in range(1, 5)]
    copies = [await bot.copy_of(f"m{n}") for n in range(1, 5)]
    assert len(set(copies)) == 4
    for copy in copies:
        channel, ts, held = split_part(copy)
        assert (channel, ts) == (post.channel, post.ts)
        assert f"msg{held}" in sections(post)
    assert await bot.deliveries_done(ticket)


async def test_a_message_that_does_not_fit_a_section_goes_alone_in_lane_order(bot: Bot) -> None:
    ticket = await opened(bot)
    await bot.customer_writes("m1", "one")
    await bot.customer_writes("m2", "two")
    await bot.customer_writes("m3", "long " * 1000)  # over one section: posted alone
    await bot.customer_writes("m4", "four")
    await bot.drain()
    shown = await bot.replies(ticket)
    said = [list(sections(post).values()) or [post.text] for post in shown]
    assert said[:2] == [["My printer is on fire"], ["one", "two"]]
    assert said[2][0].startswith("long long")
    assert said[3:] == [["four"]]  # alone now: nothing waited behind it


async def test_edits_deletions_and_translations_reach_only_their_own_section(bot: Bot) -> None:
    """Random edits and deletions of the parts of a post, each through a fresh process (so no
    memory of the post is kept): every section shows its own message's last state."""
    ticket = await opened(bot)
    names = [f"m{n}" for n in range(1, 7)]
    for name in names:
        await bot.customer_writes(name, f"first words of {name}")
    await bot.drain()
    [_, post] = await bot.replies(ticket)
    expected = {name: f"first words of {name}" for name in names}
    chance = random.Random(15)
    for round_ in range(12):
        name = chance.choice(names)
        ref = MessageRef(DISCORD, name)
        if expected[name].startswith("~"):
            continue  # deleted: nothing more to do to it
        if chance.random() < 0.25:
            await bot.service.delete_customer_message(ref)
            expected[name] = f"~{expected[name].removesuffix(' _(edited)_')}~"
        else:
            body = f"words of {name}, edit {round_}"
            await bot.service.edit_message(ref, body)
            expected[name] = f"{body}\n_(edited)_"
        await bot.drain()
        shown = sections(bot.slack.message(post.channel, post.ts))
        for other in names:
            _, _, held = split_part(await bot.copy_of(other))
            text = shown[f"msg{held}"]
            if expected[other].startswith("~"):
                assert text.startswith(expected[other].split("\n")[0][:10])
                assert "deleted by the customer" in text
            else:
                assert text == expected[other]


async def test_a_translation_goes_beneath_its_own_section(bot: Bot) -> None:
    ticket = await opened(bot)
    for name in ("m1", "m2", "m3"):
        await bot.customer_writes(name, f"Hola {name}")
    await bot.drain()
    message = await bot.service.message_at(MessageRef(DISCORD, "m2"))
    assert message is not None
    async with bot.storage.transaction() as tx:
        shown = TranslationShown(source="es", text="Hello m2")
        await tx.add_delivery(
            NewDelivery(ticket.id, Lane.AGENTS, shown, bot.clock.now(), message.id, MAIN_WORKSPACE)
        )
    await bot.drain()
    [_, post] = await bot.replies(ticket)
    blocks = bot.slack.message(post.channel, post.ts).blocks or []
    ids = [str(block.get("block_id")) for block in blocks]
    _, _, held = split_part(await bot.copy_of("m2"))
    at = ids.index(f"msg{held}")
    assert ids[at + 1] == f"msg{held}.1"
    assert blocks[at + 1]["type"] == "context"
    assert "Hello m2" in str(blocks[at + 1])
    assert [b["text"]["text"] for b in blocks if b["type"] == "section"] == [
        "Hola m1",
        "Hola m2",
        "Hola m3",
    ]


async def test_a_kill_after_a_post_of_several_never_posts_it_again(bot: Bot) -> None:
    ticket = await opened(bot)
    for name in ("m1", "m2", "m3"):
        await bot.customer_writes(name, f"Still burning {name}")
    with pytest.raises(Killed):
        await bot.process(
            KilledAfterPosting(bot.routes.workspaces, bot.routes.customers)
        ).run_once()
    assert bot.posts() == 3  # the card, the first message, and the three together
    assert not await bot.deliveries_done(ticket)
    await bot.customer_writes("m4", "And now the fax too")  # came while the bot was down
    bot.clock.advance(seconds=LEASE + 1)  # the dead process's leases run out
    await bot.drain()

    shown = await bot.replies(ticket)
    said = [list(sections(post).values()) or [post.text] for post in shown]
    assert said == [
        ["My printer is on fire"],
        ["Still burning m1", "Still burning m2", "Still burning m3"],
        ["And now the fax too"],
    ]
    assert bot.posts() == 4
    assert await bot.deliveries_done(ticket)
    copies = [await bot.copy_of(name) for name in ("m1", "m2", "m3", "m4")]
    assert len(set(copies)) == 4
    assert split_part(copies[3])[2] is None  # the last, alone


async def test_a_post_of_several_whose_answer_was_lost_is_not_made_again(bot: Bot) -> None:
    ticket = await opened(bot)
    for name in ("m1", "m2"):
        await bot.customer_writes(name, f"Still burning {name}")
    bot.slack.faults.lose_answer(method="chat.postMessage")
    await bot.process().run_once()  # posted, answered 500: all retried, unsure
    bot.slack.faults.clear()
    bot.clock.advance(minutes=1)
    await bot.drain()
    [_, post] = await bot.replies(ticket)
    assert list(sections(post).values()) == ["Still burning m1", "Still burning m2"]
    assert bot.posts() == 3
    assert await bot.deliveries_done(ticket)


async def test_messages_posted_together_before_a_kill_are_found_when_sent_alone(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next process does not post them together (its pacing is off): each looks for its
    copy, and finds it as a part of the post the dead process made."""
    ticket = await opened(bot)
    for name in ("m1", "m2"):
        await bot.customer_writes(name, f"Still burning {name}")
    with pytest.raises(Killed):
        await bot.process(
            KilledAfterPosting(bot.routes.workspaces, bot.routes.customers)
        ).run_once()
    bot.clock.advance(seconds=LEASE + 1)
    settings = point_at(bot.slack, monkeypatch)
    unpaced = SlackWorkspace(web_client(settings), DEMO.support)
    await bot.drain(Routes(unpaced, bot.routes.customers))
    assert bot.posts() == 3
    assert len(await bot.replies(ticket)) == 2
    copies = [await bot.copy_of(name) for name in ("m1", "m2")]
    assert all(split_part(copy)[2] is not None for copy in copies)
    assert len(set(copies)) == 2
    assert await bot.deliveries_done(ticket)


def written(n: int, body: str = "words", **changes: object) -> TicketMessage:
    message = TicketMessage(
        MessageId(n), TicketId(1), Direction.FROM_CUSTOMER, CUSTOMER, body, datetime.now(UTC)
    )
    return replace(message, **changes)  # type: ignore[arg-type]


def test_how_many_go_together() -> None:
    assert group_size([written(1)]) == 1  # alone: posted as ever
    assert group_size([written(n) for n in range(1, 4)]) == 3
    assert group_size([written(n) for n in range(1, 30)]) == GROUP_MOST
    file = Attachment("a.png", "https://cdn.example/a.png", 10)
    assert group_size([written(1), written(2), written(3, attachments=(file,))]) == 2
    assert group_size([written(1, attachments=(file,)), written(2)]) == 1
    assert group_size([written(1), written(2, deleted_at=datetime.now(UTC))]) == 1
    assert group_size([written(1), written(2, "x" * 3001)]) == 1
    assert group_size([written(1), None]) == 1


def test_a_part_is_replaced_where_it_was() -> None:
    _, blocks = group_post([written(1, "one"), written(2, "two"), written(3, "three")])
    new = part(MessageId(2), "two, edited", [{"type": "context", "elements": []}])
    after = replaced(blocks, MessageId(2), new)
    assert [b["block_id"] for b in after] == ["msg1", "msg2", "msg2.1", "msg3"]
    assert replaced(after, MessageId(2), part(MessageId(2), "two")) == blocks
    assert replaced(blocks, MessageId(9), new) == blocks
    assert split_part("C1:171.000200") == ("C1", "171.000200", None)
    assert split_part("C1:171.000200#7") == ("C1", "171.000200", MessageId(7))


async def test_nothing_of_the_lane_is_overtaken(bot: Bot) -> None:
    """Only consecutive messages ride together: what the agents are told between them in the
    thread (an assignment) stays between them. A card redraw is passed over and follows them:
    drawn when it is sent, it shows the same before them or after."""
    ticket = await opened(bot)
    alice = Agent(AgentId(DEMO.agent1), "alice")
    await bot.customer_writes("m1", "one")
    await bot.service.act(ticket.number, Action.CLAIM, Actor.of_agent(alice))  # the card only
    await bot.customer_writes("m2", "two")
    bob = Agent(AgentId(DEMO.agent2), "bob")
    await bot.service.act(ticket.number, Action.ASSIGN, Actor.of_agent(alice), assignee=bob)
    await bot.customer_writes("m3", "three")
    await bot.customer_writes("m4", "four")
    calls = len(bot.slack.api.calls)
    await bot.drain()
    said = [list(sections(post).values()) or [post.text] for post in await bot.replies(ticket)]
    customers = [texts for texts in said if texts[0] in ("one", "three")]
    assert customers == [["one", "two"], ["three", "four"]]
    done = [(c.method, str(c.args.get("text", ""))) for c in list(bot.slack.api.calls)[calls:]]
    one = done.index(("chat.postMessage", "one\ntwo"))
    three = done.index(("chat.postMessage", "three\nfour"))
    assigned = [i for i, (_, text) in enumerate(done) if "assigned" in text.lower()]
    assert len(assigned) == 1
    assert one < assigned[0] < three
    updates = [i for i, (method, _) in enumerate(done) if method == "chat.update"]
    assert updates
    assert one < updates[0]  # the claim's card, after the messages it was among
    assert await bot.deliveries_done(ticket)


async def test_messages_ride_past_the_card_redraw_an_answer_queued(bot: Bot) -> None:
    """A customer's first answer after a reply moves the card's due time; the card's redraw is
    queued behind that message, and the messages written with it still go in one post, the
    card after them (drawn when it is sent, it shows the same either way)."""
    ticket = await opened(bot)
    alice = Agent(AgentId(DEMO.agent1), "alice")
    reply = AgentMessage(alice, "On it", False, bot.clock.now())
    await bot.service.add_agent_message(ticket.number, reply)
    await bot.drain()
    async with bot.storage.transaction() as tx:
        cards_before = len(
            [d for d in await tx.list_deliveries(ticket.id) if isinstance(d.event, CardChanged)]
        )
    for n in range(1, 4):
        await bot.service.receive_customer_message(
            CustomerMessage(DISCORD, f"m{n}", "42", "Dana", f"answer {n}", bot.clock.now())
        )
    async with bot.storage.transaction() as tx:
        queued = [d.event for d in await tx.list_deliveries(ticket.id)]
    assert len([e for e in queued if isinstance(e, CardChanged)]) == cards_before + 1
    before = bot.posts()
    calls = len(bot.slack.api.calls)
    await bot.drain()

    assert bot.posts() == before + 1
    said = [list(sections(post).values()) or [post.text] for post in await bot.replies(ticket)]
    assert said[-1] == ["answer 1", "answer 2", "answer 3"]
    after = [c.method for c in list(bot.slack.api.calls)[calls:] if c.ok]
    assert after.index("chat.postMessage") < after.index("chat.update")
    assert await bot.deliveries_done(ticket)


async def test_messages_the_pacing_posts_at_once_go_alone(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting messages that the channel's pacing would post at once (it allows bursts of
    three) are posted as ever, one by one: only a backlog is folded into one post."""
    settings = point_at(bot.slack, monkeypatch)
    bursting = SlackWorkspace(
        web_client(settings), DEMO.support, pacing=SlackPolicy(posts_per_second=1000, burst=3)
    )
    routes = Routes(bursting, bot.routes.customers)
    ticket = await bot.customer_writes("m0", "My printer is on fire")
    await bot.drain(routes)
    await bot.customer_writes("m1", "one")
    await bot.customer_writes("m2", "two")
    await bot.drain(routes)
    shown = await bot.replies(ticket)
    assert [(post.text, post.blocks) for post in shown[1:]] == [("one", None), ("two", None)]


async def test_messages_written_while_a_post_is_under_way_are_not_handed_over_alone(
    bot: Bot,
) -> None:
    """A running dispatcher is handed each new lane head to send at once, but not while a post
    of its workspace is under way (it may be waiting for the pacing): another ticket's
    messages written meanwhile wait, and go together."""
    first = await opened(bot)
    other = await bot.service.receive_customer_message(
        CustomerMessage(DISCORD, "o0", "43", "Eve", "Mine too", datetime.now(UTC))
    )
    await bot.drain()
    dispatcher = bot.process()
    bot.service.hand_off_to(dispatcher)  # not woken: what is not handed over waits a poll
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))

    async def started() -> bool:
        return dispatcher.running

    try:
        await eventually(started, what="the dispatcher")
        bot.slack.faults.slow(0.5, method="chat.postMessage", count=1)
        await bot.customer_writes("m1", "one")  # handed over; its post is slow
        for n in range(1, 4):
            await bot.service.receive_customer_message(
                CustomerMessage(DISCORD, f"o{n}", "43", "Eve", f"Eve {n}", datetime.now(UTC))
            )

        async def settled() -> bool:
            return await bot.deliveries_done(first) and await bot.deliveries_done(other.ticket)

        await eventually(settled, what="every delivery")
    finally:
        stop.set()
        dispatcher.wake()
        await asyncio.wait_for(running, timeout=5)
    said = [
        list(sections(post).values()) or [post.text] for post in await bot.replies(other.ticket)
    ]
    assert said[1:] == [["Eve 1", "Eve 2", "Eve 3"]]
