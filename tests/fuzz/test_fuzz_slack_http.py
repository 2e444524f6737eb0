"""Slack's door in HTTP mode, fuzzed: signed requests of every kind Slack sends (events in a
ticket's thread and elsewhere, edits, deletions, files, bot posts, unknown events; clicks,
dialog submissions, shortcuts; slash commands), with any text and ids, mangled, or no Slack
request at all, and unsigned or stale ones, posted to the real bot's /slack/events.

After each request: the answer is what Slack should get (200, or 400 for a body no Slack
request has, 401 for a bad signature or an old timestamp), a refusal is one log line naming
its reason, nothing reads as a crash in the logs, and the database holds no half-written
ticket and no note queued for a customer. After all of them, no note reached the customer and
the bot still carries a conversation end to end."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.slack import DEMO as SLACK
from integrations.slack.intake import shape_problem
from tests.fuzz import slack_inputs as inputs
from tests.fuzz.fuzz_support import Doors, crashes, doors

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALICE = DISCORD.customer_id
FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # caplog: records are sliced per example
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@dataclass
class Fuzz:
    doors: Doors
    desk: inputs.Desk
    http: aiohttp.ClientSession

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("Fuzz()")  # what hypothesis prints of a failing example

    async def post(
        self,
        body: bytes,
        content_type: str,
        *,
        secret: str | None = None,
        age: int = 0,
        headers: dict[str, str] | None = None,
    ) -> int:
        stamp = str(int(time.time()) - age)
        key = (secret or self.doors.box.slack.signing_secret).encode()
        signature = hmac.new(key, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": "v0=" + signature.hexdigest(),
            **(headers or {}),
        }
        data = io.BytesIO(body)  # aiohttp warns of large raw bytes
        async with self.http.post(self.doors.slack_url, data=data, headers=sent) as response:
            await response.read()
            return response.status

    def trigger(self, user: str = SLACK.agent1) -> str:
        """A trigger_id Slack would have issued just now (so a dialog may open)."""
        return self.doors.box.slack.workspace.new_trigger(user, time.monotonic())

    async def checked(
        self, status: int, allowed: set[int], caplog: pytest.LogCaptureFixture, since: int
    ) -> None:
        """What must hold after one request, once the work it started is done."""
        assert status in allowed, status
        await self.doors.settle()
        records = caplog.records[since:]
        assert crashes(records) == []
        if status in (400, 401):
            refusals = [
                r.getMessage()
                for r in records
                if r.name == "integrations.slack.runtime" and r.levelno == logging.WARNING
            ]
            assert len(refusals) == 1, refusals
            assert refusals[0].startswith(f"Slack: refused a request with {status}: ")
        await self.doors.assert_invariants()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fuzz(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Fuzz]:
    async with doors(tmp_path_factory.mktemp("slack-fuzz")) as opened:
        number, channel, root = await opened.customer_writes(ALICE, "My parcel never came")
        async with aiohttp.ClientSession() as http:
            yield Fuzz(opened, inputs.Desk(number, channel, root), http)


@FUZZ
@given(data=st.data())
async def test_signed_events_of_any_shape(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.set_level(logging.INFO)
    since = len(caplog.records)
    envelope = data.draw(inputs.envelope(fuzz.desk), label="envelope")
    if data.draw(st.booleans(), label="mangled"):
        envelope = data.draw(inputs.mangled(envelope), label="mangled envelope")
        allowed = {200, 400}
    else:
        allowed = {200}
    status = await fuzz.post(*inputs.as_json(envelope))
    await fuzz.checked(status, allowed, caplog, since)


@settings(FUZZ, max_examples=100)
@given(data=st.data())
async def test_agents_conversing_in_a_ticket_thread(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    """Replies, notes, edits into and out of notes, deletions, in the ticket's thread: the
    thread of work where a note could leak (checked after the last test)."""
    caplog.set_level(logging.INFO)
    since = len(caplog.records)
    desk = fuzz.desk
    steps = data.draw(st.lists(inputs.conversation_step(desk), min_size=1, max_size=4))
    for event in steps:
        envelope = {"type": "event_callback", "event_id": data.draw(desk.new_id()), "event": event}
        assert await fuzz.post(*inputs.as_json(envelope)) == 200
    await fuzz.checked(200, {200}, caplog, since)


@FUZZ
@given(data=st.data())
async def test_signed_interactions_of_any_shape(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.set_level(logging.INFO)
    since = len(caplog.records)
    desk = fuzz.desk
    payload = data.draw(
        st.one_of(
            inputs.block_actions(desk, fuzz.trigger()),
            inputs.view_submission(desk),
            inputs.shortcut(desk, fuzz.trigger()),
        ),
        label="payload",
    )
    allowed = {200}
    if data.draw(st.booleans(), label="mangled"):
        payload = data.draw(inputs.mangled(payload), label="mangled payload")
        allowed = {200, 400}
    desk.shared(payload)
    status = await fuzz.post(*inputs.as_interaction(payload))
    await fuzz.checked(status, allowed, caplog, since)


@FUZZ
@given(data=st.data())
async def test_signed_slash_commands_of_any_shape(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.set_level(logging.INFO)
    since = len(caplog.records)
    slack = fuzz.doors.box.slack
    url = slack.responses.new(SLACK.agent1, SLACK.support, None, False)
    fields = data.draw(inputs.command(fuzz.desk, url), label="command")
    allowed = {200}
    if data.draw(st.booleans(), label="mangled"):
        fields = data.draw(inputs.mangled(fields), label="mangled command")
        allowed = {200, 400}
    status = await fuzz.post(*inputs.as_form(fields))
    await fuzz.checked(status, allowed, caplog, since)


# Requests that are no Slack request: the door refuses them before anything reads them.
STALE = 6 * 60  # Slack's window is five minutes
UNSIGNED = [
    ("wrong secret", {"secret": "not-the-signing-secret"}),
    ("stale timestamp", {"age": STALE}),
    ("timestamp from the future", {"age": -STALE}),
    ("no signature", {"headers": {"X-Slack-Signature": ""}}),
    ("word for a timestamp", {"headers": {"X-Slack-Request-Timestamp": "soon"}}),
    ("signature of another scheme", {"headers": {"X-Slack-Signature": "v1=00"}}),
]


@FUZZ
@given(data=st.data())
async def test_unsigned_or_stale_requests_are_refused_with_401(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.set_level(logging.INFO)
    since = len(caplog.records)
    payload = data.draw(
        st.one_of(
            inputs.envelope(fuzz.desk).map(inputs.as_json),
            inputs.block_actions(fuzz.desk, fuzz.trigger()).map(inputs.as_interaction),
        ),
        label="request",
    )
    _, how = data.draw(st.sampled_from(UNSIGNED), label="unsigned")
    status = await fuzz.post(*payload, **how)
    await fuzz.checked(status, {401}, caplog, since)


def not_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def not_json(body: str) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return True
    return False


CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/xml",
]
# (body, content type, the answer): bodies no Slack request has.
garbage_requests = st.one_of(
    st.tuples(st.binary(min_size=1).filter(not_utf8), st.sampled_from(CONTENT_TYPES), st.just(401)),
    st.tuples(
        inputs.wild.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v).encode()),
        st.just("application/json"),
        st.just(400),
    ),
    st.tuples(
        inputs.words(200).filter(not_json).map(str.encode),
        st.sampled_from(CONTENT_TYPES[:1] + CONTENT_TYPES[2:]),
        st.just(400),
    ),
    st.tuples(
        st.dictionaries(inputs.words(10), inputs.words(20)).map(
            lambda fields: inputs.as_form(fields)[0]
        ),
        st.just("application/x-www-form-urlencoded"),
        st.just(400),
    ),
    st.tuples(
        inputs.garbage.filter(lambda v: isinstance(v, dict)).map(lambda v: json.dumps(v).encode()),
        st.sampled_from(CONTENT_TYPES),
        st.just(400),
    ),
)


@FUZZ
@given(request=garbage_requests)
async def test_bodies_that_are_no_slack_request_are_refused(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture, request: tuple[bytes, str, int]
) -> None:
    caplog.set_level(logging.INFO)
    since = len(caplog.records)
    before = await fuzz.doors.footprint()
    body, content_type, expected = request
    status = await fuzz.post(body, content_type)
    await fuzz.checked(status, {expected}, caplog, since)
    assert await fuzz.doors.footprint() == before


async def test_a_body_past_the_size_limit_is_refused_with_413(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    envelope = {"type": "event_callback", "event_id": "EvHuge", "event": {"type": "message"}}
    envelope["event"]["text"] = "z" * (2 * 1024 * 1024)
    status = await fuzz.post(*inputs.as_json(envelope))
    assert status == 413
    refusals = [r.getMessage() for r in caplog.records if r.name == "integrations.slack.runtime"]
    assert refusals == ["Slack: refused a request with 413: body larger than 1048576 bytes"]


# Found by the fuzz above, kept as examples: each was a traceback at ERROR (or a 404 that
# Slack shows the person as an error), and is now an answer and one line.


async def answered(fuzz: Fuzz, fields: dict[str, str]) -> str:
    """Run a slash command; what the bot answered through its response_url."""
    slack = fuzz.doors.box.slack
    url = slack.responses.new(SLACK.agent1, SLACK.support, None, False)
    assert await fuzz.post(*inputs.as_form({**fields, "response_url": url})) == 200
    await fuzz.doors.settle()
    said = [r.body.get("text", "") for r in slack.responses.log if url.endswith(r.token)]
    return str(said[-1]) if said else ""


@pytest.mark.parametrize(
    "line", ["show \u00b2", "summary \u00b2", "failed show \u00b2", "show " + "9" * 30]
)
async def test_a_number_that_is_no_number_gets_the_usage(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture, line: str
) -> None:
    """ "²" is a digit to str.isdigit() and no number to int(): it was a ValueError, logged
    with its traceback, and "could not answer" for the agent."""
    command = {"command": "/threadline", "user_id": SLACK.agent1, "text": line}
    answer = await answered(fuzz, {**command, "team_id": SLACK.team, "channel_id": SLACK.support})
    assert answer.startswith("Usage:"), answer
    assert crashes(caplog.records) == []


async def test_a_control_naming_a_superscript_ticket_names_none(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture
) -> None:
    for number, action_id in enumerate(("ticket_claim", "ticket_take_over", "draft_send")):
        action = {"action_id": action_id, "action_ts": f"1900000001.{number}", "value": "\u00b2"}
        click = {
            "type": "block_actions",
            "user": {"id": SLACK.agent1},
            "actions": [action],
            "container": {"type": "message", "channel_id": SLACK.support, "message_ts": "1.1"},
        }
        assert await fuzz.post(*inputs.as_interaction(click)) == 200
    await fuzz.doors.settle()
    told = [e.text for e in fuzz.doors.box.slack.ephemerals(SLACK.agent1)][-3:]
    assert told == [
        "This control names no ticket; nothing was changed.",
        "This control names no ticket; nothing was changed.",
        "This draft no longer exists; nothing was changed.",
    ]
    assert crashes(caplog.records) == []


async def test_a_control_whose_channel_is_no_object_crashes_nothing(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by the fuzz test above: a click carrying no value and a `channel` that is a
    string made the answer to it (an unknown control) raise."""
    click = {
        "type": "block_actions",
        "user": {"id": SLACK.agent1, "team_id": "T0DEMO"},
        "container": {"type": "message", "message_ts": "1.1", "channel_id": SLACK.support},
        "channel": "0",
        "message": {
            "type": "message",
            "ts": "1.1",
            "text": "",
            "blocks": [
                {"type": "actions", "block_id": "b", "elements": [{"type": "button", "value": "1"}]}
            ],
        },
        "actions": [
            {"action_id": "ticket_claim", "block_id": "", "type": "button", "action_ts": "1.2"}
        ],
    }
    assert await fuzz.post(*inputs.as_interaction(click)) == 200
    await fuzz.doors.settle()
    assert crashes(caplog.records) == []


async def test_app_home_that_slack_refuses_to_show_is_one_warning(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    home = {"type": "app_home_opened", "user": "UNOBODY1", "channel": "D0HOME", "tab": "home"}
    envelope = {"type": "event_callback", "event_id": "Ev0HOME1", "event": home}
    assert await fuzz.post(*inputs.as_json(envelope)) == 200
    await fuzz.doors.settle()
    assert crashes(caplog.records) == []
    said = [r.getMessage() for r in caplog.records if r.name == "integrations.slack.lookups"]
    assert said == ["Could not show App Home to UNOBODY1: " + said[0].split(": ", 1)[1]]
    assert "user_not_found" in said[0]


UNKNOWN = [
    (
        "a control",
        {
            "type": "block_actions",
            "user": {"id": SLACK.agent1},
            "actions": [{"action_id": "old_button", "action_ts": "1900000002.1"}],
        },
    ),
    (
        "a dialog",
        {
            "type": "view_submission",
            "user": {"id": SLACK.agent1},
            "view": {"id": "V0OLD", "type": "modal", "callback_id": "old_dialog", "state": {}},
        },
    ),
    (
        "a shortcut",
        {
            "type": "shortcut",
            "user": {"id": SLACK.agent1},
            "callback_id": "old_shortcut",
            "trigger_id": "1.2.3",
        },
    ),
]


@pytest.mark.parametrize(("what", "payload"), UNKNOWN, ids=[what for what, _ in UNKNOWN])
async def test_what_no_listener_takes_is_acknowledged_in_one_line(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture, what: str, payload: dict[str, Any]
) -> None:
    """Bolt answered these 404 (Slack shows the person an error) with a many-line warning;
    and a replay got 200 (seen before), so the same request had two answers."""
    caplog.set_level(logging.INFO)
    for _ in range(2):  # the request, then Slack's replay of it
        assert await fuzz.post(*inputs.as_interaction(payload)) == 200
    await fuzz.doors.settle()
    said = [r.getMessage() for r in caplog.records if r.name == "integrations.slack.intake"]
    assert said[0].startswith(f"Slack sent {what} Threadline does not know (")
    assert crashes(caplog.records) == []
    assert [r for r in caplog.records if r.name.startswith("slack_bolt")] == []


async def test_an_unknown_command_and_event_are_acknowledged(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    event = {"type": "event_callback", "event_id": "Ev0REACT1", "event": {"type": "reaction_added"}}
    assert await fuzz.post(*inputs.as_json(event)) == 200
    slack = fuzz.doors.box.slack
    url = slack.responses.new(SLACK.agent1, SLACK.support, None, False)
    command = {"command": "/old", "user_id": SLACK.agent1, "text": "x", "response_url": url}
    assert await fuzz.post(*inputs.as_form(command)) == 200
    await fuzz.doors.settle()
    said = [r.getMessage() for r in caplog.records if r.name == "integrations.slack.intake"]
    assert said == [
        "Slack sent an event Threadline does not know ('reaction_added'); acknowledged",
        "Slack sent a command Threadline does not know ('/old'); acknowledged",
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"type": ["block_actions"]}, "type: a list where a string belongs"),
        ({"type": "interactive_message"}, "type 'interactive_message': not a kind of request"),
        ({"no": "type"}, "type 'None': not a kind of request"),
    ],
)
async def test_a_body_of_no_kind_slack_sends_is_refused_with_400(
    fuzz: Fuzz, caplog: pytest.LogCaptureFixture, body: dict[str, Any], reason: str
) -> None:
    """A `type` that is no string raised TypeError in the Socket Mode middleware (a 500 and a
    traceback); one of no known kind reached Bolt, which answered 404."""
    caplog.set_level(logging.INFO)
    assert await fuzz.post(*inputs.as_json(body)) == 400
    refused = [r.getMessage() for r in caplog.records if r.name == "integrations.slack.runtime"]
    assert len(refused) == 1, refused
    assert refused[0].startswith(f"Slack: refused a request with 400: malformed request: {reason}")
    assert shape_problem(body) is not None  # what the Socket Mode middleware asks too


async def test_no_note_reached_the_customer_and_the_bot_still_answers(fuzz: Fuzz) -> None:
    """After everything above: nothing a note said is on its way to, or in front of, the
    customer, and a customer's message and an agent's answer still go all the way round."""
    doors = fuzz.doors
    desk = fuzz.desk
    ts = "1900000009.000100"
    note = {"type": "message", "channel": desk.channel, "user": SLACK.agent1, "ts": ts}
    note |= {"thread_ts": desk.root, "text": desk.note(ts, ";; ", "the last note")}
    envelope = {"type": "event_callback", "event_id": "Ev0LASTNOTE", "event": note}
    assert await fuzz.post(*inputs.as_json(envelope)) == 200  # one note at least, run alone
    await doors.settle()
    await doors.queue_sent()
    confidential = desk.confidential()
    assert confidential
    seen = [m.content for m in doors.box.discord.user(ALICE).dm_messages()]
    queued = await doors.customer_lane_texts()
    assert [m for m in confidential if any(m in text for text in seen + queued)] == []
    await doors.customer_gets_an_answer(ALICE, "after the Slack fuzz")
    await doors.queue_sent()
    await doors.assert_invariants()
    assert crashes(doors.log.records, background=True) == []
