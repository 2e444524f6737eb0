"""The real discord.py Client receiving and sending messages through the emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest

from integrations.sandbox.discord import DEMO, DiscordEmulator, DiscordSeed, demo_world
from integrations.sandbox.discord.testing import sandbox_client as make_client


class Collector:
    """Records one kind of client event; `wait(n)` wakes on each event (no polling)."""

    def __init__(self, client: discord.Client, event: str) -> None:
        self.items: list[Any] = []
        self._changed = asyncio.Condition()
        # A plain Client dispatches to its `on_<event>` attribute.
        setattr(client, f"on_{event}", self._record)

    async def _record(self, *args: Any) -> None:
        async with self._changed:
            self.items.append(args[0] if len(args) == 1 else args)
            self._changed.notify_all()

    async def wait(self, count: int, timeout: float = 5.0) -> list[Any]:  # noqa: ASYNC109
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.items) >= count), timeout
            )
        return self.items


async def test_customer_dm_reaches_on_message(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    alice = emu.user(DEMO.customer_id)
    waiter = client.wait_for("message", check=lambda m: m.author.id == DEMO.customer_id)
    sent = await alice.send_dm("my order never arrived")
    received = await asyncio.wait_for(waiter, 5)
    assert received.content == "my order never arrived"
    assert received.id == sent.id
    assert isinstance(received.channel, discord.DMChannel)
    assert received.guild is None


async def test_customer_edit_and_delete_reach_the_bot(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    alice = emu.user(DEMO.customer_id)
    first = client.wait_for("message")
    sent = await alice.send_dm("typo hree")
    await asyncio.wait_for(first, 5)
    edited = client.wait_for("message_edit")
    await alice.edit(sent, "typo here")
    before, after = await asyncio.wait_for(edited, 5)
    assert (before.content, after.content) == ("typo hree", "typo here")
    assert after.edited_at is not None
    deleted = client.wait_for("message_delete")
    await alice.delete(sent)
    gone = await asyncio.wait_for(deleted, 5)
    assert gone.id == sent.id
    assert alice.dm_messages() == []


async def test_bot_reply_is_seen_by_customer_and_echoed_to_bot(
    emu: DiscordEmulator, start_bot
) -> None:
    client = await start_bot()
    own = client.wait_for("message", check=lambda m: m.author == client.user)
    user = await client.fetch_user(DEMO.customer_id)
    embed = discord.Embed(title="Ticket #42", description="We are on it")
    embed.add_field(name="Status", value="open")
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="Close ticket", custom_id="close:42"))
    view.add_item(discord.ui.Button(label="Docs", url="https://example.invalid/docs"))
    sent = await user.send("Hello Alice", embed=embed, view=view)
    echoed = await asyncio.wait_for(own, 5)
    assert echoed.id == sent.id
    seen = emu.user(DEMO.customer_id).dm_messages()
    assert [m.content for m in seen] == ["Hello Alice"]
    assert seen[0].embeds[0]["title"] == "Ticket #42"
    assert seen[0].embeds[0]["fields"] == [{"name": "Status", "value": "open", "inline": True}]
    assert seen[0].button_labels() == ["Close ticket", "Docs"]
    assert sent.embeds[0].title == "Ticket #42"


async def test_bot_sends_and_reads_files(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    channel = client.get_channel(DEMO.support_channel_id)
    assert isinstance(channel, discord.TextChannel)
    import io

    sent = await channel.send(
        "transcript", files=[discord.File(io.BytesIO(b"hello"), filename="t.txt")]
    )
    assert sent.attachments[0].filename == "t.txt"
    assert await sent.attachments[0].read() == b"hello"
    stored = emu.channel_messages(DEMO.support_channel_id)[-1]
    assert stored.attachments[0].data == b"hello"


async def test_customer_attachment_is_readable_by_bot(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    waiter = client.wait_for("message")
    await emu.user(DEMO.customer_id).send_dm("see screenshot", files=[("s.png", b"\x89PNG..")])
    message = await asyncio.wait_for(waiter, 5)
    attachment = message.attachments[0]
    assert attachment.filename == "s.png"
    assert attachment.content_type == "image/png"
    assert await attachment.read() == b"\x89PNG.."


async def test_message_edit_and_delete_by_bot(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    channel = client.get_channel(DEMO.support_channel_id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("draft")
    edited = await sent.edit(content="final")
    assert edited.content == "final"
    assert emu.message(sent.id).content == "final"
    await sent.add_reaction("✅")
    assert emu.message(sent.id).reactions == {"✅": {DEMO.bot_id}}
    await sent.delete()
    assert emu.channel_messages(DEMO.support_channel_id) == []
    with pytest.raises(discord.NotFound) as caught:
        await channel.fetch_message(sent.id)
    assert caught.value.code == 10008


async def test_bot_cannot_edit_a_customer_message(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    posted = await emu.user(DEMO.customer_id).send(DEMO.support_channel_id, "hi")
    channel = client.get_channel(DEMO.support_channel_id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.fetch_message(posted.id)
    with pytest.raises(discord.Forbidden) as caught:
        await message.edit(content="hacked")
    assert caught.value.code == 50005


async def test_threads_from_channel_and_from_message(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    created = Collector(client, "thread_create")
    channel = client.get_channel(DEMO.support_channel_id)
    assert isinstance(channel, discord.TextChannel)
    private = await channel.create_thread(name="ticket-1")
    starter = await channel.send("New ticket")
    public = await starter.create_thread(name="ticket-2")
    assert private.type is discord.ChannelType.private_thread
    assert public.id == starter.id
    assert public.parent_id == DEMO.support_channel_id
    await public.send("first reply")
    threads = emu.threads(DEMO.support_channel_id)
    assert [t.name for t in threads] == ["ticket-1", "ticket-2"]
    assert [m.content for m in emu.channel_messages(public.id)] == ["first reply"]
    await created.wait(2)
    assert client.get_channel(public.id) is not None


async def test_history_through_discord_py(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    alice = emu.user(DEMO.customer_id)
    sent = [await alice.send_dm(f"m{n}") for n in range(120)]
    channel = await client.fetch_channel(emu.dm_channel_id(DEMO.customer_id) or 0)
    assert isinstance(channel, discord.DMChannel)
    newest = [m.content async for m in channel.history(limit=3)]
    assert newest == ["m119", "m118", "m117"]
    everything = [m.id async for m in channel.history(limit=None, oldest_first=True)]
    assert everything == [m.id for m in sent]
    after = [m.content async for m in channel.history(after=discord.Object(sent[110].id))]
    assert after == [f"m{n}" for n in range(111, 120)]
    around = [m.content async for m in channel.history(around=discord.Object(sent[50].id), limit=5)]
    assert "m50" in around


async def test_closed_dms_give_50007_until_reopened(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    alice = emu.user(DEMO.customer_id)
    user = await client.fetch_user(DEMO.customer_id)
    before = emu.notifier.revision
    alice.close_dms()
    assert emu.notifier.revision > before  # watchers (the playground) hear of it
    with pytest.raises(discord.Forbidden) as caught:
        await user.send("are you there?")
    assert caught.value.code == 50007
    assert caught.value.text == "Cannot send messages to this user"
    alice.open_dms()
    await user.send("are you there?")
    assert [m.content for m in alice.dm_messages()] == ["are you there?"]


async def test_over_long_content_raises_invalid_form_body(start_bot) -> None:
    client = await start_bot()
    channel = client.get_channel(DEMO.support_channel_id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("x" * 2001)
    assert caught.value.status == 400
    assert caught.value.code == 50035
    assert "content" in caught.value.text


async def test_unknown_channel_and_user_through_discord_py(start_bot) -> None:
    client = await start_bot()
    with pytest.raises(discord.NotFound) as channel_error:
        await client.fetch_channel(12345)
    with pytest.raises(discord.NotFound) as user_error:
        await client.fetch_user(12345)
    assert channel_error.value.code == 10003
    assert user_error.value.code == 10013


def no_content_seed() -> DiscordSeed:
    from dataclasses import replace

    from integrations.sandbox.discord import Intent

    return replace(demo_world(), enabled_intents=Intent.GUILD_MEMBERS)


async def test_guild_messages_blank_without_message_content_intent(
    emu: DiscordEmulator, start_bot
) -> None:
    intents = discord.Intents.default()  # no message_content
    client = await start_bot(make_client(intents=intents))
    received = Collector(client, "message")
    alice = emu.user(DEMO.customer_id)
    await alice.send(DEMO.support_channel_id, "secret text")
    await alice.send(DEMO.support_channel_id, f"<@{DEMO.bot_id}> ping")
    await alice.send_dm("dm text")
    contents = [m.content for m in await received.wait(3)]
    assert contents == ["", f"<@{DEMO.bot_id}> ping", "dm text"]


async def test_typing_reactions_and_person_reactions(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    reactions = Collector(client, "raw_reaction_add")
    channel = client.get_channel(DEMO.support_channel_id)
    assert isinstance(channel, discord.TextChannel)
    async with channel.typing():
        sent = await channel.send("Rate this answer")
    await sent.add_reaction("👍")
    await sent.remove_reaction("👍", client.user)  # type: ignore[arg-type]
    assert emu.message(sent.id).reactions == {}
    await emu.user(DEMO.customer_id).react(emu.message(sent.id), "⭐")
    events = await reactions.wait(2)
    assert [(e.user_id, str(e.emoji)) for e in events] == [
        (DEMO.bot_id, "👍"),
        (DEMO.customer_id, "⭐"),
    ]
    assert [c.status for c in emu.calls_to("POST /channels/{channel_id}/typing")] == [204]


async def test_a_send_with_a_nonce_seen_before_returns_the_first_message(
    emu: DiscordEmulator, start_bot
) -> None:
    """discord.py sends `enforce_nonce` with every nonce: a resend after a crash is the same
    message, not a second one (another nonce, or no nonce, is a new message)."""
    bot = await start_bot()
    alice = await bot.fetch_user(DEMO.customer_id)
    first = await alice.send("Your refund is on its way", nonce="41.0")
    again = await alice.send("Your refund is on its way", nonce="41.0")
    other = await alice.send("And a second piece", nonce="41.1")
    plain = await alice.send("No nonce at all")
    assert again.id == first.id
    assert len({first.id, other.id, plain.id}) == 3
    bot_id = emu.bot_id
    sent = [m for m in emu.user(DEMO.customer_id).dm_messages() if m.author_id == bot_id]
    assert [m.content for m in sent] == [
        "Your refund is on its way",
        "And a second piece",
        "No nonce at all",
    ]
