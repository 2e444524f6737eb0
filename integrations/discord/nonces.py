"""Nonces that make a resend after a crash harmless: each send of a delivery carries one made
from the delivery's id and which of its sends it is, with `enforce_nonce` (discord.py adds it to
every nonce), so Discord answers a resend within minutes with the message it made the first time
instead of making a second one."""

from __future__ import annotations

from bot.core.delivery import DeliveryJob

NONCE_LENGTH = 25  # Discord's limit


def nonce_for(job: DeliveryJob, step: int | str = 0) -> str:
    """The nonce of one send of `job` (`step`: which of its sends: a piece's index, say)."""
    return f"tl{job.delivery.id}.{step}"[:NONCE_LENGTH]
