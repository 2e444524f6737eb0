"""Closing resolved tickets nobody answered; nudging and resolving those waiting too long."""

from __future__ import annotations

from datetime import datetime

from bot.core.sweeps import Sweeps


async def run(sweeps: Sweeps, now: datetime) -> int:
    return await sweeps.autoclose(now)
