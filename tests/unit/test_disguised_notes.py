"""A note prefix counts as a person sees it: no disguise of one ever makes a reply.

Slack shows `;;` behind a zero-width space, inside bold, quoted, full-width or as `note :` as a
note's prefix; a classifier that compares bytes would send each of them to the customer.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import ReplyPolicy
from bot.core.replies import Outgoing, classify

PUBLIC = ReplyPolicy()
INTERNAL = ReplyPolicy(reply_mode="internal")

INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\ufeff",  # byte order mark
    "\u2060",  # word joiner
    "\u00ad",  # soft hyphen
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u202a",  # left-to-right embedding
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u180e",  # Mongolian vowel separator
    "\u034f",  # combining grapheme joiner
    "\ufe0f",  # variation selector
    "\u3164",  # Hangul filler
]
SPACES = [" ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u2009"]
# Slack formatting as an event carries it: `>` (a quote) arrives as `&gt;`.
WRAPPERS = [
    ("*", "*"),
    ("_", "_"),
    ("~", "~"),
    ("`", "`"),
    ("```", "```"),
    ("*_", "_*"),
    ("&gt; ", ""),
    ("&gt;", ""),
    ("> ", ""),
    ("&gt; *", "*"),
]


@pytest.mark.parametrize(
    ("text", "body"),
    [
        # The forms that reached customers before.
        ("\u200b;; the customer is wrong", "the customer is wrong"),
        ("\ufeff;; the customer is wrong", "the customer is wrong"),
        ("*;;* refund not approved", "refund not approved"),
        ("*;; refund not approved*", "refund not approved*"),
        ("&gt; ;; quoting the log", "quoting the log"),
        ("`;;` internal", "internal"),
        ("\uff1b\uff1b full-width", "full-width"),
        ("note : check billing", "check billing"),
        # And their relatives.
        ("NOTE : check billing", "check billing"),
        ("  note:check billing", "check billing"),
        ("; ; spaced", "spaced"),
        ("\uff2e\uff2f\uff34\uff25\uff1a full-width word", "full-width word"),
        ("\u2060\u00ad;;\u200b hidden", "hidden"),
        ("_note:_ italic", "italic"),
        ("~;;~ struck", "struck"),
        ("```;; in code```", "in code```"),
        ("&gt;&gt; ;; quoted twice", "quoted twice"),
    ],
)
def test_disguised_prefixes_make_notes(text: str, body: str) -> None:
    for policy in (PUBLIC, INTERNAL):
        assert classify(text, policy) == Outgoing(True, body)


@pytest.mark.parametrize(
    ("text", "policy", "expected"),
    [
        # A reply keeps its text as written; only a deliberate prefix is cut.
        ("Q&amp;A: *see* the docs", PUBLIC, Outgoing(False, "Q&amp;A: *see* the docs")),
        ("&gt;&gt; Sent on purpose", INTERNAL, Outgoing(False, "Sent on purpose")),
        ("&gt; quoting you: it broke", PUBLIC, Outgoing(False, "&gt; quoting you: it broke")),
        ("Notes: we fixed it", PUBLIC, Outgoing(False, "Notes: we fixed it")),
        # A reply prefix behind an invisible character is not a deliberate one: it stays inside.
        ("\u200b>> hidden", INTERNAL, Outgoing(True, "\u200b>> hidden")),
        # Nothing visible is nothing to send.
        ("\u200b\u2060", PUBLIC, Outgoing(True, "\u200b\u2060")),
        ("&gt;&gt; \u200b", INTERNAL, Outgoing(True, "\u200b")),
    ],
)
def test_replies_stay_replies(text: str, policy: ReplyPolicy, expected: Outgoing) -> None:
    assert classify(text, policy) == expected


def _fullwidth(char: str) -> str:
    return chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char


def _as_slack_sends(char: str) -> str:
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(char, char)


@st.composite
def disguised(draw: st.DrawFn, prefix: str) -> str:
    """`prefix` as someone might type it: each character in any case or width, with invisible
    characters and spaces between, wrapped in formatting, behind blanks, then any words."""
    parts = [draw(st.lists(st.sampled_from(INVISIBLE + SPACES), max_size=4)) for _ in prefix]
    chars = []
    for char, noise in zip(prefix, parts, strict=True):
        shown = draw(st.sampled_from([char, char.upper(), char.lower(), _fullwidth(char)]))
        chars.append("".join(noise) + _as_slack_sends(shown))
    opening, closing = draw(st.sampled_from([("", ""), *WRAPPERS]))
    lead = "".join(draw(st.lists(st.sampled_from(INVISIBLE + SPACES), max_size=3)))
    words = draw(st.text(max_size=30))
    return lead + opening + "".join(chars) + draw(st.sampled_from(["", closing])) + words


# Custom prefixes as a policy may set them (anything with a visible character).
custom_prefixes = st.text(min_size=1, max_size=6).filter(
    lambda p: _accepted(ReplyPolicy, note_prefixes=(p,))
)


def _accepted(model: type[ReplyPolicy], **fields: object) -> bool:
    try:
        model.model_validate(fields)
    except ValueError:
        return False
    return True


@settings(max_examples=600)
@given(data=st.data(), prefix=st.one_of(st.sampled_from([";;", "note:"]), custom_prefixes))
def test_no_disguise_of_a_note_prefix_is_a_reply(data: st.DataObject, prefix: str) -> None:
    text = data.draw(disguised(prefix))
    for mode in ("public", "internal"):
        policy = ReplyPolicy(reply_mode=mode, note_prefixes=(";;", "note:", prefix))
        for flags in ({}, {"with_files": True}, {"via_shortcut": True}):
            assert classify(text, policy, **flags).internal, (text, prefix, mode, flags)


@given(prefix=custom_prefixes)
def test_a_policy_prefix_typed_plainly_is_a_note(prefix: str) -> None:
    policy = ReplyPolicy(note_prefixes=(prefix,))
    text = "".join(_as_slack_sends(c) for c in prefix) + " words"
    assert classify(text, policy).internal


@pytest.mark.parametrize("prefix", ["\u200b\u2060", "\u3164", "\u00ad "])
def test_an_invisible_note_prefix_is_refused(prefix: str) -> None:
    """A prefix nobody can see could never be matched as seen: the policy is refused."""
    with pytest.raises(ValueError, match="visible"):
        ReplyPolicy(note_prefixes=(";;", prefix))
