"""`threadline run` in a child process, and its environment: what the kill -9 tests and the
chaos suite (bench/chaos.py) run and kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from integrations.sandbox.launch import Sandbox


class BotProcess:
    """`threadline run` in a child process, killed without warning when told."""

    def __init__(self, env: dict[str, str], workdir: Path, name: str = "bot") -> None:
        """`name`: its logs are `<name>-<start>.log` in `workdir` (replicas share one)."""
        self._env = env
        self._workdir = workdir
        self.name = name
        self._proc: subprocess.Popen[bytes] | None = None
        self._starts = 0

    def start(self) -> None:
        self._starts += 1
        with (self._workdir / f"{self.name}-{self._starts}.log").open("wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", "from bot.cli import main; main()", "run"],
                env=self._env,
                cwd=self._workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def kill(self) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGKILL)
        self._proc.wait()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def logs(self) -> str:
        return "\n".join(
            (self._workdir / f"{self.name}-{n}.log").read_text(errors="replace")
            for n in range(1, self._starts + 1)
        )


def bot_env(sandbox: Sandbox, workdir: Path) -> dict[str, str]:
    """The child's environment: this one's less any Threadline setting, pointed at `sandbox`,
    with a policy file that paces nothing and takes up a dead process's sends after 3 s."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "OPENAI_", "THREADLINE_", "DATABASE_URL"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env.update(sandbox.settings())
    # The emulator enforces no rate limit here, so the bot need not pace its posts either.
    policy = workdir / "threadline.toml"
    policy.write_text('[slack]\nposts_per_second = 0\n[delivery]\nlease = "3s"\n')
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/kill.db",
        HTTP_PORT="0",
        THREADLINE_CONFIG=str(policy),
    )
    return env
