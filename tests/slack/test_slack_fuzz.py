"""Hostile but signed requests of every kind, posted to the real bot's HTTP-mode endpoint:
no 500, no crash logged, every stored event processed or set aside, and a clean restart."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import Bot
from bot.config import load_settings
from integrations.sandbox.slack import DEMO, SlackEmulator
from tests.slack.test_slack_runtime import env, signed, slack
from tests.support import FakeClock

__all__ = ["env", "slack"]

SUBTYPES = [
    None,
    "file_share",
    "thread_broadcast",
    "message_changed",
    "message_deleted",
    "bot_message",
    "channel_join",
    "me_message",
    "tombstone",
]
garbage = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["1.1", "1712345678.123456", "\ud800", "\x00", "9" * 30, "U0AGENT"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
ts = st.sampled_from(["1.0", "1900000000.1", "1e9", "-1", "99999999999999.9"]) | garbage


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(value, garbage)


message_event = st.fixed_dictionaries(
    {
        "type": st.just("message"),
        "channel": maybe(st.just(DEMO.support)),
        "user": maybe(st.sampled_from([DEMO.agent1, DEMO.agent2, "UGHOST"])),
        "text": maybe(st.text(max_size=40)),
        "ts": ts,
        "thread_ts": ts,
    },
    optional={
        "subtype": maybe(st.sampled_from(SUBTYPES)),
        "event_ts": ts,
        "deleted_ts": ts,
        "message": garbage,
        "previous_message": garbage,
        "files": maybe(
            st.lists(
                st.dictionaries(
                    st.sampled_from(["name", "url_private_download", "size", "mimetype"]), garbage
                ),
                max_size=2,
            )
        ),
        "bot_id": garbage,
    },
)
events = st.fixed_dictionaries(
    {
        "type": st.just("event_callback"),
        "event_id": maybe(st.text(min_size=1, max_size=12).map(lambda t: f"Ev{t}")),
        "event": maybe(message_event),
    },
    optional={"team_id": garbage, "authorizations": garbage},
)
user = maybe(st.fixed_dictionaries({"id": maybe(st.sampled_from([DEMO.agent1, DEMO.agent2]))}))
action = st.fixed_dictionaries(
    {
        "action_id": maybe(st.sampled_from(["tl_claim", "tl_escalate", "tl_priority", "tl_x"])),
        "action_ts": ts,
    },
    optional={"value": garbage, "selected_option": garbage, "selected_user": garbage},
)
interactions = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("block_actions"),
            "user": user,
            "actions": maybe(st.lists(action, max_size=2)),
        },
        optional={"trigger_id": garbage, "container": garbage, "message": garbage},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("view_submission"),
            "user": user,
            "view": maybe(
                st.fixed_dictionaries(
                    {
                        "id": maybe(st.just("V1")),
                        "callback_id": maybe(
                            st.sampled_from(["escalate_ticket", "resolve_ticket"])
                        ),
                        "private_metadata": maybe(
                            st.sampled_from(['{"number": 1001}', '{"number": 1e999}', "[]"])
                        ),
                        "state": garbage,
                    }
                )
            ),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["message_action", "shortcut"]),
            "user": user,
            "callback_id": maybe(st.just("reply_to_customer")),
            "trigger_id": garbage,
        },
        optional={"channel": garbage, "message": garbage},
    ),
)
commands = st.fixed_dictionaries(
    {
        "command": st.just("/threadline"),
        "response_url": maybe(st.sampled_from(["http://127.0.0.1:9/respond", "https://x"])),
        "user_id": st.sampled_from([DEMO.agent1, DEMO.agent2, "", "U\ud800"]),
        "text": st.sampled_from(
            ["", "failed", "failed show 1", "failed drop x", "show 99999999999999999", "stats"]
        )
        | st.text(max_size=20),
    }
)
requests = st.one_of(
    events.map(lambda b: ("json", b)),
    interactions.map(lambda b: ("form", {"payload": b})),
    commands.map(lambda b: ("form", b)),
    st.just(("json", {"type": "url_verification", "challenge": "c"})),
    garbage.map(lambda b: ("json", b)),
)


def encode(kind: str, body: Any) -> tuple[str, str]:
    if kind == "json":
        return json.dumps(body), "application/json"
    fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
    return urlencode(fields, errors="surrogatepass"), "application/x-www-form-urlencoded"


async def test_no_signed_request_can_crash_or_stop_the_bot(
    env: None, slack: SlackEmulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    bot = Bot(load_settings(), clock=clock)
    await bot.start()
    assert bot.server is not None
    assert bot.service is not None
    assert bot.slack is not None
    url = f"http://127.0.0.1:{bot.server.port}/slack/events"
    statuses: list[int] = []
    try:
        async with aiohttp.ClientSession() as http:

            @settings(
                max_examples=600,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(requests)
            def check(request: tuple[str, Any]) -> None:
                pending.append(request)

            pending: list[tuple[str, Any]] = []
            check()
            for kind, body in pending:
                text, ctype = encode(kind, body)
                headers = signed(slack.signing_secret, text, int(time.time()))
                headers["Content-Type"] = ctype
                async with http.post(
                    url, data=text.encode("utf-8", "surrogatepass"), headers=headers
                ) as response:
                    statuses.append(response.status)
                    assert response.status != 500, (kind, body)
        await bot.slack.recover()  # a restart's recovery, now: it raises for nothing
        for waiting in await bot.service.inbound_events(dead=False):
            assert waiting.next_attempt_at is not None, waiting  # pending only to be retried
    finally:
        await bot.stop()
    crashes = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert crashes == [], [r.getMessage() for r in crashes[:5]]
    assert statuses.count(200) > 20  # the generator reaches the listeners, not just the gate
    restarted = Bot(load_settings(), clock=clock)
    await restarted.start()
    await restarted.stop()
