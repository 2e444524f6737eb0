"""The playground's HTTP server over the real emulators (no bot running: only what the
emulators themselves do is asserted)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession
from yarl import URL

from integrations.playground import Playground
from integrations.playground.server import describe_move
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.discord import Modal
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK

ALICE = str(DISCORD.customer_id)


class FakeBotClock:
    """The bot's clock as the playground sees it; records the moves asked of it. `ai`: whether
    the bot has AI features (and so an automated answer to switch)."""

    def __init__(self, *, ai: bool = True) -> None:
        self.current = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
        self.total = timedelta(0)
        self.moves: list[timedelta | None] = []
        self.answering: bool | None = False if ai else None

    def now(self) -> datetime:
        return self.current

    def moved(self) -> timedelta:
        return self.total

    async def next_due(self) -> datetime | None:
        return self.current + timedelta(hours=2)

    async def advance(self, by: timedelta | None) -> str:
        self.moves.append(by)
        step = by or timedelta(hours=2)
        self.current += step
        self.total += step
        return f"Clock moved {describe_move(step)}. Jobs: nothing due."

    def auto_answer(self) -> bool | None:
        return self.answering

    def set_auto_answer(self, on: bool) -> str:
        if self.answering is None:
            raise ValueError("the AI features are off in this demo")
        self.answering = on
        return f"Automated answers {'on' if on else 'off'}."


@pytest.fixture
def bot_clock() -> FakeBotClock:
    return FakeBotClock()


@pytest.fixture
async def playground(sandbox: Sandbox, bot_clock: FakeBotClock) -> AsyncIterator[Playground]:
    async with Playground(sandbox, bot_clock, port=0, ping_every=0.3) as server:
        yield server


@pytest.fixture
async def http(playground: Playground) -> AsyncIterator[ClientSession]:
    async with ClientSession(base_url=playground.url) as session:
        yield session


async def act(http: ClientSession, **body: Any) -> tuple[int, dict[str, Any]]:
    async with http.post("/api/act", json=body) as response:
        return response.status, await response.json()


async def state(http: ClientSession, **query: str) -> dict[str, Any]:
    async with http.get("/api/state", params=query) as response:
        assert response.status == 200, await response.text()
        found: dict[str, Any] = await response.json()
        return found


async def test_state_shows_a_customer_dm_sent_through_act(http: ClientSession) -> None:
    status, reply = await act(
        http, side="discord", action="dm", text="My order hasn't arrived", **{"as": ALICE}
    )
    assert (status, reply) == (200, {"ok": True})

    seen = await state(http, slack=SLACK.agent1, discord=ALICE)

    assert seen["clock"] == {
        "now": "2026-12-06T10:00:00+00:00",
        "moved": "",
        "next_due": "2026-12-06T12:00:00+00:00",
        "auto_answer": False,
    }
    slack = seen["slack"]
    assert slack["me"] == SLACK.agent1
    assert slack["team"] == "Threadline Demo"
    assert slack["users"]["UBOT"]["is_bot"] is True
    assert [p["id"] for p in slack["people"]] == [
        SLACK.agent1,
        SLACK.agent2,
        SLACK.lead,
        SLACK.member,
    ]
    assert [(c["label"], c["kind"]) for c in slack["channels"]] == [
        ("#support", "channel"),
        ("#escalations", "channel"),
        ("supportbot", "dm"),
    ]
    assert slack["channels"][-1]["id"] is None  # the DM is not opened by looking at it
    assert (slack["modal"], slack["home"], slack["ephemerals"]) == (None, None, [])
    discord = seen["discord"]
    assert discord["me"] == ALICE
    assert [c["id"] for c in discord["customers"]] == [ALICE, str(DISCORD.second_customer_id)]
    [message] = discord["dm"]["messages"]
    assert message["content"] == "My order hasn't arrived"
    assert message["author"]["id"] == ALICE
    assert discord["dm"]["channel_id"] == message["channel_id"]
    [support] = discord["guild"]["channels"]
    assert (support["id"], support["name"]) == (str(DISCORD.support_channel_id), "support")
    assert discord["modal"] is None


async def test_the_lead_sees_the_private_leads_channel(http: ClientSession) -> None:
    seen = await state(http, slack=SLACK.lead)

    labels = [(c["label"], c["kind"]) for c in seen["slack"]["channels"]]
    assert ("#support-leads", "private") in labels
    assert seen["discord"]["me"] == ALICE  # the first customer by default


async def test_a_slack_post_reaches_the_channel_as_typed(
    http: ClientSession, sandbox: Sandbox
) -> None:
    typed = 'It\'s <b>bold</b> & "quoted"'
    status, _ = await act(
        http, side="slack", action="post", channel=SLACK.support, text=typed, **{"as": SLACK.agent2}
    )
    assert status == 200

    [posted] = sandbox.slack.messages(SLACK.support)
    assert posted.user == SLACK.agent2
    assert posted.text == 'It\'s &lt;b&gt;bold&lt;/b&gt; &amp; "quoted"'  # Slack's escaping
    assert typed in json.dumps(posted.blocks, ensure_ascii=False).replace('\\"', '"')
    status, _ = await act(
        http,
        side="slack",
        action="post",
        channel=SLACK.support,
        text="a reply",
        thread_ts=posted.ts,
        **{"as": SLACK.agent1},
    )
    assert status == 200
    [support, *_] = (await state(http, slack=SLACK.agent1))["slack"]["channels"]
    assert [m["text"] for m in support["messages"]] == [posted.text]
    assert [m["text"] for m in support["threads"][posted.ts]] == ["a reply"]


async def test_a_click_on_an_unknown_button_is_a_readable_400(
    http: ClientSession, sandbox: Sandbox
) -> None:
    blocks = [
        {
            "type": "actions",
            "block_id": "ticket",
            "elements": [
                {
                    "type": "button",
                    "action_id": "claim",
                    "text": {"type": "plain_text", "text": "Claim"},
                }
            ],
        }
    ]
    ws = sandbox.slack.workspace
    card = ws.post(SLACK.support, ws.bot.user_id, "Ticket #1", blocks=blocks)

    status, reply = await act(
        http,
        side="slack",
        action="click",
        channel=SLACK.support,
        ts=card.ts,
        action_id="no_such_action",
        **{"as": SLACK.agent1},
    )

    assert status == 400
    assert reply["ok"] is False
    assert "no button 'no_such_action'" in reply["error"]
    assert "\n" not in reply["error"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"side": "slack", "as": "UNOBODY", "action": "post"}, "no such Slack person 'UNOBODY'"),
        ({"side": "discord", "as": "42", "action": "dm"}, "no such Discord person '42'"),
        ({"side": "slack", "as": SLACK.agent1, "action": "dance"}, "unknown slack action"),
        ({"side": "moon", "as": SLACK.agent1, "action": "post"}, "unknown side 'moon'"),
        ({"side": "slack", "as": SLACK.agent1, "action": "post", "text": "x"}, "'channel'"),
        ({"side": "discord", "as": ALICE, "action": "dm", "text": 7}, "'text' must be a string"),
        ({"side": "discord", "as": ALICE, "action": "dm", "text": "  "}, "'text' is empty"),
        ({"side": "clock", "action": "advance", "by": "soon"}, "'by' must be"),
        ({"side": "clock", "action": "auto_answer", "to": "maybe"}, "'to' must be 'on' or 'off'"),
        ({"side": "clock", "action": "auto_answer"}, "'to' is required"),
        ({"side": "clock", "action": "rewind"}, "unknown clock action 'rewind'"),
        ({"side": "discord", "as": ALICE, "action": "dismiss"}, "no modal is open"),
        (
            {"side": "slack", "as": SLACK.agent1, "action": "post", "channel": SLACK.leads},
            "you are not in CLEADS",
        ),
    ],
)
async def test_visitor_mistakes_are_400s(
    http: ClientSession, body: dict[str, Any], error: str
) -> None:
    status, reply = await act(http, **body)

    assert status == 400
    assert reply["ok"] is False
    assert error in reply["error"]


async def test_an_unknown_person_in_the_state_query_is_a_400(http: ClientSession) -> None:
    async with http.get("/api/state", params={"slack": "UNOBODY"}) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "no such Slack person 'UNOBODY'"
    async with http.get("/api/state", params={"discord": "carol"}) as response:
        assert response.status == 400


async def test_bad_bodies_are_refused(http: ClientSession) -> None:
    headers = {"Content-Type": "application/json"}
    async with http.post("/api/act", data="{not json", headers=headers) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "the body is not valid JSON"
    async with http.post("/api/act", data="[1, 2]", headers=headers) as response:
        assert response.status == 400
    async with http.post("/api/act", data="side=slack") as response:
        assert response.status == 415
    async with http.post("/api/act", data="x" * 70_000, headers=headers) as response:
        assert response.status == 413


async def test_a_foreign_host_header_is_refused(
    http: ClientSession, playground: Playground
) -> None:
    for path in ("/", "/api/state", "/api/events"):
        async with http.get(path, headers={"Host": f"evil.example:{playground.port}"}) as response:
            assert response.status == 403
    async with http.get("/", headers={"Host": f"localhost:{playground.port}"}) as response:
        assert response.status == 200


async def test_an_action_from_another_site_is_refused(
    http: ClientSession, playground: Playground
) -> None:
    body = {"side": "discord", "as": ALICE, "action": "dm", "text": "hi"}
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        async with http.post("/api/act", json=body, headers=headers) as response:
            assert response.status == 403
    async with http.post("/api/act", json=body, headers={"Origin": playground.url}) as response:
        assert response.status == 200


async def next_event(response: ClientResponse) -> str:
    """The next SSE event or comment, as its text (lines joined, blank line dropped)."""
    lines: list[str] = []
    while True:
        line = (await asyncio.wait_for(response.content.readline(), 5)).decode()
        if line == "\n":
            return "".join(lines)
        lines.append(line)


async def test_events_announce_changes(http: ClientSession) -> None:
    async with http.get("/api/events") as events:
        assert events.headers["Content-Type"].startswith("text/event-stream")
        first = await next_event(events)
        assert first.startswith("event: changed\ndata: ")
        before = json.loads(first.split("data: ")[1])["revision"]

        await act(http, side="discord", action="dm", text="hello", **{"as": ALICE})

        found = await next_event(events)
        while found.startswith(": ping"):
            found = await next_event(events)
        assert found.startswith("event: changed\n")
        assert json.loads(found.split("data: ")[1])["revision"] > before


async def test_events_ping_and_stop_does_not_hang(
    http: ClientSession, playground: Playground
) -> None:
    async with http.get("/api/events") as events:
        await next_event(events)
        assert await next_event(events) == ": ping\n"
        await asyncio.wait_for(playground.stop(), 5)


async def test_the_clock_moves_through_the_bot_clock(
    http: ClientSession, bot_clock: FakeBotClock, playground: Playground
) -> None:
    before = playground.revision

    status, reply = await act(http, side="clock", action="advance", by="1d")

    assert (status, reply) == (
        200,
        {"ok": True, "note": "Clock moved 1 day. Jobs: nothing due."},
    )
    assert playground.revision > before
    status, _ = await act(http, side="clock", action="advance", by="next")
    assert status == 200
    assert bot_clock.moves == [timedelta(days=1), None]
    clock = (await state(http))["clock"]
    assert clock["moved"] == "1 day 2 h"
    assert clock["now"] == "2026-12-07T12:00:00+00:00"


async def test_the_automated_answer_is_switched_on_and_off(
    http: ClientSession, bot_clock: FakeBotClock, playground: Playground
) -> None:
    before = playground.revision

    status, reply = await act(http, side="clock", action="auto_answer", to="on")

    assert (status, reply) == (200, {"ok": True, "note": "Automated answers on."})
    assert bot_clock.answering is True
    assert (await state(http))["clock"]["auto_answer"] is True
    assert playground.revision > before  # the page hears of it and fetches the state
    status, reply = await act(http, side="clock", action="auto_answer", to="OFF")
    assert (status, reply) == (200, {"ok": True, "note": "Automated answers off."})
    assert (await state(http))["clock"]["auto_answer"] is False


async def test_without_ai_there_is_no_switch_and_switching_is_refused(sandbox: Sandbox) -> None:
    no_ai = FakeBotClock(ai=False)
    async with (
        Playground(sandbox, no_ai, port=0) as server,
        ClientSession(base_url=server.url) as http,
    ):
        assert (await state(http))["clock"]["auto_answer"] is None
        before = server.revision

        status, reply = await act(http, side="clock", action="auto_answer", to="on")

        assert (status, reply) == (
            400,
            {"ok": False, "error": "the AI features are off in this demo"},
        )
        assert no_ai.answering is None
        assert server.revision == before


async def test_a_discord_modal_shows_and_is_dismissed(
    http: ClientSession, sandbox: Sandbox
) -> None:
    inputs = [{"type": 4, "custom_id": "why", "label": "Why?", "style": 2}]
    modal = Modal(1, DISCORD.customer_id, "reason", "Tell us", [{"type": 1, "components": inputs}])
    sandbox.discord.world.modals.append(modal)

    shown = (await state(http, discord=ALICE))["discord"]["modal"]
    assert (shown["custom_id"], shown["title"]) == ("reason", "Tell us")
    status, reply = await act(http, side="discord", action="submit", values={}, **{"as": ALICE})
    assert (status, reply["error"]) == (
        400,
        "Discord would not submit: required fields empty: Why?",
    )
    status, _ = await act(http, side="discord", action="dismiss", **{"as": ALICE})
    assert status == 200
    assert (await state(http, discord=ALICE))["discord"]["modal"] is None


async def test_discord_messages_out_of_sight_cannot_be_clicked(
    http: ClientSession, sandbox: Sandbox
) -> None:
    bob = sandbox.discord.user(DISCORD.second_customer_id)
    theirs = await bob.send_dm("bob's own DM")

    status, reply = await act(
        http,
        side="discord",
        action="click",
        message_id=str(theirs.id),
        custom_id="claim",
        **{"as": ALICE},
    )

    assert status == 400
    assert reply["error"] == f"no message {theirs.id} that you can see"


async def test_static_files_only_from_the_static_folder(
    http: ClientSession, playground: Playground
) -> None:
    async with http.get("/static/index.html") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
    for path in ("/static/..%2Fserver.py", "/static/%2E%2E%2Fserver.py", "/static/nothing.js"):
        async with http.get(URL(playground.url + path, encoded=True)) as response:
            assert response.status == 404
            assert "import" not in await response.text()
    reader, writer = await asyncio.open_connection("127.0.0.1", playground.port)
    host = f"127.0.0.1:{playground.port}"
    writer.write(f"GET /static/../server.py HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    await writer.wait_closed()
    assert b" 200 " not in head


def test_moves_are_described_for_people() -> None:
    assert describe_move(timedelta(0)) == ""
    assert describe_move(timedelta(minutes=30)) == "30 min"
    assert describe_move(timedelta(hours=2)) == "2 h"
    assert describe_move(timedelta(days=1, hours=3, minutes=5)) == "1 day 3 h 5 min"
    assert describe_move(timedelta(days=2, hours=3, seconds=9)) == "2 days 3 h"
    assert describe_move(timedelta(seconds=45)) == "45 s"


async def test_a_customer_can_close_and_reopen_their_dms(
    http: ClientSession, sandbox: Sandbox
) -> None:
    status, reply = await act(http, side="discord", action="dms", open=False, **{"as": ALICE})
    assert status == 200
    assert "closed" in reply["note"]
    assert (await state(http, discord=ALICE))["discord"]["dms_open"] is False
    assert sandbox.discord.user(DISCORD.customer_id).user.dms_open is False
    status, _ = await act(http, side="discord", action="dms", open=True, **{"as": ALICE})
    assert status == 200
    assert (await state(http, discord=ALICE))["discord"]["dms_open"] is True
    status, reply = await act(http, side="discord", action="dms", open="no", **{"as": ALICE})
    assert (status, reply["error"]) == (400, "'open' must be true or false")
