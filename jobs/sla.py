"""SLA reminders, breach notices and escalations that are due."""

from __future__ import annotations

from datetime import datetime

from bot.core.sweeps import Sweeps


async def run(sweeps: Sweeps, now: datetime) -> int:
    return await sweeps.sla(now)
