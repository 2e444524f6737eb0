"""`threadline sandbox`: the emulators in the foreground, their settings, and a console."""

from __future__ import annotations

import asyncio
import signal
import sys

import click

from integrations.sandbox.console import Console
from integrations.sandbox.launch import Sandbox, sandbox


def banner(box: Sandbox) -> str:
    settings = "\n".join(f"{name}={value}" for name, value in box.settings().items())
    return "\n".join(
        [
            "Threadline sandbox: Slack and Discord emulators and an OpenAI-compatible model",
            "server on 127.0.0.1.",
            "",
            "Point a bot at them with these settings (paste into .env, or export them):",
            "",
            settings,
            "",
            *box.people(),
            *_model_server(box),
            "",
            "Then run `threadline run` in another terminal. Stop the sandbox with Ctrl-C.",
            "To see everything in a browser instead (both sides, dialogs, the clock), with the bot",
            "already running against them, use `threadline demo`.",
        ]
    )


def _model_server(box: Sandbox) -> list[str]:
    if box.openai is None:
        return []
    models = ", ".join(box.openai.models or ("any",))
    return [
        f"Model server: OpenAI Chat Completions, deterministic answers; models {models} "
        "(set OPENAI_MODEL to one of them)"
    ]


async def serve(
    slack_port: int, discord_port: int, openai_port: int = 0, *, rate_limits: bool
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with sandbox(
            slack_port=slack_port,
            discord_port=discord_port,
            openai_port=openai_port,
            rate_limits=rate_limits,
        ) as box:
            click.echo(banner(box))
            if sys.stdin.isatty():
                click.echo("Type help for the console's commands.")
                await _console(Console(box), stop)
            else:
                await stop.wait()
    except OSError as exc:
        raise click.ClickException(
            f"cannot start the sandbox: {exc.strerror} (choose other ports with "
            "--slack-port, --discord-port and --openai-port)"
        ) from None


async def _console(console: Console, stop: asyncio.Event) -> None:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while not stop.is_set():
        click.echo("sandbox> ", nl=False)
        line_task = asyncio.ensure_future(reader.readline())
        stopping = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({line_task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if line_task not in done:
            line_task.cancel()
            return
        line = line_task.result().decode(errors="replace").strip()
        if not line_task.result() or line in ("quit", "exit"):
            return
        click.echo(await console.run(line))
