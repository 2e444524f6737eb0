"""Slash commands, buttons, selects and modals: people interact, the real discord.py answers."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from integrations.sandbox.discord import (
    DEMO,
    DiscordEmulator,
    InteractionError,
    MessageFlag,
)
from integrations.sandbox.discord.testing import sandbox_client

GUILD = discord.Object(DEMO.guild_id)


def tree_client() -> tuple[discord.Client, app_commands.CommandTree[discord.Client]]:
    client = sandbox_client()
    return client, app_commands.CommandTree(client)


async def test_guild_slash_command_with_options(emu: DiscordEmulator, start_bot) -> None:
    client, tree = tree_client()
    calls: list[tuple[str, bool, int]] = []

    @tree.command(name="ticket", description="Open a ticket", guild=GUILD)
    async def ticket(interaction: discord.Interaction, topic: str, urgent: bool = False) -> None:
        calls.append((topic, urgent, interaction.user.id))
        await interaction.response.send_message(f"Ticket about {topic}")

    await start_bot(client)
    synced = await tree.sync(guild=GUILD)
    registered = emu.commands(DEMO.guild_id)
    assert [c.name for c in registered] == ["ticket"]
    assert synced[0].id == registered[0].id
    alice = emu.user(DEMO.customer_id)
    interaction = await alice.slash(
        "ticket", {"topic": "billing", "urgent": True}, channel_id=DEMO.support_channel_id
    )
    await emu.wait_for(lambda: interaction.responded)
    assert calls == [("billing", True, DEMO.customer_id)]
    reply = emu.channel_messages(DEMO.support_channel_id)[-1]
    assert reply.content == "Ticket about billing"
    assert reply.interaction_id == interaction.id
    assert reply.author_id == DEMO.bot_id


async def test_dm_slash_command_with_ephemeral_reply(emu: DiscordEmulator, start_bot) -> None:
    client, tree = tree_client()

    @tree.command(name="status", description="My tickets")
    async def status(interaction: discord.Interaction) -> None:
        assert interaction.guild is None
        await interaction.response.send_message("You have 1 open ticket", ephemeral=True)

    await start_bot(client)
    await tree.sync()
    alice = emu.user(DEMO.customer_id)
    await alice.slash("status")
    await emu.wait_for(alice.ephemeral_messages)
    assert [m.content for m in alice.ephemeral_messages()] == ["You have 1 open ticket"]
    assert alice.ephemeral_messages()[0].flags & MessageFlag.EPHEMERAL
    assert alice.dm_messages() == []
    assert emu.user(DEMO.second_customer_id).ephemeral_messages() == []


async def test_people_cannot_run_missing_commands_or_skip_required_options(
    emu: DiscordEmulator,
) -> None:
    emu.register_commands(
        [
            {
                "name": "ticket",
                "description": "open",
                "options": [{"type": 3, "name": "topic", "description": "t", "required": True}],
            }
        ]
    )
    alice = emu.user(DEMO.customer_id)
    with pytest.raises(InteractionError):
        await alice.slash("nope")
    with pytest.raises(InteractionError):
        await alice.slash("ticket")
    with pytest.raises(InteractionError):
        await alice.slash("ticket", {"topic": "x", "colour": "red"})


async def test_defer_then_followup_fills_the_placeholder(emu: DiscordEmulator, start_bot) -> None:
    client, tree = tree_client()

    @tree.command(name="report", description="Build a report", guild=GUILD)
    async def report(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("Report ready")
        note = await interaction.followup.send("And a second note", wait=True)
        await note.edit(content="And a second, edited note")

    await start_bot(client)
    await tree.sync(guild=GUILD)
    interaction = await emu.user(DEMO.customer_id).slash(
        "report", channel_id=DEMO.support_channel_id
    )
    messages = await emu.wait_for(
        lambda: [m for m in emu.channel_messages(DEMO.support_channel_id) if m.content] or None
    )
    await emu.wait_for(
        lambda: emu.calls_to("PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    )
    contents = [m.content for m in emu.channel_messages(DEMO.support_channel_id)]
    assert contents == ["Report ready", "And a second, edited note"]
    assert not messages[0].flags & MessageFlag.LOADING
    assert messages[0].id == interaction.original_message_id


async def test_original_response_edit_and_delete(emu: DiscordEmulator, start_bot) -> None:
    client, tree = tree_client()
    seen: list[str] = []

    @tree.command(name="ping", description="ping", guild=GUILD)
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")
        original = await interaction.original_response()
        seen.append(original.content)
        await interaction.edit_original_response(content="pong!")
        seen.append(emu.message(original.id).content)
        await interaction.delete_original_response()

    await start_bot(client)
    await tree.sync(guild=GUILD)
    await emu.user(DEMO.customer_id).slash("ping", channel_id=DEMO.support_channel_id)
    await emu.wait_for(
        lambda: len(
            emu.calls_to("DELETE /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
        )
    )
    assert seen == ["pong", "pong!"]
    assert emu.channel_messages(DEMO.support_channel_id) == []


class TicketView(discord.ui.View):
    """A persistent view: timeout None and fixed custom ids, so it survives restarts."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Claim", custom_id="ticket:claim", style=discord.ButtonStyle.primary)
    async def claim(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(
            content=f"Claimed by {interaction.user.name}", view=None
        )

    @discord.ui.select(
        custom_id="ticket:priority",
        placeholder="Priority",
        options=[
            discord.SelectOption(label="Low", value="low"),
            discord.SelectOption(label="High", value="high"),
        ],
    )
    async def priority(
        self, interaction: discord.Interaction, select: discord.ui.Select[Any]
    ) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content=f"Priority {select.values[0]}")


async def test_persistent_button_updates_the_message(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    client.add_view(TicketView())
    channel = client.get_channel(DEMO.support_channel_id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("New ticket", view=TicketView())
    alice = emu.user(DEMO.customer_id)
    message = emu.message(sent.id)
    interaction = await alice.click(message, label="Claim")
    await emu.wait_for(lambda: interaction.responded)
    assert message.content == "Claimed by alice"
    assert message.components == []


async def test_select_then_deferred_update(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    client.add_view(TicketView())
    channel = client.get_channel(DEMO.support_channel_id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("New ticket", view=TicketView())
    message = emu.message(sent.id)
    alice = emu.user(DEMO.customer_id)
    with pytest.raises(InteractionError):
        await alice.select(message, ["urgent"], placeholder="Priority")
    await alice.select(message, ["high"], placeholder="Priority")
    await emu.wait_for(lambda: message.content == "Priority high")


class CloseButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"close:(?P<id>\d+)"):
    def __init__(self, ticket_id: int) -> None:
        super().__init__(discord.ui.Button(label="Close", custom_id=f"close:{ticket_id}"))
        self.ticket_id = ticket_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> CloseButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Closed #{self.ticket_id}", ephemeral=True)


async def test_dynamic_item_button_in_dm(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    client.add_dynamic_items(CloseButton)
    view = discord.ui.View(timeout=None)
    view.add_item(CloseButton(42))
    user = await client.fetch_user(DEMO.customer_id)
    await user.send("Your ticket #42", view=view)
    alice = emu.user(DEMO.customer_id)
    last = alice.last_dm()
    assert last is not None
    await alice.click(last, custom_id="close:42")
    await emu.wait_for(alice.ephemeral_messages)
    assert alice.ephemeral_messages()[0].content == "Closed #42"


class Feedback(discord.ui.Modal, title="Rate us"):
    comment: discord.ui.TextInput[Feedback] = discord.ui.TextInput(
        label="Comment", custom_id="comment"
    )
    score: discord.ui.TextInput[Feedback] = discord.ui.TextInput(
        label="Score", custom_id="score", required=False
    )

    def __init__(self, sink: list[tuple[str, str]]) -> None:
        super().__init__(custom_id="feedback")
        self.sink = sink

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.sink.append((self.comment.value, self.score.value))
        await interaction.response.send_message("Thanks!", ephemeral=True)


async def test_button_opens_modal_and_person_submits_it(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    answers: list[tuple[str, str]] = []

    class Ask(discord.ui.View):
        @discord.ui.button(label="Leave feedback", custom_id="ask")
        async def ask(
            self, interaction: discord.Interaction, button: discord.ui.Button[Any]
        ) -> None:
            await interaction.response.send_modal(Feedback(answers))

    user = await client.fetch_user(DEMO.customer_id)
    sent = await user.send("How did we do?", view=Ask())
    alice = emu.user(DEMO.customer_id)
    await alice.click(emu.message(sent.id), label="Leave feedback")
    modal = await emu.wait_for(alice.open_modal)
    assert (modal.title, modal.custom_id) == ("Rate us", "feedback")
    assert [t["custom_id"] for t in modal.text_inputs()] == ["comment", "score"]
    with pytest.raises(InteractionError):
        await alice.submit_modal({"score": "5"})  # comment is required
    await alice.submit_modal({"comment": "fast and kind", "score": "5"})
    await emu.wait_for(alice.ephemeral_messages)
    assert answers == [("fast and kind", "5")]
    assert alice.ephemeral_messages()[0].content == "Thanks!"
    assert alice.modals() == []


async def callback(
    http: aiohttp.ClientSession, interaction: Any, body: object
) -> aiohttp.ClientResponse:
    url = f"/api/v10/interactions/{interaction.id}/{interaction.token}/callback?with_response=1"
    return await http.post(url, json=body)


async def test_callback_answers_interaction_callback_response(
    emu: DiscordEmulator, http: aiohttp.ClientSession
) -> None:
    emu.register_commands([{"name": "ping", "description": "ping"}])
    interaction = await emu.user(DEMO.customer_id).slash("ping")
    response = await callback(
        http, interaction, {"type": 4, "data": {"content": "pong", "flags": 64}}
    )
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    body = await response.json()
    assert body["interaction"]["id"] == str(interaction.id)
    assert body["interaction"]["type"] == 2
    assert body["interaction"]["response_message_ephemeral"] is True
    assert body["resource"]["type"] == 4
    assert body["resource"]["message"]["content"] == "pong"
    again = await callback(http, interaction, {"type": 4, "data": {"content": "twice"}})
    assert again.status == 400
    assert (await again.json())["code"] == 40060


async def test_late_callback_is_unknown_interaction(
    emu: DiscordEmulator, http: aiohttp.ClientSession
) -> None:
    emu.config.interaction_response_window = 0.0  # every answer arrives too late
    emu.register_commands([{"name": "ping", "description": "ping"}])
    interaction = await emu.user(DEMO.customer_id).slash("ping")
    response = await callback(http, interaction, {"type": 5})
    assert response.status == 404
    assert await response.json() == {"message": "Unknown interaction", "code": 10062}
    assert not interaction.responded


async def test_followup_before_any_response_is_unknown_webhook(
    emu: DiscordEmulator, http: aiohttp.ClientSession
) -> None:
    emu.register_commands([{"name": "ping", "description": "ping"}])
    interaction = await emu.user(DEMO.customer_id).slash("ping")
    url = f"/api/v10/webhooks/{DEMO.application_id}/{interaction.token}?wait=1"
    response = await http.post(url, json={"content": "early"})
    assert response.status == 404
    assert (await response.json())["code"] == 10015
