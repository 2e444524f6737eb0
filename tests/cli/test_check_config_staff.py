"""`threadline check-config` with agents in Discord: the settings, then the staff workspace asked
of the Discord emulator (channels, roles, the bot's permissions, the privileged intents)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import discord
import pytest

from bot.config import load_settings
from integrations.discord.staff_check import channel_permissions, check_staff
from integrations.sandbox.discord import (
    DEMO,
    STAFF,
    DiscordEmulator,
    DiscordSeed,
    Intent,
    SeedRole,
    staff_world,
)
from integrations.sandbox.discord.constants import EVERYONE_PERMISSIONS, MANAGE_THREADS
from tests.cli.cli_support import threadline

BOT_ROLE_ID = 1000000000000000020
FORUM = f"#staff-tickets ({STAFF.forum_channel_id})"
ROOM = f"#staff ({STAFF.staff_channel_id})"


def ready_world() -> DiscordSeed:
    """The staff world with the role Discord gives a bot at its invitation, holding what the
    staff world's @everyone lacks for the bot: Manage Threads."""
    world = staff_world()
    (guild,) = world.guilds
    role = SeedRole(BOT_ROLE_ID, "Threadline", str(MANAGE_THREADS), position=3)
    guild = replace(
        guild,
        roles=(*guild.roles, role),
        member_roles=(*guild.member_roles, (DEMO.bot_id, BOT_ROLE_ID)),
    )
    return replace(world, guilds=(guild,))


def staff_env(monkeypatch: pytest.MonkeyPatch, emu: DiscordEmulator) -> None:
    """The settings `sandbox(staff=True)` prints for Discord, without Slack."""
    for name, value in {
        "DISCORD_BOT_TOKEN": emu.token,
        "DISCORD_API_URL": emu.api_url,
        "DISCORD_GATEWAY_URL": emu.gateway_url,
        "DISCORD_GUILD_ID": str(DEMO.guild_id),
        "DISCORD_STAFF_CHANNEL": str(STAFF.forum_channel_id),
        "DISCORD_STAFF_ROLE": str(STAFF.staff_role_id),
        "DISCORD_LEADS_ROLE": str(STAFF.lead_role_id),
        "DISCORD_LEADS_CHANNEL": str(STAFF.staff_channel_id),
    }.items():
        monkeypatch.setenv(name, value)


async def check(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    # The command runs its own event loop; the emulator keeps serving on this one meanwhile.
    return await asyncio.to_thread(threadline, capsys, "check-config")


@pytest.fixture
async def ready(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator(ready_world()) as emu:
        staff_env(monkeypatch, emu)
        yield emu


def problems(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.strip().startswith("PROBLEM:")]


async def test_a_complete_workspace_is_ready(
    ready: DiscordEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await check(capsys)
    assert code == 0, out + err
    assert "Discord agents: configured (agents work in Discord)" in out
    for line in (
        "ok: bot supportbot (1000000000000000001)",
        f"ok: staff channel {FORUM}: a forum channel in the server",
        f"ok: leads channel {ROOM}: a text channel in the server",
        "ok: staff role @Staff",
        "ok: leads role @Leads",
        f"ok: bot permissions in {FORUM}: all 8 it needs",
        f"ok: bot permissions in {ROOM}: all 3 it needs",
        "ok: MESSAGE CONTENT intent: on",
        "note: Server Members intent: on (optional: Threadline learns who holds the staff and "
        "leads roles from each message and click)",
    ):
        assert f"  {line}\n" in out
    assert problems(out) == []
    verdict, policy = out.rstrip().splitlines()[-2:]
    assert verdict == "Discord agents: ready"
    assert policy == "Policy: no policy file; the defaults apply"
    assert ready.token not in out


async def test_a_text_staff_channel_also_needs_create_public_threads(
    ready: DiscordEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_STAFF_CHANNEL", str(STAFF.staff_channel_id))
    code, out, _ = await check(capsys)
    assert code == 0
    assert f"ok: staff channel {ROOM}: a text channel in the server" in out
    assert f"ok: bot permissions in {ROOM}: all 9 it needs" in out


def test_a_missing_setting_is_named_and_nothing_is_asked(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "abc.def")
    monkeypatch.setenv("DISCORD_API_URL", "http://127.0.0.1:9/api/v10")  # never called
    monkeypatch.setenv("DISCORD_STAFF_CHANNEL", str(STAFF.forum_channel_id))
    code, out, err = threadline(capsys, "check-config")
    assert code == 1, out + err
    assert (
        "Discord agents: missing DISCORD_GUILD_ID, DISCORD_STAFF_ROLE "
        "(needed because DISCORD_STAFF_CHANNEL is set)"
    ) in out
    assert "Checking the Discord agent workspace" not in out
    assert "Policy: no policy file" in out  # the rest of the check still runs


def test_without_a_staff_channel_agents_in_discord_are_off(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = threadline(capsys, "check-config")
    assert code == 0
    assert "Discord agents: off (set DISCORD_STAFF_CHANNEL for agents to work in Discord)" in out
    monkeypatch.setenv("DISCORD_STAFF_ROLE", str(STAFF.staff_role_id))
    code, out, _ = threadline(capsys, "check-config")
    assert code == 0
    assert "Discord agents: off; DISCORD_STAFF_ROLE set but unused without" in out


async def test_a_staff_channel_that_does_not_exist_is_named(
    ready: DiscordEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_STAFF_CHANNEL", "1000000000000000099")
    monkeypatch.setenv("DISCORD_LEADS_ROLE", "1000000000000000098")
    code, out, _ = await check(capsys)
    assert code == 1
    assert problems(out) == [
        "PROBLEM: staff channel 1000000000000000099 (DISCORD_STAFF_CHANNEL): no such channel; "
        "copy the channel's id again (Developer Mode on, right-click the channel → Copy Channel "
        "ID)",
        "PROBLEM: leads role 1000000000000000098 (DISCORD_LEADS_ROLE): no such role in the "
        "server; copy its id again (Server Settings → Roles → right-click the role → Copy Role "
        "ID)",
    ]
    assert "Discord agents: 2 problems to fix (above)" in out


async def test_a_server_the_bot_is_not_in_is_named(
    ready: DiscordEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_GUILD_ID", "1000000000000000097")
    code, out, _ = await check(capsys)
    assert code == 1
    assert problems(out) == [
        f"PROBLEM: staff channel {FORUM} is in server {DEMO.guild_id}, not in DISCORD_GUILD_ID "
        "1000000000000000097",
        "PROBLEM: server 1000000000000000097 (DISCORD_GUILD_ID): the bot is not in it; invite "
        "the bot, or copy the server's id again (right-click the server → Copy Server ID)",
        f"PROBLEM: leads channel {ROOM} is in server {DEMO.guild_id}, not in DISCORD_GUILD_ID "
        "1000000000000000097",
    ]


async def test_a_permission_the_bot_lacks_in_the_staff_channel_is_named(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The staff world as seeded: the bot holds @everyone's permissions only, no Manage Threads.
    async with DiscordEmulator(staff_world()) as emu:
        staff_env(monkeypatch, emu)
        code, out, _ = await check(capsys)
    assert code == 1
    assert problems(out) == [
        f"PROBLEM: bot permissions in {FORUM}: MISSING Manage Threads (Manage Posts in a "
        "forum); grant them to the bot's role, or to the bot in the channel's settings → "
        "Permissions"
    ]
    assert f"ok: bot permissions in {ROOM}: all 3 it needs" in out
    assert "Discord agents: 1 problem to fix (above)" in out


async def test_no_send_messages_takes_links_and_files_with_it(
    ready: DiscordEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    everyone = ready.world.guilds[DEMO.guild_id].roles[0]
    assert everyone.id == DEMO.guild_id
    everyone.permissions = str(int(EVERYONE_PERMISSIONS) & ~discord.Permissions.send_messages.flag)
    code, out, _ = await check(capsys)
    assert code == 1
    assert [p.split(";")[0] for p in problems(out)] == [
        f"PROBLEM: bot permissions in {FORUM}: MISSING Send Messages (Create Posts in a forum), "
        "Embed Links, Attach Files",
        f"PROBLEM: bot permissions in {ROOM}: MISSING Send Messages, Embed Links",
    ]


async def test_a_leads_role_the_bot_cannot_ping_is_a_note(
    ready: DiscordEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    everyone = ready.world.guilds[DEMO.guild_id].roles[0]
    everyone.permissions = str(
        int(EVERYONE_PERMISSIONS) & ~discord.Permissions.mention_everyone.flag
    )
    code, out, _ = await check(capsys)
    assert code == 0  # the notice still goes out; only the ping is lost
    assert (
        f"  note: breach notices in {ROOM} will name @Leads without notifying them: make the "
        "role mentionable"
    ) in out
    (leads,) = [r for r in ready.world.guilds[DEMO.guild_id].roles if r.id == STAFF.lead_role_id]
    leads.mentionable = True
    code, out, _ = await check(capsys)
    assert "will name @Leads" not in out


async def test_message_content_intent_off_is_said_with_what_to_do(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with DiscordEmulator(replace(ready_world(), enabled_intents=Intent(0))) as emu:
        staff_env(monkeypatch, emu)
        code, out, _ = await check(capsys)
    assert code == 1
    assert problems(out) == [
        "PROBLEM: MESSAGE CONTENT intent: off, so the bot cannot read what agents write in the "
        "staff threads; turn it on: Developer Portal → Applications → your app → Bot → "
        "Privileged Gateway Intents → MESSAGE CONTENT INTENT → Save Changes"
    ]
    assert "note: Server Members intent: off (optional: " in out


async def test_a_refused_token_is_one_line(
    ready: DiscordEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "not.the.token")
    code, out, err = await check(capsys)
    assert code == 1
    assert problems(out) == [
        "PROBLEM: Discord refused DISCORD_BOT_TOKEN (401 Unauthorized): copy the token again "
        "from the Developer Portal (your app → Bot → Reset Token)"
    ]
    assert "Traceback" not in out + err


async def test_a_discord_outage_is_one_line(
    ready: DiscordEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    ready.faults.down_for(60)
    code, out, err = await check(capsys)
    assert code == 1
    assert problems(out) == ["PROBLEM: Discord answered 502 to GET /users/@me; try again later"]
    assert "Traceback" not in out + err


async def test_a_discord_that_does_not_answer_is_one_line_after_the_timeout(
    ready: DiscordEmulator,
) -> None:
    ready.faults.hang()
    try:
        found = await check_staff(load_settings(), seconds=0.2)
    finally:
        ready.faults.clear()
    assert found.problems == [f"Discord at {ready.api_url} did not answer within 0.2 s; try again"]


async def test_a_rate_limit_stops_the_check_with_when_to_retry(ready: DiscordEmulator) -> None:
    ready.faults.rate_limit_next(retry_after=2.5)
    found = await check_staff(load_settings())
    assert found.problems == [
        "Discord is rate-limiting this bot for 2.5 s; run the check again later"
    ]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/api/v10?key=hunter2", "(connect"),
        ("http://user:hunter2@127.0.0.1:{port}/api/v10", "(Cannot combine AUTHORIZATION"),
    ],
)
def test_an_unreachable_discord_is_one_line(
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    closed_port: int,
    url: str,
    reason: str,
) -> None:
    for name, value in {
        "DISCORD_BOT_TOKEN": "abc.def",
        "DISCORD_API_URL": url.format(port=closed_port),
        "DISCORD_GUILD_ID": str(DEMO.guild_id),
        "DISCORD_STAFF_CHANNEL": str(STAFF.forum_channel_id),
        "DISCORD_STAFF_ROLE": str(STAFF.staff_role_id),
    }.items():
        monkeypatch.setenv(name, value)
    code, out, err = threadline(capsys, "check-config")
    assert code == 1
    (only,) = problems(out)
    assert f"Discord at http://127.0.0.1:{closed_port}/api/v10 {reason}" in only, only
    assert only.endswith("; check DISCORD_API_URL")
    assert "hunter2" not in out
    assert "Traceback" not in out + err


# --- the permission arithmetic itself ------------------------------------------------------

GUILD = "1"
BOT = "9"
SEND = discord.Permissions.send_messages.flag
VIEW = discord.Permissions.view_channel.flag


def _role(role_id: str, value: int) -> dict[str, object]:
    return {"id": role_id, "permissions": str(value)}


def _overwrite(target: str, kind: int, allow: int = 0, deny: int = 0) -> dict[str, object]:
    return {"id": target, "type": kind, "allow": str(allow), "deny": str(deny)}


def test_administrator_overrides_every_overwrite() -> None:
    roles = {GUILD: _role(GUILD, 0), "2": _role("2", discord.Permissions.administrator.flag)}
    channel = {"permission_overwrites": [_overwrite(BOT, 1, deny=VIEW | SEND)]}
    assert channel_permissions(channel, roles, ["2"], GUILD, BOT) == discord.Permissions.all()


def test_a_role_allow_beats_another_roles_deny_and_the_member_overwrite_comes_last() -> None:
    roles = {GUILD: _role(GUILD, VIEW | SEND), "2": _role("2", 0), "3": _role("3", 0)}
    channel = {
        "permission_overwrites": [
            _overwrite(GUILD, 0, deny=SEND),
            _overwrite("2", 0, deny=SEND),
            _overwrite("3", 0, allow=SEND),
        ]
    }
    assert channel_permissions(channel, roles, ["2", "3"], GUILD, BOT).send_messages
    assert not channel_permissions(channel, roles, ["2"], GUILD, BOT).send_messages
    channel["permission_overwrites"].append(_overwrite(BOT, 1, deny=SEND))
    assert not channel_permissions(channel, roles, ["2", "3"], GUILD, BOT).send_messages


def test_no_view_channel_means_nothing_in_the_channel() -> None:
    roles = {GUILD: _role(GUILD, int(EVERYONE_PERMISSIONS))}
    channel = {"permission_overwrites": [_overwrite(GUILD, 0, deny=VIEW)]}
    has = channel_permissions(channel, roles, [], GUILD, BOT)
    assert not has.send_messages
    assert not has.read_message_history
