"""Notes in disguise and text across platforms, end to end: the real bot between the Slack and
Discord emulators. Whatever way an agent types a note prefix, as a thread message or as an edit
of a reply the customer already has, the customer's DMs never show it; and what the agent types
(`Q&A`, bold, links) reaches the customer as typed, and the customer's Markdown reaches Slack
as mrkdwn."""

from __future__ import annotations

from bot.app import Bot
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from tests.loop.loop_support import ALICE, bot_dms, card, dm_says, thread_says

# The forms that once reached customers, each with a word that must never show in a DM.
DISGUISED = [
    "\u200b;; secret-zwsp",
    "\ufeff;; secret-bom",
    "*;;* secret-bold",
    "> ;; secret-quote",
    "`;;` secret-code",
    "\uff1b\uff1b secret-fullwidth",
    "note : secret-spaced",
    "\u2060NOTE\u00ad: secret-joined",
]


async def test_disguised_notes_never_reach_the_customer(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("My invoice is wrong")
    root = await card(sandbox)
    await dm_says(sandbox, "your ticket is")
    agent = sandbox.slack.user(SLACK.agent1)

    for text in DISGUISED:
        await agent.post(SLACK.support, text, thread_ts=root.ts)
    ts = await agent.post(SLACK.support, "Looking into it.", thread_ts=root.ts)
    await dm_says(sandbox, "Looking into it.")
    for text in DISGUISED:
        await agent.edit(SLACK.support, ts, text.replace("secret", "edited"))
    await sandbox.slack.wait_for(
        lambda: len(agent.ephemerals(SLACK.support)) >= len(DISGUISED), timeout=10
    )
    # Replies and edits of one thread are handled in order, and the customer's DMs are sent
    # in order: once this one arrives, anything queued before it would have too.
    await agent.post(SLACK.support, "Fixed, sorry about that.", thread_ts=root.ts)
    await dm_says(sandbox, "Fixed, sorry about that.")

    seen = "\n".join(m.content for m in alice.dm_messages())
    assert "secret" not in seen
    assert "edited" not in seen
    assert any(m.content.endswith("Looking into it.") for m in bot_dms(sandbox))


async def test_text_crosses_as_each_side_renders_it(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.discord.user(ALICE)
    await alice.send_dm("Is **Q&A** <b> [here](https://x.test/q?a=1&b=2)?")
    root = await card(sandbox)
    await thread_says(sandbox, root, "Is *Q&amp;A* &lt;b&gt; <https://x.test/q?a=1&amp;b=2|here>?")

    agent = sandbox.slack.user(SLACK.agent1)
    await agent.post(SLACK.support, "Yes: Q&A <b> is *here*, ~not there~", thread_ts=root.ts)
    dm = await dm_says(sandbox, "Yes: Q&A <b> is **here**, ~~not there~~")
    assert "&amp;" not in dm.content
    assert "&lt;" not in dm.content
