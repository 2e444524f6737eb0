"""The Slack emulator in a child process, for benchmarks that measure the bot and not the emulator.

Slack is another machine in production: run in the bot's own process, the emulator would share
its core and its heap (whose garbage collections would then be charged to the bot). The child
answers one request over a pipe: the log of calls to a Web API method, with when each was served.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType

from integrations.sandbox.slack import SlackEmulator, demo_workspace

PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@dataclass(frozen=True)
class Served:
    """One Web API call as the emulator logged it."""

    text: str
    at: float  # time.time() when it was served
    ok: bool
    status: int


def no_proxies() -> None:
    for name in PROXIES:
        os.environ.pop(name, None)  # slack_sdk would send loopback calls through a proxy


def _serve(conn: Connection) -> None:
    # No app is connected, so the echo events overflow the backlog: expected here.
    logging.getLogger("integrations.sandbox.slack").setLevel(logging.ERROR)

    async def main() -> None:
        async with SlackEmulator(demo_workspace()) as slack:
            conn.send((slack.api_url, slack.bot_token))
            loop = asyncio.get_running_loop()
            while (method := await loop.run_in_executor(None, conn.recv)) is not None:
                conn.send(
                    [
                        Served(str(c.args.get("text", "")), c.at, c.ok, c.status)
                        for c in slack.calls_to(method)
                    ]
                )

    asyncio.run(main())


class SlackInChild:
    """`with SlackInChild() as slack:` a running emulator at `slack.api_url`."""

    def __init__(self) -> None:
        self._conn, child = mp.Pipe()
        self._process = mp.get_context("spawn").Process(target=_serve, args=(child,), daemon=True)
        self.api_url = ""
        self.bot_token = ""

    def __enter__(self) -> SlackInChild:
        no_proxies()
        self._process.start()
        self.api_url, self.bot_token = self._conn.recv()
        return self

    def calls_to(self, method: str) -> list[Served]:
        """Blocking: call from a thread (`asyncio.to_thread`) while an event loop runs here."""
        self._conn.send(method)
        served: list[Served] = self._conn.recv()
        return served

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._conn.send(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
