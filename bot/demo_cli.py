"""`threadline demo`: the playground in the foreground, or the scripted tour with `--script`."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path

import click

from bot import demo
from bot.core.errors import ConfigError
from bot.demo import parse_workspaces
from integrations.playground import Playground

__all__ = ["banner", "check_host", "is_loopback", "parse_workspaces", "quiet_logging", "serve"]


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


def check_host(host: str, *, allow_remote: bool) -> None:
    """The playground acts as every demo person without a password: serving it beyond this
    machine must be asked for explicitly."""
    if not is_loopback(host) and not allow_remote:
        raise ConfigError(
            f"refusing to serve the playground on {host}: anyone who can reach it could act as "
            "every demo customer and agent. Use the default 127.0.0.1, or add --allow-remote "
            "if that is what you want."
        )


@contextmanager
def quiet_logging(data: Path) -> Iterator[None]:
    """Warnings on the terminal, everything from INFO up in the data directory's log, so the
    terminal stays readable and the details are still there. The log file is closed and the
    logging as it was put back on the way out."""
    root = logging.getLogger()
    before = (root.level, root.handlers[:])
    form = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    screen = logging.StreamHandler()
    screen.setLevel(logging.WARNING)
    screen.setFormatter(form)
    logfile = logging.FileHandler(data / demo.LOG, encoding="utf-8")
    logfile.setFormatter(form)
    root.setLevel(logging.INFO)
    root.handlers[:] = [screen, logfile]
    for noisy in ("alembic", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.setLevel(before[0])
        root.handlers[:] = before[1]
        logfile.close()


async def serve(
    host: str,
    port: int,
    data: Path | None,
    *,
    allow_remote: bool,
    workspaces: Collection[str] = demo.DEFAULT_WORKSPACES,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the demo and its playground until SIGINT or SIGTERM (or `stop` is set); the agents
    work in `workspaces` ("slack", "discord" or both: see `demo.parse_workspaces`)."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    with ExitStack() as logs:
        if data is not None:
            demo.prepare(data)
            logs.enter_context(quiet_logging(data))
        async with demo.running(data, workspaces) as running:
            with quiet_logging(running.data) if data is None else nullcontext():
                await _serve(running, host, port, allow_remote, stop, kept=data is not None)


async def _serve(
    running: demo.Demo,
    host: str,
    port: int,
    allow_remote: bool,
    stop: asyncio.Event,
    *,
    kept: bool,
) -> None:
    playground = Playground(
        running.sandbox,
        running,
        host=host,
        port=port,
        allow_remote=allow_remote,
        workspaces=running.workspaces,
    )
    try:
        await playground.start()
    except OSError as exc:
        raise ConfigError(
            f"cannot serve the playground on {host}:{port}: {exc.strerror or exc} "
            "(choose another with --port)"
        ) from None
    try:
        click.echo(banner(playground.url, running.data, kept=kept, workspaces=running.workspaces))
        await stop.wait()
        click.echo("Stopping…")
    finally:
        await playground.stop()


def banner(
    url: str, data: Path, *, kept: bool, workspaces: Collection[str] = demo.DEFAULT_WORKSPACES
) -> str:
    where = (
        f"The database is kept in {data} for the next run."
        if kept
        else "The database is temporary (keep it with --data DIR)."
    )
    own = "a Slack and a Discord" if "slack" in workspaces else "a Discord"
    agents = {
        frozenset({"slack"}): "an agent on the Slack side",
        frozenset({"discord"}): "an agent in Discord's staff channel (Sam Staff or Lee Lead)",
    }.get(frozenset(workspaces), "an agent in Slack or in Discord's staff channel (mirrored)")
    return "\n".join(
        [
            f"Threadline demo: the real bot, with {own} of its own on this machine.",
            "",
            f"  Open {url} in your browser.",
            "",
            f"Be a customer on the Discord side and {agents}; move the clock",
            f"to see reminders, breach notices and surveys. {where}",
            f"Log: {data / demo.LOG}. Stop with Ctrl-C.",
        ]
    )
