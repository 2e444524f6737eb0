"""How often the desk reads a thread back while replies may be missing (see in_doubt.py): once
per thread until a look has covered the moment of doubt, not once per message."""

from __future__ import annotations

import time

import pytest

from integrations.sandbox.slack import DEMO
from integrations.slack import in_doubt
from integrations.slack.in_doubt import CLOCK_MARGIN_SECONDS, DOUBT_SECONDS, InDoubt
from tests.slack.conftest import Desk
from tests.support import eventually


class Moments:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_nothing_is_looked_at_without_doubt() -> None:
    doubt = InDoubt(Moments(1000.0))
    assert not doubt.needs_look("C1:1.0", "1001.000000")


def test_a_thread_is_looked_at_until_a_look_covers_the_moment_of_doubt() -> None:
    moments = Moments(1000.0)
    doubt = InDoubt(moments)
    doubt.begin()
    thread = "C1:900.000000"
    # A late redelivery, written before the doubt: what came before it is covered, not what
    # came between it and the moment of doubt.
    assert doubt.needs_look(thread, "990.000000")
    doubt.looked(thread, "990.000000")
    assert doubt.needs_look(thread, "995.000000")
    # A message stamped within Slack's clock margin of the doubt still needs a look ...
    within = f"{1000.0 + CLOCK_MARGIN_SECONDS / 2:.6f}"
    assert doubt.needs_look(thread, within)
    # ... and a look past the margin covers the rest.
    past = f"{1000.0 + CLOCK_MARGIN_SECONDS + 1:.6f}"
    doubt.looked(thread, past)
    assert not doubt.needs_look(thread, f"{1000.0 + CLOCK_MARGIN_SECONDS + 5:.6f}")
    # Another thread was never covered.
    assert doubt.needs_look("C1:901.000000", past)


def test_a_new_failure_makes_every_thread_need_a_look_again() -> None:
    moments = Moments(1000.0)
    doubt = InDoubt(moments)
    doubt.begin()
    thread = "C1:900.000000"
    doubt.looked(thread, "1010.000000")
    assert not doubt.needs_look(thread, "1011.000000")
    moments.now = 1030.0
    doubt.begin()  # a failure: its event has a ts before this moment
    assert doubt.needs_look(thread, "1031.000000")


def test_while_other_replicas_run_every_message_is_looked_at() -> None:
    moments = Moments(1000.0)
    doubt = InDoubt(moments)
    doubt.shared(True)
    thread = "C1:900.000000"
    doubt.looked(thread, "1010.000000")
    assert doubt.needs_look(thread, "1011.000000")  # another replica may hold an earlier one
    doubt.shared(False)
    assert not doubt.needs_look(thread, "1012.000000")


def test_covered_threads_are_forgotten_once_the_doubt_is_over() -> None:
    moments = Moments(1000.0)
    doubt = InDoubt(moments)
    doubt.begin()
    doubt.looked("C1:900.000000", "1010.000000")
    moments.now = 1000.0 + DOUBT_SECONDS + 1
    assert not doubt.needs_look("C1:900.000000", "1200.000000")
    moments.now = 2000.0
    doubt.begin()
    assert doubt.needs_look("C1:900.000000", "1995.000000")


async def test_replies_after_a_start_read_their_thread_once(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = await desk.customer_writes("m1", "My printer is on fire")
    channel, root = desk.thread_of(ticket)
    # The bot started just after the thread began (Slack's clock taken as exact here, so that
    # the replies below come after the moment of doubt): earlier replies may come late.
    monkeypatch.setattr(in_doubt, "CLOCK_MARGIN_SECONDS", 0.0)
    moments = Moments(float(root) + 0.000001)
    desk.slack_desk.doubt = InDoubt(moments)
    desk.slack_desk.doubt.begin()
    agent = desk.slack.user(DEMO.agent1)
    replies = [f"Reply {n}" for n in range(1, 5)]
    for n, text in enumerate(replies, 1):
        await agent.post(channel, text, thread_ts=root)
        await eventually(lambda n=n: _true(len(desk.inbox.bodies()) == n), what=f"reply {n}")
    assert desk.inbox.bodies() == replies
    looks = desk.slack.calls_to("conversations.replies")
    assert len(looks) == 1, [call.args for call in looks]

    moments.now = time.time()
    desk.slack_desk.doubt.begin()  # a failure, say: the thread may miss something again
    await agent.post(channel, "Reply 5", thread_ts=root)
    await eventually(lambda: _true(len(desk.inbox.bodies()) == 5), what="reply 5")
    assert len(desk.slack.calls_to("conversations.replies")) == 2


async def _true(value: bool) -> bool:
    return value


def test_a_thread_begun_after_the_moment_of_doubt_is_not_looked_at() -> None:
    moments = Moments(1000.0)
    doubt = InDoubt(moments)
    doubt.begin()
    # Begun within Slack's clock margin of the doubt: an earlier message may be in it.
    assert doubt.needs_look(f"C1:{1000.0 + CLOCK_MARGIN_SECONDS / 2:.6f}", "1003.000000")
    # Begun past the margin: nothing in it predates the doubt.
    born = f"{1000.0 + CLOCK_MARGIN_SECONDS + 0.5:.6f}"
    assert not doubt.needs_look(f"C1:{born}", "1004.000000")
    assert doubt.needs_look("C1:not-a-ts", "1004.000000")  # cannot tell when it began: look
    doubt.shared(True)  # another replica may hold an earlier message of any thread
    assert doubt.needs_look(f"C1:{born}", "1004.000000")
