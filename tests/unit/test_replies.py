"""Replies and internal notes: notes never go to the customer, whatever the agent writes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ReplyPolicy
from bot.core.replies import Outgoing, classify

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


@pytest.mark.parametrize(
    ("text", "policy", "kw", "expected"),
    [
        # A file with no words is a reply in public mode...
        ("", PUBLIC, {}, Outgoing(False, "")),
        ("  ", PUBLIC, {}, Outgoing(False, "")),
        ("the log you asked for", PUBLIC, {}, Outgoing(False, "the log you asked for")),
        (">>", PUBLIC, {}, Outgoing(False, "")),
        # ...unless it is marked or addressed as a note.
        (";;", PUBLIC, {}, Outgoing(True, "")),
        ("note: their config", PUBLIC, {}, Outgoing(True, "their config")),
        ("<@U0BOB> look", PUBLIC, {"mentions_colleague": True}, Outgoing(True, "<@U0BOB> look")),
        # In internal mode it stays a note unless sent out on purpose.
        ("", INTERNAL, {}, Outgoing(True, "")),
        ("the log", INTERNAL, {}, Outgoing(True, "the log")),
        (">>", INTERNAL, {}, Outgoing(False, "")),
        (">> the log", INTERNAL, {}, Outgoing(False, "the log")),
        ("", INTERNAL, {"via_shortcut": True}, Outgoing(False, "")),
        (";; >> not this", INTERNAL, {}, Outgoing(True, ">> not this")),
    ],
)
def test_classify_with_files(
    text: str, policy: ReplyPolicy, kw: dict[str, bool], expected: Outgoing
) -> None:
    assert classify(text, policy, with_files=True, **kw) == expected


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


@given(st.text(max_size=80), policies, st.booleans(), st.booleans(), st.booleans(), st.data())
def test_a_note_is_never_for_the_customer(
    tail: str,
    policy: ReplyPolicy,
    mention: bool,
    shortcut: bool,
    files: bool,
    data: st.DataObject,
) -> None:
    prefix = data.draw(st.sampled_from(policy.note_prefixes))
    lead = data.draw(st.sampled_from(["", " ", "\n "]))
    written = lead + data.draw(st.sampled_from([prefix, prefix.upper()])) + tail
    kw = {"mentions_colleague": mention, "via_shortcut": shortcut, "with_files": files}
    assert classify(written, policy, **kw).internal


@given(st.text(max_size=80), policies, st.booleans(), st.booleans())
def test_a_mention_of_a_colleague_is_never_for_the_customer(
    text: str, policy: ReplyPolicy, shortcut: bool, files: bool
) -> None:
    kw = {"via_shortcut": shortcut, "with_files": files}
    assert classify(text, policy, mentions_colleague=True, **kw).internal


@given(st.text(max_size=80), policies, st.booleans(), st.booleans())
def test_internal_mode_sends_only_what_is_sent_on_purpose(
    text: str, policy: ReplyPolicy, mention: bool, files: bool
) -> None:
    internal = policy.model_copy(update={"reply_mode": "internal"})
    out = classify(text, internal, mentions_colleague=mention, with_files=files)
    assert out.internal or text.strip().startswith(internal.reply_prefix)


@given(st.text(max_size=80), policies, st.booleans(), st.booleans(), st.booleans())
def test_nothing_empty_goes_out(
    text: str, policy: ReplyPolicy, m: bool, s: bool, files: bool
) -> None:
    out = classify(text, policy, mentions_colleague=m, via_shortcut=s, with_files=files)
    assert out.internal or out.body.strip() or files
