"""The platforms Threadline talks to, by the names stored with customers, message copies and
inbound events. The core knows a platform only as such a name (`bot.core.domain.Platform`); the
adapters and the composition root name the ones they are."""

from __future__ import annotations

from bot.core.domain import Platform

DISCORD = Platform("discord")
SLACK = Platform("slack")
PLATFORMS = (DISCORD, SLACK)
