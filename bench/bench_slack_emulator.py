"""Benchmark: chat.postMessage round trips through the real AsyncWebClient, limits off.

Run: `python bench/bench_slack_emulator.py [--clients 8] [--seconds 8] [--min-rps 2000]
[--same-process]`. Prints latency percentiles and throughput; exits 1 below `--min-rps`.
By default the emulator runs in a child process (its own core, as the Discord benchmark does),
so what is measured is the emulator and not the clients' share of one core; `--same-process`
puts emulator and clients on one event loop instead (the harder case).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from figures import percentile  # beside this script
from slack_child import SlackInChild, no_proxies
from slack_sdk.web.async_client import AsyncWebClient

from integrations.sandbox.slack import DEMO, SlackEmulator, demo_workspace

WARM_UP_SECONDS = 1.0


def quiet() -> None:
    # No app is connected, so the echo events overflow the backlog: expected here.
    logging.getLogger("integrations.sandbox.slack").setLevel(logging.ERROR)


async def worker(client: AsyncWebClient, channel: str, stop_at: float, out: list[float]) -> None:
    """Post messages back to back until `stop_at`, recording each round trip in seconds."""
    clock = time.perf_counter
    i = 0
    while clock() < stop_at:
        start = clock()
        await client.chat_postMessage(channel=channel, text=f"bench {i}")
        out.append(clock() - start)
        i += 1


async def run_clients(clients: list[AsyncWebClient], seconds: float, out: list[float]) -> None:
    """Every client posts (alternating between two channels) for `seconds`."""
    stop_at = time.perf_counter() + seconds
    channels = (DEMO.support, DEMO.escalations)
    await asyncio.gather(*(worker(c, channels[i % 2], stop_at, out) for i, c in enumerate(clients)))


async def measure(api_url: str, token: str, clients: int, seconds: float) -> list[float]:
    """Warm up, then run `clients` concurrent clients for `seconds`; every call's latency."""
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        web = [
            AsyncWebClient(token=token, base_url=api_url, session=session) for _ in range(clients)
        ]
        await run_clients(web, WARM_UP_SECONDS, [])
        latencies: list[float] = []
        await run_clients(web, seconds, latencies)
        return latencies


async def measure_in_process(clients: int, seconds: float) -> tuple[list[float], int]:
    """Emulator and clients on one event loop."""
    async with SlackEmulator(demo_workspace()) as slack:
        latencies = await measure(slack.api_url, slack.bot_token, clients, seconds)
        return latencies, len(slack.calls_to("chat.postMessage"))


def measure_out_of_process(clients: int, seconds: float) -> tuple[list[float], int]:
    """Emulator in a child process, clients here."""
    with SlackInChild() as slack:
        latencies = asyncio.run(measure(slack.api_url, slack.bot_token, clients, seconds))
        return latencies, len(slack.calls_to("chat.postMessage"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--min-rps", type=float, default=2000.0)
    parser.add_argument("--same-process", action="store_true")
    args = parser.parse_args()
    no_proxies()
    quiet()

    if args.same_process:
        latencies, served = asyncio.run(measure_in_process(args.clients, args.seconds))
    else:
        latencies, served = measure_out_of_process(args.clients, args.seconds)

    rps = len(latencies) / args.seconds
    where = "same process" if args.same_process else "emulator in a child process"
    print(f"chat.postMessage via AsyncWebClient: {args.clients} clients, limits off, {where}")
    print(f"  requests measured : {len(latencies)} in {args.seconds:.1f} s")
    print(f"  served in total   : {served} (warm-up included)")
    print(f"  throughput        : {rps:,.0f} req/s (target >= {args.min_rps:,.0f})")
    for label, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        print(f"  latency {label}       : {percentile(latencies, fraction) * 1000:.2f} ms")
    print(f"  latency mean      : {statistics.fmean(latencies) * 1000:.2f} ms")
    ok = rps >= args.min_rps
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
