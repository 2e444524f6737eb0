"""Satisfaction surveys for tickets resolved a while ago."""

from __future__ import annotations

from datetime import datetime

from bot.core.sweeps import Sweeps


async def run(sweeps: Sweeps, now: datetime) -> int:
    return await sweeps.csat(now)
