"""Private threads through the real discord.py client: members, who may write and read there,
what reaches the bot (and with which intents), and deferred ephemeral answers as people see
them."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import discord
import pytest

from integrations.sandbox.discord import (
    DEMO,
    ChannelType,
    DiscordEmulator,
    EmulatorConfig,
    InteractionError,
    SeedUser,
    demo_world,
)
from integrations.sandbox.discord.testing import running_client, sandbox_client

OUTSIDER = 1000000000000000099  # known to Discord, but not a member of the demo server


async def private_thread(client: discord.Client, name: str = "support-alice") -> discord.Thread:
    channel = client.get_channel(DEMO.support_channel_id)
    assert isinstance(channel, discord.TextChannel)
    return await channel.create_thread(
        name=name, type=discord.ChannelType.private_thread, invitable=False
    )


async def test_a_member_added_to_a_private_thread_writes_there_and_the_bot_reads_it(
    emu: DiscordEmulator, start_bot: Any
) -> None:
    client = await start_bot()
    thread = await private_thread(client)
    alice, bob = emu.user(DEMO.customer_id), emu.user(DEMO.second_customer_id)
    with pytest.raises(InteractionError):
        await alice.send(thread.id, "before being added")
    assert alice.threads() == []

    await thread.add_user(discord.Object(DEMO.customer_id))
    await thread.add_user(discord.Object(DEMO.customer_id))  # twice: still 204, one member
    (seen,) = alice.threads()
    assert (seen.id, seen.type) == (thread.id, ChannelType.PRIVATE_THREAD)
    assert seen.member_ids == [DEMO.bot_id, DEMO.customer_id]
    added = emu.channel_messages(thread.id)
    assert [(m.type, m.author_id, m.mention_ids) for m in added] == [
        (1, DEMO.bot_id, [DEMO.customer_id])  # "supportbot added alice to the thread"
    ]

    waiter = client.wait_for("message", check=lambda m: m.author.id == DEMO.customer_id)
    await alice.send(thread.id, "hello from my thread")
    received = await asyncio.wait_for(waiter, 5)
    assert received.content == "hello from my thread"
    assert isinstance(received.channel, discord.Thread)
    assert received.channel.parent_id == DEMO.support_channel_id
    with pytest.raises(InteractionError):
        await bob.send(thread.id, "let me in")  # not a member: the thread is hidden from him


async def test_thread_members_update_reaches_the_bot_with_the_members_intent(
    emu: DiscordEmulator, start_bot: Any
) -> None:
    intents = discord.Intents.default()
    intents.members = True
    client = await start_bot(sandbox_client(intents=intents, chunk_guilds_at_startup=False))
    thread = await private_thread(client)
    joined = client.wait_for("thread_member_join")
    await thread.add_user(discord.Object(DEMO.customer_id))
    member = await asyncio.wait_for(joined, 5)
    assert (member.id, member.thread_id) == (DEMO.customer_id, thread.id)


async def test_only_members_of_the_server_can_be_added(emu: DiscordEmulator) -> None:
    seed = demo_world()
    world = replace(seed, users=(*seed.users, SeedUser(OUTSIDER, "outsider")))
    async with (
        DiscordEmulator(world, config=EmulatorConfig()) as other,
        running_client(other) as client,
    ):
        thread = await private_thread(client)
        with pytest.raises(discord.NotFound) as caught:
            await thread.add_user(discord.Object(OUTSIDER))
        assert caught.value.code == 10007
        with pytest.raises(discord.NotFound) as unknown:
            await thread.add_user(discord.Object(12345))
        assert unknown.value.code == 10013


async def test_thread_messages_need_the_intents_for_their_content(
    emu: DiscordEmulator, start_bot: Any
) -> None:
    intents = discord.Intents.default()  # guild messages, but no message_content
    client = await start_bot(sandbox_client(intents=intents))
    thread = await private_thread(client)
    await thread.add_user(discord.Object(DEMO.customer_id))
    waiter = client.wait_for("message", check=lambda m: m.author.id == DEMO.customer_id)
    await emu.user(DEMO.customer_id).send(thread.id, "private words")
    assert (await asyncio.wait_for(waiter, 5)).content == ""  # a guild message, like any other


async def test_a_private_thread_comes_back_after_a_reconnect(
    emu: DiscordEmulator, start_bot: Any
) -> None:
    first = await start_bot()
    thread = await private_thread(first)
    await first.close()
    second = await start_bot()
    found = second.get_channel(thread.id)  # from GUILD_CREATE, with no fetch
    assert isinstance(found, discord.Thread)
    assert found.type is discord.ChannelType.private_thread


async def test_a_deferred_ephemeral_answer_is_read_once_filled_in(
    emu: DiscordEmulator, start_bot: Any
) -> None:
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.01)
    tree = discord.app_commands.CommandTree(client)
    release = asyncio.Event()

    @tree.command(name="slow", description="Takes a while", guild=discord.Object(DEMO.guild_id))
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await release.wait()
        await interaction.followup.send("Done at last", ephemeral=True)

    await start_bot(client)
    await tree.sync(guild=discord.Object(DEMO.guild_id))
    alice = emu.user(DEMO.customer_id)
    started = await alice.slash("slow", channel_id=DEMO.support_channel_id)
    await emu.wait_for(lambda: started.responded)
    assert alice.ephemeral_messages() == []  # "thinking…" is not a message yet
    release.set()
    (told,) = await emu.wait_for(alice.ephemeral_messages)
    assert told.content == "Done at last"
    assert told.id == started.original_message_id
