"""Point discord.py at DISCORD_API_URL and DISCORD_GATEWAY_URL.

discord.py keeps both as class attributes (`Route.BASE`, `DiscordWebSocket.DEFAULT_GATEWAY`), so
the pointing is process-wide and must happen before the client logs in. It ignores proxy
variables, so loopback calls are never diverted.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

from bot.config import Settings


def point_at(api_url: str, gateway_url: str) -> None:
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def point_at_settings(settings: Settings) -> None:
    point_at(settings.discord_api_url, settings.discord_gateway_url)
