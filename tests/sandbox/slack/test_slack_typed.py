"""What a person types reaches the app as Slack sends it: `&`, `<` and `>` escaped, markup only
where the helpers made it (as Slack's composer does for a picked mention or a pasted link)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp

from integrations.sandbox.slack import (
    DEMO,
    SlackEmulator,
    channel_mention,
    group_mention,
    link,
    mention,
    special,
)

Json = dict[str, Any]


@pytest.fixture
async def events(
    bolt_app: AsyncApp, socket_mode: Callable[[AsyncApp], Awaitable[None]]
) -> list[Json]:
    """The message and app_mention events the Bolt app receives, in order."""
    received: list[Json] = []

    async def record(event: Json) -> None:
        received.append(event)

    for kind in ("message", "app_mention"):
        bolt_app.event(kind)(record)
    await socket_mode(bolt_app)
    return received


async def test_typed_text_is_escaped_and_markup_kept(
    slack: SlackEmulator, events: list[Json]
) -> None:
    agent = slack.user(DEMO.agent1)
    typed = (
        f"Q&A <b> {mention(DEMO.agent2)} {channel_mention(DEMO.support, 'support')} "
        f"{special('here')} {group_mention('S0LEADS', 'leads')} "
        f"{link('https://x.test/?a=1&b=2', 'a&b')}"
    )
    ts = await agent.post(DEMO.support, typed)
    await slack.wait_for(lambda: events, timeout=5)
    sent = (
        f"Q&amp;A &lt;b&gt; <@{DEMO.agent2}> <#{DEMO.support}|support> <!here> "
        "<!subteam^S0LEADS|@leads> <https://x.test/?a=1&amp;b=2|a&amp;b>"
    )
    assert events[0]["text"] == sent
    assert slack.message(DEMO.support, ts).text == sent
    # The rich_text block holds the words as shown, unescaped and without the helpers' marks.
    shown = events[0]["blocks"][0]["elements"][0]["elements"][0]["text"]
    assert shown.startswith("Q&A <b> <@")
    assert "\ue000" not in shown

    await agent.edit(DEMO.support, ts, "1 > 0 & <tag>")
    await slack.wait_for(lambda: len(events) >= 2, timeout=5)
    assert events[1]["message"]["text"] == "1 &gt; 0 &amp; &lt;tag&gt;"


async def test_a_typed_mention_is_text_not_a_mention(
    slack: SlackEmulator, events: list[Json]
) -> None:
    """Typing `<@U…>` by hand is not picking someone: Slack escapes it, and nobody is pinged."""
    await slack.user(DEMO.agent1).post(DEMO.support, f"<@{slack.bot_user_id}> status?")
    await slack.wait_for(lambda: events, timeout=5)
    assert [e["type"] for e in events] == ["message"]
    assert events[0]["text"] == f"&lt;@{slack.bot_user_id}&gt; status?"
