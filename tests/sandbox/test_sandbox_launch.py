"""`threadline sandbox` and the settings that point the real clients at it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import discord
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import load_settings
from integrations.discord.client import point_at_settings
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.discord.pointing import pointed_at
from integrations.sandbox.discord.testing import sandbox_client
from integrations.sandbox.launch import Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from integrations.slack.client import web_client


def use(settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)


async def test_its_settings_are_valid_and_complete(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(sandbox.settings(), monkeypatch)
    settings = load_settings()
    assert settings.missing_for_slack() == []
    assert settings.missing_for_discord() == []
    assert settings.slack_agents == [SLACK.agent1, SLACK.agent2]


async def test_slack_settings_point_the_real_client_at_it(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(sandbox.settings(), monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # a proxy that would swallow it
    client = web_client(load_settings())
    assert isinstance(client, AsyncWebClient)
    answer = await client.auth_test()
    assert answer["user_id"] == sandbox.slack.bot_user_id


async def test_discord_settings_point_the_real_client_at_it(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(sandbox.settings(), monkeypatch)
    settings = load_settings()
    # pointed_at restores discord.py's defaults afterwards; point_at_settings does the pointing.
    with pointed_at("http://unused", "ws://unused"):
        point_at_settings(settings)
        assert sandbox.discord.api_url == discord.http.Route.BASE
        client = sandbox_client()
        assert settings.discord_bot_token is not None
        await client.login(settings.discord_bot_token.get_secret_value())
        runner = asyncio.create_task(client.connect())
        try:
            await asyncio.wait_for(client.wait_until_ready(), 10)
            assert client.user is not None
            assert client.user.id == DISCORD.bot_id
            assert [g.id for g in client.guilds] == [DISCORD.guild_id]
        finally:
            await client.close()
            await asyncio.wait_for(runner, 10)


def test_threadline_sandbox_prints_the_settings_and_stops_cleanly(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "threadline"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    lines = []
    with subprocess.Popen(
        [str(exe), "sandbox", "--slack-port", "0", "--discord-port", "0", "--openai-port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip())
            if line.startswith("Then run"):
                break
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=20)
        assert process.returncode == 0, errors
    printed = dict(line.split("=", 1) for line in lines if "=" in line and line[0].isupper())
    for name in (
        "SLACK_API_URL",
        "DISCORD_API_URL",
        "DISCORD_GATEWAY_URL",
        "SLACK_BOT_TOKEN",
        "DISCORD_BOT_TOKEN",
        "SLACK_SUPPORT_CHANNEL",
        "SLACK_APP_TOKEN",
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
    ):
        assert printed.get(name), f"{name} was not printed"
    assert printed["SLACK_API_URL"].startswith("http://127.0.0.1:")
    assert printed["DISCORD_GATEWAY_URL"].startswith("ws://127.0.0.1:")
    assert printed["OPENAI_BASE_URL"].startswith("http://127.0.0.1:")
    assert printed["OPENAI_BASE_URL"].endswith("/v1")


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        exe = Path(sys.executable).parent / "threadline"
        done = subprocess.run(
            [
                str(exe),
                "sandbox",
                "--slack-port",
                str(port),
                "--discord-port",
                "0",
                "--openai-port",
                "0",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=30,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr.startswith("threadline: error: cannot start the sandbox")
    assert len(done.stderr.strip().splitlines()) == 1
