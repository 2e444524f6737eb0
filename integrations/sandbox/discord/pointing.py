"""Test support: point discord.py's class-level URLs at an emulator, and restore them.

The bot's own Discord adapter owns this pointing in production code; this helper is for
tests and benchmarks that drive a bare discord.py client.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import yarl

with warnings.catch_warnings():
    # discord.py imports the stdlib `audioop` (deprecated in 3.11/3.12) for voice; under
    # pytest's `filterwarnings = error` that import would fail.
    warnings.simplefilter("ignore", DeprecationWarning)
    import discord


@contextmanager
def pointed_at(api_url: str, gateway_url: str) -> Iterator[None]:
    """Set `Route.BASE` and `DiscordWebSocket.DEFAULT_GATEWAY` for the duration of the block.

    Set before `login()`: a Route computes its URL when it is built.
    """
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
