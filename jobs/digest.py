"""The leads' daily digest of breached and at-risk tickets."""

from __future__ import annotations

from datetime import datetime

from bot.core.sweeps import Sweeps


async def run(sweeps: Sweeps, now: datetime) -> int:
    return await sweeps.digest(now)
