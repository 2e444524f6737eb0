"""The playground's staff pane (agents working tickets in Discord's staff forum) over the real
emulators with the staff world. No bot runs: a forum post is made here as the bot makes one
(POST /channels/{forum}/threads), and what Sam and Lee do is asserted as the interactions and
messages Discord would hand the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession

from integrations.playground import Playground
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.discord import STAFF, ChannelType, Modal
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.launch import sandbox as run_sandbox
from integrations.sandbox.slack import DEMO as SLACK
from tests.playground.test_playground_server import FakeBotClock, act, state

ALICE = str(DISCORD.customer_id)
SAM = str(STAFF.staff_id)
LEE = str(STAFF.lead_id)
FORUM = str(STAFF.forum_channel_id)
PRIORITIES = ["low", "normal", "high", "urgent"]


@pytest.fixture
async def staff_box() -> AsyncIterator[Sandbox]:
    async with run_sandbox(fast=True, staff=True) as box:
        yield box


async def serve(box: Sandbox, workspaces: tuple[str, ...]) -> AsyncIterator[ClientSession]:
    async with (
        Playground(box, FakeBotClock(), port=0, workspaces=workspaces) as server,
        ClientSession(base_url=server.url) as session,
    ):
        yield session


@pytest.fixture
async def mixed(staff_box: Sandbox) -> AsyncIterator[ClientSession]:
    """`threadline demo --workspaces slack,discord`'s playground."""
    async for session in serve(staff_box, ("slack", "discord")):
        yield session


@pytest.fixture
async def discord_only(staff_box: Sandbox) -> AsyncIterator[ClientSession]:
    """`threadline demo --workspaces discord`'s playground."""
    async for session in serve(staff_box, ("discord",)):
        yield session


def card(number: int) -> dict[str, Any]:
    """A forum post's starter message as the bot would make it: the card and its controls."""
    button = {
        "type": 2,
        "style": 1,
        "label": "Claim",
        "custom_id": f"threadline:staff:claim:{number}",
    }
    escalate = {
        "type": 2,
        "style": 4,
        "label": "Escalate",
        "custom_id": f"threadline:staff:escalate:{number}",
    }
    select = {
        "type": 3,
        "custom_id": f"threadline:staff:priority:{number}",
        "placeholder": "Priority",
        "options": [{"label": p.capitalize(), "value": p} for p in PRIORITIES],
    }
    return {
        "embeds": [{"title": f"#{number} · My order never arrived", "description": "Open"}],
        "components": [
            {"type": 1, "components": [button, escalate]},
            {"type": 1, "components": [select]},
        ],
    }


async def post_ticket(box: Sandbox, number: int) -> str:
    """The bot opens a ticket's forum post; its id (the thread's, and the card's)."""
    discord = box.discord
    headers = {"Authorization": f"Bot {discord.token}"}
    body = {"name": f"#{number} My order never arrived", "message": card(number)}
    async with (
        ClientSession() as session,
        session.post(
            f"{discord.api_url}/channels/{FORUM}/threads", json=body, headers=headers
        ) as response,
    ):
        assert response.status in (200, 201), await response.text()
        found: dict[str, Any] = await response.json()
    return str(found["id"])


def forum(seen: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        c for c in seen["staff"]["guild"]["channels"] if c["id"] == FORUM
    ]
    [channel] = found
    return channel


async def test_the_staff_pane_shows_the_forum_and_its_posts(
    mixed: ClientSession, staff_box: Sandbox
) -> None:
    empty = await state(mixed)
    staff = empty["staff"]
    assert empty["workspaces"] == ["discord", "slack"]
    assert staff["me"] == SAM  # the first staff member by default
    assert [(p["id"], p["name"], p["roles"]) for p in staff["people"]] == [
        (SAM, "Sam Staff", ["Staff"]),
        (LEE, "Lee Lead", ["Staff", "Leads"]),
    ]
    names = [(c["name"], c["type"]) for c in staff["guild"]["channels"]]
    assert names == [("support", 0), ("staff-tickets", 15), ("staff", 0)]
    assert forum(empty)["threads"] == []
    # The staff are not customers: the customer pane offers only the customers.
    assert [c["id"] for c in empty["discord"]["customers"]] == [
        ALICE,
        str(DISCORD.second_customer_id),
    ]

    post_id = await post_ticket(staff_box, 1001)

    [post] = forum(await state(mixed, staff=LEE))["threads"]
    assert (post["id"], post["name"], post["parent_id"]) == (
        post_id,
        "#1001 My order never arrived",
        FORUM,
    )
    [starter] = post["messages"]
    assert starter["id"] == post_id  # a forum post's starter message shares the thread's id
    assert starter["author"]["id"] == str(DISCORD.bot_id)
    assert starter["embeds"][0]["title"] == "#1001 · My order never arrived"
    assert [c["custom_id"] for c in starter["components"][0]["components"]] == [
        "threadline:staff:claim:1001",
        "threadline:staff:escalate:1001",
    ]


async def test_customers_see_none_of_the_staff_channels(
    mixed: ClientSession, staff_box: Sandbox
) -> None:
    post_id = await post_ticket(staff_box, 1001)

    customer = (await state(mixed, discord=ALICE))["discord"]
    assert [c["name"] for c in customer["guild"]["channels"]] == ["support"]
    status, reply = await act(
        mixed,
        side="discord",
        action="click",
        message_id=post_id,
        custom_id="threadline:staff:claim:1001",
        **{"as": ALICE},
    )
    assert (status, reply["error"]) == (400, f"no message {post_id} that you can see")
    status, reply = await act(
        mixed, side="staff", action="send", channel_id=post_id, text="hi", **{"as": ALICE}
    )
    assert (status, reply["error"]) == (400, f"no such Discord staff person '{ALICE}'")


async def test_sam_clicks_picks_a_priority_and_writes_in_the_post(
    mixed: ClientSession, staff_box: Sandbox
) -> None:
    post_id = await post_ticket(staff_box, 1001)
    emu = staff_box.discord

    status, reply = await act(
        mixed,
        side="staff",
        action="click",
        message_id=post_id,
        custom_id="threadline:staff:claim:1001",
        **{"as": SAM},
    )
    assert (status, reply) == (200, {"ok": True})
    status, _ = await act(
        mixed,
        side="staff",
        action="select",
        message_id=post_id,
        custom_id="threadline:staff:priority:1001",
        values=["urgent"],
        **{"as": SAM},
    )
    assert status == 200
    status, _ = await act(
        mixed,
        side="staff",
        action="send",
        channel_id=post_id,
        text="On it, checking with the warehouse",
        **{"as": SAM},
    )
    assert status == 200

    claim, priority = emu.interactions()
    assert (claim.user_id, claim.channel_id, claim.data["custom_id"]) == (
        STAFF.staff_id,
        int(post_id),
        "threadline:staff:claim:1001",
    )
    assert (priority.data["custom_id"], priority.data["values"]) == (
        "threadline:staff:priority:1001",
        ["urgent"],
    )
    [post] = forum(await state(mixed))["threads"]
    written = post["messages"][-1]
    assert (written["author"]["id"], written["content"]) == (
        SAM,
        "On it, checking with the warehouse",
    )


async def test_a_forum_takes_no_plain_messages(mixed: ClientSession) -> None:
    status, reply = await act(
        mixed, side="staff", action="send", channel_id=FORUM, text="hello", **{"as": SAM}
    )
    assert (status, reply["error"]) == (400, "a forum takes posts (threads), not messages")


async def test_lee_submits_the_escalation_modal(mixed: ClientSession, staff_box: Sandbox) -> None:
    post_id = await post_ticket(staff_box, 1001)
    emu = staff_box.discord
    status, _ = await act(
        mixed,
        side="staff",
        action="click",
        message_id=post_id,
        custom_id="threadline:staff:escalate:1001",
        **{"as": LEE},
    )
    assert status == 200
    [opener] = emu.interactions()
    # What the bot answers the click with (callback type 9), put in place by hand.
    reason = {"type": 4, "custom_id": "reason", "label": "Why escalate?", "style": 2}
    emu.world.modals.append(
        Modal(
            opener.id,
            STAFF.lead_id,
            "threadline:staff:escalate:1001",
            "Escalate #1001",
            [{"type": 1, "components": [reason]}],
        )
    )

    shown = (await state(mixed, staff=LEE))["staff"]["modal"]
    assert (shown["custom_id"], shown["title"]) == (
        "threadline:staff:escalate:1001",
        "Escalate #1001",
    )
    assert (await state(mixed, staff=SAM))["staff"]["modal"] is None  # Lee's, not Sam's
    status, reply = await act(
        mixed,
        side="staff",
        action="submit",
        custom_id="threadline:staff:escalate:1001",
        values={"reason": "Customer waited a week"},
        **{"as": LEE},
    )
    assert (status, reply) == (200, {"ok": True})

    submitted = emu.interactions()[-1]
    assert submitted.type == 5  # MODAL_SUBMIT
    assert submitted.user_id == STAFF.lead_id
    assert submitted.data["custom_id"] == "threadline:staff:escalate:1001"
    assert submitted.message_id == int(post_id)


async def test_a_private_thread_shows_to_the_lead_only(
    mixed: ClientSession, staff_box: Sandbox
) -> None:
    # The bot answers a customer with closed DMs in a private thread of #support; Lee holds
    # MANAGE_THREADS (Leads) and sees it, Sam does not.
    emu = staff_box.discord
    world = emu.world
    support = world.channels[DISCORD.support_channel_id]
    private = world.create_thread(
        support, "alice's ticket", DISCORD.bot_id, kind=ChannelType.PRIVATE_THREAD
    )

    def threads_of(seen: dict[str, Any]) -> list[str]:
        [found] = [c for c in seen["staff"]["guild"]["channels"] if c["name"] == "support"]
        return [t["id"] for t in found["threads"]]

    assert threads_of(await state(mixed, staff=LEE)) == [str(private.id)]
    assert threads_of(await state(mixed, staff=SAM)) == []


async def test_slack_alone_shows_no_staff_pane_and_refuses_staff_actions(
    sandbox: Sandbox,
) -> None:
    async for http in serve(sandbox, ("slack",)):
        seen = await state(http)
        assert (seen["workspaces"], seen["staff"]) == (["slack"], None)
        assert seen["slack"]["me"] == SLACK.agent1
        status, reply = await act(
            http, side="staff", action="send", channel_id=FORUM, text="x", **{"as": SAM}
        )
        assert (status, reply["error"]) == (
            400,
            "the agents do not work in Discord in this demo (--workspaces)",
        )


async def test_discord_alone_has_no_slack_pane(discord_only: ClientSession) -> None:
    seen = await state(discord_only)

    assert (seen["workspaces"], seen["slack"]) == (["discord"], None)
    assert seen["staff"]["me"] == SAM
    status, reply = await act(
        discord_only,
        side="slack",
        action="post",
        channel=SLACK.support,
        text="hello",
        **{"as": SLACK.agent1},
    )
    assert (status, reply["error"]) == (
        400,
        "Slack is not used in this demo (its agents work in Discord)",
    )


def test_workspaces_are_slack_or_discord(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="slack and/or discord"):
        Playground(sandbox, FakeBotClock(), workspaces=("teams",))
    with pytest.raises(ValueError, match="slack and/or discord"):
        Playground(sandbox, FakeBotClock(), workspaces=())
