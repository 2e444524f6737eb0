"""The staff workspace on the wire, through the real discord.py client: roles and members,
forum posts, threads in a staff-only text channel, archiving and locking, the thread listings,
the active-thread cap, and staff acting in threads."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import discord
import pytest

from integrations.sandbox.discord import (
    DEMO,
    STAFF,
    ChannelType,
    DiscordEmulator,
    EmulatorConfig,
    Intent,
    InteractionError,
    demo_world,
    pointed_at,
    staff_world,
)
from integrations.sandbox.discord.testing import running_client, sandbox_client


@pytest.fixture
def config() -> EmulatorConfig:
    return EmulatorConfig(max_active_threads=3)


@pytest.fixture
async def emu(config: EmulatorConfig) -> AsyncIterator[DiscordEmulator]:
    """The staff world instead of the demo world (start_bot and http follow this fixture)."""
    async with DiscordEmulator(staff_world(), config=config) as emulator:
        with pointed_at(emulator.api_url, emulator.gateway_url):
            yield emulator


def members_client() -> discord.Client:
    intents = discord.Intents.default()
    intents.members = True
    intents.message_content = True
    return sandbox_client(intents=intents, chunk_guilds_at_startup=False)


def forum_of(client: discord.Client) -> discord.ForumChannel:
    forum = client.get_channel(STAFF.forum_channel_id)
    assert isinstance(forum, discord.ForumChannel)
    return forum


def staff_room(client: discord.Client) -> discord.TextChannel:
    room = client.get_channel(STAFF.staff_channel_id)
    assert isinstance(room, discord.TextChannel)
    return room


class ClaimView(discord.ui.View):
    """A ticket's buttons, as the staff workspace would post them."""

    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.clicks: list[discord.Interaction] = []
        self.submitted: list[tuple[discord.Interaction, str]] = []

    @discord.ui.button(label="Claim", custom_id="ticket:claim")
    async def claim(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        self.clicks.append(interaction)
        await interaction.response.send_message("Claimed", ephemeral=True)

    @discord.ui.button(label="Note", custom_id="ticket:note")
    async def note(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        view = self

        class NoteModal(discord.ui.Modal, title="Internal note"):
            text: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Note", custom_id="t")

            async def on_submit(self, submitted: discord.Interaction) -> None:
                view.submitted.append((submitted, str(self.text.value)))
                await submitted.response.send_message("Noted", ephemeral=True)

        await interaction.response.send_modal(NoteModal(custom_id="note-modal"))


def test_the_demo_world_is_unchanged() -> None:
    (guild,) = demo_world().guilds
    assert [c.name for c in guild.channels] == ["support"]
    assert (guild.roles, guild.member_roles) == ((), ())
    assert len(staff_world().users) == len(demo_world().users) + 2


async def test_roles_and_members_reach_the_cache_and_fetch_member(
    emu: DiscordEmulator, start_bot: Any
) -> None:
    client = await start_bot(members_client())
    guild = client.get_guild(DEMO.guild_id)
    assert guild is not None
    assert [r.name for r in guild.roles] == ["@everyone", "Staff", "Leads"]
    lee = guild.get_member(STAFF.lead_id)
    assert lee is not None
    assert lee.display_name == "Lee Lead"
    assert [r.name for r in lee.roles] == ["@everyone", "Staff", "Leads"]
    sam = await guild.fetch_member(STAFF.staff_id)
    assert [r.id for r in sam.roles[1:]] == [STAFF.staff_role_id]
    assert [r.name for r in await guild.fetch_roles()] == ["@everyone", "Staff", "Leads"]
    with pytest.raises(discord.NotFound) as missing:
        await guild.fetch_member(12345)
    assert missing.value.code == 10013
    # Discord pages members by ascending id; discord.py yields each page reversed.
    listed = [m.id async for m in guild.fetch_members(limit=None)]
    everyone = {DEMO.owner_id, DEMO.customer_id, DEMO.second_customer_id, DEMO.bot_id}
    assert listed == sorted(everyone | {STAFF.staff_id, STAFF.lead_id}, reverse=True)
    room = staff_room(client)
    assert room.overwrites_for(guild.default_role).view_channel is False
    assert room.permissions_for(sam).view_channel is True
    assert forum_of(client).type is discord.ChannelType.forum


async def test_the_member_list_is_refused_without_the_members_intent_enabled(
    config: EmulatorConfig,
) -> None:
    seed = replace(staff_world(), enabled_intents=Intent.MESSAGE_CONTENT)
    async with DiscordEmulator(seed, config=config) as other:
        headers = {"Authorization": f"Bot {other.token}"}
        async with aiohttp.ClientSession(base_url=other.base_url, headers=headers) as http:
            refused = await http.get(f"/api/v10/guilds/{DEMO.guild_id}/members?limit=10")
            assert refused.status == 403
            assert await refused.json() == {"message": "Missing Access", "code": 50001}
            one = await http.get(f"/api/v10/guilds/{DEMO.guild_id}/members/{STAFF.staff_id}")
            assert (await one.json())["roles"] == [str(STAFF.staff_role_id)]
    async with DiscordEmulator(staff_world(), config=config) as allowed:
        headers = {"Authorization": f"Bot {allowed.token}"}
        async with aiohttp.ClientSession(base_url=allowed.base_url, headers=headers) as http:
            page = await http.get(
                f"/api/v10/guilds/{DEMO.guild_id}/members",
                params={"limit": "2", "after": str(DEMO.owner_id)},
            )
            ids = [int(m["user"]["id"]) for m in await page.json()]
            assert ids == [STAFF.staff_id, STAFF.lead_id]  # after the owner, by id


async def test_a_forum_post_with_content_and_a_view(
    emu: DiscordEmulator, start_bot: Any, http: aiohttp.ClientSession
) -> None:
    client = await start_bot()
    created = client.wait_for("thread_create")
    view = ClaimView()
    post = await forum_of(client).create_thread(
        name="Ticket 1: order late",
        content="alice: my order is late",
        embed=discord.Embed(title="Ticket 1"),
        view=view,
    )
    assert isinstance(post, discord.channel.ThreadWithMessage)
    assert post.thread.id == post.message.id
    assert post.thread.parent_id == STAFF.forum_channel_id
    assert post.message.content == "alice: my order is late"
    assert (await asyncio.wait_for(created, 5)).id == post.thread.id
    (starter,) = emu.channel_messages(post.thread.id)
    assert starter.id == post.thread.id
    assert starter.button_labels() == ["Claim", "Note"]
    assert starter.embeds[0]["title"] == "Ticket 1"
    (thread,) = emu.threads(STAFF.forum_channel_id)
    assert (thread.type, thread.message_count) == (ChannelType.PUBLIC_THREAD, 0)

    with_file = await forum_of(client).create_thread(
        name="Ticket 1b", content="see attached", file=discord.File(io.BytesIO(b"%PDF"), "o.pdf")
    )
    (attached,) = emu.channel_messages(with_file.thread.id)
    assert [(a.filename, a.data) for a in attached.attachments] == [("o.pdf", b"%PDF")]
    assert with_file.message.attachments[0].filename == "o.pdf"
    refused = await http.post(
        f"/api/v10/channels/{STAFF.forum_channel_id}/messages", json={"content": "hi"}
    )
    assert (await refused.json())["code"] == 50008  # a forum takes posts, not messages


async def test_a_staff_member_clicks_and_submits_a_modal_in_a_forum_thread(
    emu: DiscordEmulator, start_bot: Any
) -> None:
    client = await start_bot()
    view = ClaimView()
    post = await forum_of(client).create_thread(name="Ticket 2", content="help", view=view)
    starter = emu.message(post.message.id)
    lee = emu.user(STAFF.lead_id)
    clicked = await lee.click(starter, label="Claim")
    await emu.wait_for(lambda: clicked.responded)
    (interaction,) = view.clicks
    assert isinstance(interaction.user, discord.Member)
    assert [r.name for r in interaction.user.roles] == ["@everyone", "Staff", "Leads"]
    assert interaction.permissions.manage_threads  # Leads hold it, as the payload says
    assert isinstance(interaction.channel, discord.Thread)
    assert interaction.channel.id == post.thread.id
    assert [m.content for m in lee.ephemeral_messages()] == ["Claimed"]

    opened = await lee.click(starter, label="Note")
    await emu.wait_for(lambda: opened.responded)
    submitted = await lee.submit_modal({"t": "refund approved"})
    await emu.wait_for(lambda: submitted.responded)
    ((modal_interaction, text),) = view.submitted
    assert text == "refund approved"
    assert modal_interaction.channel is not None
    assert modal_interaction.channel.id == post.thread.id

    sam = emu.user(STAFF.staff_id)
    await sam.send(post.thread.id, "on it")
    assert emu.channel_messages(post.thread.id)[-1].author_id == STAFF.staff_id
    alice = emu.user(DEMO.customer_id)
    with pytest.raises(InteractionError):
        await alice.click(starter, label="Claim")  # customers do not see the staff forum
    with pytest.raises(InteractionError):
        await alice.send(post.thread.id, "let me in")


async def test_a_private_thread_in_the_staff_channel(emu: DiscordEmulator, start_bot: Any) -> None:
    client = await start_bot()
    thread = await staff_room(client).create_thread(
        name="ticket-3", type=discord.ChannelType.private_thread
    )
    (stored,) = emu.threads(STAFF.staff_channel_id)
    assert (stored.id, stored.type) == (thread.id, ChannelType.PRIVATE_THREAD)
    sam = emu.user(STAFF.staff_id)
    with pytest.raises(InteractionError):
        await sam.send(thread.id, "not added yet")
    await emu.user(STAFF.lead_id).send(thread.id, "leads see every private thread")
    await thread.add_user(discord.Object(STAFF.staff_id))
    heard = client.wait_for("message", check=lambda m: m.author.id == STAFF.staff_id)
    await sam.send(thread.id, "taking this one")
    assert (await asyncio.wait_for(heard, 5)).content == "taking this one"


async def test_archive_unarchive_by_sending_and_lock(emu: DiscordEmulator, start_bot: Any) -> None:
    client = await start_bot()
    post = await forum_of(client).create_thread(name="Ticket 4", content="help")
    thread = post.thread
    updated = client.wait_for("raw_thread_update")
    archived = await thread.edit(archived=True)
    assert archived.archived
    assert (await asyncio.wait_for(updated, 5)).thread_id == thread.id
    assert emu.world.channels[thread.id].archived

    await thread.send("a reply reopens it")  # Discord unarchives an unlocked thread on send
    assert not emu.world.channels[thread.id].archived
    await thread.edit(archived=True)
    await emu.user(STAFF.staff_id).send(thread.id, "so does a person writing")
    assert not emu.world.channels[thread.id].archived

    with pytest.raises(discord.HTTPException) as renaming:
        await thread.edit(archived=True, locked=True)
        await thread.edit(name="renamed while archived")
    assert renaming.value.code == 50083
    with pytest.raises(discord.HTTPException) as locked:
        await thread.send("still there?")
    assert locked.value.code == 50083
    with pytest.raises(InteractionError):
        await emu.user(STAFF.staff_id).send(thread.id, "locked out")
    reopened = await thread.edit(archived=False, locked=False, name="Ticket 4 (reopened)")
    assert (reopened.archived, reopened.locked, reopened.name) == (
        False,
        False,
        "Ticket 4 (reopened)",
    )


async def test_active_and_archived_listings(emu: DiscordEmulator, start_bot: Any) -> None:
    client = await start_bot()
    forum = forum_of(client)
    posts = [(await forum.create_thread(name=f"T{i}", content="x")).thread for i in range(3)]
    await posts[0].edit(archived=True)  # the cap is 3 here: make room first
    room = staff_room(client)
    private = await room.create_thread(name="P", type=discord.ChannelType.private_thread)
    await posts[2].edit(archived=True)  # archived last: listed first
    await private.edit(archived=True)
    guild = client.get_guild(DEMO.guild_id)
    assert guild is not None
    assert [t.id for t in await guild.active_threads()] == [posts[1].id]
    assert [t.id async for t in forum.archived_threads()] == [posts[2].id, posts[0].id]
    assert [t.id async for t in forum.archived_threads(limit=1)] == [posts[2].id]
    before = emu.world.channels[posts[2].id].archived_at
    assert [t.id async for t in forum.archived_threads(before=before)] == [posts[0].id]
    assert [t.id async for t in room.archived_threads(private=True)] == [private.id]
    assert [t.id async for t in room.archived_threads(private=True, joined=True)] == [private.id]
    assert [t.id async for t in room.archived_threads()] == []


async def test_the_active_thread_cap_and_the_name_limit(
    emu: DiscordEmulator, start_bot: Any
) -> None:
    client = await start_bot()
    forum, room = forum_of(client), staff_room(client)
    threads = [(await forum.create_thread(name=f"T{i}", content="x")).thread for i in range(3)]
    with pytest.raises(discord.HTTPException) as full:
        await room.create_thread(name="one too many")
    assert (full.value.status, full.value.code) == (400, 160006)
    assert "Maximum number of active threads reached" in full.value.text
    await threads[0].edit(archived=True)
    fourth = await room.create_thread(name="fits again", type=discord.ChannelType.public_thread)
    with pytest.raises(discord.HTTPException) as reopening:
        await threads[0].edit(archived=False)  # unarchiving counts too
    assert reopening.value.code == 160006
    await fourth.edit(archived=True)

    with pytest.raises(discord.HTTPException) as long_name:
        await forum.create_thread(name="x" * 101, content="x")
    assert (long_name.value.status, long_name.value.code) == (400, 50035)
    assert "In name: Must be between 1 and 100 in length." in long_name.value.text
    with pytest.raises(discord.HTTPException) as renamed:
        await threads[1].edit(name="y" * 101)
    assert renamed.value.code == 50035


async def test_a_role_change_reaches_the_bot_with_the_members_intent(
    emu: DiscordEmulator, start_bot: Any
) -> None:
    client = await start_bot(members_client())
    changed = client.wait_for("member_update")
    assert emu.give_role(DEMO.customer_id, STAFF.staff_role_id)
    assert not emu.give_role(DEMO.customer_id, STAFF.staff_role_id)  # already held
    before, after = await asyncio.wait_for(changed, 5)
    assert [r.name for r in before.roles] == ["@everyone"]
    assert [r.name for r in after.roles] == ["@everyone", "Staff"]
    assert emu.roles_of(DEMO.customer_id, DEMO.guild_id) == [STAFF.staff_role_id]
    alice = emu.user(DEMO.customer_id)
    post = await forum_of(client).create_thread(name="Ticket 5", content="x")
    await alice.send(post.thread.id, "now I am staff")  # the role opens the staff forum

    async with running_client(emu) as plain:  # default intents: no GUILD_MEMBER_UPDATE
        seen: list[Any] = []
        plain.event(_record_into(seen))
        emu.take_role(DEMO.customer_id, STAFF.staff_role_id)
        await emu.wait_for(lambda: not emu.roles_of(DEMO.customer_id, DEMO.guild_id))
        await asyncio.sleep(0.1)
        assert seen == []


def _record_into(seen: list[Any]) -> Any:
    async def on_member_update(before: discord.Member, after: discord.Member) -> None:
        seen.append(after)

    return on_member_update


async def test_a_deleted_forum_post_is_gone_for_discord_py(
    emu: DiscordEmulator, start_bot: Any
) -> None:
    client = await start_bot()
    post = await forum_of(client).create_thread(name="Ticket 9", content="card")
    deleted = client.wait_for("raw_thread_delete")
    emu.delete_thread(post.thread.id)
    gone = await asyncio.wait_for(deleted, 5)
    assert gone.thread_id == post.thread.id
    assert gone.parent_id == STAFF.forum_channel_id
    assert client.get_channel(post.thread.id) is None
    with pytest.raises(discord.NotFound) as sending:
        await post.thread.send("hello?")
    assert sending.value.code == 10003
    with pytest.raises(discord.NotFound) as editing:
        await post.message.edit(content="card, redrawn")
    assert editing.value.code == 10003
    assert emu.threads(STAFF.forum_channel_id) == []


async def test_fetch_guild_reads_the_guild_and_its_roles(
    emu: DiscordEmulator, start_bot: Any
) -> None:
    client = await start_bot()
    guild = await client.fetch_guild(DEMO.guild_id)
    assert (guild.id, guild.name) == (DEMO.guild_id, "Support")
    assert {r.name for r in guild.roles} >= {"@everyone", "Staff", "Leads"}
    member = await guild.fetch_member(STAFF.lead_id)
    assert {r.id for r in member.roles} >= {STAFF.staff_role_id, STAFF.lead_role_id}
    with pytest.raises(discord.NotFound):
        await client.fetch_guild(123456789012345678)
