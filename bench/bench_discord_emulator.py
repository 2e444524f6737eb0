"""Benchmark: message create through discord.py's real HTTPClient against the Discord emulator.

    python bench/bench_discord_emulator.py [--senders 32] [--seconds 5] [--same-process]

Rate limits are off. By default the emulator runs in a child process (its own core, as a
real server would) and the senders in this one; --same-process shares one event loop.
Prints round-trip latency p50/p95/p99 and throughput; exits non-zero below --target req/s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import discord

from integrations.sandbox.discord import DEMO, DiscordEmulator, demo_world, pointed_at

ROUTE = "/channels/{channel_id}/messages"


def serve(conn: Connection) -> None:
    """Child process: run the emulator until told to stop."""

    async def main() -> None:
        async with DiscordEmulator(demo_world()) as emu:
            conn.send((emu.api_url, emu.gateway_url))
            stop = asyncio.Event()
            asyncio.get_running_loop().add_reader(conn.fileno(), stop.set)
            await stop.wait()

    asyncio.run(main())


async def sender(
    http: discord.http.HTTPClient, channel_id: int, deadline: float, latencies: list[float]
) -> None:
    """Send messages back to back until the deadline, recording each round trip."""
    n = 0
    while time.perf_counter() < deadline:
        route = discord.http.Route("POST", ROUTE, channel_id=channel_id)
        body = {"content": f"bench {n}", "tts": False, "nonce": str(n), "enforce_nonce": True}
        started = time.perf_counter()
        await http.request(route, json=body)
        latencies.append(time.perf_counter() - started)
        n += 1


async def run(
    api_url: str, gateway_url: str, senders: int, seconds: float, *, gateway: bool
) -> list[float]:
    """Log a real discord.py client in and hammer POST /channels/{id}/messages.

    With `gateway` the client is also connected, so every create is dispatched back to it
    as MESSAGE_CREATE (zlib-stream) and parsed, as a running bot would.
    """
    with pointed_at(api_url, gateway_url):
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.01)
        await client.login(DEMO.token)
        connection = asyncio.create_task(client.connect()) if gateway else None
        try:
            if gateway:
                await asyncio.wait_for(client.wait_until_ready(), 10)
            warmup: list[float] = []
            await sender(client.http, DEMO.support_channel_id, time.perf_counter() + 0.5, warmup)
            latencies: list[float] = []
            deadline = time.perf_counter() + seconds
            await asyncio.gather(
                *(
                    sender(client.http, DEMO.support_channel_id, deadline, latencies)
                    for _ in range(senders)
                )
            )
            return latencies
        finally:
            await client.close()
            if connection is not None:
                await connection


async def run_same_process(senders: int, seconds: float, *, gateway: bool) -> list[float]:
    async with DiscordEmulator(demo_world()) as emu:
        return await run(emu.api_url, emu.gateway_url, senders, seconds, gateway=gateway)


def run_child_process(senders: int, seconds: float, *, gateway: bool) -> list[float]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=serve, args=(child,), daemon=True)
    process.start()
    try:
        api_url, gateway_url = parent.recv()
        return asyncio.run(run(api_url, gateway_url, senders, seconds, gateway=gateway))
    finally:
        parent.send("stop")
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


def report(latencies: list[float], args: argparse.Namespace) -> int:
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100)
    rate = len(ms) / args.seconds
    where = "same process" if args.same_process else "emulator in a child process"
    echo = "gateway connected" if args.gateway else "REST only"
    print(f"message create via discord.py HTTPClient: {args.senders} senders, {where}, {echo}")
    print(f"requests: {len(ms)}  throughput: {rate:,.0f} req/s")
    print(f"latency ms  p50: {q[49]:.2f}  p95: {q[94]:.2f}  p99: {q[98]:.2f}  max: {ms[-1]:.2f}")
    if rate < args.target:
        print(f"BELOW TARGET of {args.target:,.0f} req/s")
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--target", type=float, default=2000.0)
    parser.add_argument("--same-process", action="store_true")
    parser.add_argument(
        "--no-gateway",
        dest="gateway",
        action="store_false",
        help="REST only, no MESSAGE_CREATE echo",
    )
    args = parser.parse_args()
    if args.same_process:
        latencies = asyncio.run(run_same_process(args.senders, args.seconds, gateway=args.gateway))
    else:
        latencies = run_child_process(args.senders, args.seconds, gateway=args.gateway)
    return report(latencies, args)


if __name__ == "__main__":
    sys.exit(main())
