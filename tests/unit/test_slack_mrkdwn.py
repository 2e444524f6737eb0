"""Text between Slack mrkdwn and Discord Markdown: each side reads what the other wrote."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.slack.blocks import escape
from integrations.slack.mrkdwn import decode, slack_user_ids, to_discord, to_slack


@pytest.mark.parametrize(
    ("slack", "discord"),
    [
        ("Q&amp;A &lt;b&gt; 1 &gt; 0", "Q&A <b> 1 > 0"),
        ("*bold* _italic_ ~strike~", "**bold** *italic* ~~strike~~"),
        ("*_both_*", "***both***"),
        ("`a *b* &lt;c&gt;`", "`a *b* <c>`"),
        ("```x = 1 &amp;&amp; *y*```", "```\nx = 1 && *y*```"),
        ("```\nkept\n```", "```\nkept\n```"),
        ("see <https://x.test/a?b=1&amp;c=2|the docs>", "see [the docs](https://x.test/a?b=1&c=2)"),
        ("<https://x.test>", "https://x.test"),
        ("<https://x.test|https://x.test>", "https://x.test"),
        ("<mailto:a@x.test|a@x.test>", "a@x.test"),
        ("<@U1> and <@U2|bob>", "@alice and @bob"),
        ("<@U9>", "@U9"),
        ("<#C1|general>", "#general"),
        ("<!here> <!channel> <!everyone>", "@\u200bhere @\u200bchannel @\u200beveryone"),
        ("<!subteam^S1|@leads>", "@\u200bleads"),
        ("<!date^1772442000^{date_short}|Mar 2, 2026>", "Mar 2, 2026"),
        # What Slack shows as typed, Discord must not read as Markdown.
        ("2*3*4 snake_case_name", "2\\*3\\*4 snake_case_name"),
        ("# not a heading", "\\# not a heading"),
        ("&lt;@123&gt; @everyone", "\\<@123> @\u200beveryone"),
        ("a || b ~~c~~", "a \\|| b \\~~c\\~~"),
        ("&gt; a quote", "> a quote"),
    ],
)
def test_slack_to_discord(slack: str, discord: str) -> None:
    assert to_discord(slack, {"U1": "alice"}) == discord


@pytest.mark.parametrize(
    ("discord", "slack"),
    [
        ("Q&A <b> 1 > 0", "Q&amp;A &lt;b&gt; 1 &gt; 0"),
        ("**bold** *italic* _italic_ ~~strike~~", "*bold* _italic_ _italic_ ~strike~"),
        ("***both***", "*_both_*"),
        ("__underlined__ ||spoiler||", "underlined ||spoiler||"),
        ("`a **b** <c>`", "`a **b** &lt;c&gt;`"),
        ("```py\nx < 1 & **y**\n```", "```x &lt; 1 &amp; **y**\n```"),
        ("[the docs](https://x.test/a?b=1&c=2)", "<https://x.test/a?b=1&amp;c=2|the docs>"),
        ("[a|b](https://x.test)", "<https://x.test|a\N{DIVIDES}b>"),
        ("<https://x.test>", "<https://x.test>"),
        ("<@123> <!channel> <#C1>", "&lt;@123&gt; &lt;!channel&gt; &lt;#C1&gt;"),
        ("\\*not bold\\* \\<x>", "*not bold* &lt;x&gt;"),
        ("# Heading\n-# small print", "*Heading*\nsmall print"),
    ],
)
def test_discord_to_slack(discord: str, slack: str) -> None:
    assert to_slack(discord) == slack


def test_mentioned_users_are_found_for_their_names() -> None:
    assert slack_user_ids("<@U1> <@W2|x> <#C3> <!here> &lt;@U4&gt;") == {"U1", "W2"}


# --- properties ----------------------------------------------------------------------------

# What a customer might type: words, punctuation Slack escapes, and Discord's formatting.
WORDS = st.text(
    alphabet=st.sampled_from("abcXYZ019 &<>.,;:!?'\"()#@-=+/%$"), min_size=1, max_size=12
).filter(lambda w: w.strip() == w and w.strip() and not w.startswith(("#", "-")))
URLS = st.sampled_from(["https://x.test/a?b=1&c=2", "https://y.test/", "http://z.test/p_q"])


@st.composite
def segments(draw: st.DrawFn) -> list[tuple[str, str]]:
    """(style, words) runs, as a customer would format them in Discord."""
    styles = ["plain", "bold", "italic", "strike", "code", "link"]
    return draw(
        st.lists(
            st.tuples(st.sampled_from(styles), WORDS).map(
                lambda s: (s[0], draw(URLS) + " " + s[1] if s[0] == "link" else s[1])
            ),
            min_size=1,
            max_size=6,
        )
    )


def _discord_source(runs: list[tuple[str, str]]) -> str:
    made = {
        "plain": lambda w: w,
        "bold": lambda w: f"**{w}**",
        "italic": lambda w: f"*{w}*",
        "strike": lambda w: f"~~{w}~~",
        "code": lambda w: f"`{w}`",
        "link": lambda w: "[{1}]({0})".format(*w.split(" ", 1)),
    }
    return " | ".join(made[style](words) for style, words in runs)


_RENDERED = re.compile(
    r"\*\*(?P<bold>.+?)\*\*|\*(?P<italic>.+?)\*|~~(?P<strike>.+?)~~|`(?P<code>[^`]+)`"
    r"|\[(?P<label>[^\]]+)\]\((?P<url>[^)\s]+)\)|\\(?P<escaped>[^\w\s])"
)


def _seen_in_discord(text: str) -> list[tuple[str, str]]:
    """What a Discord reader sees: each run's style and its characters."""
    seen: list[tuple[str, str]] = []
    at = 0
    for m in _RENDERED.finditer(text):
        seen.append(("plain", text[at : m.start()]))
        kind = next(k for k, v in m.groupdict().items() if v is not None)
        if kind == "label":
            seen.append(("link", f"{m.group('url')} {_plain_escapes(m.group('label'))}"))
        elif kind == "escaped":
            seen.append(("plain", m.group("escaped")))
        else:
            seen.append((kind, _plain_escapes(m.group(kind)) if kind != "code" else m.group(kind)))
        at = m.end()
    seen.append(("plain", text[at:]))
    return _merged(seen)


def _plain_escapes(text: str) -> str:
    return re.sub(r"\\([^\w\s])", r"\1", text)


def _merged(runs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for style, words in runs:
        if not words:
            continue
        if out and out[-1][0] == style == "plain":
            out[-1] = ("plain", out[-1][1] + words)
        else:
            out.append((style, words.replace("\u200b", "")))
    return out


@given(runs=segments())
def test_a_customer_message_reads_the_same_after_slack_and_back(
    runs: list[tuple[str, str]],
) -> None:
    """Discord -> Slack -> Discord keeps what the customer sees: every run's words and style
    (a bold run stays bold, a link keeps its address and label, code stays code), and the
    Slack side carries no raw `<` or `&` outside the links it made."""
    typed = _discord_source(runs)
    in_slack = to_slack(typed)
    assert re.sub(r"<https?://[^<>|]+\|[^<>]*>", "", in_slack).count("<") == 0
    assert _seen_in_discord(to_discord(in_slack)) == _seen_in_discord(typed)


@given(text=st.text(alphabet=st.characters(blacklist_characters="*_~`\r")))
def test_what_an_agent_types_arrives_as_typed(text: str) -> None:
    """Plain words typed in Slack (which Slack escapes) reach the customer without entities:
    after Discord's own escapes are read, the customer sees exactly what was typed."""
    shown = _plain_escapes(to_discord(escape(text))).replace("@\u200b", "@")
    assert shown == text


@given(text=st.text())
def test_decoding_undoes_slacks_escaping(text: str) -> None:
    assert decode(escape(text)) == text
