from __future__ import annotations

import discord

from integrations.sandbox.discord import DEMO, DiscordEmulator


async def test_bot_logs_in_and_sees_the_support_guild(emu: DiscordEmulator, start_bot) -> None:
    client = await start_bot()
    assert client.user is not None
    assert client.user.id == DEMO.bot_id
    assert client.application_id == DEMO.application_id
    guild = client.get_guild(DEMO.guild_id)
    assert guild is not None
    assert guild.name == "Support"
    assert isinstance(guild.get_channel(DEMO.support_channel_id), discord.TextChannel)
    login = [c.route for c in emu.calls[:2]]
    assert login == ["/users/@me", "/oauth2/applications/@me"]
    assert [r.kind for r in emu.gateway.log if r.kind in ("identify", "resume")] == ["identify"]


async def test_auto_sharded_client_uses_gateway_bot(emu: DiscordEmulator) -> None:
    from integrations.sandbox.discord.testing import running_client, sandbox_intents

    client = discord.AutoShardedClient(intents=sandbox_intents(), guild_ready_timeout=0.01)
    async with running_client(emu, client):
        assert client.shard_count == 1
        assert client.get_guild(DEMO.guild_id) is not None
    assert [c.status for c in emu.calls_to("GET /gateway/bot")] == [200]
