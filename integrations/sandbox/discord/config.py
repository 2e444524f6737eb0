"""Tunable timings and behaviours of the emulator (tests use tiny values)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EmulatorConfig:
    """Knobs that real Discord fixes but tests need to shrink or switch.

    heartbeat_interval_ms: sent in HELLO (Discord uses 41250).
    interaction_response_window: seconds an app has for the first interaction callback.
    interaction_token_ttl: seconds follow-up webhooks keep working (Discord: 15 minutes).
    resume_buffer: dispatches kept per session for replay on RESUME.
    gateway_compression: honour `compress=zlib-stream` (False sends plain text frames always).
    max_active_threads: active (unarchived) threads a guild may hold; Discord allows 1000, and
        one more is refused with 400, code 160006.
    """

    heartbeat_interval_ms: int = 41250
    interaction_response_window: float = 3.0
    interaction_token_ttl: float = 900.0
    resume_buffer: int = 1000
    gateway_compression: bool = True
    max_active_threads: int = 1000
