"""The bot's database for the chaos suite, seen from outside: its outbox read to know when
nothing is left to send, and (PostgreSQL) the server restarted under it.

How PostgreSQL is restarted (`--pg`):
- `own` (the default where it can be done): a throwaway server of this run's own (initdb in
  the run's folder, a free port), really restarted with `pg_ctl restart -m fast`, which is what
  `service postgresql restart` does. The machine's shared server is left alone: restarting it
  would cut every other user's connections.
- `cluster`: the shared server on 127.0.0.1:5432 restarted with `pg_ctlcluster` (needs root),
  the bot in a throwaway database there.
- `terminate`: on 127.0.0.1:5432, new connections to the bot's throwaway database refused for
  the length of a restart and every backend of it ended with `pg_terminate_backend`: what a
  restart looks like to the client, where a real one cannot be done.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg

from tests.loop.kill_staff_support import deliveries

SHARED = "postgresql://postgres@127.0.0.1:5432/test"
PG_BIN = Path("/usr/lib/postgresql")
OUTBOX = "SELECT status, count(*) FROM deliveries GROUP BY status"
# How long the database refuses connections under `terminate` (about what a restart takes).
REFUSED_FOR = 2.0


class Sqlite:
    """The embedded default: a file in the run's folder."""

    label = "SQLite"

    def __init__(self, workdir: Path) -> None:
        self.path = workdir / "chaos.db"
        self.url = f"sqlite+aiosqlite:///{self.path}"

    async def outbox(self) -> dict[str, int] | None:
        return deliveries(self.path)

    async def close(self) -> None:
        return None


class Postgres:
    """A throwaway database on a PostgreSQL server, and how that server is restarted."""

    def __init__(self, dsn: str, method: str, label: str) -> None:
        self.dsn = dsn  # asyncpg's form: postgresql://user@host:port/db
        self.url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        self.method = method
        self.label = label

    async def outbox(self) -> dict[str, int] | None:
        try:
            conn = await asyncpg.connect(self.dsn, timeout=2)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return None
        try:
            rows = await conn.fetch(OUTBOX)
        except asyncpg.PostgresError:
            return None  # no tables yet
        finally:
            await conn.close()
        return {str(r[0]): int(r[1]) for r in rows}

    async def restart(self) -> str:
        """Restart (or, under `terminate`, cut) the server under the bot; what was done."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class SharedServer(Postgres):
    """A throwaway database on the shared server at 127.0.0.1:5432."""

    def __init__(self, method: str) -> None:
        self.name = f"chaos_{uuid.uuid4().hex[:12]}"
        super().__init__(SHARED.rsplit("/", 1)[0] + f"/{self.name}", method, "PostgreSQL")

    async def create(self) -> None:
        conn = await asyncpg.connect(SHARED, timeout=5)
        try:
            await conn.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await conn.close()

    async def restart(self) -> str:
        if self.method == "cluster":
            version, cluster = _cluster_on(5432)
            await _run("pg_ctlcluster", version, cluster, "restart")
            return f"pg_ctlcluster {version} {cluster} restart (the shared server, really)"
        conn = await asyncpg.connect(SHARED, timeout=5)
        try:
            await conn.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
            ended = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                self.name,
            )
            await asyncio.sleep(REFUSED_FOR)
            await conn.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')
        finally:
            await conn.close()
        return (
            f"pg_terminate_backend on all {ended} backends of the bot, new connections refused "
            f"for {REFUSED_FOR:g} s (no real restart)"
        )

    async def close(self) -> None:
        conn = await asyncpg.connect(SHARED, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()


class OwnServer(Postgres):
    """A PostgreSQL server of this run's own, in its folder, on a free port."""

    def __init__(self, workdir: Path) -> None:
        self.data = workdir / "pgdata"
        self.port = _free_port()
        self.bin = _pg_bin()
        dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        super().__init__(dsn, "own", "PostgreSQL")

    def _as_owner(self, *command: str) -> list[str]:
        # initdb and the server refuse to run as root: they run as the postgres user then.
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)

    async def create(self) -> None:
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.data.parent, "postgres")
            shutil.chown(self.data, "postgres")
        initdb = str(self.bin / "initdb")
        await _run(*self._as_owner(initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust"))
        await self._ctl("start")

    async def _ctl(self, *action: str) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data}"
        )
        log = str(self.data / "server.log")
        ctl = str(self.bin / "pg_ctl")
        await _run(
            *self._as_owner(ctl, *action, "-D", str(self.data), "-w", "-o", options, "-l", log)
        )

    async def restart(self) -> str:
        await self._ctl("restart", "-m", "fast")
        return "pg_ctl restart -m fast (a throwaway server of this run's own, really restarted)"

    async def close(self) -> None:
        await self._ctl("stop", "-m", "immediate")


async def open_postgres(method: str, workdir: Path) -> Postgres:
    """The database for a run on PostgreSQL, by `--pg` method (`auto`: `own` where initdb
    can be run, else `terminate`)."""
    if method == "auto":
        method = "own" if _can_run_own() else "terminate"
    database: OwnServer | SharedServer
    database = OwnServer(workdir) if method == "own" else SharedServer(method)
    await database.create()
    return database


def _can_run_own() -> bool:
    try:
        _pg_bin()
    except FileNotFoundError:
        return False
    return os.geteuid() != 0 or shutil.which("runuser") is not None


def _pg_bin() -> Path:
    found = sorted(PG_BIN.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise FileNotFoundError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return found[-1].parent


def _cluster_on(port: int) -> tuple[str, str]:
    lines = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True)
    for line in lines.stdout.splitlines():
        version, cluster, cluster_port, *_ = line.split()
        if int(cluster_port) == port:
            return version, cluster
    raise RuntimeError(f"no PostgreSQL cluster on port {port}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _run(*command: str) -> None:
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    if process.returncode != 0:
        spent = time.monotonic() - started
        raise RuntimeError(
            f"{' '.join(command)} failed after {spent:.1f} s: {output.decode(errors='replace')}"
        )
