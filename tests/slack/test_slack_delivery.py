"""The agents' lane delivered into the Slack emulator through the real slack_sdk client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import load_settings
from bot.core.delivery import MAIN_WORKSPACE, DeliveryJob
from bot.core.dispatcher import Dispatcher
from bot.core.domain import Agent, AgentId, Attachment, MessageRef, TicketNumber
from bot.core.errors import PlatformError
from bot.core.events import AgentMessage, CustomerMessage
from bot.core.routes import Routes
from bot.core.service import TicketService
from integrations import platforms
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.discord import DiscordEmulator, demo_world
from integrations.sandbox.slack import DEMO, SlackEmulator, Timing, demo_workspace
from integrations.sandbox.slack.limits import Rate
from integrations.slack.client import web_client
from integrations.slack.refs import ref_of, split_ref
from integrations.slack.workspace import SlackWorkspace
from storage.repository import SqlStorage
from tests.fakes import QuietChannel
from tests.support import FakeClock

SENT = datetime(2026, 3, 2, 9, tzinfo=UTC)
ANN = Agent(AgentId(DEMO.agent1), "Alice Agent")


class NoCustomerSide(QuietChannel):
    """The customer's channel, delivering nowhere (the Discord side is not under test here)."""

    def __init__(self) -> None:
        self.fail_with: PlatformError | None = None

    async def answer(self, job: DeliveryJob) -> str | None:
        if self.fail_with:
            raise self.fail_with
        return "discord-copy"


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(demo_workspace(), timing=Timing.fast()) as emulator:
        yield emulator


@pytest.fixture
async def sandbox_files() -> AsyncIterator[str]:
    """A customer's file as a platform's file host serves it: the Discord emulator's CDN."""
    async with DiscordEmulator(demo_world()) as discord:
        sent = await discord.user(DISCORD.customer_id).send_dm(
            "x", files=[("log.txt", b"hello world")]
        )
        yield sent.attachments[0].url


@pytest.fixture
def customer_side() -> NoCustomerSide:
    return NoCustomerSide()


@pytest.fixture
def dispatcher(
    slack: SlackEmulator,
    storage: SqlStorage,
    clock: FakeClock,
    workdir: object,
    monkeypatch: pytest.MonkeyPatch,
    customer_side: NoCustomerSide,
) -> Dispatcher:
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    client = web_client(load_settings())
    workspace = SlackWorkspace(client, DEMO.support)
    return Dispatcher(storage, clock, Routes(workspace, {platforms.DISCORD: customer_side}))


@pytest.fixture
def service(storage: SqlStorage, clock: FakeClock) -> TicketService:
    return TicketService(storage, clock)


async def drain(dispatcher: Dispatcher) -> None:
    while await dispatcher.run_once():
        pass


async def say(service: TicketService, message_id: str, body: str, **kw: object) -> TicketNumber:
    intake = await service.receive_customer_message(
        CustomerMessage(platforms.DISCORD, message_id, "42", "Dana <Customer>", body, SENT, **kw)  # type: ignore[arg-type]
    )
    return intake.ticket.number


async def test_a_new_ticket_gets_a_card_and_a_thread(
    slack: SlackEmulator, service: TicketService, dispatcher: Dispatcher
) -> None:
    number = await say(service, "m1", "My printer is on fire <!channel>")
    await say(service, "m2", "Still burning")
    await drain(dispatcher)

    (card,) = slack.messages(DEMO.support)
    assert card.user == slack.bot_user_id
    assert card.text == f"Ticket #{number} from Dana <Customer>: My printer is on fire <!channel>"
    assert card.blocks is not None
    assert card.blocks[0]["text"]["text"].startswith(f"#{number} · My printer is on fire")
    thread = slack.thread(DEMO.support, card.ts)
    assert [m.text for m in thread] == [
        "My printer is on fire &lt;!channel&gt;",  # a customer cannot ping the channel
        "Still burning",
    ]
    ticket = await service.get_ticket(number)
    assert ticket.workspace_ref == f"{DEMO.support}:{card.ts}"
    detail = await service.ticket_detail(number)
    assert detail.messages[0].refs[1] == MessageRef(
        platforms.SLACK, f"{DEMO.support}:{thread[0].ts}", MAIN_WORKSPACE
    )


async def test_the_card_is_edited_in_place(
    slack: SlackEmulator, service: TicketService, dispatcher: Dispatcher
) -> None:
    number = await say(service, "m1", "Help")
    await drain(dispatcher)
    await service.claim(number, ANN)
    await drain(dispatcher)
    (card,) = slack.messages(DEMO.support)
    assert card.edited is not None
    assert card.blocks is not None
    assert f"<@{DEMO.agent1}>" in str(card.blocks[1])
    assert len(slack.calls_to("chat.update")) == 1


async def test_a_deleted_card_is_posted_again(
    slack: SlackEmulator, service: TicketService, dispatcher: Dispatcher
) -> None:
    number = await say(service, "m1", "Help")
    await drain(dispatcher)
    old = (await service.get_ticket(number)).workspace_ref
    assert old is not None
    channel, ts = split_ref(old)
    await AsyncWebClient(token=slack.bot_token, base_url=slack.api_url).chat_delete(
        channel=channel, ts=ts
    )
    await service.claim(number, ANN)
    await drain(dispatcher)
    new = (await service.get_ticket(number)).workspace_ref
    assert new is not None
    assert new != old


async def test_files_too_large_to_upload_are_linked(
    slack: SlackEmulator, service: TicketService, dispatcher: Dispatcher
) -> None:
    big = Attachment("dump.bin", "http://127.0.0.1:1/cdn/dump.bin", 20 * 1024 * 1024)
    number = await say(service, "m1", "See attached", attachments=(big,))
    await drain(dispatcher)
    ref = (await service.get_ticket(number)).workspace_ref
    assert ref is not None
    (message,) = slack.thread(*split_ref(ref))
    assert message.text == (
        "See attached\n:paperclip: <http://127.0.0.1:1/cdn/dump.bin|dump.bin> (20480 KB)"
    )


async def test_a_long_message_is_split_not_truncated(
    slack: SlackEmulator, service: TicketService, dispatcher: Dispatcher
) -> None:
    paragraph = ("word " * 1999).strip() + "."
    body = "\n\n".join([paragraph] * 8)  # 80,000 characters
    number = await say(service, "m1", body)
    await drain(dispatcher)
    ref = (await service.get_ticket(number)).workspace_ref
    assert ref is not None
    posted = slack.thread(*split_ref(ref))
    assert len(posted) == 3
    assert all(len(m.text) <= 39_000 for m in posted)
    assert "\n\n".join(m.text for m in posted) == body


async def test_delivered_replies_are_marked_and_failures_explained(
    slack: SlackEmulator,
    service: TicketService,
    dispatcher: Dispatcher,
    customer_side: NoCustomerSide,
) -> None:
    number = await say(service, "m1", "Help")
    await drain(dispatcher)
    ref = (await service.get_ticket(number)).workspace_ref
    assert ref is not None
    channel, root = split_ref(ref)
    agent = slack.user(DEMO.agent1)
    ok_ts = await agent.post(channel, "Try turning it off", thread_ts=root)
    await service.add_agent_message(
        number,
        AgentMessage(
            ANN,
            "Try turning it off",
            False,
            SENT,
            ref_of(channel, ok_ts),
        ),
    )
    await drain(dispatcher)
    assert slack.message(channel, ok_ts).reactions == {"white_check_mark": [slack.bot_user_id]}

    customer_side.fail_with = PlatformError("Cannot send messages to this user", retryable=False)
    bad_ts = await agent.post(channel, "Hello?", thread_ts=root)
    await service.add_agent_message(
        number,
        AgentMessage(ANN, "Hello?", False, SENT, ref_of(channel, bad_ts)),
    )
    await drain(dispatcher)
    assert slack.message(channel, bad_ts).reactions == {"warning": [slack.bot_user_id]}
    notice = slack.thread(channel, root)[-1]
    assert (
        notice.text
        == ":warning: Not delivered to Dana &lt;Customer&gt;: Cannot send messages to this user"
    )


async def test_customer_edits_and_deletes_show_in_the_thread(
    slack: SlackEmulator, service: TicketService, dispatcher: Dispatcher, clock: FakeClock
) -> None:
    number = await say(service, "m1", "helo")
    await say(service, "m2", "oops")
    await drain(dispatcher)
    await service.edit_message(MessageRef(platforms.DISCORD, "m1"), "hello", clock.now())
    await service.delete_message(MessageRef(platforms.DISCORD, "m2"), clock.now())
    await drain(dispatcher)
    ref = (await service.get_ticket(number)).workspace_ref
    assert ref is not None
    edited, deleted = slack.thread(*split_ref(ref))
    assert edited.text == "hello\n_(edited)_"
    assert deleted.text == "~oops~\n_(deleted by the customer)_"


async def test_customer_files_are_uploaded_into_the_thread_or_linked(
    slack: SlackEmulator, service: TicketService, dispatcher: Dispatcher, sandbox_files: str
) -> None:
    small = Attachment("log.txt", sandbox_files, 11, "text/plain")
    huge = Attachment("video.mp4", "http://127.0.0.1:1/cdn/video.mp4", 20 * 1024 * 1024)
    gone = Attachment("gone.txt", "http://127.0.0.1:1/cdn/gone.txt", 10)
    number = await say(service, "m1", "Logs attached", attachments=(small, huge, gone))
    await drain(dispatcher)
    ref = (await service.get_ticket(number)).workspace_ref
    assert ref is not None
    posted = slack.thread(*split_ref(ref))
    assert posted[0].text.startswith("Logs attached\n:paperclip: <http://127.0.0.1:1/cdn/video.mp4")
    assert [f["name"] for m in posted for f in m.files] == ["log.txt"]
    assert posted[-1].text == ":paperclip: <http://127.0.0.1:1/cdn/gone.txt|gone.txt> (10 B)"


async def test_customer_messages_carry_the_customers_name_and_avatar(
    slack: SlackEmulator, service: TicketService, dispatcher: Dispatcher
) -> None:
    await say(service, "m1", "Hello", customer_avatar_url="https://cdn.example/dana.png")
    await drain(dispatcher)
    (post,) = [c for c in slack.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    assert post.args["username"] == "Dana <Customer> (Discord)"
    assert post.args["icon_url"] == "https://cdn.example/dana.png"


async def test_a_429_is_waited_out_and_retried(
    slack: SlackEmulator, service: TicketService, dispatcher: Dispatcher
) -> None:
    slack.limits.enabled = True
    slack.limits.set_rate("chat.postMessage", Rate(1, 1.0, 1))  # one post, then wait a second
    number = await say(service, "m1", "first")
    await drain(dispatcher)
    ref = (await service.get_ticket(number)).workspace_ref
    assert ref is not None
    assert [m.text for m in slack.thread(*split_ref(ref))] == ["first"]
    refused = [c for c in slack.calls_to("chat.postMessage") if c.status == 429]
    assert refused, "the second post should have met the limit"


async def test_two_workspaces_each_show_the_ticket_and_edit_only_their_own_copies(
    slack: SlackEmulator,
    storage: SqlStorage,
    clock: FakeClock,
    workdir: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second agent workspace beside the main one (here a second channel of the emulator,
    driven through its own SlackWorkspace): each gets its own card and thread, and a customer's
    edit and deletion reach each one's own copy, never the other's."""
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    client = web_client(load_settings())
    names = (MAIN_WORKSPACE, "staff")
    main = SlackWorkspace(client, DEMO.support)
    staff = SlackWorkspace(client, DEMO.escalations, name="staff")
    routes = Routes({MAIN_WORKSPACE: main, "staff": staff}, {platforms.DISCORD: NoCustomerSide()})
    dispatcher = Dispatcher(storage, clock, routes, names)
    service = TicketService(storage, clock, workspaces=names)

    number = await say(service, "m1", "helo")
    await drain(dispatcher)
    sides = ((DEMO.support, MAIN_WORKSPACE), (DEMO.escalations, "staff"))

    def copies() -> list[str]:
        return [
            m.text
            for channel, _ in sides
            for card in slack.messages(channel)
            for m in slack.thread(channel, card.ts)
        ]

    await service.edit_message(MessageRef(platforms.DISCORD, "m1"), "hello", clock.now())
    await drain(dispatcher)
    assert copies() == ["hello\n_(edited)_"] * 2
    await service.delete_customer_message(MessageRef(platforms.DISCORD, "m1"), clock.now())
    await drain(dispatcher)
    assert copies() == ["~hello~\n_(deleted by the customer)_"] * 2

    ticket = await service.get_ticket(number)
    for channel, workspace in sides:
        (card,) = slack.messages(channel)
        assert card.text.startswith(f"Ticket #{number} from Dana <Customer>")
        found = await service.ticket_at(f"{channel}:{card.ts}", workspace)
        assert found is not None
        assert found.number == number
    assert ticket.workspace_ref is not None
    assert ticket.workspace_ref.startswith(f"{DEMO.support}:")
