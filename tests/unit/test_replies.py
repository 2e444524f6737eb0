"""Replies and internal notes: notes never go to the customer, whatever the agent writes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ReplyPolicy
from bot.replies import Outgoing, classify

PUBLIC = ReplyPolicy()
INTERNAL = ReplyPolicy(reply_mode="internal")


@pytest.mark.parametrize(
    ("text", "policy", "kw", "expected"),
    [
        ("Have you tried restarting?", PUBLIC, {}, Outgoing(False, "Have you tried restarting?")),
        (";; third time this week", PUBLIC, {}, Outgoing(True, "third time this week")),
        ("  NOTE: check billing", PUBLIC, {}, Outgoing(True, "check billing")),
        (
            "<@U0BOB> can you look?",
            PUBLIC,
            {"mentions_colleague": True},
            Outgoing(True, "<@U0BOB> can you look?"),
        ),
        (">> Sure, done", PUBLIC, {}, Outgoing(False, "Sure, done")),
        ("thinking aloud", INTERNAL, {}, Outgoing(True, "thinking aloud")),
        (">> Hello there", INTERNAL, {}, Outgoing(False, "Hello there")),
        ("Hello there", INTERNAL, {"via_shortcut": True}, Outgoing(False, "Hello there")),
        (";; >> not really", INTERNAL, {}, Outgoing(True, ">> not really")),
        (">>", PUBLIC, {}, Outgoing(True, "")),
        ("   ", PUBLIC, {}, Outgoing(True, "")),
    ],
)
def test_classify(text: str, policy: ReplyPolicy, kw: dict[str, bool], expected: Outgoing) -> None:
    assert classify(text, policy, **kw) == expected


def test_custom_prefixes() -> None:
    policy = ReplyPolicy(note_prefixes=("//",), reply_prefix="!reply", reply_mode="internal")
    assert classify("// private", policy) == Outgoing(True, "private")
    assert classify(";; not a prefix here", policy).internal
    assert classify("!reply thanks", policy) == Outgoing(False, "thanks")


policies = st.builds(
    ReplyPolicy,
    reply_mode=st.sampled_from(["public", "internal"]),
    note_prefixes=st.lists(st.sampled_from([";;", "note:", "//", "#int"]), min_size=1).map(tuple),
)


@given(st.text(max_size=80), policies, st.booleans(), st.booleans(), st.data())
def test_a_note_is_never_for_the_customer(
    tail: str, policy: ReplyPolicy, mention: bool, shortcut: bool, data: st.DataObject
) -> None:
    prefix = data.draw(st.sampled_from(policy.note_prefixes))
    lead = data.draw(st.sampled_from(["", " ", "\n "]))
    written = lead + data.draw(st.sampled_from([prefix, prefix.upper()])) + tail
    assert classify(written, policy, mentions_colleague=mention, via_shortcut=shortcut).internal


@given(st.text(max_size=80), policies, st.booleans())
def test_a_mention_of_a_colleague_is_never_for_the_customer(
    text: str, policy: ReplyPolicy, shortcut: bool
) -> None:
    assert classify(text, policy, mentions_colleague=True, via_shortcut=shortcut).internal


@given(st.text(max_size=80), policies, st.booleans(), st.booleans())
def test_nothing_empty_goes_out(text: str, policy: ReplyPolicy, m: bool, s: bool) -> None:
    out = classify(text, policy, mentions_colleague=m, via_shortcut=s)
    assert out.internal or out.body.strip()
